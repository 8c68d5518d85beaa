"""Gold customer tables, brand-scoped: `customer_profile` (RFM, settled value, habits, segment, VIP tier),
`vip_service_priority` (who customer service serves first) and `campaign_audiences` (exportable lists).

Everything is computed per brand from that brand's own settled order lines only: a brand never sees
another brand's purchases, nor a person's accounts that never bought from it.

RFM scores are quintiles of the brand's buyers (1 worst … 5 best; ties share a score):
R by days since the last purchase, F by orders, M by settled value. Segment (first rule that holds):
champions R≥4 ∧ F≥4 ∧ M≥4; loyal F≥4; new (one order) R≥4; at_risk R≤2 ∧ F≥3; hibernating R≤2;
else potential. VIP tier (first that holds): platinum M=5 ∧ F≥4 ∧ return rate ≤ 0.5; gold M≥4 ∧ F≥3;
silver M≥3 ∧ F≥2; else none.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from brandlake.transforms.columns import require_columns
from brandlake.transforms.money import MONEY
from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

_S, _D, _I, _DB = T.StringType(), T.DateType(), T.IntegerType(), T.DoubleType()

PURCHASE_STATUSES = ("settled", "partially_refunded", "refunded")   # paid lines (settlement.py statuses)
RETURNED_STATUSES = ("approved", "received", "refunded")            # a return that took goods back
FAVOURITE_CATEGORIES = 3
SEGMENTS = ("champions", "loyal", "new", "at_risk", "hibernating", "potential")
VIP_TIERS = ("platinum", "gold", "silver", "none")
SERVICE_LEVELS = {"platinum": "dedicated_agent", "gold": "priority_queue", "silver": "fast_lane"}

CUSTOMER_PROFILE = T.StructType([T.StructField(n, t, nullable) for n, t, nullable in [
    ("brand_id", _S, False), ("person_id", _S, False), ("first_purchase_date", _D, False),
    ("last_purchase_date", _D, False), ("recency_days", _I, False), ("frequency", _I, False),
    ("lines", _I, False), ("monetary_rpt", MONEY, False), ("gross_rpt", MONEY, False),
    ("discount_rpt", MONEY, False), ("discount_share", _DB, True), ("returned_lines", _I, False),
    ("return_rate", _DB, False), ("favourite_categories", T.ArrayType(_S), False),
    ("platforms", T.ArrayType(_S), False), ("r_score", _I, False), ("f_score", _I, False),
    ("m_score", _I, False), ("rfm_segment", _S, False), ("vip_tier", _S, False),
    ("reporting_currency", _S, False), ("as_of_date", _D, False),
]])
"""One row per brand × person who bought from the brand (paid lines up to ``as_of_date``).
``monetary_rpt`` = Σ settled amount after refunds; ``discount_share`` = discount / gross (price
sensitivity); ``return_rate`` = returned lines / lines; ``favourite_categories`` = the top 3 by settled
value; ``platforms`` = where the person bought from this brand."""

VIP_SERVICE_PRIORITY = T.StructType([T.StructField(n, t, nullable) for n, t, nullable in [
    ("brand_id", _S, False), ("person_id", _S, False), ("priority_rank", _I, False), ("vip_tier", _S, False),
    ("service_level", _S, False), ("monetary_rpt", MONEY, False), ("last_purchase_date", _D, False),
    ("platform_accounts", T.ArrayType(_S), False),
]])
"""One row per brand × VIP person (tier ≠ none): ``priority_rank`` 1 is served first (tier, then settled
value, then the latest purchase); ``platform_accounts`` are the person's ``platform:customer_id`` that
bought from the brand, so an agent can recognise them on any of its shops."""

CAMPAIGN_AUDIENCES = T.StructType([T.StructField(n, t, nullable) for n, t, nullable in [
    ("brand_id", _S, False), ("audience", _S, False), ("person_id", _S, False),
    ("platform_accounts", T.ArrayType(_S), False), ("audience_size", _I, False),
]])
"""One row per brand × audience × person. Audiences: ``segment:<rfm_segment>``, ``vip:<tier>``,
``category:<favourite category>``; an audience with fewer than the minimum size of people is
suppressed (not published) so no small group can be singled out."""


def to_purchase_lines(settlement: DataFrame, *, accounts: DataFrame, products: DataFrame, returns: DataFrame,
                      as_of: dt.date) -> DataFrame:
    """Paid order lines up to ``as_of`` with brand, person, category and whether the line was returned.
    Lines of an account without a person are kept with a null ``person_id`` (the job counts them)."""
    require_columns(settlement, ("order_id", "line_id", "platform_id", "brand_id", "customer_id", "sku_id",
                                 "order_date", "settlement_status", "settled_amount_rpt", "gross_amount_rpt",
                                 "discount_amount_rpt", "reporting_currency"), what="order_line_settlement")
    require_columns(accounts, ("platform_id", "customer_id", "person_id"), what="identity_accounts")
    returned = (returns.where(F.lower("status").isin(*RETURNED_STATUSES)).select("order_id", "line_id")
                .distinct().withColumn("is_returned", F.lit(True)))
    return (
        settlement.where(F.col("settlement_status").isin(*PURCHASE_STATUSES) & (F.col("order_date") <= F.lit(as_of))
                         & F.col("brand_id").isNotNull())
        .join(accounts.select("platform_id", "customer_id", "person_id"), ["platform_id", "customer_id"], "left")
        .join(products.select("sku_id", "category"), "sku_id", "left")
        .join(returned, ["order_id", "line_id"], "left")
        .withColumn("is_returned", F.coalesce("is_returned", F.lit(False)))
    )


def _quintile(order: Column) -> Column:
    """1..5 by percent rank within the brand (ties share a score; the best values get 5)."""
    rank = F.percent_rank().over(Window.partitionBy("brand_id").orderBy(order))
    return F.least(F.lit(5), F.floor(rank * 5) + 1).cast("int")


def rfm_segment(r: Column, f: Column, m: Column, orders: Column) -> Column:
    return (
        F.when((r >= 4) & (f >= 4) & (m >= 4), F.lit("champions"))
        .when(f >= 4, F.lit("loyal"))
        .when((orders == 1) & (r >= 4), F.lit("new"))
        .when((r <= 2) & (f >= 3), F.lit("at_risk"))
        .when(r <= 2, F.lit("hibernating"))
        .otherwise(F.lit("potential"))
    )


def vip_tier(f: Column, m: Column, return_rate: Column) -> Column:
    return (
        F.when((m == 5) & (f >= 4) & (return_rate <= 0.5), F.lit("platinum"))
        .when((m >= 4) & (f >= 3), F.lit("gold"))
        .when((m >= 3) & (f >= 2), F.lit("silver"))
        .otherwise(F.lit("none"))
    )


def to_customer_profile(purchases: DataFrame, *, as_of: dt.date) -> DataFrame:
    """CUSTOMER_PROFILE from ``to_purchase_lines`` (lines without a person are left out)."""
    p = purchases.where(F.col("person_id").isNotNull())
    keys = ["brand_id", "person_id"]
    by_category = (p.where(F.col("category").isNotNull()).groupBy(*keys, "category")
                   .agg(F.sum("settled_amount_rpt").alias("_value"))
                   .withColumn("_rank", F.row_number().over(Window.partitionBy(*keys).orderBy(
                       F.col("_value").desc_nulls_last(), "category")))
                   .where(F.col("_rank") <= FAVOURITE_CATEGORIES)
                   .groupBy(*keys).agg(F.sort_array(F.collect_list(F.struct("_rank", "category"))).alias("_cats"))
                   .select(*keys, F.transform("_cats", lambda x: x["category"]).alias("favourite_categories")))
    zero = F.lit(0).cast(MONEY)
    agg = p.groupBy(*keys).agg(
        F.min("order_date").alias("first_purchase_date"), F.max("order_date").alias("last_purchase_date"),
        F.countDistinct("order_id").cast("int").alias("frequency"), F.count(F.lit(1)).cast("int").alias("lines"),
        F.coalesce(F.sum("settled_amount_rpt"), zero).cast(MONEY).alias("monetary_rpt"),
        F.coalesce(F.sum("gross_amount_rpt"), zero).cast(MONEY).alias("gross_rpt"),
        F.coalesce(F.sum("discount_amount_rpt"), zero).cast(MONEY).alias("discount_rpt"),
        F.sum(F.col("is_returned").cast("int")).cast("int").alias("returned_lines"),
        F.sort_array(F.collect_set("platform_id")).alias("platforms"),
        F.first("reporting_currency").alias("reporting_currency"),
    )
    out = (
        agg.join(by_category, keys, "left")
        .withColumn("favourite_categories", F.coalesce("favourite_categories", F.array().cast("array<string>")))
        .withColumn("recency_days", F.datediff(F.lit(as_of), "last_purchase_date"))
        .withColumn("discount_share", F.when(F.col("gross_rpt") > 0, (F.col("discount_rpt") / F.col("gross_rpt"))
                                             .cast("double")))
        .withColumn("return_rate", (F.col("returned_lines") / F.col("lines")).cast("double"))
        .withColumn("r_score", _quintile(F.col("recency_days").desc()))
        .withColumn("f_score", _quintile(F.col("frequency").asc()))
        .withColumn("m_score", _quintile(F.col("monetary_rpt").asc()))
        .withColumn("rfm_segment", rfm_segment(F.col("r_score"), F.col("f_score"), F.col("m_score"), F.col("frequency")))
        .withColumn("vip_tier", vip_tier(F.col("f_score"), F.col("m_score"), F.col("return_rate")))
        .withColumn("as_of_date", F.lit(as_of))
    )
    return out.select(*[F.col(f.name).cast(f.dataType) for f in CUSTOMER_PROFILE.fields])


def to_brand_accounts(purchases: DataFrame) -> DataFrame:
    """(brand_id, person_id, platform_accounts): the person's accounts that bought from the brand."""
    return (purchases.where(F.col("person_id").isNotNull())
            .groupBy("brand_id", "person_id")
            .agg(F.sort_array(F.collect_set(F.concat_ws(":", "platform_id", "customer_id"))).alias("platform_accounts")))


def to_vip_service_priority(profile: DataFrame, *, brand_accounts: DataFrame) -> DataFrame:
    """VIP_SERVICE_PRIORITY: the brand's VIP persons in the order customer service serves them."""
    tier_rank = F.array_position(F.array(*[F.lit(t) for t in VIP_TIERS]), F.col("vip_tier"))
    order = Window.partitionBy("brand_id").orderBy(tier_rank, F.col("monetary_rpt").desc(),
                                                   F.col("last_purchase_date").desc(), "person_id")
    service = F.create_map(*[F.lit(x) for kv in SERVICE_LEVELS.items() for x in kv])
    return (
        profile.where(F.col("vip_tier") != "none")
        .join(brand_accounts, ["brand_id", "person_id"])
        .withColumn("priority_rank", F.row_number().over(order))
        .withColumn("service_level", service[F.col("vip_tier")])
        .select(*[F.col(f.name).cast(f.dataType) for f in VIP_SERVICE_PRIORITY.fields])
    )


def to_audience_members(profile: DataFrame, *, kinds: Sequence[str] = ("segment", "vip", "category")) -> DataFrame:
    """(brand_id, audience, person_id, audience_size) for every audience, before suppression."""
    parts = []
    if "segment" in kinds:
        parts.append(profile.select("brand_id", "person_id", F.concat(F.lit("segment:"), "rfm_segment").alias("audience")))
    if "vip" in kinds:
        parts.append(profile.where(F.col("vip_tier") != "none")
                     .select("brand_id", "person_id", F.concat(F.lit("vip:"), "vip_tier").alias("audience")))
    if "category" in kinds:
        parts.append(profile.where(F.size("favourite_categories") > 0).select(
            "brand_id", "person_id", F.concat(F.lit("category:"), F.col("favourite_categories")[0]).alias("audience")))
    if not parts:
        raise ValueError(f"no audience kinds selected; known: segment, vip, category (got {list(kinds)})")
    members = parts[0]
    for part in parts[1:]:
        members = members.unionByName(part)
    return members.withColumn("audience_size", F.count(F.lit(1)).over(Window.partitionBy("brand_id", "audience")))


def to_campaign_audiences(members: DataFrame, *, brand_accounts: DataFrame, min_size: int) -> DataFrame:
    """CAMPAIGN_AUDIENCES: members of every audience of at least ``min_size`` people (smaller ones are
    suppressed: not published at all)."""
    return (
        members.where(F.col("audience_size") >= min_size)
        .join(brand_accounts, ["brand_id", "person_id"])
        .select(*[F.col(f.name).cast(f.dataType) for f in CAMPAIGN_AUDIENCES.fields])
    )
