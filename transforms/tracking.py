"""Gold parcel tracking: `parcel_tracking` (one row per shipment with its ordered scan path) and
`logistics_exceptions` (open parcels late against their promise or stuck without a scan).

Scans are ordered by their event time (then event id), never by arrival, so scans that land out of
order still give the right path. The carrier promise is not in the platform exports: it is derived
from the route (config `tracking.promise_days`: a cross-border route, else the ship country, else
`domestic`) counted from the pickup scan.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from brandlake.transforms.columns import require_columns
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

_S, _TS, _I, _B, _F = T.StringType(), T.TimestampType(), T.IntegerType(), T.BooleanType(), T.DoubleType()

# nullable like the silver columns they come from (silver stores every column nullable)
SCAN = T.StructType([
    T.StructField("seq", _I, True), T.StructField("scan_type", _S, True),
    T.StructField("location", _S, True), T.StructField("scanned_at", _TS, True),
])
LEG = T.StructType([
    T.StructField("from_scan", _S, True), T.StructField("to_scan", _S, True), T.StructField("hours", _F, True),
])

PARCEL_TRACKING = T.StructType([T.StructField(n, t, nullable) for n, t, nullable in [
    ("shipment_id", _S, False), ("order_id", _S, True), ("platform_id", _S, False), ("carrier", _S, True),
    ("warehouse_id", _S, True), ("ship_country", _S, True), ("route", _S, False),
    ("scan_path", T.ArrayType(SCAN, True), False), ("scan_count", _I, False),
    ("current_status", _S, False), ("last_scan_at", _TS, False), ("last_location", _S, True),
    ("ordered_at", _TS, True), ("picked_up_at", _TS, True), ("promised_at", _TS, True),
    ("delivered_at", _TS, True), ("is_delivered", _B, False), ("has_exception", _B, False),
    ("order_to_pickup_hours", _F, True), ("pickup_to_delivered_hours", _F, True),
    ("order_to_delivered_hours", _F, True), ("leg_hours", T.ArrayType(LEG, True), False),
    ("is_sla_breached", _B, True),
]])
"""One row per shipment: its scans ordered by scan time (`scan_path`, seq from 1), the latest scan's type as
`current_status`, the promise (`promised_at` = pickup + the route's promised days), delivery, hours per leg
between consecutive scans, and `is_sla_breached` (delivered after the promise; null while undelivered)."""

LOGISTICS_EXCEPTIONS = T.StructType([T.StructField(n, t, nullable) for n, t, nullable in [
    ("shipment_id", _S, False), ("order_id", _S, True), ("platform_id", _S, False), ("carrier", _S, True),
    ("current_status", _S, False), ("last_scan_at", _TS, False), ("promised_at", _TS, True),
    ("hours_since_last_scan", _F, False), ("hours_late", _F, True), ("reason", _S, False),
    ("as_of", _TS, False),
]])
"""One row per open (undelivered, not returned) shipment that is late against its promise (`late`), has had
no scan for longer than the configured hours (`stuck`), or both (`late_and_stuck`), as of `as_of`."""

CLOSED_STATUSES = ("delivered", "returned")


def _hours(later: Column, earlier: Column) -> Column:
    return F.round((F.unix_micros(later) - F.unix_micros(earlier)) / F.lit(3_600_000_000.0), 2)


def route_of(warehouse_country: Column, ship_country: Column, promise_days: Mapping[str, int]) -> Column:
    """`cross_border` when the parcel leaves its warehouse's country, else the ship country when it has its
    own promise, else `domestic`."""
    own = [c for c in promise_days if c not in ("cross_border", "domestic")]
    domestic = F.when(ship_country.isin(*own), ship_country).otherwise(F.lit("domestic")) if own else F.lit("domestic")
    return F.when(warehouse_country.isNotNull() & ship_country.isNotNull() & (warehouse_country != ship_country),
                  F.lit("cross_border")).otherwise(domestic)


def to_parcel_tracking(
    events: DataFrame, *, orders: DataFrame, warehouses: DataFrame, promise_days: Mapping[str, int]
) -> DataFrame:
    """PARCEL_TRACKING for every shipment in ``events`` (silver tracking_events), from all its scans."""
    require_columns(events, ("event_id", "shipment_id", "order_id", "platform_id", "carrier", "warehouse_id",
                             "scan_type", "location", "event_at"), what="tracking_events")
    require_columns(orders, ("order_id", "ordered_at", "ship_country"), what="orders")
    require_columns(warehouses, ("warehouse_id", "country"), what="warehouses")
    if not {"cross_border", "domestic"} <= set(promise_days):
        raise ValueError(f"promise_days needs 'cross_border' and 'domestic'; found {sorted(promise_days)}")
    scans = events.groupBy("shipment_id").agg(
        F.array_sort(F.collect_list(F.struct(
            F.col("event_at").alias("scanned_at"), F.col("event_id"), F.col("scan_type"), F.col("location"),
        ))).alias("_raw"),
        F.max_by("order_id", "event_at").alias("order_id"),
        F.max_by("platform_id", "event_at").alias("platform_id"),
        F.max_by("carrier", "event_at").alias("carrier"),
        F.max_by("warehouse_id", "event_at").alias("warehouse_id"),
        F.min(F.when(F.col("scan_type") == "pickup", F.col("event_at"))).alias("picked_up_at"),
        F.min(F.when(F.col("scan_type") == "delivered", F.col("event_at"))).alias("delivered_at"),
        F.max((F.col("scan_type") == "exception").cast("int")).cast("boolean").alias("has_exception"),
    )
    path = F.transform("_raw", lambda s, i: F.struct(
        (i + 1).cast("int").alias("seq"), s["scan_type"].alias("scan_type"), s["location"].alias("location"),
        s["scanned_at"].alias("scanned_at")))
    legs = F.expr(
        "transform(slice(scan_path, 2, greatest(size(scan_path) - 1, 0)), (x, i) -> named_struct("
        "'from_scan', scan_path[i].scan_type, 'to_scan', x.scan_type, 'hours', "
        "round((unix_micros(x.scanned_at) - unix_micros(scan_path[i].scanned_at)) / 3600000000.0, 2)))"
    )
    days = F.create_map(*[x for k, v in sorted(promise_days.items()) for x in (F.lit(k), F.lit(int(v)))])
    wh = warehouses.select("warehouse_id", F.col("country").alias("_wh_country"))
    o = orders.select("order_id", "ordered_at", "ship_country")
    out = (
        scans.withColumn("scan_path", path)
        .join(o, "order_id", "left").join(wh, "warehouse_id", "left")
        .withColumn("route", route_of(F.col("_wh_country"), F.col("ship_country"), promise_days))
        .withColumn("promised_at", F.col("picked_up_at") + F.make_dt_interval(days=F.element_at(days, F.col("route"))))
        .withColumn("leg_hours", legs)
        .withColumn("_last", F.element_at("scan_path", -1))
        .select(
            "shipment_id", "order_id", "platform_id", "carrier", "warehouse_id", "ship_country", "route",
            "scan_path", F.size("scan_path").alias("scan_count"),
            F.col("_last.scan_type").alias("current_status"), F.col("_last.scanned_at").alias("last_scan_at"),
            F.col("_last.location").alias("last_location"),
            "ordered_at", "picked_up_at", "promised_at", "delivered_at",
            F.col("delivered_at").isNotNull().alias("is_delivered"), "has_exception",
            _hours(F.col("picked_up_at"), F.col("ordered_at")).alias("order_to_pickup_hours"),
            _hours(F.col("delivered_at"), F.col("picked_up_at")).alias("pickup_to_delivered_hours"),
            _hours(F.col("delivered_at"), F.col("ordered_at")).alias("order_to_delivered_hours"),
            "leg_hours",
            F.when(F.col("delivered_at").isNotNull(), F.col("delivered_at") > F.col("promised_at"))
            .alias("is_sla_breached"),
        )
    )
    return out.select(*[F.col(f.name).cast(f.dataType) for f in PARCEL_TRACKING.fields])


def to_logistics_exceptions(tracking: DataFrame, *, as_of: dt.datetime, stuck_hours: int) -> DataFrame:
    """LOGISTICS_EXCEPTIONS from PARCEL_TRACKING rows: open parcels late or without a scan for > ``stuck_hours``."""
    now = F.lit(as_of).cast("timestamp")
    since = _hours(now, F.col("last_scan_at"))
    late = _hours(now, F.col("promised_at"))
    is_late = F.coalesce(late > 0, F.lit(False))
    is_stuck = since > stuck_hours
    reason = (F.when(is_late & is_stuck, "late_and_stuck").when(is_late, "late").when(is_stuck, "stuck"))
    out = (
        tracking.where(~F.col("current_status").isin(*CLOSED_STATUSES) & ~F.col("is_delivered"))
        .select("shipment_id", "order_id", "platform_id", "carrier", "current_status", "last_scan_at",
                "promised_at", since.alias("hours_since_last_scan"),
                F.when(is_late, late).alias("hours_late"), reason.alias("reason"), now.alias("as_of"))
        .where(F.col("reason").isNotNull())
    )
    return out.select(*[F.col(f.name).cast(f.dataType) for f in LOGISTICS_EXCEPTIONS.fields])
