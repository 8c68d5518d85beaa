"""Gold `product_lifecycle` (one row per product per month: sales velocity and growth, returns, reviews,
complaints and a lifecycle stage) and `product_alerts` (a rate that jumped against the product's own
history or its category, with the reviews and conversation topics behind it).

Stage rules (applied in this order to each product month; ``age_months`` counts months since the
product's first month with sales, starting at 0; ``velocity_3m`` = units per day over the last three
months; ``growth`` = velocity_3m / velocity_3m of the three months before − 1):

1. ``introduction``: age_months < intro_months.
2. ``growth``: growth ≥ growth_threshold, or the three months before sold nothing and these did.
3. ``decline``: growth ≤ −decline_threshold and velocity_3m ≤ decline_peak_ratio × the product's peak
   velocity_3m so far, or nothing sold in either window.
4. ``maturity``: everything else.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from brandlake.transforms.columns import require_columns
from brandlake.transforms.money import MONEY
from brandlake.transforms.settlement import CANCELLED
from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

_S, _D, _L, _I, _F = T.StringType(), T.DateType(), T.LongType(), T.IntegerType(), T.DoubleType()
STAGES = ("introduction", "growth", "maturity", "decline")
ALERT_METRICS = ("return_rate", "negative_review_share", "complaint_rate")


def _schema(*fields) -> T.StructType:
    """StructType from (name, type, nullable) tuples and/or StructFields."""
    return T.StructType([f if isinstance(f, T.StructField) else T.StructField(*f) for f in fields])


PRODUCT_MONTHS = _schema(
    ("product_id", _S, False), ("brand_id", _S, True), ("category", _S, True), ("month", _D, False),
    ("age_months", _I, False), ("days", _I, False), ("lines", _L, False), ("units", _L, False),
    ("revenue_rpt", MONEY, False), ("velocity", _F, False), ("returned_lines", _L, False),
    ("return_rate", _F, True), ("reviews", _L, False), ("avg_rating", _F, True), ("sentiment", _F, True),
    ("negative_reviews", _L, False), ("negative_review_share", _F, True), ("complaint_chats", _L, False),
    ("complaint_rate", _F, True),
)
"""One row per product per month from its first month with sales to the as-of month (months without
sales included, with zero lines). `velocity` = units per day of the month (days up to the as-of date
in the last month); `return_rate` = lines ordered in the month with a return request (not cancelled)
÷ lines (recent months are still maturing); `sentiment` = mean review sentiment in [−1, 1];
`complaint_rate` = complaint conversations about orders with the product in the month ÷ lines."""

PRODUCT_LIFECYCLE = _schema(
    *PRODUCT_MONTHS.fields, ("velocity_3m", _F, False), ("growth", _F, True), ("peak_velocity_3m", _F, False),
    ("stage", _S, False),
)
"""One row per product per month: the PRODUCT_MONTHS columns plus `velocity_3m`, `growth`
(vs the three months before), `peak_velocity_3m` (so far) and `stage` (module docstring rules)."""

TOPIC_COUNT = T.StructType([T.StructField("topic", _S, True), T.StructField("reviews", _L, True)])
INTENT_COUNT = T.StructType([T.StructField("intent", _S, True), T.StructField("chats", _L, True)])
PRODUCT_ALERTS = _schema(
    ("product_id", _S, False), ("brand_id", _S, True), ("category", _S, True), ("month", _D, False),
    ("metric", _S, False), ("against", _S, False), ("value", _F, False), ("baseline", _F, False),
    ("numerator", _L, False), ("denominator", _L, False),
    ("evidence_topics", T.ArrayType(TOPIC_COUNT, True), False),
    ("evidence_intents", T.ArrayType(INTENT_COUNT, True), False),
    ("evidence_review_ids", T.ArrayType(_S, True), False),
)
"""One row per product × month × metric × baseline (`against` = own_history or
category) where the metric jumped: value ≥ baseline + min_increase and value ≥ ratio × baseline, on at
least min_volume lines/reviews. Evidence: topics of the month's negative reviews, complaint intents of
its conversations, and up to 5 negative review ids (lowest rating first)."""


def _month(c: Column) -> Column:
    return F.trunc(c, "month")


def to_product_months(
    lines: DataFrame,
    *,
    products: DataFrame,
    returns: DataFrame,
    reviews: DataFrame,
    chats: DataFrame,
    as_of: dt.date,
    complaint_intents: Sequence[str],
) -> DataFrame:
    """PRODUCT_MONTHS from settled lines (`order_line_settlement`), products (sku → product, category),
    returns (line_id, status), scored reviews (product_id, review_date, rating, sentiment,
    is_negative) and chats (order_id, chat_date, intent)."""
    require_columns(lines, ("order_id", "line_id", "product_id", "brand_id", "order_date", "quantity",
                            "settled_amount_rpt", "settlement_status"), what="order_line_settlement")
    require_columns(products, ("product_id", "category"), what="products")
    require_columns(returns, ("line_id", "status"), what="returns")
    require_columns(reviews, ("product_id", "review_date", "rating", "sentiment", "is_negative"), what="reviews")
    require_columns(chats, ("order_id", "chat_date", "intent"), what="cs_chats")
    as_of_col = F.lit(as_of).cast(_D)
    live = lines.where((F.col("settlement_status") != CANCELLED) & F.col("product_id").isNotNull()
                       & (F.col("order_date") <= as_of_col))
    returned = returns.where(F.col("status") != "cancelled").select("line_id").distinct() \
        .withColumn("_ret", F.lit(1))
    lm = (live.join(returned, "line_id", "left")
          .groupBy("product_id", _month(F.col("order_date")).alias("month"))
          .agg(F.count("*").alias("lines"), F.sum("quantity").cast(_L).alias("units"),
               F.coalesce(F.sum("settled_amount_rpt"), F.lit(0)).cast(MONEY).alias("revenue_rpt"),
               F.count("_ret").alias("returned_lines"),
               F.max("brand_id").alias("brand_id")))
    rv = (reviews.where(F.col("review_date") <= as_of_col)
          .groupBy("product_id", _month(F.col("review_date")).alias("month"))
          .agg(F.count("*").alias("reviews"), F.avg("rating").alias("avg_rating"),
               F.avg("sentiment").alias("sentiment"),
               F.count(F.when(F.col("is_negative"), 1)).alias("negative_reviews")))
    order_products = live.select("order_id", "product_id").distinct()
    ch = (chats.where(F.col("intent").isin(*complaint_intents) & (F.col("chat_date") <= as_of_col))
          .join(order_products, "order_id")
          .groupBy("product_id", _month(F.col("chat_date")).alias("month"))
          .agg(F.count("*").alias("complaint_chats")))
    first = lm.groupBy("product_id").agg(F.min("month").alias("first_month"), F.max("brand_id").alias("_brand"))
    spine = first.select(
        "product_id", "first_month", "_brand",
        F.explode(F.sequence("first_month", _month(as_of_col), F.expr("INTERVAL 1 MONTH"))).alias("month"))
    category = products.groupBy("product_id").agg(F.max("category").alias("category"))
    days_in = F.when(F.col("month") == _month(as_of_col), F.dayofmonth(as_of_col)) \
        .otherwise(F.dayofmonth(F.last_day("month")))
    out = (spine.join(lm.drop("brand_id"), ["product_id", "month"], "left")
           .join(rv, ["product_id", "month"], "left").join(ch, ["product_id", "month"], "left")
           .join(category, "product_id", "left")
           .fillna(0, subset=["lines", "units", "returned_lines", "reviews", "negative_reviews", "complaint_chats"])
           .withColumn("revenue_rpt", F.coalesce("revenue_rpt", F.lit(0).cast(MONEY)))
           .withColumn("days", days_in)
           .withColumn("age_months", F.months_between("month", "first_month").cast(_I)))
    rate = lambda num, den: F.when(F.col(den) > 0, F.col(num) / F.col(den))  # noqa: E731
    out = out.select(
        "product_id", F.col("_brand").alias("brand_id"), "category", "month", "age_months", "days", "lines",
        "units", "revenue_rpt", (F.col("units") / F.col("days")).alias("velocity"), "returned_lines",
        rate("returned_lines", "lines").alias("return_rate"), "reviews", "avg_rating", "sentiment",
        "negative_reviews", rate("negative_reviews", "reviews").alias("negative_review_share"),
        "complaint_chats", rate("complaint_chats", "lines").alias("complaint_rate"),
    )
    return out.select(*[F.col(f.name).cast(f.dataType) for f in PRODUCT_MONTHS.fields])


def with_lifecycle_stage(
    months: DataFrame,
    *,
    intro_months: int,
    growth_threshold: float,
    decline_threshold: float,
    decline_peak_ratio: float,
) -> DataFrame:
    """PRODUCT_LIFECYCLE: PRODUCT_MONTHS plus rolling velocity, growth, peak and the stage."""
    require_columns(months, ("product_id", "month", "age_months", "units", "days"), what="product months")
    w = Window.partitionBy("product_id").orderBy("month")
    cur = w.rowsBetween(-2, 0)
    prev = w.rowsBetween(-5, -3)
    v3 = F.sum("units").over(cur) / F.sum("days").over(cur)
    prev_units = F.sum("units").over(prev)
    prev_v3 = prev_units / F.sum("days").over(prev)
    out = (months.withColumn("velocity_3m", v3)
           .withColumn("_prev_v3", prev_v3)
           .withColumn("growth", F.when(F.col("_prev_v3") > 0, F.col("velocity_3m") / F.col("_prev_v3") - 1))
           .withColumn("peak_velocity_3m", F.max("velocity_3m").over(w.rowsBetween(Window.unboundedPreceding, 0))))
    g, v, p0 = F.col("growth"), F.col("velocity_3m"), F.coalesce(F.col("_prev_v3"), F.lit(0.0))
    stage = (F.when(F.col("age_months") < intro_months, "introduction")
             .when((g >= growth_threshold) | ((p0 == 0) & (v > 0)), "growth")
             .when(((g <= -decline_threshold) & (v <= decline_peak_ratio * F.col("peak_velocity_3m")))
                   | ((p0 == 0) & (v == 0)), "decline")
             .otherwise("maturity"))
    out = out.withColumn("stage", stage)
    return out.select(*[F.col(f.name).cast(f.dataType) for f in PRODUCT_LIFECYCLE.fields])


def to_product_alerts(
    lifecycle: DataFrame,
    *,
    reviews: DataFrame,
    chats: DataFrame,
    history_months: int,
    min_volume: int,
    min_increase: float,
    ratio: float,
) -> DataFrame:
    """PRODUCT_ALERTS from `product_lifecycle`, the scored reviews (review_id, product_id, review_date,
    rating, is_negative, topics ARRAY<STRING>) and complaint chats already joined to products
    (product_id, chat_date, intent)."""
    require_columns(reviews, ("review_id", "product_id", "review_date", "rating", "is_negative", "topics"),
                    what="reviews")
    require_columns(chats, ("product_id", "chat_date", "intent"), what="complaint chats")
    metric_parts = {  # metric -> (numerator, denominator)
        "return_rate": ("returned_lines", "lines"),
        "negative_review_share": ("negative_reviews", "reviews"),
        "complaint_rate": ("complaint_chats", "lines"),
    }
    w_hist = Window.partitionBy("product_id").orderBy("month").rowsBetween(-history_months, -1)
    frames = []
    for metric, (num, den) in metric_parts.items():
        m = lifecycle.select("product_id", "brand_id", "category", "month",
                             F.col(num).alias("numerator"), F.col(den).alias("denominator"))
        # try_divide: a month or category with no lines has no rate (null), never a division error
        own = F.try_divide(F.sum("numerator").over(w_hist), F.sum("denominator").over(w_hist))
        cat = m.groupBy("category", "month").agg(
            F.try_divide(F.sum("numerator"), F.sum("denominator")).alias("cat_rate"))
        m = m.withColumn("own_rate", F.when(F.sum("denominator").over(w_hist) >= min_volume, own)) \
            .join(cat, ["category", "month"], "left").withColumn("metric", F.lit(metric))
        m = m.select("*", F.explode(F.array(
            F.struct(F.lit("own_history").alias("against"), F.col("own_rate").alias("baseline")),
            F.struct(F.lit("category").alias("against"), F.col("cat_rate").alias("baseline")),
        )).alias("b"))
        value = F.try_divide(F.col("numerator"), F.col("denominator"))
        m = m.where((F.col("denominator") >= min_volume) & F.col("b.baseline").isNotNull()
                    & (value >= F.col("b.baseline") + min_increase) & (value >= F.col("b.baseline") * ratio))
        frames.append(m.select("product_id", "brand_id", "category", "month", "metric", F.col("b.against")
                               .alias("against"), value.alias("value"), F.col("b.baseline").alias("baseline"),
                               "numerator", "denominator"))
    alerts = frames[0]
    for f in frames[1:]:
        alerts = alerts.unionByName(f)

    neg = reviews.where("is_negative").withColumn("month", _month(F.col("review_date")))
    topics = (neg.select("product_id", "month", F.explode("topics").alias("topic"))
              .groupBy("product_id", "month", "topic").agg(F.count("*").alias("reviews"))
              .groupBy("product_id", "month")
              .agg(F.sort_array(F.collect_list(F.struct(-F.col("reviews"), "topic", "reviews")))
                   .alias("_t")))
    topics = topics.select("product_id", "month", F.transform("_t", lambda x: F.struct(
        x["topic"].alias("topic"), x["reviews"].alias("reviews"))).alias("evidence_topics"))
    ids = (neg.groupBy("product_id", "month")
           .agg(F.sort_array(F.collect_list(F.struct("rating", "review_id"))).alias("_r"))
           .select("product_id", "month",
                   F.slice(F.transform("_r", lambda x: x["review_id"]), 1, 5).alias("evidence_review_ids")))
    intents = (chats.withColumn("month", _month(F.col("chat_date")))
               .groupBy("product_id", "month", "intent").agg(F.count("*").alias("chats"))
               .groupBy("product_id", "month")
               .agg(F.sort_array(F.collect_list(F.struct(-F.col("chats"), "intent", "chats"))).alias("_i"))
               .select("product_id", "month", F.transform("_i", lambda x: F.struct(
                   x["intent"].alias("intent"), x["chats"].alias("chats"))).alias("evidence_intents")))
    empty = lambda t: F.array().cast(T.ArrayType(t, True))  # noqa: E731
    out = (alerts.join(topics, ["product_id", "month"], "left").join(intents, ["product_id", "month"], "left")
           .join(ids, ["product_id", "month"], "left")
           .withColumn("evidence_topics", F.coalesce("evidence_topics", empty(TOPIC_COUNT)))
           .withColumn("evidence_intents", F.coalesce("evidence_intents", empty(INTENT_COUNT)))
           .withColumn("evidence_review_ids", F.coalesce("evidence_review_ids", empty(_S))))
    return out.select(*[F.col(f.name).cast(f.dataType) for f in PRODUCT_ALERTS.fields])
