"""Flag conformed silver rows that a batch merges away: exact duplicates and superseded versions.

Rows are flagged, not filtered, so one aggregation can account for every row read.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import reduce

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

IS_EXACT_DUP = "_is_exact_dup"
IS_SUPERSEDED = "_is_superseded"
IS_TIED = "_is_tied"


UNKNOWN = "unknown:"  # a descriptive attribute left unknown: a warning, the row is otherwise clean


def has_errors(errors: str = "_errors") -> Column:
    """The row has a conform error other than ``unknown:<col>``."""
    return F.coalesce(F.exists(errors, lambda e: ~e.startswith(UNKNOWN)), F.lit(False))


def _all_present(columns: Sequence[str]) -> Column:
    return reduce(lambda a, b: a & b, [F.col(c).isNotNull() for c in columns])


def with_dedupe_flags(
    df: DataFrame, *, keys: Sequence[str], version_col: str, columns: Sequence[str], held: Column | None = None
) -> DataFrame:
    """Add ``_is_exact_dup``, ``_is_superseded`` and ``_is_tied`` (non-null booleans).

    Exact duplicate: same ``columns`` values and ``_errors`` as an earlier-ingested row (rows with
    conform errors must also share ``_raw``, since their typed columns may be all null). A corrupt
    record (``corrupt_record``) is never an exact duplicate.
    Superseded: a clean row (no errors, not ``held``, keys and version present) whose ``version_col`` is
    lower than the latest clean version of its key. Rows with errors, ``held`` rows (true where the
    quality gate will quarantine the row whatever else the batch holds: it breaks a quarantine rule),
    and rows with null keys or a null version are never superseded and supersede nothing: they stay
    for the gate, which quarantines them with a reason, and the latest valid version of the key is
    published, as when the two arrive in different batches.
    Tied: a clean row that shares its key and version with another clean row of different content (two
    scans of one shipment at the same second). Neither says which is the key's state: tied rows are never
    superseded and supersede nothing, and the gate quarantines them all (``gate(..., tied=)``), so an older
    valid version of the key stays published as when the tie arrives in a later batch. A tie split across
    batches is not seen as one: the later batch's row replaces the earlier one (``tables.merge_upsert``).
    """
    missing = [c for c in [*columns, *keys, version_col, "_errors", "_raw", "_ingested_at"] if c not in df.columns]
    if missing:
        raise ValueError(f"with_dedupe_flags: input lacks column(s) {sorted(set(missing))}")
    errors = has_errors()
    identity = F.sha2(
        F.to_json(F.struct(*[F.col(c) for c in columns], F.col("_errors"),
                           F.when(errors, F.col("_raw")).alias("_raw"))),
        256,
    )
    first_seen = Window.partitionBy(identity).orderBy(F.col("_ingested_at").asc_nulls_last(), F.col("_raw"))
    # Identical corrupt lines are not "the same record delivered twice" (nothing says what they were):
    # each stays for the quarantine, so bronze's corrupt count equals silver's quarantined-as-corrupt count.
    corrupt = F.coalesce(F.array_contains(F.col("_errors"), "corrupt_record"), F.lit(False))
    out = df.withColumn(IS_EXACT_DUP, ~corrupt & (F.row_number().over(first_seen) > 1))
    candidate = ~errors & _all_present([*keys, version_col]) & ~F.col(IS_EXACT_DUP)
    if held is not None:
        candidate = candidate & ~F.coalesce(held, F.lit(False))
    out = out.withColumn("_candidate", candidate)
    # rows of the key at this version (a range frame over the key's window: no second shuffle)
    same_version = Window.partitionBy(*keys).orderBy(version_col).rangeBetween(Window.currentRow, Window.currentRow)
    at_version = F.sum(F.col("_candidate").cast("int")).over(same_version)
    out = out.withColumn(IS_TIED, F.col("_candidate") & (at_version > 1))
    collapsible = F.col("_candidate") & ~F.col(IS_TIED)
    latest = F.max(F.when(collapsible, F.col(version_col))).over(Window.partitionBy(*keys))
    return out.withColumn(IS_SUPERSEDED, F.coalesce(collapsible & (F.col(version_col) < latest), F.lit(False))
                          ).drop("_candidate")
