"""Silver logistics: carrier tracking scans, and shipments as of their latest scan."""

from __future__ import annotations

from brandlake.transforms.silver.common import (
    ConformContext,
    Field,
    conform_simple,
    enum,
    local_date,
    struct_schema,
    text,
    timestamp,
)
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

S, TS, D = T.StringType(), T.TimestampType(), T.DateType()

TRACKING_EVENTS_SCHEMA = struct_schema(
    ("event_id", S, False), ("shipment_id", S, False), ("order_id", S, True), ("platform_id", S, False),
    ("carrier", S, True), ("tracking_no", S, True), ("warehouse_id", S, True), ("scan_type", S, False),
    ("location", S, True), ("event_at", TS, False), ("event_date", D, False),
)
"""One row per carrier tracking scan."""

SHIPMENTS_SCHEMA = struct_schema(
    ("shipment_id", S, False), ("order_id", S, True), ("platform_id", S, False), ("carrier", S, True),
    ("tracking_no", S, True), ("warehouse_id", S, True), ("status", S, False), ("last_location", S, True),
    ("is_delivered", T.BooleanType(), False), ("updated_at", TS, False),
)
"""One row per shipment, as of its latest scan (``status`` = that scan's type)."""

SCAN_TYPES = ("pickup", "hub_scan", "in_transit", "customs_clearance", "out_for_delivery", "delivered",
              "exception", "returned")
SCAN_TYPE_SYNONYMS = {
    "picked_up": "pickup", "pick_up": "pickup", "collected": "pickup", "hub": "hub_scan", "transit": "in_transit",
    "customs": "customs_clearance", "customs_cleared": "customs_clearance",
    "delivering": "out_for_delivery", "signed": "delivered", "failed_delivery": "exception",
    "return": "returned", "returned_to_sender": "returned",
}

_COMMON = (
    Field("shipment_id"), Field("order_id"), Field("platform_id"), Field("carrier", enum()),
    Field("tracking_no", text), Field("warehouse_id"),
)


def conform_tracking_events(bronze: DataFrame, *, ctx: ConformContext) -> DataFrame:
    fields = [
        Field("event_id"), *_COMMON,
        Field("scan_type", enum(SCAN_TYPE_SYNONYMS), allowed=SCAN_TYPES),
        Field("location", text),
        Field("event_at", timestamp),
    ]
    event_date = local_date(F.col("event_at"), F.col("platform_id"), ctx.platform_timezones)
    return conform_simple(bronze, source="logistics_events", fields=fields, schema=TRACKING_EVENTS_SCHEMA,
                          derived={"event_date": event_date})


def conform_shipments(bronze: DataFrame, *, ctx: ConformContext) -> DataFrame:
    """One candidate row per scan; keeping the latest per shipment_id (by updated_at) gives its status."""
    fields = [
        *_COMMON,
        Field("status", enum(SCAN_TYPE_SYNONYMS), src="scan_type", allowed=SCAN_TYPES),
        Field("last_location", text, src="location"),
        Field("updated_at", timestamp, src="event_at"),
    ]
    return conform_simple(bronze, source="logistics_events", fields=fields, schema=SHIPMENTS_SCHEMA,
                          derived={"is_delivered": F.col("status") == "delivered"})
