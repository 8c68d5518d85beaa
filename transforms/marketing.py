"""Gold `lost_visitors`: brand-scoped retargeting audiences of visitors who viewed or carted a brand's
product and did not buy it.

A visitor is a person (logged-in events, through `identity_accounts`) or, for guests, only their session
(`session:<session_id>`): no guest is followed across sessions and no PII is used. A product counts as
bought when the same visitor has a purchase event for it at or after their first view or cart.
"""

from __future__ import annotations

from brandlake.transforms.columns import require_columns
from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

_S, _TS, _I, _B = T.StringType(), T.TimestampType(), T.IntegerType(), T.BooleanType()

LOST_VISITORS = T.StructType([T.StructField(n, t, nullable) for n, t, nullable in [
    ("brand_id", _S, False), ("visitor_id", _S, False), ("visitor_kind", _S, False), ("product_id", _S, False),
    ("views", _I, False), ("is_carted", _B, False), ("first_seen_at", _TS, False), ("last_seen_at", _TS, False),
    ("last_channel", _S, True), ("channels", T.ArrayType(_S), False), ("platforms", T.ArrayType(_S), False),
]])
"""One row per brand × visitor × product that the visitor viewed or carted and never bought afterwards.
``visitor_id`` is a person_id (``visitor_kind`` person) or ``session:<id>`` (guest); ``last_channel`` is
the traffic channel of the latest view/cart."""


def to_lost_visitors(clicks: DataFrame, *, accounts: DataFrame, products: DataFrame) -> DataFrame:
    """LOST_VISITORS from silver clickstream, identity_accounts and silver products (product → brand)."""
    require_columns(clicks, ("session_id", "platform_id", "customer_id", "product_id", "event_type", "event_at",
                             "channel"), what="clickstream")
    brands = products.select("product_id", "brand_id").where(F.col("brand_id").isNotNull()).distinct()
    visits = (
        clicks.where(F.col("product_id").isNotNull())
        .join(accounts.select("platform_id", "customer_id", "person_id"), ["platform_id", "customer_id"], "left")
        .join(brands, "product_id")
        .withColumn("visitor_kind", F.when(F.col("person_id").isNotNull(), F.lit("person")).otherwise(F.lit("session")))
        .withColumn("visitor_id", F.coalesce("person_id", F.concat(F.lit("session:"), "session_id")))
    )
    keys = ["brand_id", "visitor_id", "visitor_kind", "product_id"]
    interest = visits.where(F.col("event_type").isin("view", "cart"))
    latest = Window.partitionBy(*keys).orderBy(F.col("event_at").desc(), F.col("channel").asc_nulls_last())
    per_product = (
        interest.withColumn("_last_channel", F.first("channel").over(latest))
        .groupBy(*keys).agg(
            F.sum((F.col("event_type") == "view").cast("int")).cast("int").alias("views"),
            F.max(F.col("event_type") == "cart").alias("is_carted"),
            F.min("event_at").alias("first_seen_at"), F.max("event_at").alias("last_seen_at"),
            F.first("_last_channel").alias("last_channel"),
            F.sort_array(F.collect_set("channel")).alias("channels"),
            F.sort_array(F.collect_set("platform_id")).alias("platforms"),
        )
    )
    bought = visits.where(F.col("event_type") == "purchase").groupBy(*keys).agg(F.max("event_at").alias("_bought_at"))
    return (
        per_product.join(bought, keys, "left")
        .where(F.col("_bought_at").isNull() | (F.col("_bought_at") < F.col("first_seen_at")))
        .select(*[F.col(f.name).cast(f.dataType) for f in LOST_VISITORS.fields])
    )


# ---------------------------------------------------------------------------------------------------
# Channel attribution

CHANNEL_ATTRIBUTION = T.StructType([T.StructField(n, t, nullable) for n, t, nullable in [
    ("brand_id", _S, False), ("month", T.DateType(), False), ("model", _S, False), ("channel", _S, False),
    ("conversions", T.DoubleType(), False), ("share", T.DoubleType(), False),
]])
"""One row per brand × month × attribution model × channel: the conversions credited to the channel and
its share of the month's conversions. Models: last_touch, first_touch, linear, markov (removal effect).
A conversion is a session with a purchase of the brand's product; its journey is the visitor's sessions
touching the brand since their previous conversion; the month is the conversion's."""

ATTRIBUTION_MODELS = ("last_touch", "first_touch", "linear", "markov")


def to_brand_sessions(clicks: DataFrame, *, accounts: DataFrame, products: DataFrame) -> DataFrame:
    """One row per brand × session touching the brand: visitor, channel (of the session's first event),
    start time and whether it converted (a purchase of the brand's product)."""
    brands = products.select("product_id", "brand_id").where(F.col("brand_id").isNotNull()).distinct()
    first = Window.partitionBy("brand_id", "session_id").orderBy("event_at", "channel")
    return (
        clicks.where(F.col("product_id").isNotNull())
        .join(accounts.select("platform_id", "customer_id", "person_id"), ["platform_id", "customer_id"], "left")
        .join(brands, "product_id")
        .withColumn("visitor_id", F.coalesce("person_id", F.concat(F.lit("session:"), "session_id")))
        .withColumn("_channel", F.first(F.coalesce("channel", F.lit("unknown"))).over(first))
        .groupBy("brand_id", "session_id", "visitor_id")
        .agg(F.min("event_at").alias("started_at"), F.first("_channel").alias("channel"),
             F.max(F.col("event_type") == "purchase").alias("converted"))
    )


def to_journeys(sessions: DataFrame) -> DataFrame:
    """One row per brand × visitor × journey: ordered channels, converted flag and month (of the
    conversion, else of the last session). A journey ends at each conversion."""
    order = Window.partitionBy("brand_id", "visitor_id").orderBy("started_at", "session_id")
    before = order.rowsBetween(Window.unboundedPreceding, -1)
    j = sessions.withColumn("journey", F.coalesce(F.sum(F.col("converted").cast("int")).over(before), F.lit(0)))
    return (
        j.groupBy("brand_id", "visitor_id", "journey")
        .agg(F.sort_array(F.collect_list(F.struct("started_at", "session_id", "channel"))).alias("_s"),
             F.max("converted").alias("converted"), F.max("started_at").alias("_end"))
        .select("brand_id", "visitor_id", "journey", F.transform("_s", lambda x: x["channel"]).alias("channels"),
                "converted", F.trunc(F.to_date("_end"), "month").alias("month"))
    )


def to_heuristic_attribution(journeys: DataFrame) -> DataFrame:
    """CHANNEL_ATTRIBUTION rows for last_touch, first_touch and linear over converted journeys."""
    conv = journeys.where(F.col("converted"))
    n = F.size("channels")
    credits = (
        conv.select("brand_id", "month", F.lit("last_touch").alias("model"), F.element_at("channels", -1).alias("channel"),
                    F.lit(1.0).alias("credit"))
        .unionByName(conv.select("brand_id", "month", F.lit("first_touch").alias("model"),
                                 F.element_at("channels", 1).alias("channel"), F.lit(1.0).alias("credit")))
        .unionByName(conv.select("brand_id", "month", F.lit("linear").alias("model"),
                                 F.explode("channels").alias("channel"), (F.lit(1.0) / n).alias("credit")))
    )
    return with_shares(credits.groupBy("brand_id", "month", "model", "channel").agg(F.sum("credit").alias("conversions")))


def with_shares(df: DataFrame) -> DataFrame:
    """Add ``share`` = conversions / the brand-month-model total; select CHANNEL_ATTRIBUTION."""
    total = F.sum("conversions").over(Window.partitionBy("brand_id", "month", "model"))
    return (df.withColumn("share", F.when(total > 0, F.col("conversions") / total).otherwise(F.lit(0.0)))
            .select(*[F.col(f.name).cast(f.dataType) for f in CHANNEL_ATTRIBUTION.fields]))


def to_transition_counts(journeys: DataFrame) -> DataFrame:
    """(brand_id, month, from_state, to_state, transitions) over all journeys: start → channels →
    conversion or null (Markov model input)."""
    states = F.concat(F.array(F.lit("start")), F.col("channels"),
                      F.array(F.when(F.col("converted"), F.lit("conversion")).otherwise(F.lit("null"))))
    pairs = F.transform(F.sequence(F.lit(1), F.size("_st") - 1),
                        lambda i: F.struct(F.element_at("_st", i).alias("a"), F.element_at("_st", i + 1).alias("b")))
    steps = journeys.select("brand_id", "month", states.alias("_st")).select("brand_id", "month",
                                                                             F.explode(pairs).alias("_p"))
    return (steps.select("brand_id", "month", F.col("_p.a").alias("from_state"), F.col("_p.b").alias("to_state"))
            .groupBy("brand_id", "month", "from_state", "to_state").agg(F.count(F.lit(1)).alias("transitions")))


MARKOV_CREDITS = T.StructType([T.StructField("brand_id", T.StringType()), T.StructField("month", T.DateType()),
                         T.StructField("model", T.StringType()), T.StructField("channel", T.StringType()),
                         T.StructField("conversions", T.DoubleType())])
"""One row per brand × month × channel credited by the Markov removal-effect model (model ``markov``),
before shares: the rows models/attribution.py solves on the driver."""
