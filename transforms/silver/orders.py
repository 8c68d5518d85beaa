"""Silver orders, order lines and order discounts, conformed from bronze order_events.

Every order event carries the whole order as it stands at ``event_at`` (docs/contracts.md), so each
event yields one candidate version of the order, of each of its lines and of each order discount;
the silver job keeps the latest version per key.
"""

from __future__ import annotations

from collections.abc import Callable

from brandlake.transforms.enums import DISCOUNT_TYPES, ORDER_STATUSES
from brandlake.transforms.money import MONEY
from brandlake.transforms.pii import address_hash, phone_hash
from brandlake.transforms.schemas import SILVER_ORDER_DISCOUNTS, SILVER_ORDER_LINES, SILVER_ORDERS
from brandlake.transforms.silver.common import (
    ConformContext,
    Field,
    blank,
    boolean,
    country,
    currency,
    enum,
    extend,
    finish,
    integer,
    is_country_code,
    is_currency_code,
    local_date,
    lower,
    money,
    prepare,
    redact_value,
    redacted,
    text,
    timestamp,
    with_errors,
    with_fields,
)
from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

S, TS = T.StringType(), T.TimestampType()
SOURCE = "order_events"

ORDERS_SCHEMA = extend(
    SILVER_ORDERS,
    ("ship_address_hash", S, True), ("ship_phone_hash", S, True), ("device_type", S, True),
    ("event_id", S, False), ("event_type", S, False),
)
"""One row per order, as of its latest event. ``ordered_at``: see ``resolve_ordered_at``."""

ORDER_LINES_SCHEMA = extend(SILVER_ORDER_LINES, ("updated_at", TS, False))
"""One row per order line, as of the order's latest event (``updated_at`` = that event's event_at)."""

ORDER_DISCOUNTS_SCHEMA = extend(SILVER_ORDER_DISCOUNTS, ("updated_at", TS, False))
"""One row per order × order-level promotion, as of the order's latest event."""

EVENT_TYPES = ("order_created", "order_paid", "order_shipped", "order_completed", "order_cancelled")

EVENT_TYPE_SYNONYMS = {
    "created": "order_created", "paid": "order_paid", "shipped": "order_shipped",
    "completed": "order_completed", "cancelled": "order_cancelled", "canceled": "order_cancelled",
    "order_canceled": "order_cancelled", "order_complete": "order_completed",
}
ORDER_STATUS_SYNONYMS = {
    "canceled": "cancelled", "complete": "completed", "new": "created", "pending": "created",
    "order_created": "created", "order_paid": "paid", "order_shipped": "shipped",
    "order_completed": "completed", "order_cancelled": "cancelled",
}
DISCOUNT_TYPE_SYNONYMS = {"crossshop": "cross_shop", "cross_store": "cross_shop", "full_reduction": "threshold"}

_STR = T.StringType()
LINE_JSON = T.StructType([T.StructField(n, _STR) for n in
                          ("line_id", "product_id", "sku_id", "quantity", "unit_price", "item_discount")])
DISCOUNT_JSON = T.StructType([
    *[T.StructField(n, _STR) for n in ("promotion_id", "discount_type", "amount")],
    T.StructField("line_ids", T.ArrayType(_STR)),
])

# Order header fields shared by all three tables.
_HEADER = (
    Field("order_id"),
    Field("platform_id"),
    Field("currency", currency, valid=is_currency_code),
    Field("updated_at", timestamp, src="event_at"),
)


def _redact(ctx: ConformContext) -> dict[str, Callable[[Column], Column]]:
    """The order's PII inside the ``_raw`` of silver orders: keyed hashes, as the published ``ship_*_hash``
    columns (the same hash links a quarantined order to its buyer)."""
    return {
        "ship_address": lambda c: address_hash(c, ctx.pii_key),
        "ship_phone": lambda c: phone_hash(c, country(F.col("ship_country")), ctx.pii_key),
    }


# order lines and discounts publish no PII: their _raw says only that a value was there (hashing it costs
# what conforming the rest of the event costs)
_REDACT_ONLY = {"ship_address": redact_value, "ship_phone": redact_value}


def _parsed_lines() -> Column:
    return F.from_json(F.col("lines"), T.ArrayType(LINE_JSON))


def _parsed_discounts() -> Column:
    return F.from_json(F.col("order_discounts"), T.ArrayType(DISCOUNT_JSON))


def conform_orders(bronze: DataFrame, *, ctx: ConformContext) -> DataFrame:
    """One row per order event: the order header as of that event.

    ``ordered_at`` is the event's ``event_at`` — exact for ``order_created`` events and an upper
    bound for later ones; ``resolve_ordered_at`` turns it into the earliest event time seen.
    ``order_date`` is ordered_at's local date on the platform. Raw address and phone are replaced by
    keyed hashes (also inside ``_raw``).
    """
    df = prepare(bronze, source=SOURCE, optional=("device_type",), redact=_redact(ctx))
    fields = [
        *_HEADER,
        Field("event_id"),
        Field("event_type", enum(EVENT_TYPE_SYNONYMS), allowed=EVENT_TYPES),
        Field("shop_id"),
        Field("customer_id"),
        Field("order_status", enum(ORDER_STATUS_SYNONYMS), allowed=ORDER_STATUSES),
        Field("ordered_at", timestamp, src="event_at", required=False),
        Field("is_presale", boolean),
        Field("deposit_amount", money),
        Field("deposit_value", money),
        Field("balance_due_at", timestamp),
        Field("shipping_fee_amount", money, src="shipping_fee"),
        Field("ship_country", country, valid=is_country_code),
        Field("ship_province", text),
        Field("ship_city", text),
        Field("device_type", lower),
        # the keyed hashes that replaced the raw values in _raw (``_redact``), computed once
        Field("ship_address_hash", lambda _: redacted("ship_address"), src="ship_address", pii=True),
        Field("ship_phone_hash", lambda _: redacted("ship_phone"), src="ship_phone", required=False, pii=True),
    ]
    df = with_fields(df, fields, schema=ORDERS_SCHEMA)
    df = with_errors(
        df,
        (blank(F.col("lines")), "missing:lines"),
        (~blank(F.col("lines")) & _parsed_lines().isNull(), "malformed:lines"),
        (~blank(F.col("order_discounts")) & _parsed_discounts().isNull(), "malformed:order_discounts"),
    )
    df = df.withColumn("order_date", local_date(F.col("ordered_at"), F.col("platform_id"), ctx.platform_timezones))
    return finish(df, ORDERS_SCHEMA)


def _explode_keeping_bad(df: DataFrame, column: str, element: T.StructType, alias: str) -> DataFrame:
    """One row per array element; an absent or unparseable array yields one all-null element so the
    event's row is kept (and tagged), while an empty array yields no rows."""
    parsed = F.from_json(F.col(column), T.ArrayType(element))
    kept = F.coalesce(parsed, F.array(F.lit(None).cast(element)))
    return df.withColumn(alias, F.explode(kept))


def conform_order_lines(bronze: DataFrame, *, ctx: ConformContext) -> DataFrame:
    """One row per line of each order event (``lines`` JSON exploded).

    ``line_amount = quantity × unit_price − item_discount``. A missing or unparseable ``lines`` array
    yields one row tagged ``missing:lines`` / ``malformed:lines``; ``[]`` yields no rows.
    """
    df = prepare(bronze, source=SOURCE, redact=_REDACT_ONLY)
    df = with_errors(
        df,
        (blank(F.col("lines")), "missing:lines"),
        (~blank(F.col("lines")) & _parsed_lines().isNull(), "malformed:lines"),
    )
    df = _explode_keeping_bad(df, "lines", LINE_JSON, "_line")
    fields = [
        *_HEADER,
        Field("line_id", src="_line.line_id"),
        Field("product_id", src="_line.product_id"),
        Field("sku_id", src="_line.sku_id"),
        Field("quantity", integer, src="_line.quantity"),
        Field("unit_price_amount", money, src="_line.unit_price"),
        Field("item_discount_amount", money, src="_line.item_discount"),
    ]
    df = with_fields(df, fields, schema=ORDER_LINES_SCHEMA)
    line_amount = (F.col("quantity") * F.col("unit_price_amount") - F.col("item_discount_amount"))
    df = df.withColumn("line_amount", line_amount.try_cast(MONEY))
    return finish(df, ORDER_LINES_SCHEMA)


def _line_ids(col: Column) -> Column:
    """Trimmed, non-blank ids; ARRAY<STRING NOT NULL> as the schema declares."""
    cleaned = F.transform(col, lambda x: F.coalesce(F.trim(x), F.lit("")))
    return F.when(col.isNotNull(), F.filter(cleaned, lambda x: x != ""))


def conform_order_discounts(bronze: DataFrame, *, ctx: ConformContext) -> DataFrame:
    """One row per order-level discount of each order event (``order_discounts`` JSON exploded).

    A null, blank or ``[]`` ``order_discounts`` means no discounts (no rows); an unparseable one
    yields one row tagged ``malformed:order_discounts``.
    """
    df = prepare(bronze, source=SOURCE, redact=_REDACT_ONLY)
    parsed = _parsed_discounts()
    is_malformed = ~blank(F.col("order_discounts")) & parsed.isNull()
    df = with_errors(df, (is_malformed, "malformed:order_discounts"))
    kept = (
        F.when(F.col("_corrupt_record").isNotNull() | is_malformed, F.array(F.lit(None).cast(DISCOUNT_JSON)))
        .otherwise(F.coalesce(parsed, F.array().cast(T.ArrayType(DISCOUNT_JSON))))
    )
    df = df.withColumn("_discount", F.explode(kept))
    fields = [
        *_HEADER,
        Field("promotion_id", src="_discount.promotion_id"),
        Field("discount_type", enum(DISCOUNT_TYPE_SYNONYMS), src="_discount.discount_type",
              allowed=DISCOUNT_TYPES),
        Field("discount_amount", money, src="_discount.amount"),
    ]
    df = with_fields(df, fields, schema=ORDER_DISCOUNTS_SCHEMA)
    ids = F.col("_discount.line_ids")
    df = with_errors(df, (F.col("_discount").isNotNull() & ids.isNull(), "missing:line_ids"))
    df = df.withColumn("line_ids", _line_ids(ids))
    return finish(df, ORDER_DISCOUNTS_SCHEMA)


def resolve_ordered_at(
    orders: DataFrame, *, existing: DataFrame | None = None, ctx: ConformContext, valid: Column | None = None
) -> DataFrame:
    """Set ``ordered_at`` to the earliest event time seen for the order, and ``order_date`` to match.

    ``orders`` is the conformed batch (all events, before keeping the latest per order); ``existing``
    the silver orders table (or None). An order's ``order_created`` event is its earliest, so once it
    has arrived (in this batch or an earlier one) ordered_at is exactly the creation time; until then
    it is the earliest later event, corrected when the late creation event arrives (min only falls).
    Only ``valid`` rows (those the quality gate can publish; default all) count and are set: an event the
    gate quarantines never reaches the table, so it cannot move ordered_at in its own batch either (else
    the result would depend on whether it shares a batch with the order's other events), and it keeps its
    delivered times. Rows and columns are otherwise unchanged.
    """
    valid = F.lit(True) if valid is None else F.coalesce(valid, F.lit(False))
    by_order = Window.partitionBy("order_id")
    df = orders.withColumn("_valid", valid).withColumn(
        "_at", F.when(F.col("_valid"), F.min(F.when(F.col("_valid"), F.col("ordered_at"))).over(by_order)))
    if existing is not None:
        prev = existing.select(F.col("order_id").alias("_prev_order_id"), F.col("ordered_at").alias("_prev_at"))
        df = (
            df.join(prev, F.col("order_id") == F.col("_prev_order_id"), "left")
            .withColumn("_at", F.when(F.col("_valid"), F.least("_at", "_prev_at")))
        )
    resolved = local_date(F.col("_at"), F.col("platform_id"), ctx.platform_timezones)
    df = (df.withColumn("order_date", F.when(F.col("_valid"), resolved).otherwise(F.col("order_date")))
          .withColumn("ordered_at", F.when(F.col("_valid"), F.col("_at")).otherwise(F.col("ordered_at"))))
    return df.select(*orders.columns)


def carry_earlier_ordered_at(
    published: DataFrame, *, existing: DataFrame | None, convert: Callable[[DataFrame], DataFrame]
) -> DataFrame:
    """Rows to MERGE into silver orders: ``published`` (the batch's gated rows, one per order, ordered_at
    already resolved), except where the table holds a newer version of the order and the batch brings an
    earlier ordered_at.

    The MERGE keeps the newer version, so a creation event that arrives after a later event was published
    (bronze commits are not in event order) would otherwise be lost and ordered_at stay a later event's time.
    Such a row is replaced by the table's row with the batch's ordered_at and order_date, its money columns
    re-derived by ``convert`` (they are converted at order_date's rate) and its version (updated_at) kept,
    so the MERGE rewrites only what the late event corrects. Still one row per order.
    """
    if existing is None:
        return published
    now = existing.select(F.col("order_id").alias("_e_order_id"), F.col("updated_at").alias("_e_updated_at"),
                          F.col("ordered_at").alias("_e_ordered_at"))
    joined = published.join(now, F.col("order_id") == F.col("_e_order_id"), "left")
    older_but_earlier = (F.col("_e_updated_at") > F.col("updated_at")) & (F.col("ordered_at") < F.col("_e_ordered_at"))
    kept = joined.where(~F.coalesce(older_but_earlier, F.lit(False))).select(*published.columns)
    fixes = joined.where(older_but_earlier).select(
        F.col("order_id").alias("_f_order_id"), F.col("ordered_at").alias("_f_at"),
        F.col("order_date").alias("_f_date"))
    corrected = (
        existing.join(fixes, F.col("order_id") == F.col("_f_order_id"))
        .withColumn("ordered_at", F.col("_f_at")).withColumn("order_date", F.col("_f_date"))
        .drop("_f_order_id", "_f_at", "_f_date")
    )
    return kept.unionByName(convert(corrected).select(*published.columns))
