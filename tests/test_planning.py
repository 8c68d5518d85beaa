"""Logistics plans (transforms/planning.py) on tiny inline data, whole results compared."""

from __future__ import annotations

import datetime as dt

from brandlake.transforms.planning import (
    AVAILABLE_TO_SHIP,
    CAPACITY_FORECAST,
    PEAK_LOAD_FORECAST,
    PREPOSITIONING_PLAN,
    to_available_to_ship,
    to_capacity_forecast,
    to_peak_load_forecast,
    to_prepositioning_plan,
    z_of,
)
from chispa import assert_approx_df_equality, assert_df_equality

D, TS = dt.date, dt.datetime
AS_OF = TS(2024, 3, 10, 12)
REGIONS = {"CN/Shanghai": "WH-CN-SH", "CN/Beijing": "WH-CN-BJ"}


def test_available_to_ship_subtracts_shipments_since_the_snapshot_reserved_and_paid_not_shipped(spark):
    inventory = spark.createDataFrame([
        (D(2024, 3, 1), "WH-CN-SH", "S1", 100, 5),
        (D(2024, 3, 8), "WH-CN-SH", "S1", 80, 2),       # the latest snapshot on or before as_of
        (D(2024, 3, 15), "WH-CN-SH", "S1", 10, 0),      # after as_of: not known yet
        (D(2024, 3, 8), "WH-CN-BJ", "S2", 50, None),    # no reservation reported
    ], "snapshot_date date, warehouse_id string, sku_id string, on_hand int, reserved int")
    orders = spark.createDataFrame([
        ("O1", "shipped", "CN", "Shanghai", TS(2024, 3, 9, 10)),
        ("O2", "shipped", "CN", "Shanghai", TS(2024, 3, 8, 8)),
        ("O3", "paid", "CN", "Shanghai", TS(2024, 3, 9)),
        ("O4", "paid", "CN", "Beijing", TS(2024, 3, 9)),
        ("O5", "paid", "CN", "Shanghai", TS(2024, 3, 11)),   # paid after as_of
        ("O6", "paid", "CN", "Shanghai", TS(2024, 3, 10, 9)),  # status not updated yet, but picked up
    ], "order_id string, order_status string, ship_country string, ship_province string, updated_at timestamp")
    lines = spark.createDataFrame([("O1", "S1", 3), ("O2", "S1", 6), ("O3", "S1", 2), ("O4", "S2", 1), ("O5", "S1", 9),
                                   ("O6", "S1", 4)], "order_id string, sku_id string, quantity int")
    pickups = spark.createDataFrame([
        ("O1", "WH-CN-SH", "pickup", TS(2024, 3, 9, 10)),
        ("O2", "WH-CN-SH", "pickup", TS(2024, 3, 8, 8)),     # same day as the snapshot: already counted in it
        ("O6", "WH-CN-SH", "pickup", TS(2024, 3, 10, 9)),
        ("O1", "WH-CN-SH", "hub_scan", TS(2024, 3, 9, 20)),
    ], "order_id string, warehouse_id string, scan_type string, event_at timestamp")
    out = to_available_to_ship(inventory, orders=orders, order_lines=lines, pickups=pickups, as_of=AS_OF,
                               regions=REGIONS)
    expected = spark.createDataFrame([
        ("WH-CN-BJ", "S2", D(2024, 3, 8), 50, 0, 0, 1, 49, AS_OF),
        ("WH-CN-SH", "S1", D(2024, 3, 8), 80, 7, 2, 2, 69, AS_OF),
    ], AVAILABLE_TO_SHIP)
    assert_df_equality(out, expected, ignore_row_order=True, ignore_nullable=True)


FC_SCHEMA = ("forecast_date date, target_date date, level string, series_key string, units_forecast double, "
             "units_lo_95 double, units_hi_95 double")


def test_prepositioning_plan_covers_event_demand_plus_safety_stock_less_stock_there(spark):
    f = D(2024, 6, 16)
    forecast = spark.createDataFrame([
        (f, D(2024, 6, 17), "product_region", "P1|WH-CN-SH", 5.0, 1.0, 9.0),     # before the event
        (f, D(2024, 6, 18), "product_region", "P1|WH-CN-SH", 10.0, 6.08, 13.92),  # σ = 2 (±1.96σ)
        (f, D(2024, 6, 19), "product_region", "P1|WH-CN-SH", 20.0, 16.08, 23.92),  # σ = 2
        (f, D(2024, 6, 18), "brand", "B1", 10.0, 6.08, 13.92),                    # other level: ignored
        (D(2024, 6, 9), D(2024, 6, 18), "product_region", "P1|WH-CN-SH", 99.0, 0.0, 200.0),  # older forecast
    ], FC_SCHEMA)
    shares = spark.createDataFrame([("P1", "S1", 0.75), ("P1", "S2", 0.25)], "product_id string, sku_id string, share double")
    calendar = spark.createDataFrame([("tmall", "618", D(2024, 6, 18), D(2024, 6, 19)),
                                      ("jd", "618", D(2024, 6, 18), D(2024, 6, 19))],
                                     "platform_id string, event_name string, event_start date, event_end date")
    stock = spark.createDataFrame([("WH-CN-SH", "S1", 10)], "warehouse_id string, sku_id string, available_to_ship long")
    out = to_prepositioning_plan(forecast, sku_shares=shares, calendar=calendar, stock=stock, service_level=0.95,
                                 lead_time_days=4)
    z = 1.6448536269514722
    expected = spark.createDataFrame([
        ("WH-CN-SH", "S1", "618", D(2024, 6, 18), 22.5, z * 2 * 0.75 * 2, 10, 18, D(2024, 6, 14)),
        ("WH-CN-SH", "S2", "618", D(2024, 6, 18), 7.5, z * 2 * 0.25 * 2, 0, 10, D(2024, 6, 14)),
    ], PREPOSITIONING_PLAN)
    assert_approx_df_equality(out, expected, 1e-3, ignore_row_order=True, ignore_nullable=True)
    assert abs(z_of(0.95) - z) < 1e-8 and abs(z_of(0.5)) < 1e-12 and abs(z_of(0.01) + 2.3263478740408408) < 1e-8


def test_capacity_forecast_flags_days_whose_upper_bound_overflows_the_warehouse(spark):
    f = D(2024, 11, 1)
    forecast = spark.createDataFrame([
        (f, D(2024, 11, 11), "warehouse", "WH-CN-SH", 16.0, 8.0, 24.0),
        (f, D(2024, 11, 12), "warehouse", "WH-CN-SH", 10.0, 4.0, 16.0),
        (f, D(2024, 11, 11), "warehouse", "WH-XX", 4.0, 2.0, 6.0),               # no such warehouse: no capacity
        (D(2024, 10, 1), D(2024, 11, 11), "warehouse", "WH-CN-SH", 90.0, 0.0, 900.0),  # older forecast
    ], FC_SCHEMA)
    warehouses = spark.createDataFrame([("WH-CN-SH", 200)], "warehouse_id string, capacity_units int")
    upp = spark.createDataFrame([("WH-CN-SH", 2.0)], "warehouse_id string, units_per_parcel double")
    out = to_capacity_forecast(forecast, warehouses=warehouses, units_per_parcel=upp, capacity_turn_days=20)
    expected = spark.createDataFrame([
        ("WH-CN-SH", D(2024, 11, 11), 8.0, 12.0, 10.0, True, 2.0),
        ("WH-CN-SH", D(2024, 11, 12), 5.0, 8.0, 10.0, False, 0.0),
        ("WH-XX", D(2024, 11, 11), 4.0, 6.0, None, False, 0.0),
    ], CAPACITY_FORECAST)
    assert_approx_df_equality(out, expected, 1e-9, ignore_row_order=True, ignore_nullable=True)


def test_peak_load_scales_last_occurrence_hourly_profile_by_growth(spark):
    # occurrences named with their year, as platforms name them: Double 11 2023 is the one before Double 11
    # 2024; Double 12 2023, later but another event, is not
    calendar = spark.createDataFrame([("tmall", "Double 11 2023", D(2023, 11, 11), D(2023, 11, 11)),
                                      ("tmall", "Double 12 2023", D(2023, 12, 12), D(2023, 12, 12)),
                                      ("tmall", "Double 11 2024", D(2024, 11, 11), D(2024, 11, 11))],
                                     "platform_id string, event_name string, event_start date, event_end date")
    clicks = [("s1", TS(2023, 10, 20, 9)), ("s2", TS(2023, 11, 1, 9)),                 # 28 days before: 2
              ("s3", TS(2023, 11, 11, 10, 5)), ("s3", TS(2023, 11, 11, 11)),           # one session, first hit 10h
              ("s4", TS(2023, 11, 11, 10, 40)), ("s5", TS(2023, 11, 11, 20, 1)),
              ("d1", TS(2023, 12, 12, 10)),                                            # Double 12
              ("r1", TS(2024, 9, 10)), ("r2", TS(2024, 9, 11)), ("r3", TS(2024, 9, 20)), ("r4", TS(2024, 9, 30))]
    sessions = spark.createDataFrame([("tmall", s, t) for s, t in clicks],
                                     "platform_id string, session_id string, event_at timestamp")
    orders = spark.createDataFrame([("tmall", "o1", TS(2023, 10, 25)), ("tmall", "o2", TS(2023, 11, 11, 20, 30)),
                                    ("tmall", "o3", TS(2024, 9, 15))],
                                   "platform_id string, order_id string, ordered_at timestamp")
    out = to_peak_load_forecast(sessions, orders=orders, calendar=calendar, as_of=TS(2024, 10, 1))
    expected = spark.createDataFrame([
        ("tmall", "Double 11 2024", D(2024, 11, 11), TS(2024, 11, 11, 10), 4.0, 0.0, 4.0, 1.0),
        ("tmall", "Double 11 2024", D(2024, 11, 11), TS(2024, 11, 11, 20), 2.0, 1.0, 4.0, 1.0),
    ], PEAK_LOAD_FORECAST)
    assert_df_equality(out, expected, ignore_row_order=True, ignore_nullable=True)
