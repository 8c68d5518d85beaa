"""Gold `seller_credit`: a 0–1000 trust score per cross-border shop and quarter from its customs, FX
collection, export tax refund and dispute records, with reason codes.

Each component is turned into a *shortfall* in [0, 1] (0 = nothing wrong) by a monotone rule, and
costs ``shortfall × its maximum points`` (COMPONENT_POINTS, summing to 1000); the score is 1000 minus
the points lost, so a worse component can never raise the score. Reason codes name the (up to) three
components that cost the most points (ties by the order of COMPONENT_POINTS).

Shortfalls:
- customs_regularity: 1 − share of the quarter's weeks with a customs clearance record;
- fx_collection: 1 − min(1, FX collected / customs value shipped) (money not brought home);
- tax_refund: min(1, |tax refunds / customs value − expected rate| / expected rate);
- dispute_rate: min(1, disputes / orders ÷ dispute_rate_cap);
- dispute_trend: min(1, max(0, rate − previous quarter's rate) ÷ dispute_rate_cap);
- tenure: 1 − min(1, quarters since the first record ÷ tenure_quarters_full).
A quarter without customs value gets the full FX and tax shortfall (nothing can be checked).
"""

from __future__ import annotations

from brandlake.transforms.columns import require_columns
from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

_S, _D, _I, _DB = T.StringType(), T.DateType(), T.IntegerType(), T.DoubleType()

COMPONENT_POINTS: dict[str, int] = {
    "dispute_rate": 250, "customs_regularity": 200, "fx_collection": 200, "tax_refund": 150,
    "dispute_trend": 100, "tenure": 100,
}
COMPONENTS = tuple(COMPONENT_POINTS)

SELLER_CREDIT = T.StructType([T.StructField(n, t, nullable) for n, t, nullable in [
    ("shop_id", _S, False), ("platform_id", _S, False), ("quarter_start", _D, False),
    ("customs_weeks", _I, False), ("customs_value_rpt", T.DecimalType(18, 2), False),
    ("fx_collected_rpt", T.DecimalType(18, 2), False), ("tax_refund_rpt", T.DecimalType(18, 2), False),
    ("orders", _I, False), ("disputes", _I, False), ("dispute_rate", _DB, True), ("tenure_quarters", _I, False),
    *[(f"{c}_shortfall", _DB, False) for c in COMPONENTS],
    *[(f"{c}_points_lost", _DB, False) for c in COMPONENTS],
    ("score", _I, False), ("reason_codes", T.ArrayType(_S), False),
]])
"""One row per cross-border shop × calendar quarter with any record or order: the component inputs,
each component's shortfall (0 best … 1 worst) and points lost, the score (0–1000) and up to three
reason codes (the components that cost the most points)."""


def _quarter(col: Column) -> Column:
    return F.trunc(col, "quarter")


def to_quarter_inputs(records: DataFrame, *, orders: DataFrame, shops: DataFrame) -> DataFrame:
    """Per cross-border shop × quarter: customs weeks and value, FX collected, tax refunds, orders and
    disputes, from silver seller_records (amount_rpt), orders and shops."""
    require_columns(records, ("shop_id", "platform_id", "record_type", "record_date", "amount_rpt"),
                    what="seller_records")
    require_columns(orders, ("order_id", "shop_id", "order_date"), what="orders")
    xb = shops.where(F.col("seller_type") == "cross_border").select("shop_id", "platform_id")
    rec = records.join(xb.select("shop_id"), "shop_id", "left_semi").withColumn("quarter_start",
                                                                                _quarter(F.col("record_date")))
    amount = F.coalesce(F.col("amount_rpt"), F.lit(0))

    def kind(t: str) -> Column:
        return F.col("record_type") == t
    per_q = rec.groupBy("shop_id", "quarter_start").agg(
        F.countDistinct(F.when(kind("customs_clearance"), F.date_trunc("week", "record_date"))).cast("int")
        .alias("customs_weeks"),
        F.sum(F.when(kind("customs_clearance"), amount).otherwise(0)).cast("decimal(18,2)").alias("customs_value_rpt"),
        F.sum(F.when(kind("fx_collection"), amount).otherwise(0)).cast("decimal(18,2)").alias("fx_collected_rpt"),
        F.sum(F.when(kind("export_tax_refund"), amount).otherwise(0)).cast("decimal(18,2)").alias("tax_refund_rpt"),
        F.sum(kind("dispute").cast("int")).cast("int").alias("disputes"),
        F.min("record_date").alias("_first_in_q"),
    )
    order_q = (orders.join(xb.select("shop_id"), "shop_id", "left_semi")
               .groupBy("shop_id", _quarter(F.col("order_date")).alias("quarter_start"))
               .agg(F.countDistinct("order_id").cast("int").alias("orders")))
    first = rec.groupBy("shop_id").agg(F.min("quarter_start").alias("_first_q"))
    zero = F.lit(0).cast("decimal(18,2)")
    return (
        per_q.join(order_q, ["shop_id", "quarter_start"], "full")
        .join(xb, "shop_id")
        .join(first, "shop_id", "left")
        .select(
            "shop_id", "platform_id", "quarter_start",
            F.coalesce("customs_weeks", F.lit(0)).alias("customs_weeks"),
            F.coalesce("customs_value_rpt", zero).alias("customs_value_rpt"),
            F.coalesce("fx_collected_rpt", zero).alias("fx_collected_rpt"),
            F.coalesce("tax_refund_rpt", zero).alias("tax_refund_rpt"),
            F.coalesce("orders", F.lit(0)).alias("orders"),
            F.coalesce("disputes", F.lit(0)).alias("disputes"),
            (F.floor(F.months_between("quarter_start", F.coalesce("_first_q", "quarter_start")) / 3) + 1)
            .cast("int").alias("tenure_quarters"),
        )
    )


def with_shortfalls(q: DataFrame, *, weeks_per_quarter: int = 13, expected_tax_rate: float = 0.09,
                    dispute_rate_cap: float = 0.05, tenure_quarters_full: int = 8) -> DataFrame:
    """Add ``dispute_rate`` and ``<component>_shortfall`` (module docstring rules)."""
    customs = F.col("customs_value_rpt").cast("double")
    rate = F.when(F.col("orders") > 0, F.col("disputes") / F.col("orders"))
    prev = F.lag(rate).over(Window.partitionBy("shop_id").orderBy("quarter_start"))
    clip = lambda c: F.least(F.lit(1.0), F.greatest(F.lit(0.0), c))  # noqa: E731
    return (
        q.withColumn("dispute_rate", rate.cast("double"))
        .withColumn("customs_regularity_shortfall", clip(1 - F.col("customs_weeks") / F.lit(weeks_per_quarter)))
        .withColumn("fx_collection_shortfall", F.when(customs > 0, clip(1 - F.col("fx_collected_rpt") / customs))
                    .otherwise(1.0))
        .withColumn("tax_refund_shortfall", F.when(
            customs > 0, clip(F.abs(F.col("tax_refund_rpt") / customs - expected_tax_rate) / expected_tax_rate))
            .otherwise(1.0))
        .withColumn("dispute_rate_shortfall", clip(F.coalesce(F.col("dispute_rate"), F.lit(0.0)) / dispute_rate_cap))
        .withColumn("dispute_trend_shortfall", clip(F.coalesce(F.col("dispute_rate") - prev, F.lit(0.0))
                                                     / dispute_rate_cap))
        .withColumn("tenure_shortfall", clip(1 - F.col("tenure_quarters") / F.lit(tenure_quarters_full)))
    )


def with_score(df: DataFrame) -> DataFrame:
    """Add ``<component>_points_lost``, ``score`` = round(1000 − Σ points lost) and ``reason_codes``."""
    for c, points in COMPONENT_POINTS.items():
        df = df.withColumn(f"{c}_points_lost", (F.col(f"{c}_shortfall") * points).cast("double"))
    lost = F.array(*[F.struct(F.col(f"{c}_points_lost").alias("lost"), F.lit(-i).alias("order"), F.lit(c).alias("name"))
                     for i, c in enumerate(COMPONENTS)])
    top = F.slice(F.filter(F.reverse(F.array_sort(lost)), lambda x: x["lost"] > 0), 1, 3)
    total = sum((F.col(f"{c}_points_lost") for c in COMPONENTS), F.lit(0.0))
    return (df.withColumn("score", F.greatest(F.lit(0), F.round(1000 - total)).cast("int"))
            .withColumn("reason_codes", F.transform(top, lambda x: x["name"])))


def to_seller_credit(records: DataFrame, *, orders: DataFrame, shops: DataFrame, **rules) -> DataFrame:
    """SELLER_CREDIT from silver seller_records, orders and shops (``rules``: with_shortfalls keywords)."""
    out = to_quarter_inputs(records, orders=orders, shops=shops).transform(with_shortfalls, **rules).transform(with_score)
    return out.select(*[F.col(f.name).cast(f.dataType) for f in SELLER_CREDIT.fields])


def to_forward_pairs(credit: DataFrame) -> DataFrame:
    """(shop_id, quarter_start, score, dispute_rate, next_dispute_rate): each scored quarter with the shop's
    dispute rate in the following quarter, for forward validation (rank correlation); the quarter's own
    dispute rate is the simple baseline the score is compared with."""
    nxt = credit.select("shop_id", F.add_months("quarter_start", -3).alias("quarter_start"),
                        F.col("dispute_rate").alias("next_dispute_rate"))
    return (credit.select("shop_id", "quarter_start", "score", "dispute_rate").join(nxt, ["shop_id", "quarter_start"])
            .where(F.col("next_dispute_rate").isNotNull()))
