"""Packaged configuration: base.yaml, the local/test/cluster overlays and source mappings."""
