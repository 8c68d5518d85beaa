"""The privacy floor of the brand marts: small cells suppressed (marked, never zeroed), complementary
suppression inside each published breakdown, and peer benchmarks from too few brands withheld."""

from __future__ import annotations

from collections.abc import Sequence

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F


def suppress_small_cells(
    df: DataFrame,
    *,
    group_cols: Sequence[str],
    order_cols: Sequence[str],
    buyers_col: str,
    value_cols: Sequence[str],
    k: int,
) -> DataFrame:
    """Null ``buyers_col`` and ``value_cols`` of every cell with fewer than ``k`` distinct buyers and set
    ``is_suppressed``.

    Complementary suppression: the cells of one ``group_cols`` breakdown add up to a total published
    elsewhere (the brand's period total), so a breakdown with exactly one small cell also suppresses its
    next-smallest cell (ties broken by ``order_cols``); one hidden value can then no longer be recovered by
    subtracting the published cells from the total.
    """
    small = F.col(buyers_col) < F.lit(k)
    w = Window.partitionBy(*group_cols)
    ranked = (
        df.withColumn("_small", small)
        .withColumn("_n_small", F.sum(F.col("_small").cast("int")).over(w))
        .withColumn("_rank", F.row_number().over(
            w.orderBy(F.col("_small").desc(), F.col(buyers_col).asc(), *[F.col(c).asc() for c in order_cols])))
    )
    hidden = F.col("_small") | ((F.col("_n_small") == 1) & (F.col("_rank") == 2))
    out = ranked.withColumn("is_suppressed", hidden)
    for c in (buyers_col, *value_cols):
        out = out.withColumn(c, F.when(~F.col("is_suppressed"), F.col(c)))
    return out.drop("_small", "_n_small", "_rank")


def suppress_where(df: DataFrame, *, hide: Column, value_cols: Sequence[str]) -> DataFrame:
    """Null ``value_cols`` where ``hide`` holds and record it in ``is_suppressed`` (no complementary step:
    for cells that do not add up to any published total, e.g. rates or benchmarks)."""
    out = df.withColumn("is_suppressed", F.coalesce(hide, F.lit(True)))
    for c in value_cols:
        out = out.withColumn(c, F.when(~F.col("is_suppressed"), F.col(c)))
    return out
