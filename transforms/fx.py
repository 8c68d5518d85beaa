"""Currency conversion with silver fx_rates (units of a currency per 1 USD, one row per currency per day)."""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

MONEY = T.DecimalType(18, 2)
RATE = T.DecimalType(18, 8)
# amount × rate is held at 10 decimals with 14 integer digits, so the division by the other rate
# keeps 16 decimals before the final half-up rounding to cents (no visible double rounding).
_PRODUCT = T.DecimalType(24, 10)


def to_daily_rates(fx_rates: DataFrame) -> DataFrame:
    """One row per currency per calendar day between its first and last rate; a day without a rate
    (weekend, holiday) carries the latest earlier rate forward. Columns: rate_date, currency, per_usd."""
    rates = fx_rates.select("rate_date", "currency", F.col("per_usd").cast(RATE).alias("per_usd"))
    days = (
        rates.groupBy("currency")
        .agg(F.min("rate_date").alias("first"), F.max("rate_date").alias("last"))
        .select("currency", F.explode(F.sequence("first", "last")).alias("rate_date"))
    )
    upto = Window.partitionBy("currency").orderBy("rate_date").rowsBetween(Window.unboundedPreceding, 0)
    return (
        days.join(rates, ["currency", "rate_date"], "left")
        .select("rate_date", "currency", F.last("per_usd", ignorenulls=True).over(upto).alias("per_usd"))
    )


def with_reporting_amount(
    df: DataFrame,
    fx_rates: DataFrame,
    *,
    amount_col: str,
    currency_col: str,
    date_col: str,
    reporting_currency: str,
    out_col: str,
) -> DataFrame:
    """Add ``out_col`` = ``amount_col`` converted from ``currency_col`` into ``reporting_currency`` at the
    rate of ``date_col``, as DECIMAL(18,2) rounded half-up.

    amount × per_usd(reporting) / per_usd(currency); USD is 1 per USD even when fx_rates has no USD
    row, and an amount already in the reporting currency is kept as is. When a needed rate is
    missing (unknown currency, date outside the rates, non-positive rate) ``out_col`` is null, and
    if ``df`` has an ``_errors`` column ``missing_fx_rate:<out_col>`` is appended to it (null
    amounts stay null without an error). Rows and other columns are unchanged.
    """
    for c in (amount_col, currency_col, date_col):
        if c not in df.columns:
            raise ValueError(f"with_reporting_amount needs column {c!r}; found {df.columns}")
    reporting = reporting_currency.upper()
    daily = to_daily_rates(fx_rates)
    src = daily.select(F.col("rate_date").alias("_fx_src_date"), F.col("currency").alias("_fx_src_cur"),
                       F.col("per_usd").alias("_fx_src_rate"))
    tgt = daily.where(F.col("currency") == reporting).select(
        F.col("rate_date").alias("_fx_tgt_date"), F.col("per_usd").alias("_fx_tgt_rate"))
    cur, day = F.upper(F.col(currency_col)), F.col(date_col).cast(T.DateType())
    joined = (
        df.join(src, (cur == F.col("_fx_src_cur")) & (day == F.col("_fx_src_date")), "left")
        .join(tgt, day == F.col("_fx_tgt_date"), "left")
    )
    converted = _convert(F.col(amount_col).cast(MONEY), _usd_or(cur, F.col("_fx_src_rate")),
                         F.lit(1) if reporting == "USD" else F.col("_fx_tgt_rate"))
    out = F.when(cur == reporting, F.col(amount_col).cast(MONEY)).otherwise(converted)
    result = joined.withColumn(out_col, out)
    if "_errors" in df.columns:
        missing = F.col(amount_col).isNotNull() & F.col(out_col).isNull()
        result = result.withColumn("_errors", F.when(
            missing, F.concat(F.col("_errors"), F.array(F.lit(f"missing_fx_rate:{out_col}")))
        ).otherwise(F.col("_errors")))
    return result.select(*df.columns, *([out_col] if out_col not in df.columns else []))


def _usd_or(cur: Column, rate: Column) -> Column:
    return F.when(cur == "USD", F.lit(1).cast(RATE)).otherwise(rate)


def _convert(amount: Column, src_rate: Column, tgt_rate: Column) -> Column:
    usable = (src_rate > 0) & (tgt_rate > 0)
    product = (amount * tgt_rate.cast(RATE)).try_cast(_PRODUCT)
    return F.when(usable, F.round(product / src_rate.cast(RATE), 2).try_cast(MONEY))
