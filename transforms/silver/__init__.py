"""Silver conform transforms: bronze text → typed, conformed, PII-safe rows with conform errors named.

The table registry the silver job uses is ``transforms.silver.registry.SILVER_TABLES``.
"""
