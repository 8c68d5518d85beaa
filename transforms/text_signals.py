"""Review and customer-service text signals: topic tagging by a multilingual lexicon (zh, en, de, ja),
rating-derived sentiment labels, and the weekly gold aggregates `review_signals` and `cs_signals`.

Topics are rules, not a model: the generator's truth labels sentiment (via the rating) and chat intents,
but not topics, so a learned topic model could not be measured here. Each topic is a case-insensitive
regular expression over the raw text (Chinese and Japanese need no segmentation to match a keyword).
"""

from __future__ import annotations

from collections.abc import Sequence

from brandlake.transforms.columns import require_columns
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

TOPIC_LEXICON: dict[str, str] = {
    "sizing": r"(?i)\bsizes?\b|\bfits?\b|too (small|large|big|tight)|größe|passt|zu (klein|groß|eng)"
              r"|尺码|尺寸|码数|偏大|偏小|合身|サイズ|小さ|大き",
    "quality": r"(?i)quality|broke|defect|cheaply made|qualität|kaputt|mangelhaft|质量|做工|品質|不良|壊れ",
    "delivery": r"(?i)deliver|arrived|shipping|\blate\b|lieferung|versand|spät|zugestellt|物流|快递|发货|送货"
                r"|配送|配達|届",
    "price": r"(?i)\bprice\b|expensive|value for money|preis|teuer|价格|价钱|贵|便宜|值|値段|価格|高い|安い",
    "packaging": r"(?i)packag|\bbox\b|verpackung|包装|包裹|梱包",
    "service": r"(?i)support|customer service|kundendienst|kundenservice|客服|服务|対応|サポート",
    "appearance": r"(?i)pictured|colou?r|farbe|颜色|图片|色|写真",
}
"""topic -> pattern; a text can carry several topics."""

SENTIMENT_LABELS = ("negative", "neutral", "positive")


def review_topics(text: Column) -> Column:
    """ARRAY<STRING> of the lexicon topics whose pattern matches ``text`` (empty for null text)."""
    hits = [F.when(F.coalesce(text, F.lit("")).rlike(p), F.lit(t)) for t, p in TOPIC_LEXICON.items()]
    return F.filter(F.array(*hits), lambda x: x.isNotNull())


def rating_sentiment(rating: Column) -> Column:
    """The review's own star rating as a sentiment label: 1–2 negative, 3 neutral, 4–5 positive."""
    return (F.when(rating <= 2, "negative").when(rating == 3, "neutral").when(rating >= 4, "positive"))


def sentiment_score(label: Column) -> Column:
    """negative → −1, neutral → 0, positive → 1."""
    return F.when(label == "negative", -1.0).when(label == "neutral", 0.0).when(label == "positive", 1.0)


_S, _D, _L, _F = T.StringType(), T.DateType(), T.LongType(), T.DoubleType()

REVIEW_SCORES = T.StructType([T.StructField(n, t, nl) for n, t, nl in [
    ("review_id", _S, False), ("product_id", _S, True), ("platform_id", _S, False), ("language", _S, True),
    ("review_date", _D, False), ("rating", T.IntegerType(), False), ("sentiment_label", _S, True),
    ("sentiment", _F, True), ("is_negative", T.BooleanType(), True),
    ("topics", T.ArrayType(_S, True), False), ("model_version", _S, True),
]])
"""One row per review: predicted sentiment (label and score in [−1, 1]) from the
text model named by `model_version`, and lexicon topics."""

REVIEW_SIGNALS = T.StructType([T.StructField(n, t, nl) for n, t, nl in [
    ("product_id", _S, False), ("week", _D, False), ("reviews", _L, False), ("avg_rating", _F, True),
    ("sentiment", _F, True), ("negative_share", _F, True),
    *[(f"topic_{t}_share", _F, True) for t in TOPIC_LEXICON],
    ("negative_topic_top", _S, True),
]])
"""One row per product per week (Monday of the review date): review count, mean
rating, mean predicted sentiment, share of negative reviews, share of reviews per topic, and the topic
most frequent among the week's negative reviews."""

CS_SIGNALS = T.StructType([T.StructField(n, t, nl) for n, t, nl in [
    ("product_id", _S, False), ("week", _D, False), ("chats", _L, False), ("complaint_chats", _L, False),
    ("complaint_rate", _F, True), ("lines", _L, False),
    ("intent_counts", T.MapType(_S, _L, False), False),
]])
"""One row per product per week (Monday of the chat date) with conversations about
orders holding the product: chats, complaint chats (complaint intents), complaint rate per order line
sold that week, and chats per predicted intent."""


def _week(c: Column) -> Column:
    return F.date_trunc("week", c).cast(_D)


def to_review_signals(scores: DataFrame) -> DataFrame:
    """REVIEW_SIGNALS from REVIEW_SCORES rows."""
    require_columns(scores, ("product_id", "review_date", "rating", "sentiment", "is_negative", "topics"),
                    what="review_scores")
    s = scores.where(F.col("product_id").isNotNull()).withColumn("week", _week(F.col("review_date")))
    topic_shares = [F.avg(F.array_contains("topics", t).cast("double")).alias(f"topic_{t}_share")
                    for t in TOPIC_LEXICON]
    agg = s.groupBy("product_id", "week").agg(
        F.count("*").alias("reviews"), F.avg("rating").alias("avg_rating"), F.avg("sentiment").alias("sentiment"),
        F.avg(F.col("is_negative").cast("double")).alias("negative_share"), *topic_shares)
    top = (s.where("is_negative").select("product_id", "week", F.explode("topics").alias("topic"))
           .groupBy("product_id", "week", "topic").agg(F.count("*").alias("n"))
           .groupBy("product_id", "week")
           .agg(F.max(F.struct("n", F.col("topic"))).alias("_m")))
    # ties go to the alphabetically last topic (max of struct); deterministic either way
    out = agg.join(top.select("product_id", "week", F.col("_m.topic").alias("negative_topic_top")),
                   ["product_id", "week"], "left")
    return out.select(*[F.col(f.name).cast(f.dataType) for f in REVIEW_SIGNALS.fields])


def to_cs_signals(chats: DataFrame, *, lines: DataFrame, complaint_intents: Sequence[str]) -> DataFrame:
    """CS_SIGNALS from chats (order_id, chat_date, intent — the predicted one) and order lines
    (order_id, product_id, order_date); chats without an order (pre-sales) are not about a product."""
    require_columns(chats, ("order_id", "chat_date", "intent"), what="cs chats")
    require_columns(lines, ("order_id", "product_id", "order_date"), what="order lines")
    order_products = lines.where(F.col("product_id").isNotNull()).select("order_id", "product_id").distinct()
    c = chats.join(order_products, "order_id").withColumn("week", _week(F.col("chat_date")))
    per_intent = (c.groupBy("product_id", "week", "intent").agg(F.count("*").alias("n"))
                  .groupBy("product_id", "week")
                  .agg(F.map_from_entries(F.sort_array(F.collect_list(F.struct(
                      F.coalesce("intent", F.lit("unknown")), "n")))).alias("intent_counts")))
    agg = c.groupBy("product_id", "week").agg(
        F.count("*").alias("chats"),
        F.count(F.when(F.col("intent").isin(*complaint_intents), 1)).alias("complaint_chats"))
    sold = (lines.where(F.col("product_id").isNotNull()).withColumn("week", _week(F.col("order_date")))
            .groupBy("product_id", "week").agg(F.count("*").alias("lines")))
    out = (agg.join(per_intent, ["product_id", "week"]).join(sold, ["product_id", "week"], "left")
           .fillna(0, subset=["lines"])
           .withColumn("complaint_rate", F.when(F.col("lines") > 0, F.col("complaint_chats") / F.col("lines"))))
    return out.select(*[F.col(f.name).cast(f.dataType) for f in CS_SIGNALS.fields])


PREDICTION = T.StructType([T.StructField("id", T.StringType()), T.StructField("label", T.StringType()),
                           T.StructField("confidence", T.DoubleType())])
"""One row per scored text (review or chat, by ``id``): the text model's label and its confidence."""
