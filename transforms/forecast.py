"""Forecast inputs from gold and silver: the daily demand panel per product × platform × warehouse region,
the big-sale calendar per platform, and presale positions (deposits paid, balances due) as of a time.

Pure DataFrame functions; the job collects their (small) results for the pandas models in models/forecast.py.
"""

from __future__ import annotations

from collections.abc import Mapping

from brandlake.transforms.columns import require_columns
from brandlake.transforms.money import MONEY
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

UNKNOWN_REGION = "unknown"
_S, _D, _L, _DB = T.StringType(), T.DateType(), T.LongType(), T.DoubleType()

DEMAND_PANEL = T.StructType([T.StructField(n, t, nullable) for n, t, nullable in [
    ("series_id", _S, False), ("product_id", _S, False), ("brand_id", _S, True), ("category", _S, True),
    ("platform_id", _S, False), ("region", _S, False), ("ds", _D, False), ("units", _L, False),
    ("gross_amount", MONEY, True), ("discount_amount", MONEY, True),
]])
"""One row per product × platform × warehouse region × day with demand (units of lines not cancelled);
`series_id` = product_id|platform_id|region. Days without sales have no row (zero demand)."""

SALE_CALENDAR = T.StructType([T.StructField(n, t, nullable) for n, t, nullable in [
    ("platform_id", _S, False), ("event_name", _S, False), ("presale_start", _D, True),
    ("event_start", _D, False), ("event_end", _D, False), ("discount_pct", _DB, True),
]])
"""One row per platform × big-sale event (local dates): its presale phase start (null without presale),
first and last event day, and the largest percentage discount announced for it."""

PRESALE_LINES = T.StructType([T.StructField(n, t, nullable) for n, t, nullable in [
    ("series_id", _S, False), ("platform_id", _S, False), ("order_id", _S, False), ("quantity", _L, False),
    ("event_start", _D, True), ("deposit_paid_at", T.TimestampType(), False),
    ("balance_paid_at", T.TimestampType(), True),
]])
"""One row per presale order line whose deposit was paid: its bottom series, the start of the event it
was bought for (the platform's first event starting on or after the order date), when the deposit and
the balance (null: not paid) were paid. Models read it as of an origin (models/forecast.presale_as_of)."""


def region_of(country: Column, province: Column, *, regions: Mapping[str, str]) -> Column:
    """Warehouse region serving a ship destination: ``COUNTRY/Province``, else ``COUNTRY`` from ``regions``,
    else the country itself (a destination no warehouse is configured for keeps its own region)."""
    m = F.create_map(*[x for k, v in sorted(regions.items()) for x in (F.lit(k), F.lit(v))]) if regions else None
    key = F.concat_ws("/", country, province)
    by_map = F.coalesce(m[key], m[country]) if m is not None else F.lit(None).cast("string")
    return F.coalesce(by_map, country, F.lit(UNKNOWN_REGION))


def to_product_categories(products: DataFrame) -> DataFrame:
    """One row per product: its brand and category (the latest SKU row wins)."""
    require_columns(products, ("sku_id", "product_id", "brand_id", "category"), what="products")
    return products.groupBy("product_id").agg(
        F.max_by("category", F.coalesce(F.col("updated_at"), F.lit("1970-01-01").cast("timestamp")))
        .alias("category") if "updated_at" in products.columns else F.max("category").alias("category"))


def to_demand_panel(sales_daily: DataFrame, *, products: DataFrame, regions: Mapping[str, str]) -> DataFrame:
    """Gold ``sales_daily`` to DEMAND_PANEL (lines with no product are not demand for any product)."""
    require_columns(sales_daily, ("brand_id", "product_id", "platform_id", "ship_country", "ship_province",
                                  "order_date", "units", "gross_amount", "discount_amount"), what="sales_daily")
    cats = to_product_categories(products)
    out = (
        sales_daily.where(F.col("product_id").isNotNull())
        .withColumn("region", region_of(F.col("ship_country"), F.col("ship_province"), regions=regions))
        .groupBy("product_id", "platform_id", "region", F.col("order_date").alias("ds"))
        .agg(F.max("brand_id").alias("brand_id"), F.sum("units").alias("units"),
             F.sum("gross_amount").alias("gross_amount"), F.sum("discount_amount").alias("discount_amount"))
        .join(cats, "product_id", "left")
        .withColumn("series_id", F.concat_ws("|", "product_id", "platform_id", "region"))
    )
    return out.select(*[F.col(f.name).cast(f.dataType) for f in DEMAND_PANEL.fields])


def to_sale_calendar(promotions: DataFrame, *, platforms: DataFrame) -> DataFrame:
    """Silver ``promotions`` (one row per promotion, grouped by event_name) to SALE_CALENDAR in each
    platform's local time. The sale calendar is published ahead (Double 11 is known a year before), so
    it is a known-in-advance feature; presale money is not (see to_presale_positions)."""
    require_columns(promotions, ("platform_id", "promotion_type", "event_name", "starts_at", "ends_at",
                                 "discount_pct"), what="promotions")
    tz = platforms.select("platform_id", F.coalesce("timezone", F.lit("UTC")).alias("tz"))
    p = promotions.where(F.col("event_name").isNotNull() & F.col("starts_at").isNotNull()).join(tz, "platform_id", "left")
    p = p.withColumn("tz", F.coalesce("tz", F.lit("UTC")))

    def local(c: str) -> Column:
        return F.to_date(F.from_utc_timestamp(F.col(c), F.col("tz")))

    pre = F.col("promotion_type") == "presale"
    out = p.groupBy("platform_id", "event_name").agg(
        F.min(F.when(pre, local("starts_at"))).alias("presale_start"),
        F.min(F.when(~pre, local("starts_at"))).alias("event_start"),
        F.max(F.when(~pre, local("ends_at"))).alias("event_end"),
        F.max(F.col("discount_pct").cast("double")).alias("discount_pct"),
    ).where(F.col("event_start").isNotNull())
    return out.select(*[F.col(f.name).cast(f.dataType) for f in SALE_CALENDAR.fields])


def to_presale_lines(orders: DataFrame, *, order_lines: DataFrame, payments: DataFrame, calendar: DataFrame,
                     regions: Mapping[str, str]) -> DataFrame:
    """PRESALE_LINES from silver orders, order lines, successful payments and the SALE_CALENDAR."""
    require_columns(orders, ("order_id", "platform_id", "is_presale", "order_date", "ship_country", "ship_province"),
                    what="orders")
    require_columns(payments, ("order_id", "payment_kind", "status", "paid_at"), what="payments")
    require_columns(order_lines, ("order_id", "product_id", "quantity"), what="order_lines")
    ok = payments.where(F.col("status") == "success")
    paid = ok.groupBy("order_id").agg(
        F.min(F.when(F.col("payment_kind") == "deposit", F.col("paid_at"))).alias("deposit_paid_at"),
        F.min(F.when(F.col("payment_kind") == "balance", F.col("paid_at"))).alias("balance_paid_at"))
    presale = (orders.where(F.col("is_presale"))
               .select("order_id", "platform_id", "order_date",
                       region_of(F.col("ship_country"), F.col("ship_province"), regions=regions).alias("region"))
               .join(paid.where(F.col("deposit_paid_at").isNotNull()), "order_id"))
    ev = (presale.alias("o").join(calendar.alias("c"), (F.col("o.platform_id") == F.col("c.platform_id"))
                                  & (F.col("c.event_start") >= F.col("o.order_date")), "left")
          .groupBy("o.order_id").agg(F.min("c.event_start").alias("event_start")))
    out = (presale.join(ev, "order_id", "left")
           .join(order_lines.where(F.col("product_id").isNotNull()).select("order_id", "product_id", "quantity"),
                 "order_id")
           .withColumn("series_id", F.concat_ws("|", "product_id", "platform_id", "region")))
    return out.select(*[F.col(f.name).cast(f.dataType) for f in PRESALE_LINES.fields])


STAT_FORECASTS = T.StructType([
    T.StructField("series_id", T.StringType()), T.StructField("origin", T.TimestampType()),
    T.StructField("ds", T.TimestampType()), T.StructField("yhat_stat", T.DoubleType()),
    T.StructField("method", T.StringType()), T.StructField("status", T.StringType()),
])
"""One row per series × backtest origin × forecast day: the per-series statistical method's forecast
(``yhat_stat``), or why no method was fitted (``status``)."""
