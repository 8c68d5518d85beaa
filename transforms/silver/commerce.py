"""Silver payments, refunds, returns and promotions: the money-moving records around an order."""

from __future__ import annotations

from brandlake.transforms.enums import PAYMENT_KINDS, PROMOTION_TYPES
from brandlake.transforms.money import MONEY
from brandlake.transforms.schemas import SILVER_PAYMENTS, SILVER_REFUNDS
from brandlake.transforms.silver.common import (
    ConformContext,
    Field,
    conform_simple,
    currency,
    decimal,
    enum,
    extend,
    integer,
    is_currency_code,
    local_date,
    money,
    struct_schema,
    text,
    timestamp,
)
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

S, TS, D, INT = T.StringType(), T.TimestampType(), T.DateType(), T.IntegerType()

PAYMENTS_SCHEMA = extend(SILVER_PAYMENTS, ("paid_date", D, False), ("event_id", S, False))
"""One row per payment (full, deposit or balance), as of its latest event; paid_at = that event's time."""

REFUNDS_SCHEMA = extend(SILVER_REFUNDS, ("refunded_date", D, False), ("event_id", S, False))
"""One row per refund of (part of) one order line, as of its latest event."""

RETURNS_SCHEMA = struct_schema(
    ("return_id", S, False), ("order_id", S, False), ("line_id", S, True), ("platform_id", S, False),
    ("requested_at", TS, True), ("request_date", D, True), ("reason", S, True), ("status", S, False),
    ("quantity", INT, True), ("updated_at", TS, False),
)
"""One row per return request, as of its latest version."""

PROMOTIONS_SCHEMA = struct_schema(
    ("promotion_id", S, False), ("platform_id", S, False), ("promotion_type", S, False), ("name", S, True),
    ("event_name", S, True), ("threshold_amount", MONEY, True), ("discount_amount", MONEY, True),
    ("discount_pct", T.DecimalType(9, 4), True), ("deposit_amount", MONEY, True),
    ("deposit_value", MONEY, True), ("currency", S, True), ("starts_at", TS, True), ("ends_at", TS, True),
    ("balance_starts_at", TS, True), ("balance_ends_at", TS, True), ("updated_at", TS, False),
)
"""One row per promotion, as of its latest version."""

PAYMENT_STATUSES = ("pending", "success", "failed")
REFUND_STATUSES = ("pending", "success", "failed")
RETURN_STATUSES = ("requested", "approved", "rejected", "received", "refunded", "cancelled")

PAYMENT_KIND_SYNONYMS = {
    "full_payment": "full", "deposit_payment": "deposit", "final": "balance", "final_payment": "balance",
    "balance_payment": "balance", "tail": "balance",
}
STATUS_SYNONYMS = {
    "succeeded": "success", "successful": "success", "paid": "success", "ok": "success",
    "completed": "success", "complete": "success", "refunded": "success", "done": "success",
    "fail": "failed", "failure": "failed", "declined": "failed", "rejected": "failed", "error": "failed",
    "processing": "pending", "requested": "pending", "in_progress": "pending", "created": "pending",
}
RETURN_STATUS_SYNONYMS = {"canceled": "cancelled", "pending": "requested", "declined": "rejected"}
PROMOTION_TYPE_SYNONYMS = {
    "crossshop": "cross_shop", "cross_store": "cross_shop", "full_reduction": "threshold",
    "percent": "percentage", "pct": "percentage", "pre_sale": "presale", "pre_order": "presale",
}


def conform_payments(bronze: DataFrame, *, ctx: ConformContext) -> DataFrame:
    """One row per payment event; ``paid_at`` is the event time and ``paid_date`` its local date."""
    fields = [
        Field("payment_id"), Field("order_id"), Field("platform_id"),
        Field("payment_kind", enum(PAYMENT_KIND_SYNONYMS), allowed=PAYMENT_KINDS),
        Field("amount", money),
        Field("currency", currency, valid=is_currency_code),
        Field("method", enum()),
        Field("status", enum(STATUS_SYNONYMS), allowed=PAYMENT_STATUSES),
        Field("paid_at", timestamp, src="event_at"),
        Field("event_id"),
    ]
    paid_date = local_date(F.col("paid_at"), F.col("platform_id"), ctx.platform_timezones)
    return conform_simple(bronze, source="payment_events", fields=fields, schema=PAYMENTS_SCHEMA,
                          derived={"paid_date": paid_date})


def conform_refunds(bronze: DataFrame, *, ctx: ConformContext) -> DataFrame:
    """One row per refund event; ``refunded_at`` is the event time and ``refunded_date`` its local date."""
    fields = [
        Field("refund_id"), Field("order_id"), Field("line_id"), Field("platform_id"),
        Field("amount", money),
        Field("currency", currency, valid=is_currency_code),
        Field("reason", enum()),
        Field("status", enum(STATUS_SYNONYMS), allowed=REFUND_STATUSES),
        Field("refunded_at", timestamp, src="event_at"),
        Field("event_id"),
    ]
    refunded_date = local_date(F.col("refunded_at"), F.col("platform_id"), ctx.platform_timezones)
    return conform_simple(bronze, source="refund_events", fields=fields, schema=REFUNDS_SCHEMA,
                          derived={"refunded_date": refunded_date})


def conform_returns(bronze: DataFrame, *, ctx: ConformContext) -> DataFrame:
    """One row per return request version."""
    fields = [
        Field("return_id"), Field("order_id"), Field("line_id"), Field("platform_id"),
        Field("requested_at", timestamp),
        Field("reason", enum()),
        Field("status", enum(RETURN_STATUS_SYNONYMS), allowed=RETURN_STATUSES),
        Field("quantity", integer),
        Field("updated_at", timestamp),
    ]
    request_date = local_date(F.col("requested_at"), F.col("platform_id"), ctx.platform_timezones)
    return conform_simple(bronze, source="returns", fields=fields, schema=RETURNS_SCHEMA,
                          derived={"request_date": request_date})


def conform_promotions(bronze: DataFrame, *, ctx: ConformContext) -> DataFrame:
    """One row per promotion version; amounts in the promotion's currency."""
    fields = [
        Field("promotion_id"), Field("platform_id"),
        Field("promotion_type", enum(PROMOTION_TYPE_SYNONYMS), allowed=PROMOTION_TYPES),
        Field("name", text), Field("event_name", text),
        Field("threshold_amount", money), Field("discount_amount", money),
        Field("discount_pct", decimal(9, 4)),
        Field("deposit_amount", money), Field("deposit_value", money),
        Field("currency", currency, valid=is_currency_code),
        Field("starts_at", timestamp), Field("ends_at", timestamp),
        Field("balance_starts_at", timestamp), Field("balance_ends_at", timestamp),
        Field("updated_at", timestamp),
    ]
    return conform_simple(bronze, source="promotions", fields=fields, schema=PROMOTIONS_SCHEMA)

