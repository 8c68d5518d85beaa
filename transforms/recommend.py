"""Recommendation inputs and outputs: implicit feedback per person × product (views, carts, paid order lines)
in a date window, the purchases a time split holds out, person segments (region × age band × gender), the
popularity ranking per segment with its coarser fallbacks, and the gold `recommendations` and
`brand_recommendations` schemas.

Everything is per person (accounts → persons through `identity_accounts`); guest sessions and lines of an
account without a person carry no person and are left out. Dates are the platforms' local dates
(``event_date``, ``order_date``); a window is ``[start, end)``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from brandlake.transforms.columns import require_columns
from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

_S, _I, _L, _D, _DB = T.StringType(), T.IntegerType(), T.LongType(), T.DateType(), T.DoubleType()

PURCHASE_STATUSES = ("settled", "partially_refunded", "refunded")   # paid lines, as customers.py counts them
SOURCES = ("als", "popularity")
LEVELS = ("region_demo", "region", "global")                       # finest first: the fallback order
AGE_BANDS = ((0, 24, "<25"), (25, 34, "25-34"), (35, 44, "35-44"), (45, 54, "45-54"), (55, 200, "55+"))
KNOWN_GENDERS = ("female", "male")

FEEDBACK = T.StructType([T.StructField(n, t, nullable) for n, t, nullable in [
    ("person_id", _S, False), ("product_id", _S, False), ("views", _L, False), ("carts", _L, False),
    ("purchases", _L, False), ("weight", _DB, False),
]])
"""One row per person × product with any view, cart or paid line in the window: the counts and the
implicit-feedback weight ``views × view_weight + carts × cart_weight + purchases × purchase_weight``."""

PERSON_SEGMENTS = T.StructType([T.StructField(n, t, nullable) for n, t, nullable in [
    ("person_id", _S, False), ("region", _S, True), ("age_band", _S, True), ("gender", _S, True),
]])
"""One row per person: region (``country/province``, or the country alone), age band at the as-of date and
gender (female/male; null when unknown), from the person's most recently updated account."""

SEGMENT_POPULARITY = T.StructType([T.StructField(n, t, nullable) for n, t, nullable in [
    ("level", _S, False), ("segment", _S, False), ("rank", _I, False), ("product_id", _S, False),
    ("buyers", _L, False), ("weight", _DB, False),
]])
"""One row per level × segment × rank: the segment's most bought products (distinct buyers, then total
feedback weight, then product_id). Levels: ``region_demo`` (region|age band|gender), ``region``, ``global``."""

RECOMMENDATIONS = T.StructType([T.StructField(n, t, nullable) for n, t, nullable in [
    ("person_id", _S, False), ("rank", _I, False), ("product_id", _S, False), ("brand_id", _S, True),
    ("score", _DB, False), ("source", _S, False), ("model_version", _S, True), ("as_of_date", _D, False),
]])
"""One row per person × rank (1 = best, up to the top 20): ALS for persons with feedback the model was
trained on, the popularity of their segment (region × demographic, falling back to region, then global)
for the others. ``score``: the ALS preference (source als) or the segment's distinct buyers (popularity)."""

BRAND_RECOMMENDATIONS = T.StructType([T.StructField(n, t, nullable) for n, t, nullable in [
    ("brand_id", _S, False), ("person_id", _S, False), ("rank", _I, False), ("product_id", _S, False),
    ("score", _DB, False), ("source", _S, False), ("model_version", _S, True), ("as_of_date", _D, False),
]])
"""One row per brand × person × rank (up to the top 20) over the brand's own catalogue only, for the
persons who viewed, carted or bought one of the brand's products in the feedback window (the brand's own
visitors and buyers): ALS scores restricted to the brand's products, or the brand's own popularity among
its buyers when the model has no factors for the person."""


def in_window(date_col: Column, *, start: dt.date, end: dt.date) -> Column:
    """``start <= date < end``."""
    return (date_col >= F.lit(start)) & (date_col < F.lit(end))


def to_person_purchases(lines: DataFrame, *, accounts: DataFrame, start: dt.date, end: dt.date) -> DataFrame:
    """(person_id, product_id, order_date): paid order lines ordered in ``[start, end)`` by an account with
    a person (other lines are left out)."""
    require_columns(lines, ("platform_id", "customer_id", "product_id", "order_date", "settlement_status"),
                    what="order_line_settlement")
    require_columns(accounts, ("platform_id", "customer_id", "person_id"), what="identity_accounts")
    return (
        lines.where(F.col("settlement_status").isin(*PURCHASE_STATUSES) & F.col("product_id").isNotNull()
                    & in_window(F.col("order_date"), start=start, end=end))
        .join(accounts.select("platform_id", "customer_id", "person_id"), ["platform_id", "customer_id"])
        .select("person_id", "product_id", "order_date")
    )


def to_feedback(clicks: DataFrame, *, lines: DataFrame, accounts: DataFrame, start: dt.date, end: dt.date,
                view_weight: float, cart_weight: float, purchase_weight: float) -> DataFrame:
    """FEEDBACK from silver clickstream (views and carts of logged-in visitors; the clickstream's own
    purchase events are not counted, the paid order lines are) and gold order_line_settlement."""
    require_columns(clicks, ("platform_id", "customer_id", "product_id", "event_type", "event_date"),
                    what="clickstream")
    people = accounts.select("platform_id", "customer_id", "person_id")
    interest = (
        clicks.where(F.col("event_type").isin("view", "cart") & F.col("product_id").isNotNull()
                     & F.col("customer_id").isNotNull() & in_window(F.col("event_date"), start=start, end=end))
        .join(people, ["platform_id", "customer_id"])
        .select("person_id", "product_id", (F.col("event_type") == "view").cast("long").alias("views"),
                (F.col("event_type") == "cart").cast("long").alias("carts"), F.lit(0).cast("long").alias("purchases"))
    )
    bought = to_person_purchases(lines, accounts=accounts, start=start, end=end).select(
        "person_id", "product_id", F.lit(0).cast("long").alias("views"), F.lit(0).cast("long").alias("carts"),
        F.lit(1).cast("long").alias("purchases"))
    counts = interest.unionByName(bought).groupBy("person_id", "product_id").agg(
        *[F.sum(c).cast("long").alias(c) for c in ("views", "carts", "purchases")])
    weight = (F.col("views") * F.lit(float(view_weight)) + F.col("carts") * F.lit(float(cart_weight))
              + F.col("purchases") * F.lit(float(purchase_weight)))
    return counts.withColumn("weight", weight.cast("double")).select(*[f.name for f in FEEDBACK.fields])


def age_band(birth_year: Column, *, as_of: dt.date, bands: Sequence[tuple[int, int, str]] = AGE_BANDS) -> Column:
    """The band of the age reached in ``as_of``'s year; null when the birth year is unknown or the age falls
    in no band (a birth year in the future, or over 200)."""
    age = F.lit(as_of.year) - birth_year
    out = F.lit(None).cast("string")
    for lo, hi, name in reversed(bands):
        out = F.when(age.between(lo, hi), F.lit(name)).otherwise(out)
    return F.when(birth_year.isNotNull(), out)


def to_person_segments(customers: DataFrame, *, accounts: DataFrame, as_of: dt.date,
                       known_before: dt.date | None = None) -> DataFrame:
    """PERSON_SEGMENTS from silver customers and identity_accounts (the latest updated account wins).

    ``known_before``: a time split's cut-off. Silver keeps each account's latest version only, so an account
    updated on or after the cut-off (a move, say) shows attributes nobody knew at the cut-off; such accounts
    give no attributes, and a person left with none has no row (unknown attributes: popularity falls back to
    the global level for them).
    """
    require_columns(customers, ("platform_id", "customer_id", "gender", "birth_year", "country", "province",
                                "updated_at"), what="customers")
    if known_before is not None:
        customers = customers.where(F.col("updated_at") < F.lit(known_before).cast("timestamp"))
    latest = Window.partitionBy("person_id").orderBy(F.col("updated_at").desc_nulls_last(), "platform_id",
                                                     "customer_id")
    region = F.when(F.col("country").isNotNull(),
                    F.concat_ws("/", F.col("country"), F.col("province")))
    return (
        customers.join(accounts.select("platform_id", "customer_id", "person_id"), ["platform_id", "customer_id"])
        .withColumn("_n", F.row_number().over(latest)).where(F.col("_n") == 1)
        .select("person_id", region.alias("region"), age_band(F.col("birth_year"), as_of=as_of).alias("age_band"),
                F.when(F.col("gender").isin(*KNOWN_GENDERS), F.col("gender")).alias("gender"))
    )


def segment_key(level: str) -> Column:
    """A person segment's key at ``level`` (null when the person's attributes do not reach that level)."""
    if level == "region_demo":
        known = F.col("region").isNotNull() & F.col("age_band").isNotNull() & F.col("gender").isNotNull()
        return F.when(known, F.concat_ws("|", "region", "age_band", "gender"))
    if level == "region":
        return F.col("region")
    if level == "global":
        return F.lit("all")
    raise ValueError(f"level must be one of {LEVELS}, found {level!r}")


def to_segment_popularity(feedback: DataFrame, *, segments: DataFrame, top_n: int,
                          min_segment_persons: int) -> DataFrame:
    """SEGMENT_POPULARITY: per level and segment with at least ``min_segment_persons`` persons with
    feedback (the global segment always), its ``top_n`` most bought products (products nobody bought there
    are not ranked)."""
    fb = feedback.join(segments, "person_id", "left")
    parts = []
    for level in LEVELS:
        seg = fb.withColumn("segment", segment_key(level)).where(F.col("segment").isNotNull())
        sizes = seg.groupBy("segment").agg(F.countDistinct("person_id").alias("_persons"))
        ranked = (
            seg.groupBy("segment", "product_id").agg(
                F.sum((F.col("purchases") > 0).cast("long")).alias("buyers"), F.sum("weight").alias("weight"))
            .where(F.col("buyers") > 0)
            .join(sizes.where(F.col("_persons") >= (1 if level == "global" else min_segment_persons)), "segment")
            .withColumn("rank", F.row_number().over(Window.partitionBy("segment").orderBy(
                F.col("buyers").desc(), F.col("weight").desc(), "product_id")))
            .where(F.col("rank") <= top_n)
            .withColumn("level", F.lit(level))
        )
        parts.append(ranked)
    out = parts[0]
    for p in parts[1:]:
        out = out.unionByName(p)
    return out.select(*[F.col(f.name).cast(f.dataType) for f in SEGMENT_POPULARITY.fields])


def to_popular_for_persons(persons: DataFrame, *, segments: DataFrame, popularity: DataFrame, k: int) -> DataFrame:
    """(person_id, rank, product_id, score): each person's top ``k`` from their finest segment that has a
    ranking, filled from the coarser levels (a product appears once, at its best place)."""
    p = persons.select("person_id").distinct().join(segments, "person_id", "left")
    keyed = None
    for i, level in enumerate(LEVELS):
        part = p.select("person_id", segment_key(level).alias("segment"), F.lit(level).alias("level"),
                        F.lit(i).alias("_level_no"))
        keyed = part if keyed is None else keyed.unionByName(part)
    cand = keyed.where(F.col("segment").isNotNull()).join(
        popularity.select("level", "segment", F.col("rank").alias("_seg_rank"), "product_id", "buyers"),
        ["level", "segment"])
    best = Window.partitionBy("person_id", "product_id").orderBy("_level_no", "_seg_rank")
    order = Window.partitionBy("person_id").orderBy("_level_no", "_seg_rank", "product_id")
    return (
        cand.withColumn("_n", F.row_number().over(best)).where(F.col("_n") == 1)
        .withColumn("rank", F.row_number().over(order)).where(F.col("rank") <= k)
        .select("person_id", F.col("rank").cast("int"), "product_id", F.col("buyers").cast("double").alias("score"))
    )


def to_brand_audience(feedback: DataFrame, *, products: DataFrame) -> DataFrame:
    """(brand_id, person_id): persons with feedback on at least one of the brand's products."""
    return (feedback.join(to_product_brands(products), "product_id")
            .select("brand_id", "person_id").distinct())


def to_product_brands(products: DataFrame) -> DataFrame:
    """(product_id, brand_id) from silver products (one row per SKU); a product of two brands keeps the
    smaller brand id so no product is listed twice."""
    require_columns(products, ("product_id", "brand_id"), what="products")
    return (products.where(F.col("brand_id").isNotNull()).groupBy("product_id")
            .agg(F.min("brand_id").alias("brand_id")))


def to_brand_popularity(feedback: DataFrame, *, products: DataFrame, top_n: int) -> DataFrame:
    """(brand_id, rank, product_id, buyers): the brand's products by distinct buyers (then weight)."""
    return (
        feedback.join(to_product_brands(products), "product_id")
        .groupBy("brand_id", "product_id").agg(F.sum((F.col("purchases") > 0).cast("long")).alias("buyers"),
                                               F.sum("weight").alias("weight"))
        .withColumn("rank", F.row_number().over(Window.partitionBy("brand_id").orderBy(
            F.col("buyers").desc(), F.col("weight").desc(), "product_id")))
        .where(F.col("rank") <= top_n)
        .select("brand_id", F.col("rank").cast("int"), "product_id", "buyers")
    )
