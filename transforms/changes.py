"""Change detection between two versions of a table: which keys were added, removed or altered."""

from __future__ import annotations

from collections.abc import Sequence

from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T
from pyspark.sql.window import Window


def changed_keys(before: DataFrame, after: DataFrame, *, keys: Sequence[str], columns: Sequence[str]) -> DataFrame:
    """Distinct ``keys`` of the rows that differ between ``before`` and ``after`` in any of ``columns``
    (those present in both): inserted, deleted or updated rows. Rows are compared by a 64-bit hash."""
    shared = [c for c in columns if c in before.columns and c in after.columns]

    def fingerprint(df: DataFrame) -> DataFrame:
        return df.select(*keys, F.xxhash64(*[F.col(c) for c in shared]).alias("_row_hash"))

    old, new = fingerprint(before), fingerprint(after)
    return new.subtract(old).unionByName(old.subtract(new)).select(*keys).distinct()


FEED_BEFORE, FEED_AFTER = ("update_preimage", "delete"), ("update_postimage", "insert")
FEED_COLUMNS = ("_change_type", "_commit_version", "_commit_timestamp")  # the feed's own columns


def net_changes(feed: DataFrame, *, keys: Sequence[str]) -> tuple[DataFrame, DataFrame]:
    """A Delta change data feed over several commits (tables.read_change_feed) as (before, after): each changed
    key's row as it was before the first commit that touched it (absent if that commit inserted it) and as it is
    after the last (absent if that commit deleted it), without the feed's own columns. ``changed_keys(before,
    after, ...)`` then finds the keys whose rows really differ: a row updated and updated back, or inserted and
    deleted again, is no change."""
    w = Window.partitionBy(*keys)
    version = F.col("_commit_version")
    marked = feed.withColumn("_first", F.min(version).over(w)).withColumn("_last", F.max(version).over(w))
    data = [c for c in feed.columns if c not in FEED_COLUMNS]
    before = marked.where((version == F.col("_first")) & F.col("_change_type").isin(*FEED_BEFORE)).select(*data)
    after = marked.where((version == F.col("_last")) & F.col("_change_type").isin(*FEED_AFTER)).select(*data)
    return before, after


# Incremental jobs remember the Delta version of each input they processed last

GOLD_STATE = T.StructType([
    T.StructField("source", T.StringType(), False), T.StructField("version", T.LongType(), False),
    T.StructField("as_of", T.TimestampType(), True), T.StructField("run_id", T.StringType(), True),
])
"""Gold ``_gold_state`` (the gold job's own state). One row per silver table: the Delta version the last
successful gold run processed."""

MARTS_STATE = T.StructType([
    T.StructField("source", T.StringType(), False), T.StructField("version", T.LongType(), False),
    T.StructField("run_id", T.StringType(), True),
])
"""Gold ``_marts_state`` (the marts job's own state). One row per input table: the Delta version the last
successful marts run processed; and the row ``_layout``: the layout of the marts' keys that run wrote
(jobs/marts.py ``LAYOUT``)."""
