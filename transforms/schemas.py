"""Silver table schemas that gold relies on (see docs/contracts.md). Tests build inputs from these."""

from __future__ import annotations

from brandlake.transforms.money import MONEY
from pyspark.sql import types as T

RATE = T.DecimalType(18, 8)


def _s(*fields: tuple[str, T.DataType, bool]) -> T.StructType:
    return T.StructType([T.StructField(n, t, nullable) for n, t, nullable in fields])


S, TS, D, INT, B = T.StringType(), T.TimestampType(), T.DateType(), T.IntegerType(), T.BooleanType()

SILVER_ORDERS = _s(
    ("order_id", S, False), ("platform_id", S, False), ("shop_id", S, True),
    ("customer_id", S, True), ("currency", S, False), ("order_status", S, False),
    ("ordered_at", TS, False), ("order_date", D, False), ("updated_at", TS, False),
    ("is_presale", B, False), ("deposit_amount", MONEY, True), ("deposit_value", MONEY, True),
    ("balance_due_at", TS, True), ("shipping_fee_amount", MONEY, False),
    ("ship_country", S, True), ("ship_province", S, True), ("ship_city", S, True),
)
"""One row per order, as of its latest event."""

SILVER_ORDER_LINES = _s(
    ("order_id", S, False), ("line_id", S, False), ("platform_id", S, False), ("product_id", S, True),
    ("sku_id", S, True), ("quantity", INT, False), ("unit_price_amount", MONEY, False),
    ("item_discount_amount", MONEY, False), ("line_amount", MONEY, False), ("currency", S, False),
)
"""One row per order line."""

SILVER_ORDER_DISCOUNTS = _s(
    ("order_id", S, False), ("promotion_id", S, False), ("discount_type", S, False),
    ("discount_amount", MONEY, False), ("line_ids", T.ArrayType(S, False), False), ("currency", S, False),
)
"""One row per order × order-level promotion (threshold, coupon, cross_shop)."""

SILVER_PAYMENTS = _s(
    ("payment_id", S, False), ("order_id", S, False), ("platform_id", S, False), ("payment_kind", S, False),
    ("amount", MONEY, False), ("currency", S, False), ("method", S, True), ("status", S, False),
    ("paid_at", TS, False),
)
"""One row per payment (full, deposit or balance)."""

SILVER_REFUNDS = _s(
    ("refund_id", S, False), ("order_id", S, False), ("line_id", S, False), ("platform_id", S, False),
    ("amount", MONEY, False), ("currency", S, False), ("reason", S, True), ("status", S, False),
    ("refunded_at", TS, False),
)
"""One row per refund of (part of) one order line."""

SILVER_FX_RATES = _s(("rate_date", D, False), ("currency", S, False), ("per_usd", RATE, False))
"""One row per currency per day: units of the currency per 1 USD."""
