"""The silver tables: for each, its bronze source, grain, version column, schema and conform transform.

The silver job reads ``SILVER_TABLES``: for each table it conforms new bronze rows with
``conform(bronze_df, ctx=ConformContext(...))``, converts its ``money`` columns into the reporting
currency (transforms/fx.py, silver ``fx_rates``), keeps the row with the greatest ``version_col`` per
``keys``, gates on ``_errors`` and data-quality rules, and MERGEs into ``<lake.silver>/<name>``.

``conform`` returns every column of ``schema`` (same names, order and data types; nullability relaxed,
since failed rows hold nulls) plus ``_errors ARRAY<STRING>``, ``_raw STRING`` (the bronze record as
JSON, PII redacted to its keyed hash) and ``_ingested_at TIMESTAMP``. It never raises on bad values.
Error names: see transforms/silver/common.py. Allowed enum values per column: ``ENUMS``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from brandlake.transforms.money import MONEY
from brandlake.transforms.silver import (
    catalog,
    commerce,
    crossborder,
    customers,
    engagement,
    logistics,
    orders,
)
from brandlake.transforms.silver.common import (
    UNKNOWN_ATTRIBUTES,
    UNKNOWN_ATTRIBUTES_TYPE,
    ConformContext,
    has_descriptive,
)
from pyspark.sql import DataFrame
from pyspark.sql import types as T

__all__ = ["ENUMS", "SILVER_TABLES", "ConformContext", "SilverTable", "published_schema", "silver_table"]


@dataclass(frozen=True)
class SilverTable:
    name: str                      # silver table name, stored at <lake.silver>/<name>
    bronze: str                    # bronze source name (transforms/landing.py)
    keys: tuple[str, ...]          # grain: one row per these keys
    version_col: str               # column (TIMESTAMP) ordering versions; the job keeps the max per key
    schema: T.StructType           # output schema WITHOUT the technical columns below
    conform: Callable[..., DataFrame]  # conform(bronze_df, *, ctx: ConformContext) -> DataFrame
    grain: str                     # "One row per ..."
    # Optional step the job applies to the conformed batch BEFORE keeping the latest row per key:
    # resolve(conformed_df, *, existing: DataFrame | None, ctx: ConformContext, valid: Column) -> DataFrame,
    # where `existing` is the current silver table (None on the first run) and `valid` is true on the rows
    # the gate can publish (no conform error, no quarantine rule broken). Only orders uses it (ordered_at).
    resolve: Callable[..., DataFrame] | None = None
    # Optional step the job applies to the gated rows just before the MERGE:
    # correct(publishable_df, *, existing, convert) -> DataFrame (still one row per key), where ``convert``
    # re-derives the money columns of a row. Only orders uses it: a late creation event older than the
    # published version (which the MERGE would leave out) still corrects the published ordered_at.
    correct: Callable[..., DataFrame] | None = None
    # Money columns (in the row's ``currency``) that the job converts into the reporting currency at the
    # rate of ``money_date``'s day: it adds ``<column>_rpt`` and ``reporting_currency`` (published_schema).
    money: tuple[str, ...] = ()
    money_date: str | None = None


def _t(name, bronze, keys, version_col, schema, conform, grain, resolve=None, *, correct=None, money=(),
       money_date=None):
    return SilverTable(name, bronze, tuple(keys.split()), version_col, schema, conform, grain, resolve,
                       correct, tuple(money), money_date)


def published_schema(spec) -> T.StructType:
    """The silver table as stored: ``spec.schema`` plus, for a table with money columns, one
    ``<column>_rpt`` DECIMAL(18,2) per money column and ``reporting_currency``, and, for a table with
    descriptive attributes (``common.DESCRIPTIVE``), the flag ``unknown_attributes`` (the attributes a row
    left unknown, with the values delivered). Other SilverTable-shaped specs are stored as their schema."""
    extra = [T.StructField(f"{c}_rpt", MONEY, True) for c in getattr(spec, "money", ())]
    if extra:
        extra.append(T.StructField("reporting_currency", T.StringType(), True))
    if has_descriptive(spec.schema):
        extra.append(T.StructField(UNKNOWN_ATTRIBUTES, UNKNOWN_ATTRIBUTES_TYPE, True))
    return T.StructType([*spec.schema.fields, *extra]) if extra else spec.schema


SILVER_TABLES: dict[str, SilverTable] = {t.name: t for t in [
    # ---- order_events ------------------------------------------------------------------------------
    _t("orders", "order_events", "order_id", "updated_at", orders.ORDERS_SCHEMA, orders.conform_orders,
       "One row per order, as of its latest event. ordered_at = the earliest event time seen for the order "
       "(its order_created event); the job must apply `resolve` (orders.resolve_ordered_at) to each batch "
       "and `correct` (orders.carry_earlier_ordered_at) before its MERGE.",
       orders.resolve_ordered_at, correct=orders.carry_earlier_ordered_at, money=("shipping_fee_amount", "deposit_amount", "deposit_value"),
       money_date="order_date"),
    _t("order_lines", "order_events", "order_id line_id", "updated_at", orders.ORDER_LINES_SCHEMA,
       orders.conform_order_lines, "One row per order line, as of the order's latest event."),
    _t("order_discounts", "order_events", "order_id promotion_id", "updated_at", orders.ORDER_DISCOUNTS_SCHEMA,
       orders.conform_order_discounts, "One row per order × order-level promotion, as of the order's latest event."),
    # ---- money events --------------------------------------------------------------------------------
    _t("payments", "payment_events", "payment_id", "paid_at", commerce.PAYMENTS_SCHEMA,
       commerce.conform_payments, "One row per payment (full, deposit or balance), as of its latest event.",
       money=("amount",), money_date="paid_date"),
    _t("refunds", "refund_events", "refund_id", "refunded_at", commerce.REFUNDS_SCHEMA,
       commerce.conform_refunds, "One row per refund of (part of) one order line, as of its latest event.",
       money=("amount",), money_date="refunded_date"),
    _t("returns", "returns", "return_id", "updated_at", commerce.RETURNS_SCHEMA,
       commerce.conform_returns, "One row per return request, as of its latest version."),
    _t("promotions", "promotions", "promotion_id", "updated_at", commerce.PROMOTIONS_SCHEMA,
       commerce.conform_promotions, "One row per promotion, as of its latest version."),
    # ---- logistics -----------------------------------------------------------------------------------
    _t("tracking_events", "logistics_events", "event_id", "event_at", logistics.TRACKING_EVENTS_SCHEMA,
       logistics.conform_tracking_events, "One row per carrier tracking scan."),
    _t("shipments", "logistics_events", "shipment_id", "updated_at", logistics.SHIPMENTS_SCHEMA,
       logistics.conform_shipments, "One row per shipment, as of its latest scan."),
    # ---- engagement ----------------------------------------------------------------------------------
    _t("clickstream", "clickstream", "event_id", "event_at", engagement.CLICKSTREAM_SCHEMA,
       engagement.conform_clickstream, "One row per clickstream event (sessions: group by session_id)."),
    _t("reviews", "reviews", "review_id", "created_at", engagement.REVIEWS_SCHEMA,
       engagement.conform_reviews, "One row per product review."),
    _t("cs_chats", "cs_chats", "chat_id", "started_at", engagement.CS_CHATS_SCHEMA,
       engagement.conform_cs_chats, "One row per customer-service conversation."),
    # ---- customers and reference data ----------------------------------------------------------------
    _t("customers", "customers", "platform_id customer_id", "updated_at", customers.CUSTOMERS_SCHEMA,
       customers.conform_customers, "One row per platform customer account, as of its latest version."),
    _t("products", "products", "sku_id", "updated_at", catalog.PRODUCTS_SCHEMA, catalog.conform_products,
       "One row per SKU, as of its latest version."),
    _t("brands", "brands", "brand_id", "updated_at", catalog.BRANDS_SCHEMA, catalog.conform_brands,
       "One row per brand, as of its latest version."),
    _t("shops", "shops", "shop_id", "updated_at", catalog.SHOPS_SCHEMA, catalog.conform_shops,
       "One row per shop, as of its latest version."),
    _t("platforms", "platforms", "platform_id", "updated_at", catalog.PLATFORMS_SCHEMA,
       catalog.conform_platforms, "One row per platform, as of its latest version."),
    _t("warehouses", "warehouses", "warehouse_id", "updated_at", catalog.WAREHOUSES_SCHEMA,
       catalog.conform_warehouses, "One row per warehouse, as of its latest version."),
    _t("inventory", "inventory", "snapshot_date warehouse_id sku_id", "updated_at", catalog.INVENTORY_SCHEMA,
       catalog.conform_inventory, "One row per SKU per warehouse per snapshot date."),
    # ---- cross-border --------------------------------------------------------------------------------
    _t("seller_records", "seller_records", "record_id", "record_at", crossborder.SELLER_RECORDS_SCHEMA,
       crossborder.conform_seller_records, "One row per cross-border seller record, as of its latest version.",
       money=("amount",), money_date="record_date"),
    _t("fx_rates", "fx_rates", "rate_date currency", "updated_at", crossborder.FX_RATES_SCHEMA,
       crossborder.conform_fx_rates, "One row per currency per day: units of the currency per 1 USD."),
]}

# table -> column -> allowed (conformed) values; other values are kept and tagged unknown_enum:<col>.
ENUMS: dict[str, dict[str, tuple[str, ...]]] = {
    "orders": {"event_type": orders.EVENT_TYPES, "order_status": orders.ORDER_STATUSES},
    "order_discounts": {"discount_type": orders.DISCOUNT_TYPES},
    "payments": {"payment_kind": commerce.PAYMENT_KINDS, "status": commerce.PAYMENT_STATUSES},
    "refunds": {"status": commerce.REFUND_STATUSES},
    "returns": {"status": commerce.RETURN_STATUSES},
    "promotions": {"promotion_type": commerce.PROMOTION_TYPES},
    "tracking_events": {"scan_type": logistics.SCAN_TYPES},
    "shipments": {"status": logistics.SCAN_TYPES},
    "clickstream": {"event_type": engagement.CLICK_EVENT_TYPES},
    "customers": {"gender": customers.GENDERS},
    "platforms": {"market": catalog.MARKETS},
    "shops": {"seller_type": catalog.SELLER_TYPES},
    "seller_records": {"record_type": crossborder.RECORD_TYPES},
}


def silver_table(name: str) -> SilverTable:
    try:
        return SILVER_TABLES[name]
    except KeyError:
        raise KeyError(f"unknown silver table {name!r}; known: {sorted(SILVER_TABLES)}") from None
