"""Change detection between two versions of a table: which keys were added, removed or altered."""

from __future__ import annotations

from collections.abc import Sequence

from pyspark.sql import DataFrame
from pyspark.sql import functions as F


def changed_keys(before: DataFrame, after: DataFrame, *, keys: Sequence[str], columns: Sequence[str]) -> DataFrame:
    """Distinct ``keys`` of the rows that differ between ``before`` and ``after`` in any of ``columns``
    (those present in both): inserted, deleted or updated rows. Rows are compared by a 64-bit hash."""
    shared = [c for c in columns if c in before.columns and c in after.columns]

    def fingerprint(df: DataFrame) -> DataFrame:
        return df.select(*keys, F.xxhash64(*[F.col(c) for c in shared]).alias("_row_hash"))

    old, new = fingerprint(before), fingerprint(after)
    return new.subtract(old).unionByName(old.subtract(new)).select(*keys).distinct()
