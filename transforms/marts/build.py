"""The brand marts: pure DataFrame functions from gold settlement, silver and parcel tracking to one table
per report section. Every mart is per brand × period (PERIOD_COLUMNS) unless its schema says otherwise,
money in the reporting currency (`currency`), and every cell below the privacy floor suppressed in place
(see transforms/marts/privacy.py). No mart holds a customer id, an order id or any PII: buyers and orders
are only counted.
"""

from __future__ import annotations

from brandlake.transforms.columns import require_columns
from brandlake.transforms.marts.periods import PERIOD_COLUMNS, previous_key, with_periods, year_ago_key
from brandlake.transforms.marts.privacy import suppress_small_cells, suppress_where
from brandlake.transforms.money import MONEY
from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

_S, _D, _L, _I, _B, _F = (T.StringType(), T.DateType(), T.LongType(), T.IntegerType(), T.BooleanType(),
                          T.DoubleType())
_PERIOD = [("brand_id", _S), ("period_type", _S), ("period_key", _S), ("phase", _S), ("period_start", _D)]


def _schema(*fields: tuple[str, T.DataType]) -> T.StructType:
    return T.StructType([T.StructField(n, t, True) for n, t in fields])


# ---------------------------------------------------------------------------------------------------
# Schemas (grain in each docstring)

MART_SALES_TREND = _schema(
    *_PERIOD, ("currency", _S), ("settled_amount", MONEY), ("units", _L), ("orders", _L), ("buyers", _L),
    ("avg_order_value", MONEY), ("discount_depth", _F), ("refund_rate", _F),
    ("settled_amount_prev", MONEY), ("settled_change_pct", _F), ("buyers_prev", _L),
    ("settled_amount_year_ago", MONEY), ("settled_yoy_pct", _F), ("is_suppressed", _B),
)
"""One row per brand × period (week, month, sale event × phase): settled sales, units, orders, buyers, AOV,
discount depth (discount / gross), refund rate (refunded / (settled + refunded)), and the change against the
previous period and the same period a year earlier (null when either side is unknown or suppressed)."""

MART_ORDER_TIME = _schema(*_PERIOD, ("weekday", _I), ("hour", _I), ("currency", _S), ("orders", _L),
                          ("buyers", _L), ("settled_amount", MONEY), ("is_suppressed", _B))
"""One row per brand × period × weekday (1 = Monday) × hour of day, in the platform's local time."""

MART_DELIVERY_REGIONS = _schema(
    *_PERIOD, ("ship_country", _S), ("ship_province", _S), ("ship_city", _S), ("currency", _S),
    ("orders", _L), ("buyers", _L), ("settled_amount", MONEY), ("delivered_orders", _L),
    ("delivery_hours_p50", _F), ("delivery_hours_p90", _F), ("on_time_share", _F), ("exception_share", _F),
    ("is_suppressed", _B),
)
"""One row per brand × period × ship country × province × city: sales, and from parcel tracking the hours
from order to delivered scan (median, 90th percentile), the on-time share of delivered parcels and the share
of shipped parcels with an exception scan."""

MART_BUYER_GROUPS = _schema(
    *_PERIOD, ("dimension", _S), ("group_value", _S), ("currency", _S), ("buyers", _L), ("orders", _L),
    ("settled_amount", MONEY), ("buyer_share", _F), ("market_buyer_share", _F), ("index_vs_market", _F),
    ("is_suppressed", _B),
)
"""One row per brand × period × dimension (gender, age_band, buyer_type new/returning, country,
country_category) × group value: the brand's buyers in the group, their share of the brand's buyers, the
same share over the whole market, and the index (100 = like the market; > 100 over-indexed)."""

MART_REPURCHASE = _schema(
    ("brand_id", _S), ("period_type", _S), ("period_key", _S), ("phase", _S), ("period_start", _D),
    ("cohort_buyers", _L), ("repurchase_30d_rate", _F), ("repurchase_90d_rate", _F),
    ("repurchase_180d_rate", _F), ("median_days_between", _F), ("is_suppressed", _B),
)
"""One row per brand × first-purchase month (cohort; period_type month): buyers whose first purchase of the
brand fell in the month, the share who bought again within 30/90/180 days of it (null while the window is
not yet over at the data's last day), and the median days between consecutive purchase days of the
cohort's buyers."""

MART_COHORT_RETENTION = _schema(
    ("brand_id", _S), ("period_key", _S), ("period_start", _D), ("months_since_first", _I),
    ("active_buyers", _L), ("retention_rate", _F), ("is_suppressed", _B),
)
"""One row per brand × cohort month × months since the first purchase (0, 1, ...): cohort buyers who
bought in that month and their share of the cohort."""

MART_PRODUCTS = _schema(
    *_PERIOD, ("product_id", _S), ("category", _S), ("currency", _S), ("sales_rank", _I),
    ("settled_amount", MONEY), ("units", _L), ("buyers", _L), ("settled_amount_prev", MONEY),
    ("growth_pct", _F), ("return_rate", _F), ("avg_rating", _F), ("reviews", _L), ("is_suppressed", _B),
)
"""One row per brand × period × own product: rank by settled sales, units, buyers, growth against the
previous period, return rate (units returned / units sold) and the average rating of its reviews."""

MART_FUNNEL = _schema(
    *_PERIOD, ("channel", _S), ("device", _S), ("visitors", _L), ("sessions", _L), ("view_sessions", _L),
    ("cart_sessions", _L), ("purchase_sessions", _L), ("lost_visitors", _L), ("view_to_cart_rate", _F),
    ("cart_to_purchase_rate", _F), ("conversion_rate", _F), ("is_suppressed", _B),
)
"""One row per brand × period × traffic channel × device: sessions touching the brand's products with a
view, a cart, a purchase; visitors (customers, or the session for guests) and lost visitors (viewed or
carted, no purchase in the session nor an order of the brand within 24 h)."""

MART_LOST_VISITORS = _schema(*_PERIOD, ("breakdown", _S), ("breakdown_value", _S), ("lost_visitors", _L),
                             ("is_suppressed", _B))
"""One row per brand × period × breakdown (channel, product) × value: lost visitors (see MART_FUNNEL)."""

MART_PRESALE = _schema(
    *_PERIOD, ("currency", _S), ("presale_orders", _L), ("presale_buyers", _L), ("deposits_paid", _L),
    ("deposit_amount", MONEY), ("balances_paid", _L), ("balance_conversion_rate", _F),
    ("deposits_forfeited", _L), ("forfeited_deposit_amount", MONEY), ("presale_settled_amount", MONEY),
    ("event_settled_amount", MONEY), ("presale_share", _F), ("is_suppressed", _B),
)
"""One row per brand × sale event (phase all): presale orders with a paid deposit, how many paid the
balance, deposits forfeited (balance never paid), and the presale share of the event's settled sales."""

MART_CATEGORY_TOTALS = _schema(
    ("period_type", _S), ("period_key", _S), ("phase", _S), ("period_start", _D), ("category", _S),
    ("currency", _S), ("settled_amount", MONEY), ("units", _L), ("buyers", _L), ("brands", _L),
    ("is_suppressed", _B),
)
"""One row per period × product category over the whole market (no brand): settled sales, units, buyers,
brands; suppressed below k buyers or m brands."""

MART_BENCHMARKS = _schema(
    ("brand_id", _S), ("period_type", _S), ("period_key", _S), ("period_start", _D), ("main_category", _S),
    ("size_tier", _I), ("metric", _S), ("brand_value", _F), ("peer_brands", _L), ("peer_p25", _F),
    ("peer_median", _F), ("peer_p75", _F), ("brand_quartile", _I), ("is_suppressed", _B),
)
"""One row per brand × month × metric (growth_pct, conversion_rate, repurchase_90d_rate, return_rate): the
brand's value and the quartiles of its peer tier (brands of similar all-time sales, `size_tier`, within the
same main category); the peer statistics are suppressed when the tier has fewer than m brands with a value."""

MARTS: dict[str, T.StructType] = {
    "mart_sales_trend": MART_SALES_TREND, "mart_order_time": MART_ORDER_TIME,
    "mart_delivery_regions": MART_DELIVERY_REGIONS, "mart_buyer_groups": MART_BUYER_GROUPS,
    "mart_repurchase": MART_REPURCHASE, "mart_cohort_retention": MART_COHORT_RETENTION,
    "mart_products": MART_PRODUCTS, "mart_funnel": MART_FUNNEL, "mart_lost_visitors": MART_LOST_VISITORS,
    "mart_presale": MART_PRESALE, "mart_category_totals": MART_CATEGORY_TOTALS,
    "mart_benchmarks": MART_BENCHMARKS,
}
"""Every mart table name → its schema."""


def _conform(df: DataFrame, schema: T.StructType) -> DataFrame:
    return df.select(*[F.col(f.name).cast(f.dataType) for f in schema.fields])


def _ratio(num: Column, den: Column, digits: int = 4) -> Column:
    return F.when(den.cast("double") > 0, F.round(num.cast("double") / den.cast("double"), digits))


def _pct_change(new: Column, old: Column) -> Column:
    return F.when(old.cast("double") > 0, F.round((new.cast("double") / old.cast("double") - 1) * 100, 2))


def _money_sum(c: str) -> Column:
    return F.coalesce(F.sum(c), F.lit(0)).cast(MONEY)


# ---------------------------------------------------------------------------------------------------
# The fact every sales mart starts from

def to_mart_lines(
    settlement: DataFrame, *, orders: DataFrame, customers: DataFrame, products: DataFrame,
    platforms: DataFrame, returns: DataFrame, reviews: DataFrame,
) -> DataFrame:
    """One row per order line with what the marts group by: brand, buyer key (platform × customer, kept
    inside gold), local weekday/hour, ship region, gender, age band, category, returned units, rating."""
    require_columns(settlement, ("order_id", "line_id", "platform_id", "brand_id", "product_id", "customer_id",
                                 "quantity", "settlement_status", "order_date", "is_presale", "reporting_currency",
                                 "gross_amount_rpt", "discount_amount_rpt", "refunded_amount_rpt",
                                 "settled_amount_rpt"), what="order_line_settlement")
    require_columns(orders, ("order_id", "ordered_at", "ship_country", "ship_province", "ship_city"), what="orders")
    require_columns(platforms, ("platform_id", "timezone", "market"), what="platforms")
    o = orders.select("order_id", "ordered_at", "ship_country", "ship_province", "ship_city")
    c = customers.select("platform_id", "customer_id", "gender", "birth_year")
    cat = _categories(products)
    p = platforms.select("platform_id", "timezone", "market")
    ret = (returns.where(~F.col("status").isin("rejected", "cancelled"))
           .groupBy("order_id", "line_id").agg(F.sum(F.coalesce("quantity", F.lit(1))).alias("returned_units")))
    rev = reviews.groupBy("order_id", "line_id").agg(F.avg("rating").alias("rating"))
    s = settlement.drop("ship_country", "ship_province")
    local = F.from_utc_timestamp(F.col("ordered_at"), F.coalesce(F.col("timezone"), F.lit("UTC")))
    age = F.year("order_date") - F.col("birth_year")
    age_band = (F.when(F.col("birth_year").isNull(), "unknown").when(age < 25, "18-24").when(age < 35, "25-34")
                .when(age < 45, "35-44").when(age < 55, "45-54").otherwise("55+"))
    return (
        s.join(o, "order_id", "left").join(c, ["platform_id", "customer_id"], "left")
        .join(cat, "product_id", "left").join(p, "platform_id", "left")
        .join(ret, ["order_id", "line_id"], "left").join(rev, ["order_id", "line_id"], "left")
        .where(F.col("brand_id").isNotNull())
        .select(
            "brand_id", "platform_id", "market", "order_id", "line_id",
            _buyer_key().alias("buyer_key"),
            "product_id", F.coalesce("category", F.lit("unknown")).alias("category"), "order_date", "ordered_at",
            ((F.dayofweek(local) + 5) % 7 + 1).alias("weekday"), F.hour(local).alias("hour"),
            F.coalesce("ship_country", F.lit("unknown")).alias("ship_country"),
            F.coalesce("ship_province", F.lit("unknown")).alias("ship_province"),
            F.coalesce("ship_city", F.lit("unknown")).alias("ship_city"),
            F.coalesce("gender", F.lit("unknown")).alias("gender"), age_band.alias("age_band"),
            "quantity", _is_live().alias("is_live"), "is_presale",
            F.col("reporting_currency").alias("currency"),
            F.col("gross_amount_rpt").alias("gross"), F.col("discount_amount_rpt").alias("discount"),
            F.col("refunded_amount_rpt").alias("refunded"), F.col("settled_amount_rpt").alias("settled"),
            F.coalesce("returned_units", F.lit(0)).cast("long").alias("returned_units"), "rating",
        )
    )


def _categories(products: DataFrame) -> DataFrame:
    """(product_id, category): a product's category, from any of its SKUs."""
    return products.groupBy("product_id").agg(F.max("category").alias("category"))


def _buyer_key() -> Column:
    """The buyer of a settlement line inside gold (platform × customer; never published); null for a guest."""
    return F.when(F.col("customer_id").isNotNull(), F.concat_ws("|", "platform_id", "customer_id"))


def _is_live() -> Column:
    return F.col("settlement_status") != "cancelled"


def to_buyer_days(settlement: DataFrame) -> DataFrame:
    """(brand_id, buyer_key, order_date, is_live), distinct, from order_line_settlement alone: the whole-history
    facts repurchase, cohort retention and new-versus-returning read, equal to those columns of
    ``to_mart_lines`` without its joins (an incremental run builds those lines for the touched periods only)."""
    return (settlement.where(F.col("brand_id").isNotNull())
            .select("brand_id", _buyer_key().alias("buyer_key"), "order_date", _is_live().alias("is_live"))
            .distinct())


def to_brand_category_sales(settlement: DataFrame, *, products: DataFrame) -> DataFrame:
    """(brand_id, category, settled): all-time settled sales per brand and category (unknown when the product
    has none) from order_line_settlement, what ``to_brand_tiers`` ranks brands by."""
    return (settlement.where(F.col("brand_id").isNotNull())
            .groupBy("brand_id", "product_id").agg(F.sum("settled_amount_rpt").alias("_s"))
            .join(_categories(products), "product_id", "left")
            .groupBy("brand_id", F.coalesce("category", F.lit("unknown")).alias("category"))
            .agg(F.sum("_s").alias("settled")))


def _live(c: str) -> Column:
    return F.when(F.col("is_live"), F.col(c))


def _base_aggs() -> list[Column]:
    return [
        _money_sum("settled").alias("settled_amount"),
        F.coalesce(F.sum(_live("quantity")), F.lit(0)).cast("long").alias("units"),
        F.count_distinct(_live("order_id")).alias("orders"),
        F.count_distinct(_live("buyer_key")).alias("buyers"),
    ]


# ---------------------------------------------------------------------------------------------------
# Marts

def _with_stored(g: DataFrame, stored: DataFrame | None) -> DataFrame:
    """``g`` (a mart's figures before its comparisons) and ``stored``: the mart's rows as written, for periods
    ``g`` was not built for, which its comparisons read (an incremental run builds the changed periods alone)."""
    if stored is None:
        return g
    return g.unionByName(stored.select(*[F.col(f.name).cast(f.dataType) for f in g.schema.fields]))


def to_sales_trend(periodic: DataFrame, *, k: int, stored: DataFrame | None = None) -> DataFrame:
    """MART_SALES_TREND from ``to_mart_lines`` rows already expanded by ``with_periods``; the previous and
    year-ago figures come from ``periodic`` or, for periods it does not hold, from ``stored`` (``_with_stored``)."""
    g = periodic.groupBy("brand_id", *PERIOD_COLUMNS, "currency").agg(
        *_base_aggs(),
        _money_sum(F.when(F.col("is_live"), F.col("gross"))).alias("_gross"),
        _money_sum(F.when(F.col("is_live"), F.col("discount"))).alias("_discount"),
        _money_sum("refunded").alias("_refunded"),
    )
    g = g.select(
        "*",
        F.when(F.col("orders") > 0, (F.col("settled_amount") / F.col("orders"))).cast(MONEY).alias("avg_order_value"),
        _ratio(F.col("_discount"), F.col("_gross")).alias("discount_depth"),
        _ratio(F.col("_refunded"), F.col("settled_amount") + F.col("_refunded")).alias("refund_rate"),
    ).drop("_gross", "_discount", "_refunded")
    g = suppress_where(g, hide=F.col("buyers") < k, value_cols=(
        "settled_amount", "units", "orders", "buyers", "avg_order_value", "discount_depth", "refund_rate"))
    g = _with_stored(g, stored)
    ref = g.select("brand_id", "phase", F.col("period_key").alias("_ref_key"),
                   F.col("settled_amount").alias("_ref_amount"), F.col("buyers").alias("_ref_buyers"))
    keyed = g.withColumn("_prev", previous_key(F.col("period_type"), F.col("period_key"), F.col("period_start"))) \
        .withColumn("_yoy", year_ago_key(F.col("period_type"), F.col("period_key"), F.col("period_start")))
    prev = ref.withColumnRenamed("_ref_key", "_prev").withColumnRenamed("_ref_amount", "settled_amount_prev") \
        .withColumnRenamed("_ref_buyers", "buyers_prev")
    yoy = ref.drop("_ref_buyers").withColumnRenamed("_ref_key", "_yoy") \
        .withColumnRenamed("_ref_amount", "settled_amount_year_ago")
    out = (keyed.join(prev, ["brand_id", "phase", "_prev"], "left").join(yoy, ["brand_id", "phase", "_yoy"], "left")
           .withColumn("settled_change_pct", _pct_change(F.col("settled_amount"), F.col("settled_amount_prev")))
           .withColumn("settled_yoy_pct", _pct_change(F.col("settled_amount"), F.col("settled_amount_year_ago"))))
    return _conform(out, MART_SALES_TREND)


def to_order_time(periodic: DataFrame, *, k: int) -> DataFrame:
    """MART_ORDER_TIME; complementary suppression within each brand × period."""
    g = periodic.where(F.col("is_live")).groupBy("brand_id", *PERIOD_COLUMNS, "weekday", "hour", "currency").agg(
        F.count_distinct("order_id").alias("orders"), F.count_distinct("buyer_key").alias("buyers"),
        _money_sum("settled").alias("settled_amount"))
    out = suppress_small_cells(g, group_cols=("brand_id", *PERIOD_COLUMNS), order_cols=("weekday", "hour"),
                               buyers_col="buyers", value_cols=("orders", "settled_amount"), k=k)
    return _conform(out, MART_ORDER_TIME)


def to_delivery_regions(periodic: DataFrame, *, tracking: DataFrame, k: int) -> DataFrame:
    """MART_DELIVERY_REGIONS; ``tracking`` is PARCEL_TRACKING (one shipment per order is used: its first)."""
    t = (tracking.where(F.col("order_id").isNotNull()).groupBy("order_id").agg(
        F.min_by("order_to_delivered_hours", "shipment_id").alias("_hours"),
        F.min_by("is_sla_breached", "shipment_id").alias("_breached"),
        F.min_by("has_exception", "shipment_id").alias("_exception")))
    lines = periodic.where(F.col("is_live")).join(t, "order_id", "left")
    per_order = lines.groupBy("brand_id", *PERIOD_COLUMNS, "ship_country", "ship_province", "ship_city",
                              "currency", "order_id", "buyer_key").agg(
        _money_sum("settled").alias("_settled"), F.first("_hours").alias("_hours"),
        F.first("_breached").alias("_breached"), F.first("_exception").alias("_exception"))
    g = per_order.groupBy("brand_id", *PERIOD_COLUMNS, "ship_country", "ship_province", "ship_city", "currency").agg(
        F.count("order_id").alias("orders"), F.count_distinct("buyer_key").alias("buyers"),
        _money_sum("_settled").alias("settled_amount"), F.count("_hours").alias("delivered_orders"),
        F.percentile_approx("_hours", 0.5, 10000).alias("delivery_hours_p50"),
        F.percentile_approx("_hours", 0.9, 10000).alias("delivery_hours_p90"),
        _ratio(F.sum(F.when(F.col("_hours").isNotNull() & ~F.col("_breached"), 1).otherwise(0)),
               F.count("_hours")).alias("on_time_share"),
        _ratio(F.sum(F.when(F.col("_exception"), 1).otherwise(0)), F.count("_exception")).alias("exception_share"),
    )
    out = suppress_small_cells(
        g, group_cols=("brand_id", *PERIOD_COLUMNS), order_cols=("ship_country", "ship_province", "ship_city"),
        buyers_col="buyers", k=k, value_cols=("orders", "settled_amount", "delivered_orders", "delivery_hours_p50",
                                              "delivery_hours_p90", "on_time_share", "exception_share"))
    return _conform(out, MART_DELIVERY_REGIONS)


def with_buyer_type(periodic: DataFrame, *, lines: DataFrame) -> DataFrame:
    """Adds ``buyer_type``: ``new`` when the buyer's first order of the brand (over all ``lines``) falls in
    the period, else ``returning``."""
    first = lines.where(F.col("is_live")).groupBy("brand_id", "buyer_key").agg(F.min("order_date").alias("_first"))
    return (periodic.join(first, ["brand_id", "buyer_key"], "left")
            .withColumn("buyer_type", F.when(F.col("_first") >= F.col("period_start"), "new").otherwise("returning"))
            .drop("_first"))


DIMENSIONS = ("gender", "age_band", "buyer_type", "country", "country_category")


def _dimension_value(dimension: str) -> Column:
    if dimension == "country":
        return F.col("ship_country")
    if dimension == "country_category":
        return F.concat_ws("|", "ship_country", "category")
    return F.col(dimension)


def to_buyer_groups(periodic: DataFrame, *, k: int) -> DataFrame:
    """MART_BUYER_GROUPS from periodic lines carrying ``buyer_type``; the market share is over all brands."""
    live = periodic.where(F.col("is_live") & F.col("buyer_key").isNotNull())
    cell = ["brand_id", *PERIOD_COLUMNS, "dimension", "group_value", "currency"]
    # each line once per dimension, from one read of the lines
    groups = F.explode(F.array(*[F.struct(F.lit(d).alias("dimension"), _dimension_value(d).alias("group_value"))
                                 for d in DIMENSIONS])).alias("_g")
    rows = (live.select("brand_id", *PERIOD_COLUMNS, "currency", "buyer_key", "order_id", "settled", groups)
            .select("*", "_g.dimension", "_g.group_value").drop("_g"))
    # distinct buyers and orders of each cell counted level by level (per order, per buyer, per cell): plain
    # sums, which Spark aggregates before the shuffle, instead of two distinct counts in one aggregation (which
    # it plans by copying every row once per distinct column)
    per_buyer = (rows.groupBy(*cell, "buyer_key", "order_id").agg(F.sum("settled").alias("_settled"))
                 .groupBy(*cell, "buyer_key").agg(F.count("*").alias("_orders"), F.sum("_settled").alias("_settled")))
    g = per_buyer.groupBy(*cell).agg(
        F.count("*").alias("buyers"), F.sum("_orders").alias("orders"), _money_sum("_settled").alias("settled_amount"))
    brand_total = live.groupBy("brand_id", *PERIOD_COLUMNS).agg(F.count_distinct("buyer_key").alias("_brand_buyers"))
    market = (per_buyer.select(*PERIOD_COLUMNS, "dimension", "group_value", "buyer_key").distinct()
              .groupBy(*PERIOD_COLUMNS, "dimension", "group_value").agg(F.count("*").alias("_mkt")))
    market_total = live.groupBy(*PERIOD_COLUMNS).agg(F.count_distinct("buyer_key").alias("_mkt_total"))
    out = (g.join(brand_total, ["brand_id", *PERIOD_COLUMNS])
           .join(market, [*PERIOD_COLUMNS, "dimension", "group_value"])
           .join(market_total, list(PERIOD_COLUMNS))
           .withColumn("buyer_share", _ratio(F.col("buyers"), F.col("_brand_buyers")))
           .withColumn("market_buyer_share", _ratio(F.col("_mkt"), F.col("_mkt_total")))
           .withColumn("index_vs_market", F.round(F.col("buyer_share") / F.col("market_buyer_share") * 100, 1)))
    out = suppress_small_cells(
        out, group_cols=("brand_id", *PERIOD_COLUMNS, "dimension"), order_cols=("group_value",), buyers_col="buyers",
        k=k, value_cols=("orders", "settled_amount", "buyer_share", "index_vs_market"))
    return _conform(out, MART_BUYER_GROUPS)


def to_repurchase(lines: DataFrame, *, k: int) -> tuple[DataFrame, DataFrame]:
    """(MART_REPURCHASE, MART_COHORT_RETENTION) from the whole history's (brand_id, buyer_key, order_date,
    is_live) rows (``to_buyer_days`` or ``to_mart_lines``)."""
    days = (lines.where(F.col("is_live") & F.col("buyer_key").isNotNull())
            .select("brand_id", "buyer_key", "order_date").distinct())
    last_day = days.agg(F.max("order_date").alias("_last"))
    w = Window.partitionBy("brand_id", "buyer_key").orderBy("order_date")
    d = (days.withColumn("_first", F.min("order_date").over(Window.partitionBy("brand_id", "buyer_key")))
         .withColumn("_gap", F.datediff("order_date", F.lag("order_date").over(w)))
         .withColumn("_cohort", F.trunc("_first", "month")))
    per_buyer = d.groupBy("brand_id", "buyer_key", "_cohort", "_first").agg(
        F.min(F.when(F.col("order_date") > F.col("_first"), F.datediff("order_date", "_first"))).alias("_next"))
    windows = (30, 90, 180)
    cohort = per_buyer.crossJoin(last_day).groupBy("brand_id", "_cohort").agg(
        F.count("buyer_key").alias("cohort_buyers"),
        *[F.when(F.max(F.date_add("_first", n)) <= F.first("_last"),
                 _ratio(F.sum(F.when(F.col("_next") <= n, 1).otherwise(0)), F.count("buyer_key"))
                 ).alias(f"repurchase_{n}d_rate") for n in windows])
    gaps = d.where(F.col("_gap").isNotNull()).groupBy("brand_id", "_cohort").agg(
        F.percentile_approx("_gap", 0.5, 10000).cast("double").alias("median_days_between"))
    rep = (cohort.join(gaps, ["brand_id", "_cohort"], "left")
           .select("*", F.lit("month").alias("period_type"),
                   F.concat(F.lit("month:"), F.date_format("_cohort", "yyyy-MM")).alias("period_key"),
                   F.lit("all").alias("phase"), F.col("_cohort").alias("period_start")))
    rep = suppress_where(rep, hide=F.col("cohort_buyers") < k, value_cols=(
        "cohort_buyers", "repurchase_30d_rate", "repurchase_90d_rate", "repurchase_180d_rate", "median_days_between"))
    months = F.months_between(F.trunc("order_date", "month"), F.col("_cohort")).cast("int")
    active = (d.groupBy("brand_id", "_cohort", months.alias("months_since_first"))
              .agg(F.count_distinct("buyer_key").alias("active_buyers")))
    ret = (active.join(cohort.select("brand_id", "_cohort", "cohort_buyers"), ["brand_id", "_cohort"])
           .withColumn("retention_rate", _ratio(F.col("active_buyers"), F.col("cohort_buyers")))
           .select("*", F.concat(F.lit("month:"), F.date_format("_cohort", "yyyy-MM")).alias("period_key"),
                   F.col("_cohort").alias("period_start")))
    ret = suppress_where(ret, hide=F.col("active_buyers") < k, value_cols=("active_buyers", "retention_rate"))
    return _conform(rep, MART_REPURCHASE), _conform(ret, MART_COHORT_RETENTION)


def to_products(periodic: DataFrame, *, k: int, stored: DataFrame | None = None) -> DataFrame:
    """MART_PRODUCTS; complementary suppression within each brand × period; rank over published products; the
    previous period's sales come from ``periodic`` or ``stored`` (as in ``to_sales_trend``)."""
    g = periodic.groupBy("brand_id", *PERIOD_COLUMNS, "product_id", "category", "currency").agg(
        *_base_aggs()[:2], F.count_distinct(_live("buyer_key")).alias("buyers"),
        F.sum(_live("returned_units")).alias("_returned"),
        F.avg("rating").alias("avg_rating"), F.count("rating").alias("reviews"))
    g = (g.withColumn("return_rate", _ratio(F.col("_returned"), F.col("units")))
         .withColumn("avg_rating", F.round("avg_rating", 2)))
    g = suppress_small_cells(g, group_cols=("brand_id", *PERIOD_COLUMNS), order_cols=("product_id",),
                             buyers_col="buyers", k=k,
                             value_cols=("settled_amount", "units", "return_rate", "avg_rating", "reviews"))
    g = g.withColumn("sales_rank", F.when(~F.col("is_suppressed"), F.rank().over(
        Window.partitionBy("brand_id", *PERIOD_COLUMNS, F.col("is_suppressed"))
        .orderBy(F.col("settled_amount").desc(), "product_id")))).drop("_returned")
    g = _with_stored(g, stored)
    ref = g.select("brand_id", "phase", "product_id", F.col("period_key").alias("_prev"),
                   F.col("settled_amount").alias("settled_amount_prev"))
    out = (g.withColumn("_prev", previous_key(F.col("period_type"), F.col("period_key"), F.col("period_start")))
           .join(ref, ["brand_id", "phase", "product_id", "_prev"], "left")
           .withColumn("growth_pct", _pct_change(F.col("settled_amount"), F.col("settled_amount_prev"))))
    return _conform(out, MART_PRODUCTS)


# the clickstream columns the session facts and the funnel's products read
CLICK_COLUMNS = ("session_id", "product_id", "platform_id", "event_date", "event_at", "channel", "device",
                 "customer_id", "event_type")


def to_session_facts(clickstream: DataFrame, *, products: DataFrame, lines: DataFrame) -> DataFrame:
    """One row per session × brand whose products it touched: channel, device, date, visitor key, whether it
    viewed, carted, purchased, and whether the visitor was lost (no purchase in it nor a brand order ≤ 24 h)."""
    brands = products.select("product_id", "brand_id").distinct()
    ev = clickstream.join(brands, "product_id")
    s = ev.groupBy("session_id", "brand_id").agg(
        F.first("platform_id").alias("platform_id"), F.min_by("event_date", "event_at").alias("event_date"),
        F.max("event_at").alias("_end"), F.min_by("channel", "event_at").alias("channel"),
        F.min_by("device", "event_at").alias("device"), F.max("customer_id").alias("customer_id"),
        F.max((F.col("event_type") == "view").cast("int")).cast("boolean").alias("has_view"),
        F.max((F.col("event_type") == "cart").cast("int")).cast("boolean").alias("has_cart"),
        F.max((F.col("event_type") == "purchase").cast("int")).cast("boolean").alias("has_purchase"),
    )
    # a guest (no customer id) is one visitor per session
    s = s.withColumn("visitor_key", F.when(F.col("customer_id").isNotNull(),
                                           F.concat_ws("|", "platform_id", "customer_id"))
                     .otherwise(F.concat(F.lit("s|"), F.col("session_id"))))
    buys = lines.where(F.col("is_live") & F.col("buyer_key").isNotNull()).select(
        "brand_id", F.col("buyer_key").alias("visitor_key"), "ordered_at").distinct()
    later = (s.join(buys, ["brand_id", "visitor_key"])
             .where((F.col("ordered_at") >= F.col("_end") - F.expr("INTERVAL 1 HOUR"))
                    & (F.col("ordered_at") <= F.col("_end") + F.expr("INTERVAL 24 HOURS")))
             .select("session_id", "brand_id").distinct().withColumn("_bought_later", F.lit(True)))
    s = s.join(later, ["session_id", "brand_id"], "left")
    lost = (F.col("has_view") | F.col("has_cart")) & ~F.col("has_purchase") & F.col("_bought_later").isNull()
    return s.select("session_id", "brand_id", "platform_id", "event_date",
                    F.coalesce("channel", F.lit("unknown")).alias("channel"),
                    F.coalesce("device", F.lit("unknown")).alias("device"), "visitor_key",
                    "has_view", "has_cart", "has_purchase", lost.alias("is_lost"))


def to_funnel(periodic_sessions: DataFrame, *, session_products: DataFrame, k: int) -> tuple[DataFrame, DataFrame]:
    """(MART_FUNNEL, MART_LOST_VISITORS) from ``to_session_facts`` rows expanded by ``with_periods`` (on
    event_date); ``session_products`` = (session_id, brand_id, product_id) viewed or carted."""
    g = periodic_sessions.groupBy("brand_id", *PERIOD_COLUMNS, "channel", "device").agg(
        F.count_distinct("visitor_key").alias("visitors"), F.count("session_id").alias("sessions"),
        F.sum(F.col("has_view").cast("long")).alias("view_sessions"),
        F.sum(F.col("has_cart").cast("long")).alias("cart_sessions"),
        F.sum(F.col("has_purchase").cast("long")).alias("purchase_sessions"),
        F.count_distinct(F.when(F.col("is_lost"), F.col("visitor_key"))).alias("lost_visitors"))
    g = (g.withColumn("view_to_cart_rate", _ratio(F.col("cart_sessions"), F.col("view_sessions")))
         .withColumn("cart_to_purchase_rate", _ratio(F.col("purchase_sessions"), F.col("cart_sessions")))
         .withColumn("conversion_rate", _ratio(F.col("purchase_sessions"), F.col("sessions"))))
    funnel = suppress_small_cells(
        g, group_cols=("brand_id", *PERIOD_COLUMNS), order_cols=("channel", "device"), buyers_col="visitors", k=k,
        value_cols=("sessions", "view_sessions", "cart_sessions", "purchase_sessions", "lost_visitors",
                    "view_to_cart_rate", "cart_to_purchase_rate", "conversion_rate"))
    lost = periodic_sessions.where(F.col("is_lost"))
    by_channel = lost.select("*", F.lit("channel").alias("breakdown"), F.col("channel").alias("breakdown_value"))
    by_product = (lost.join(session_products, ["session_id", "brand_id"])
                  .select(*lost.columns, F.lit("product").alias("breakdown"),
                          F.col("product_id").alias("breakdown_value")))
    lv = (by_channel.unionByName(by_product)
          .groupBy("brand_id", *PERIOD_COLUMNS, "breakdown", "breakdown_value")
          .agg(F.count_distinct("visitor_key").alias("lost_visitors")))
    # a visitor lost on two products counts under both: product cells need not add up to a total
    lv = suppress_small_cells(lv, group_cols=("brand_id", *PERIOD_COLUMNS, "breakdown"),
                              order_cols=("breakdown_value",), buyers_col="lost_visitors", value_cols=(), k=k)
    return _conform(funnel, MART_FUNNEL), _conform(lv, MART_LOST_VISITORS)


def to_presale(periodic: DataFrame, *, orders: DataFrame, payments: DataFrame, k: int) -> DataFrame:
    """MART_PRESALE for sale-event periods (phase all) from periodic lines, silver orders (is_presale,
    deposit_amount_rpt) and payments (payment_kind, status)."""
    paid = (payments.where(F.col("status") == "success").groupBy("order_id").agg(
        F.max((F.col("payment_kind") == "deposit").cast("int")).cast("boolean").alias("_deposit"),
        F.max((F.col("payment_kind") == "balance").cast("int")).cast("boolean").alias("_balance")))
    o = orders.where(F.col("is_presale")).select("order_id", "order_status", "deposit_amount_rpt").join(paid, "order_id")
    ev = periodic.where((F.col("period_type") == "event") & (F.col("phase") == "all"))
    per_order = ev.groupBy("brand_id", *PERIOD_COLUMNS, "currency", "order_id", "buyer_key", "is_presale").agg(
        _money_sum("settled").alias("_settled"))
    j = per_order.join(o, "order_id", "left")
    dep = F.col("_deposit") & F.col("is_presale")
    forfeited = dep & ~F.coalesce(F.col("_balance"), F.lit(False)) & (F.col("order_status") == "cancelled")
    g = j.groupBy("brand_id", *PERIOD_COLUMNS, "currency").agg(
        F.count_distinct(F.when(F.col("is_presale"), F.col("order_id"))).alias("presale_orders"),
        F.count_distinct(F.when(F.col("is_presale"), F.col("buyer_key"))).alias("presale_buyers"),
        F.count_distinct(F.when(dep, F.col("order_id"))).alias("deposits_paid"),
        _money_sum(F.when(dep, F.col("deposit_amount_rpt"))).alias("deposit_amount"),
        F.count_distinct(F.when(dep & F.col("_balance"), F.col("order_id"))).alias("balances_paid"),
        F.count_distinct(F.when(forfeited, F.col("order_id"))).alias("deposits_forfeited"),
        _money_sum(F.when(forfeited, F.col("deposit_amount_rpt"))).alias("forfeited_deposit_amount"),
        _money_sum(F.when(F.col("is_presale"), F.col("_settled"))).alias("presale_settled_amount"),
        _money_sum("_settled").alias("event_settled_amount"),
    ).where(F.col("presale_orders") > 0)
    g = (g.withColumn("balance_conversion_rate", _ratio(F.col("balances_paid"), F.col("deposits_paid")))
         .withColumn("presale_share", _ratio(F.col("presale_settled_amount"), F.col("event_settled_amount"))))
    out = suppress_where(g, hide=F.col("presale_buyers") < k, value_cols=(
        "presale_orders", "presale_buyers", "deposits_paid", "deposit_amount", "balances_paid",
        "balance_conversion_rate", "deposits_forfeited", "forfeited_deposit_amount", "presale_settled_amount",
        "presale_share"))
    return _conform(out, MART_PRESALE)


def to_category_totals(periodic: DataFrame, *, k: int, m: int) -> DataFrame:
    """MART_CATEGORY_TOTALS (market level: no brand column)."""
    g = periodic.groupBy(*PERIOD_COLUMNS, "category", "currency").agg(
        *_base_aggs()[:2], F.count_distinct(_live("buyer_key")).alias("buyers"),
        F.count_distinct("brand_id").alias("brands"))
    out = suppress_where(g, hide=(F.col("buyers") < k) | (F.col("brands") < m),
                         value_cols=("settled_amount", "units", "buyers", "brands"))
    return _conform(out, MART_CATEGORY_TOTALS)


BENCHMARK_METRICS = ("growth_pct", "conversion_rate", "repurchase_90d_rate", "return_rate")


def to_brand_tiers(lines: DataFrame, *, m: int) -> DataFrame:
    """(brand_id, main_category, size_tier) from (brand_id, category, settled) rows (``to_mart_lines`` or
    ``to_brand_category_sales``): a brand's main category is where it sells most; within it brands are ordered by
    all-time sales and cut into floor(n / m) tiers of similar size (at least one)."""
    by_cat = lines.groupBy("brand_id", "category").agg(_money_sum("settled").alias("_s"))
    main = (by_cat.withColumn("_r", F.row_number().over(
        Window.partitionBy("brand_id").orderBy(F.col("_s").desc(), "category"))).where(F.col("_r") == 1)
        .select("brand_id", F.col("category").alias("main_category")))
    size = lines.groupBy("brand_id").agg(_money_sum("settled").alias("_size"))
    b = main.join(size, "brand_id")
    n = F.count("brand_id").over(Window.partitionBy("main_category"))
    pos = F.row_number().over(Window.partitionBy("main_category").orderBy("_size", "brand_id")) - 1
    tiers = F.greatest(F.floor(n / F.lit(m)), F.lit(1))
    return b.select("brand_id", "main_category", (F.floor(pos * tiers / n) + 1).cast("int").alias("size_tier"))


def to_benchmarks(
    sales_trend: DataFrame, funnel: DataFrame, repurchase: DataFrame, products: DataFrame, *, tiers: DataFrame,
    m: int,
) -> DataFrame:
    """MART_BENCHMARKS for month periods from the (already privacy-checked) brand marts; a brand's suppressed
    value is left out of its tier's statistics."""
    month = F.col("period_type") == "month"
    keys = ["brand_id", "period_type", "period_key", "period_start"]
    growth = sales_trend.where(month).select(*keys, F.col("settled_change_pct").alias("growth_pct"))
    conv = (funnel.where(month).groupBy(*keys).agg(
        _ratio(F.sum("purchase_sessions"), F.sum("sessions")).alias("conversion_rate")))
    rep = repurchase.select(*keys, "repurchase_90d_rate")
    ret = (products.where(month & (F.col("phase") == "all")).groupBy(*keys)
           .agg(F.sum(F.col("return_rate") * F.col("units")).alias("_r"), F.sum("units").alias("_u"))
           .select(*keys, _ratio(F.col("_r"), F.col("_u")).alias("return_rate")))
    wide = growth.join(conv, keys, "full").join(rep, keys, "full").join(ret, keys, "full").join(tiers, "brand_id")
    stack = F.explode(F.array(*[F.struct(F.lit(mt).alias("metric"), F.col(mt).cast("double").alias("brand_value"))
                                for mt in BENCHMARK_METRICS]))
    long = wide.select(*keys, "main_category", "size_tier", stack.alias("_m")).select(
        *keys, "main_category", "size_tier", "_m.metric", "_m.brand_value")
    peer = ["period_key", "main_category", "size_tier", "metric"]
    stats = long.where(F.col("brand_value").isNotNull()).groupBy(*peer).agg(
        F.count("brand_id").alias("peer_brands"),
        F.percentile_approx("brand_value", [0.25, 0.5, 0.75], 10000).alias("_q"))
    out = (long.join(stats, peer, "left")
           .withColumn("peer_p25", F.col("_q")[0]).withColumn("peer_median", F.col("_q")[1])
           .withColumn("peer_p75", F.col("_q")[2])
           .withColumn("brand_quartile", F.when(F.col("brand_value").isNotNull(),
                                                F.when(F.col("brand_value") <= F.col("peer_p25"), 1)
                                                .when(F.col("brand_value") <= F.col("peer_median"), 2)
                                                .when(F.col("brand_value") <= F.col("peer_p75"), 3).otherwise(4))))
    out = suppress_where(out, hide=F.coalesce(F.col("peer_brands"), F.lit(0)) < m,
                         value_cols=("peer_p25", "peer_median", "peer_p75", "brand_quartile"))
    return _conform(out, MART_BENCHMARKS)


__all__ = [
    "MARTS", "to_mart_lines", "with_periods", "to_sales_trend", "to_order_time", "to_delivery_regions",
    "with_buyer_type", "to_buyer_groups", "to_repurchase", "to_products", "to_session_facts", "to_funnel",
    "to_presale", "to_category_totals", "to_brand_tiers", "to_benchmarks", "to_buyer_days",
    "to_brand_category_sales",
]
