"""Silver engagement data: clickstream events, product reviews and customer-service chats."""

from __future__ import annotations

from brandlake.transforms.enums import CLICK_EVENT_TYPES
from brandlake.transforms.silver.common import (
    ConformContext,
    Field,
    conform_simple,
    enum,
    integer,
    local_date,
    lower,
    struct_schema,
    text,
    timestamp,
)
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

S, TS, D, INT = T.StringType(), T.TimestampType(), T.DateType(), T.IntegerType()

CLICKSTREAM_SCHEMA = struct_schema(
    ("event_id", S, False), ("session_id", S, False), ("platform_id", S, False), ("customer_id", S, True),
    ("product_id", S, True), ("event_type", S, False), ("event_at", TS, False), ("event_date", D, False),
    ("channel", S, True), ("device", S, True),
)
"""One row per clickstream event; sessions are the events grouped by session_id."""

REVIEWS_SCHEMA = struct_schema(
    ("review_id", S, False), ("platform_id", S, False), ("order_id", S, True), ("line_id", S, True),
    ("product_id", S, True), ("customer_id", S, True), ("rating", INT, False), ("review_text", S, True),
    ("language", S, True), ("created_at", TS, False), ("review_date", D, False),
)
"""One row per product review."""

CS_CHATS_SCHEMA = struct_schema(
    ("chat_id", S, False), ("platform_id", S, False), ("customer_id", S, True), ("order_id", S, True),
    ("started_at", TS, False), ("chat_date", D, False), ("channel", S, True), ("question", S, True),
    ("answer", S, True), ("intent", S, True), ("language", S, True),
)
"""One row per customer-service conversation."""

CLICK_EVENT_TYPE_SYNONYMS = {
    "page_view": "view", "pageview": "view", "product_view": "view", "click": "view",
    "add_to_cart": "cart", "addtocart": "cart", "add_cart": "cart", "cart_add": "cart",
    "buy": "purchase", "order": "purchase", "checkout": "purchase",
}


def conform_clickstream(bronze: DataFrame, *, ctx: ConformContext) -> DataFrame:
    fields = [
        Field("event_id"), Field("session_id"), Field("platform_id"), Field("customer_id"), Field("product_id"),
        Field("event_type", enum(CLICK_EVENT_TYPE_SYNONYMS), allowed=CLICK_EVENT_TYPES),
        Field("event_at", timestamp),
        Field("channel", enum()), Field("device", enum()),
    ]
    event_date = local_date(F.col("event_at"), F.col("platform_id"), ctx.platform_timezones)
    return conform_simple(bronze, source="clickstream", fields=fields, schema=CLICKSTREAM_SCHEMA,
                          derived={"event_date": event_date})


def conform_reviews(bronze: DataFrame, *, ctx: ConformContext) -> DataFrame:
    """Ratings outside 1–5 are tagged ``invalid:rating``."""
    fields = [
        Field("review_id"), Field("platform_id"), Field("order_id"), Field("line_id"), Field("product_id"),
        Field("customer_id"),
        Field("rating", integer, valid=lambda c: c.between(1, 5)),
        Field("review_text", text), Field("language", lower),
        Field("created_at", timestamp),
    ]
    review_date = local_date(F.col("created_at"), F.col("platform_id"), ctx.platform_timezones)
    return conform_simple(bronze, source="reviews", fields=fields, schema=REVIEWS_SCHEMA,
                          derived={"review_date": review_date})


def conform_cs_chats(bronze: DataFrame, *, ctx: ConformContext) -> DataFrame:
    fields = [
        Field("chat_id"), Field("platform_id"), Field("customer_id"), Field("order_id"),
        Field("started_at", timestamp),
        Field("channel", enum()), Field("question", text), Field("answer", text),
        Field("intent", enum()), Field("language", lower),
    ]
    chat_date = local_date(F.col("started_at"), F.col("platform_id"), ctx.platform_timezones)
    return conform_simple(bronze, source="cs_chats", fields=fields, schema=CS_CHATS_SCHEMA,
                          derived={"chat_date": chat_date})
