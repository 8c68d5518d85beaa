"""Currency conversion with silver fx_rates (units of a currency per 1 USD, one row per currency per day)."""

from __future__ import annotations

from collections.abc import Sequence

from brandlake.transforms.columns import require_columns
from brandlake.transforms.money import MONEY, round_money
from brandlake.transforms.schemas import RATE
from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

# amount × rate is held at 10 decimals with 14 integer digits, so the division by the other rate
# keeps 16 decimals before the one rounding to cents (no visible double rounding).
_PRODUCT = T.DecimalType(24, 10)


def to_daily_rates(fx_rates: DataFrame, *, until: Column | None = None, frame: DataFrame | None = None) -> DataFrame:
    """One row per currency per calendar day from its first rate to its last rate, or to the latest
    ``until`` date in ``frame`` when that is later; a day without a rate (weekend, holiday, a rate not
    delivered yet) carries the latest earlier rate forward. Columns: rate_date, currency, per_usd."""
    require_columns(fx_rates, ("rate_date", "currency", "per_usd"), what="fx_rates")
    rates = fx_rates.select("rate_date", "currency", F.col("per_usd").cast(RATE).alias("per_usd"))
    spans = rates.groupBy("currency").agg(F.min("rate_date").alias("_first"), F.max("rate_date").alias("_last"))
    end = F.col("_last")
    if until is not None and frame is not None:
        spans = spans.crossJoin(frame.agg(F.max(until.cast(T.DateType())).alias("_until")))
        end = F.greatest(F.col("_last"), F.coalesce(F.col("_until"), F.col("_last")))
    days = spans.select("currency", F.explode(F.sequence(F.col("_first"), end)).alias("rate_date"))
    upto = Window.partitionBy("currency").orderBy("rate_date").rowsBetween(Window.unboundedPreceding, 0)
    return (
        days.join(rates, ["currency", "rate_date"], "left")
        .select("rate_date", "currency", F.last("per_usd", ignorenulls=True).over(upto).alias("per_usd"))
    )


def convert_amount(amount: Column, src_rate: Column, tgt_rate: Column, *, rounding: str = "half_up") -> Column:
    """``amount`` × tgt_rate / src_rate (rates in units per USD) rounded to cents; null unless both rates
    are positive. amount × rate is held at 10 decimals with 14 integer digits, so the quotient keeps 16
    decimals before the one rounding to cents."""
    usable = (src_rate > 0) & (tgt_rate > 0)
    product = (amount.cast(MONEY) * tgt_rate.cast(RATE)).try_cast(_PRODUCT)
    return F.when(usable, round_money(product / src_rate.cast(RATE), rounding=rounding))


def with_reporting_amounts(
    df: DataFrame,
    fx_rates: DataFrame,
    *,
    columns: Sequence[str],
    currency_col: str,
    date_col: str,
    reporting_currency: str,
    rounding: str = "half_up",
    suffix: str = "_rpt",
    flag_missing: bool = False,
) -> DataFrame:
    """Add ``<column><suffix>`` for each money column in ``columns``: converted from ``currency_col`` into
    ``reporting_currency`` at the rate of ``date_col``'s day (a DATE or TIMESTAMP), as DECIMAL(18,2).

    A day without a rate uses the latest earlier one (weekends, and dates after the last delivered rate).
    USD is 1 per USD even when fx_rates has no USD row, and an amount already in the reporting currency is
    kept as is. When no rate is known (unknown currency, date before the first rate, non-positive rate) the
    converted amount is null; with ``flag_missing`` and an ``_errors`` column, ``missing_fx_rate:<out>`` is
    appended to ``_errors`` too (null amounts stay null without an error). Rows and other columns are kept.
    """
    require_columns(df, (*columns, currency_col, date_col), what="with_reporting_amounts")
    reporting = reporting_currency.upper()
    day = F.col(date_col).cast(T.DateType())
    daily = F.broadcast(to_daily_rates(fx_rates, until=day, frame=df))
    src = daily.select(F.col("rate_date").alias("_fx_src_date"), F.col("currency").alias("_fx_src_cur"),
                       F.col("per_usd").alias("_fx_src_rate"))
    tgt = daily.where(F.col("currency") == reporting).select(
        F.col("rate_date").alias("_fx_tgt_date"), F.col("per_usd").alias("_fx_tgt_rate"))
    cur = F.upper(F.col(currency_col))
    out = (
        df.join(src, (cur == F.col("_fx_src_cur")) & (day == F.col("_fx_src_date")), "left")
        .join(tgt, day == F.col("_fx_tgt_date"), "left")
    )
    src_rate = F.when(cur == "USD", F.lit(1).cast(RATE)).otherwise(F.col("_fx_src_rate"))
    tgt_rate = F.lit(1).cast(RATE) if reporting == "USD" else F.col("_fx_tgt_rate")
    outs = []
    for c in columns:
        name = f"{c}{suffix}"
        converted = F.when(cur == reporting, F.col(c).cast(MONEY)).otherwise(
            convert_amount(F.col(c), src_rate, tgt_rate, rounding=rounding))
        out = out.withColumn(name, converted.cast(MONEY))
        if flag_missing and "_errors" in df.columns:
            missing = F.col(c).isNotNull() & F.col(name).isNull()
            out = out.withColumn("_errors", F.when(
                missing, F.concat(F.col("_errors"), F.array(F.lit(f"missing_fx_rate:{name}")))
            ).otherwise(F.col("_errors")))
        outs.append(name)
    return out.select(*df.columns, *[n for n in outs if n not in df.columns])

