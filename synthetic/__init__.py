"""Synthetic marketplace generator: pure, Spark-native builders of a multi-platform e-commerce world.

Every value comes from hashes of (seed, purpose, keys), so it does not depend on partitioning; see
docs/generator.md for entities, planted signals and injected defects.
"""
