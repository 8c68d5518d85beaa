"""Gold ``cs_kb``, the customer-service knowledge base built by `brandlake build-kb` (models/kb.py
clusters the answers; jobs/kb.py writes them)."""

from __future__ import annotations

from pyspark.sql import types as T

CS_KB = T.StructType([T.StructField(n, t, nl) for n, t, nl in [
    ("kb_id", T.StringType(), False), ("intent", T.StringType(), False), ("category", T.StringType(), False),
    ("language", T.StringType(), False), ("answer", T.StringType(), False), ("uses", T.LongType(), False),
    ("answer_variants", T.MapType(T.StringType(), T.LongType()), False),
    ("source_chat_ids", T.ArrayType(T.StringType()), False), ("first_seen_at", T.TimestampType(), True),
    ("last_seen_at", T.TimestampType(), True), ("template", T.StringType(), True),
    ("processed_through", T.TimestampType(), True), ("processed_chats_version", T.LongType(), True),
]])
"""One row per canonical answer (cluster of near-duplicate agent answers) per intent ×
product category (`any` for chats without an order) × language: the most used answer text, how often
the cluster was used, its variants with their counts, up to 10 source conversations, and the template
that replaces it when the question names an order. `processed_chats_version` = the silver `cs_chats` version
the build read and `processed_through` = the latest chat time learned from so far: the next build learns every
answered chat it has not learned yet, a late one (started before `processed_through`, landed since) included."""
