"""The landing-zone contract: every raw platform export that brandlake ingests, as delivered.

Files land as ``<lake.landing>/<source>/batch=NNNNN/part-NNNNN.<jsonl|csv>``; batch numbers grow with
arrival time, so ingestion is incremental. Bronze keeps every field as the delivered text (STRING),
so nothing is lost to a cast; silver types and validates. Nested JSON values (arrays, objects) are
kept as their JSON text.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pyspark.sql import types as T


@dataclass(frozen=True)
class LandingSource:
    name: str
    fmt: Literal["jsonl", "csv"]
    kind: Literal["event", "snapshot"]
    fields: tuple[str, ...]
    key: tuple[str, ...]
    grain: str
    pii: tuple[str, ...] = ()   # raw PII fields (phone, address): never copied out of bronze as delivered

    @property
    def extension(self) -> str:
        return self.fmt

    @property
    def schema(self) -> T.StructType:
        """Delivered fields, all as text."""
        return T.StructType([T.StructField(f, T.StringType(), True) for f in self.fields])


def _src(name, fmt, kind, key, grain, fields: str, pii: str = "") -> LandingSource:
    return LandingSource(name, fmt, kind, tuple(fields.split()), tuple(key.split()), grain, tuple(pii.split()))


SOURCES: dict[str, LandingSource] = {s.name: s for s in [
    # ---- events, as a message queue carries them (JSON lines) -------------------------------------
    _src("order_events", "jsonl", "event", "event_id",
         "One row per order state-change event; each event carries the full order payload.",
         "event_id event_type event_at platform_id order_id shop_id customer_id currency order_status "
         "lines order_discounts shipping_fee is_presale deposit_amount deposit_value balance_due_at "
         "ship_country ship_province ship_city ship_address ship_phone", pii="ship_address ship_phone"),
    _src("payment_events", "jsonl", "event", "event_id",
         "One row per payment event (full payment, presale deposit or balance).",
         "event_id event_at platform_id order_id payment_id payment_kind amount currency method status"),
    _src("refund_events", "jsonl", "event", "event_id",
         "One row per refund event against one order line.",
         "event_id event_at platform_id order_id refund_id line_id amount currency reason status"),
    _src("logistics_events", "jsonl", "event", "event_id",
         "One row per carrier tracking scan of a shipment.",
         "event_id event_at platform_id order_id shipment_id carrier tracking_no warehouse_id scan_type location"),
    _src("clickstream", "jsonl", "event", "event_id",
         "One row per clickstream event (view, cart, purchase) within a session.",
         "event_id session_id platform_id customer_id product_id event_type event_at channel device"),
    # ---- snapshots and change records ------------------------------------------------------------
    _src("platforms", "jsonl", "snapshot", "platform_id",
         "One row per platform version (domestic or cross-border marketplace).",
         "platform_id name market country currency timezone updated_at"),
    _src("brands", "jsonl", "snapshot", "brand_id",
         "One row per brand version.",
         "brand_id name home_country category_focus updated_at"),
    _src("products", "csv", "snapshot", "sku_id",
         "One row per SKU (size/colour variant of a product) version.",
         "product_id sku_id brand_id category subcategory size color list_price currency launch_date updated_at"),
    _src("shops", "jsonl", "snapshot", "shop_id",
         "One row per shop (a brand's or reseller's storefront on one platform) version.",
         "shop_id platform_id brand_id shop_name seller_type country updated_at"),
    _src("customers", "jsonl", "snapshot", "platform_id customer_id",
         "One row per platform customer account version (raw PII: phone, address).",
         "platform_id customer_id gender birth_year country province city phone address registered_at updated_at",
         pii="phone address"),
    _src("promotions", "jsonl", "snapshot", "promotion_id",
         "One row per promotion version: threshold, percentage, coupon, cross-shop or presale.",
         "promotion_id platform_id promotion_type name event_name threshold_amount discount_amount discount_pct "
         "deposit_amount deposit_value currency starts_at ends_at balance_starts_at balance_ends_at updated_at"),
    _src("warehouses", "csv", "snapshot", "warehouse_id",
         "One row per warehouse version.",
         "warehouse_id name country province city capacity_units updated_at"),
    _src("inventory", "csv", "snapshot", "snapshot_date warehouse_id sku_id",
         "One row per SKU per warehouse per snapshot date.",
         "snapshot_date warehouse_id sku_id on_hand reserved inbound"),
    _src("returns", "jsonl", "snapshot", "return_id",
         "One row per return request version.",
         "return_id order_id line_id platform_id requested_at reason status quantity updated_at"),
    _src("reviews", "jsonl", "snapshot", "review_id",
         "One row per product review.",
         "review_id platform_id order_id line_id product_id customer_id rating review_text language created_at"),
    _src("cs_chats", "jsonl", "snapshot", "chat_id",
         "One row per customer-service conversation (question, agent answer, intent).",
         "chat_id platform_id customer_id order_id started_at channel question answer intent language"),
    _src("seller_records", "jsonl", "snapshot", "record_id",
         "One row per cross-border seller record: customs clearance, FX collection, export tax refund, dispute.",
         "record_id shop_id platform_id record_type record_at amount currency status destination_country details"),
    _src("fx_rates", "csv", "snapshot", "rate_date currency",
         "One row per currency per day: units of the currency per 1 USD.",
         "rate_date currency per_usd"),
]}


def source(name: str) -> LandingSource:
    try:
        return SOURCES[name]
    except KeyError:
        raise KeyError(f"unknown landing source {name!r}; known: {sorted(SOURCES)}") from None


# ---------------------------------------------------------------------------------------------------
# Ingest's own bookkeeping tables in bronze (which file versions were seen; which were set aside whole)

LEDGER_SCHEMA = T.StructType([
    T.StructField("source", T.StringType(), False),
    T.StructField("file", T.StringType(), False),
    T.StructField("landing_batch", T.IntegerType(), True),
    T.StructField("size_bytes", T.LongType(), False),
    T.StructField("modified_ms", T.LongType(), False),
    T.StructField("checksum", T.StringType(), False),
    T.StructField("status", T.StringType(), False),   # accepted | redelivered | unchanged
    T.StructField("header", T.ArrayType(T.StringType()), True),
    T.StructField("header_line", T.StringType(), True),
    T.StructField("run_id", T.StringType(), False),
    T.StructField("checked_at", T.TimestampType(), False),
])
"""Bronze ``_landing_files``, ingest's ledger. One row per landing file version seen (file, checksum, modification time)."""
LEDGER_KEYS = ("file", "checksum", "modified_ms")

QUARANTINE_SCHEMA = T.StructType([
    T.StructField("source", T.StringType(), False),
    T.StructField("file", T.StringType(), False),
    T.StructField("landing_batch", T.IntegerType(), True),
    T.StructField("size_bytes", T.LongType(), True),
    T.StructField("checksum", T.StringType(), True),
    T.StructField("reason_code", T.StringType(), False),
    T.StructField("reason", T.StringType(), False),
    T.StructField("quarantined_path", T.StringType(), False),
    T.StructField("run_id", T.StringType(), False),
    T.StructField("quarantined_at", T.TimestampType(), False),
    T.StructField("status", T.StringType(), False),   # quarantined | replayed
    T.StructField("replay_run_id", T.StringType(), True),
    T.StructField("replayed_at", T.TimestampType(), True),
    T.StructField("replay_rows", T.LongType(), True),
])
"""Bronze ``_landing_quarantine``. One row per landing file (or folder) set aside whole, with the reason."""
QUARANTINE_KEYS = ("quarantined_path",)
