"""Money helpers: DECIMAL(18,2) rounding by a named mode, and penny-exact largest-remainder allocation."""

from __future__ import annotations

from collections.abc import Sequence

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

MONEY = T.DecimalType(18, 2)
ROUNDING_MODES = ("half_up", "half_even")


def round_money(col: Column, *, rounding: str = "half_up") -> Column:
    """``col`` rounded to cents with ``rounding`` (half_up or half_even), as DECIMAL(18,2)."""
    if rounding == "half_up":
        return F.round(col, 2).cast(MONEY)
    if rounding == "half_even":
        return F.bround(col, 2).cast(MONEY)
    raise ValueError(f"rounding must be one of {ROUNDING_MODES}, found {rounding!r}")


def to_cents(col: Column) -> Column:
    """A money amount (at most 2 decimals) as whole cents (BIGINT); exact."""
    return (col.cast(MONEY) * F.lit(100)).cast("bigint")


def from_cents(col: Column) -> Column:
    """Whole cents back to DECIMAL(18,2); exact."""
    return (col.cast(T.DecimalType(20, 0)) / F.lit(100)).cast(MONEY)


def allocate_largest_remainder(
    df: DataFrame,
    *,
    group_cols: Sequence[str],
    total_col: str,
    weight_col: str,
    out_col: str,
    tiebreak_cols: Sequence[str],
) -> DataFrame:
    """Add ``out_col``: each group's ``total_col`` (the same value on all of its rows) split across the
    group's rows in proportion to ``weight_col``, penny-exact by largest remainder.

    Every row first gets the floor of its exact share in cents; the cents left over go one each to the
    rows with the largest remainders, ties broken by ``tiebreak_cols`` ascending, so the shares always
    sum exactly to the total. A group whose weights sum to zero or less is split equally. Integer
    arithmetic throughout (no float, no intermediate decimal rounding). A null total gives null shares.
    """
    group = Window.partitionBy(*group_cols)
    positive = F.col("_alloc_raw_sum") > 0
    out = (
        df.withColumn("_alloc_raw", to_cents(F.col(weight_col)))
        # one window pass: the raw weight sum and the row count (the equal-split fallback)
        .withColumn("_alloc_raw_sum", F.sum("_alloc_raw").over(group))
        .withColumn("_alloc_n", F.count(F.lit(1)).over(group))
        .withColumn("_alloc_w", F.when(positive, F.col("_alloc_raw")).otherwise(F.lit(1).cast("bigint")))
        .withColumn("_alloc_wsum", F.when(positive, F.col("_alloc_raw_sum")).otherwise(F.col("_alloc_n")))
        .withColumn("_alloc_num", to_cents(F.col(total_col)) * F.col("_alloc_w"))
        .withColumn("_alloc_rem", F.pmod(F.col("_alloc_num"), F.col("_alloc_wsum")))
        .withColumn("_alloc_floor", F.expr("(_alloc_num - _alloc_rem) div _alloc_wsum"))
        .withColumn("_alloc_left", to_cents(F.col(total_col)) - F.sum("_alloc_floor").over(group))
        .withColumn(
            "_alloc_rank",
            F.row_number().over(
                group.orderBy(F.col("_alloc_rem").desc(), *[F.col(c).asc() for c in tiebreak_cols])
            ),
        )
        .withColumn(
            out_col,
            from_cents(
                F.col("_alloc_floor") + F.when(F.col("_alloc_rank") <= F.col("_alloc_left"), 1).otherwise(0)
            ),
        )
    )
    return out.drop("_alloc_raw", "_alloc_raw_sum", "_alloc_n", "_alloc_w", "_alloc_wsum", "_alloc_num", "_alloc_rem", "_alloc_floor", "_alloc_left", "_alloc_rank")
