"""Gold `sales_daily`: one row per brand × product × platform × region (ship_country, ship_province) × day
(order_date), in the reporting currency, aggregated from `order_line_settlement`."""

from __future__ import annotations

from brandlake.transforms.money import MONEY
from brandlake.transforms.settlement import CANCELLED
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

SALES_DAILY_KEYS = ("brand_id", "product_id", "platform_id", "ship_country", "ship_province", "order_date")

_S, _D, _L = T.StringType(), T.DateType(), T.LongType()
SALES_DAILY = T.StructType([T.StructField(n, t, nullable) for n, t, nullable in [
    ("brand_id", _S, True), ("product_id", _S, True), ("platform_id", _S, False), ("ship_country", _S, True),
    ("ship_province", _S, True), ("order_date", _D, False), ("currency", _S, False), ("units", _L, False),
    ("gross_amount", MONEY, True), ("discount_amount", MONEY, True), ("settled_amount", MONEY, True),
    ("refund_amount", MONEY, True), ("orders", _L, False), ("buyers", _L, False),
]])
"""One row per brand × product × platform × ship_country × ship_province × order_date. Units, gross and
discount amounts, orders and buyers count lines that are not cancelled (demand); settled and refund
amounts sum every line (money kept — a forfeited presale deposit counts — and money returned).
Pending lines add no settled amount yet. Amounts are in `currency` (the reporting currency)."""


def to_sales_daily(settlement: DataFrame) -> DataFrame:
    """Aggregate `order_line_settlement` rows (its `*_rpt` amounts) to SALES_DAILY."""
    live = F.col("settlement_status") != CANCELLED

    def live_sum(c: str) -> Column:
        return F.sum(F.when(live, F.col(c)).otherwise(F.lit(0).cast(MONEY)))

    out = settlement.groupBy(*SALES_DAILY_KEYS, F.col("reporting_currency").alias("currency")).agg(
        F.sum(F.when(live, F.col("quantity")).otherwise(0)).alias("units"),
        live_sum("gross_amount_rpt").alias("gross_amount"),
        live_sum("discount_amount_rpt").alias("discount_amount"),
        F.coalesce(F.sum("settled_amount_rpt"), F.lit(0)).alias("settled_amount"),
        F.sum("refunded_amount_rpt").alias("refund_amount"),
        F.count_distinct(F.when(live, F.col("order_id"))).alias("orders"),
        F.count_distinct(F.when(live, F.col("customer_id"))).alias("buyers"),
    )
    return out.select(*[F.col(f.name).cast(f.dataType) for f in SALES_DAILY.fields])
