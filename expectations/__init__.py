"""Data contracts: one Great Expectations suite (with rule severities) per silver dataset."""
