"""Parcel tracking: ordered scan path from scans in any order, legs, promise and SLA; logistics exceptions."""

from __future__ import annotations

import datetime as dt

from brandlake.transforms.silver.logistics import TRACKING_EVENTS_SCHEMA
from brandlake.transforms.tracking import (
    LOGISTICS_EXCEPTIONS,
    PARCEL_TRACKING,
    to_logistics_exceptions,
    to_parcel_tracking,
)
from chispa import assert_df_equality
from pyspark.sql import Row

PROMISE = {"cross_border": 15, "domestic": 5, "CN": 3}


def t(day: int, hour: int = 0) -> dt.datetime:
    return dt.datetime(2024, 3, day, hour)


def scan(event_id, shipment_id, scan_type, at, location=None, order_id="o1", warehouse="WH-CN"):
    return (event_id, shipment_id, order_id, "tmall", "sf", f"T{shipment_id}", warehouse, scan_type, location, at,
            at.date())


def test_scan_path_is_ordered_by_scan_time_not_arrival_and_legs_promise_and_sla_follow(spark):
    # rows listed in arrival order: s1's delivered scan arrived before its hub scan
    events = spark.createDataFrame([
        scan("e4", "s1", "delivered", t(4, 10), "Hangzhou"),
        scan("e1", "s1", "pickup", t(1, 10), "Shanghai"),
        scan("e3", "s1", "out_for_delivery", t(4, 8), "Hangzhou"),
        scan("e2", "s1", "hub_scan", t(2, 10), "Hangzhou hub"),
        scan("e6", "s2", "exception", t(3, 0), "Frankfurt", order_id="o2"),
        scan("e5", "s2", "pickup", t(1, 0), "Shanghai", order_id="o2"),
    ], TRACKING_EVENTS_SCHEMA)
    orders = spark.createDataFrame([("o1", t(1, 0), "CN"), ("o2", t(1, 0), "DE")],
                                   "order_id STRING, ordered_at TIMESTAMP, ship_country STRING")
    warehouses = spark.createDataFrame([("WH-CN", "CN")], "warehouse_id STRING, country STRING")
    actual = to_parcel_tracking(events, orders=orders, warehouses=warehouses, promise_days=PROMISE)

    def path(*scans):
        return [Row(seq=i + 1, scan_type=s, location=loc, scanned_at=at) for i, (s, loc, at) in enumerate(scans)]

    def leg(a, b, h):
        return Row(from_scan=a, to_scan=b, hours=h)

    expected = spark.createDataFrame([
        ("s1", "o1", "tmall", "sf", "WH-CN", "CN", "CN",
         path(("pickup", "Shanghai", t(1, 10)), ("hub_scan", "Hangzhou hub", t(2, 10)),
              ("out_for_delivery", "Hangzhou", t(4, 8)), ("delivered", "Hangzhou", t(4, 10))),
         4, "delivered", t(4, 10), "Hangzhou", t(1, 0), t(1, 10), t(4, 10), t(4, 10), True, False,
         10.0, 72.0, 82.0,
         [leg("pickup", "hub_scan", 24.0), leg("hub_scan", "out_for_delivery", 46.0),
          leg("out_for_delivery", "delivered", 2.0)], False),
        ("s2", "o2", "tmall", "sf", "WH-CN", "DE", "cross_border",
         path(("pickup", "Shanghai", t(1, 0)), ("exception", "Frankfurt", t(3, 0))),
         2, "exception", t(3, 0), "Frankfurt", t(1, 0), t(1, 0), t(16, 0), None, False, True,
         0.0, None, None, [leg("pickup", "exception", 48.0)], None),
    ], PARCEL_TRACKING)
    assert_df_equality(actual, expected, ignore_row_order=True, ignore_nullable=True)


def test_open_parcels_late_or_stuck_are_exceptions_and_delivered_ones_are_not(spark):
    base = dict(order_id="o", platform_id="tmall", carrier="sf", warehouse_id="w", ship_country="CN", route="CN",
                scan_path=[], scan_count=1, last_location=None, ordered_at=None, picked_up_at=t(1),
                delivered_at=None, is_delivered=False, has_exception=False, order_to_pickup_hours=None,
                pickup_to_delivered_hours=None, order_to_delivered_hours=None, leg_hours=[], is_sla_breached=None)
    rows = [
        dict(base, shipment_id="late", current_status="hub_scan", last_scan_at=t(9), promised_at=t(8)),
        dict(base, shipment_id="stuck", current_status="hub_scan", last_scan_at=t(5), promised_at=t(20)),
        dict(base, shipment_id="both", current_status="exception", last_scan_at=t(2), promised_at=t(4)),
        dict(base, shipment_id="fine", current_status="hub_scan", last_scan_at=t(9), promised_at=t(20)),
        dict(base, shipment_id="done", current_status="delivered", last_scan_at=t(2), promised_at=t(1),
             is_delivered=True, delivered_at=t(2)),
    ]
    tracking = spark.createDataFrame([tuple(r[f.name] for f in PARCEL_TRACKING.fields) for r in rows],
                                     PARCEL_TRACKING)
    actual = to_logistics_exceptions(tracking, as_of=t(10), stuck_hours=72)
    expected = spark.createDataFrame([
        ("late", "o", "tmall", "sf", "hub_scan", t(9), t(8), 24.0, 48.0, "late", t(10)),
        ("stuck", "o", "tmall", "sf", "hub_scan", t(5), t(20), 120.0, None, "stuck", t(10)),
        ("both", "o", "tmall", "sf", "exception", t(2), t(4), 192.0, 144.0, "late_and_stuck", t(10)),
    ], LOGISTICS_EXCEPTIONS)
    assert_df_equality(actual, expected, ignore_row_order=True, ignore_nullable=True)
