"""Brand marts on tiny inline data: the privacy floor with complementary suppression, sale-event periods with
their presale phase, and repurchase rates / cohort retention."""

from __future__ import annotations

import datetime as dt

from brandlake.transforms.changes import changed_keys, net_changes
from brandlake.transforms.marts.build import MART_COHORT_RETENTION, MART_REPURCHASE, to_repurchase
from brandlake.transforms.marts.periods import (
    SALE_EVENTS,
    to_periods_to_rebuild,
    to_sale_events,
    with_periods,
)
from brandlake.transforms.marts.privacy import suppress_small_cells
from chispa import assert_df_equality
from pyspark.sql import functions as F

from brandlake import tables


def test_small_cells_are_suppressed_and_a_lone_one_takes_its_next_smallest_neighbour_along(spark):
    cells = spark.createDataFrame([
        ("g1", "a", 1, 10), ("g1", "b", 5, 50), ("g1", "c", 7, 70),      # one small cell: b goes too
        ("g2", "a", 2, 20), ("g2", "b", 1, 10), ("g2", "c", 9, 90),      # two small cells: enough
        ("g3", "a", 3, 30), ("g3", "b", 4, 40),                          # none small
    ], "grp STRING, cell STRING, buyers INT, amount INT")
    actual = suppress_small_cells(cells, group_cols=("grp",), order_cols=("cell",), buyers_col="buyers",
                                  value_cols=("amount",), k=3)
    expected = spark.createDataFrame([
        ("g1", "a", None, None, True), ("g1", "b", None, None, True), ("g1", "c", 7, 70, False),
        ("g2", "a", None, None, True), ("g2", "b", None, None, True), ("g2", "c", 9, 90, False),
        ("g3", "a", 3, 30, False), ("g3", "b", 4, 40, False),
    ], "grp STRING, cell STRING, buyers INT, amount INT, is_suppressed BOOLEAN")
    assert_df_equality(actual, expected, ignore_row_order=True, ignore_nullable=True)


def test_sale_event_days_fall_in_their_phase_and_the_whole_event_besides_week_and_month(spark):
    def utc(day: str, hour: int) -> dt.datetime:   # local midnight / end of day in Asia/Shanghai (UTC+8)
        return dt.datetime.fromisoformat(day) + dt.timedelta(hours=hour - 8)

    # named with their year, as platforms name them: the key drops it, so that the year-ago key finds 2023's
    promotions = spark.createDataFrame([
        ("tmall", "presale", "Double 11 2024", utc("2024-10-21", 0), utc("2024-11-09", 23)),
        ("tmall", "threshold", "Double 11 2024", utc("2024-11-10", 0), utc("2024-11-11", 23)),
        ("tmall", "coupon", "2024 Double 11", utc("2024-11-10", 0), utc("2024-11-11", 23)),
    ], "platform_id STRING, promotion_type STRING, event_name STRING, starts_at TIMESTAMP, ends_at TIMESTAMP")
    events = to_sale_events(promotions, platform_timezones={"tmall": "Asia/Shanghai"})
    days = spark.createDataFrame([("tmall", dt.date(2024, 11, 9)), ("tmall", dt.date(2024, 11, 11)),
                                  ("jd", dt.date(2024, 11, 11))], "platform_id STRING, order_date DATE")
    actual = with_periods(days, sale_events=events)
    d = dt.date
    expected = spark.createDataFrame([
        ("tmall", d(2024, 11, 9), "week", "week:2024-11-04", "all", d(2024, 11, 4)),
        ("tmall", d(2024, 11, 9), "month", "month:2024-11", "all", d(2024, 11, 1)),
        ("tmall", d(2024, 11, 9), "event", "event:2024 Double 11", "presale", d(2024, 10, 21)),
        ("tmall", d(2024, 11, 9), "event", "event:2024 Double 11", "all", d(2024, 10, 21)),
        ("tmall", d(2024, 11, 11), "week", "week:2024-11-11", "all", d(2024, 11, 11)),
        ("tmall", d(2024, 11, 11), "month", "month:2024-11", "all", d(2024, 11, 1)),
        ("tmall", d(2024, 11, 11), "event", "event:2024 Double 11", "main", d(2024, 10, 21)),
        ("tmall", d(2024, 11, 11), "event", "event:2024 Double 11", "all", d(2024, 10, 21)),
        ("jd", d(2024, 11, 11), "week", "week:2024-11-11", "all", d(2024, 11, 11)),   # no event on jd
        ("jd", d(2024, 11, 11), "month", "month:2024-11", "all", d(2024, 11, 1)),
    ], "platform_id STRING, order_date DATE, period_type STRING, period_key STRING, phase STRING, period_start DATE")
    assert_df_equality(actual, expected, ignore_row_order=True, ignore_nullable=True)


def test_repurchase_rates_wait_for_their_window_and_retention_counts_active_cohort_buyers(spark):
    d = dt.date
    lines = spark.createDataFrame([
        ("A", "b1", d(2024, 1, 1), True), ("A", "b1", d(2024, 1, 20), True), ("A", "b1", d(2024, 3, 1), True),
        ("A", "b2", d(2024, 1, 5), True), ("A", "b2", d(2024, 1, 6), False),     # cancelled: not a purchase
        ("A", "b3", d(2024, 1, 10), True), ("A", "b3", d(2024, 6, 30), True),
        ("A", "b4", d(2024, 7, 31), True),                                      # the data's last day
    ], "brand_id STRING, buyer_key STRING, order_date DATE, is_live BOOLEAN")
    repurchase, retention = to_repurchase(lines, k=1)
    expected = spark.createDataFrame([
        ("A", "month", "month:2024-01", "all", d(2024, 1, 1), 3, 0.3333, 0.3333, 0.6667, 41.0, False),
        ("A", "month", "month:2024-07", "all", d(2024, 7, 1), 1, None, None, None, None, False),
    ], MART_REPURCHASE)
    assert_df_equality(repurchase, expected, ignore_row_order=True, ignore_nullable=True)
    expected_retention = spark.createDataFrame([
        ("A", "month:2024-01", d(2024, 1, 1), 0, 3, 1.0, False),
        ("A", "month:2024-01", d(2024, 1, 1), 2, 1, 0.3333, False),
        ("A", "month:2024-01", d(2024, 1, 1), 5, 1, 0.3333, False),
        ("A", "month:2024-07", d(2024, 7, 1), 0, 1, 1.0, False),
    ], MART_COHORT_RETENTION)
    assert_df_equality(retention, expected_retention, ignore_row_order=True, ignore_nullable=True)


def test_periods_to_rebuild_are_the_touched_ones_and_those_comparing_against_them(spark):
    d = dt.date
    events = spark.createDataFrame([("tmall", "event:2024 Spring", "main", d(2024, 3, 5), d(2024, 3, 6)),
                                    ("tmall", "event:2025 Spring", "main", d(2025, 3, 4), d(2025, 3, 5))], SALE_EVENTS)
    dates = "platform_id string, order_date date"
    touched = spark.createDataFrame([("tmall", d(2024, 3, 5))], dates)
    all_dates = spark.createDataFrame([
        ("tmall", d(2024, 3, 5)), ("tmall", d(2024, 3, 12)),   # the next week compares with the touched one
        ("tmall", d(2024, 4, 20)),                             # next month
        ("tmall", d(2025, 3, 4)),                              # 52 weeks, 12 months and the event a year later
        ("tmall", d(2024, 6, 10)),                             # nothing to do with March 2024
    ], dates)
    rebuild = to_periods_to_rebuild(touched, all_dates=all_dates, sale_events=events)
    assert_df_equality(rebuild, spark.createDataFrame(
        [(k, True) for k in ("event:2024 Spring", "month:2024-03", "week:2024-03-04")]          # touched
        + [(k, False) for k in ("event:2025 Spring", "month:2024-04", "month:2025-03",         # compare with them
                                "week:2024-03-11", "week:2025-03-03")],
        "period_key string, changed boolean"), ignore_row_order=True, ignore_nullable=True)


def test_change_feed_nets_out_changes_undone_within_the_range_and_is_absent_for_a_table_without_one(spark, tmp_path):
    """What the incremental marts read of a table: the keys whose rows differ between the last processed version
    and now, from Delta's change data feed (every new table records one: conf/base.yaml)."""
    path = str(tmp_path / "t")
    schema = "k STRING, v INT, note STRING"
    spark.createDataFrame([("a", 1, "x"), ("b", 1, "x"), ("c", 1, "x"), ("d", 1, "x"), ("e", 1, "x")], schema) \
        .write.format("delta").option("delta.enableChangeDataFeed", "true").save(path)       # version 0
    steps = [
        [("a", 2, "x"), ("b", 2, "x"), ("c", 2, "x"), ("f", 1, "x")],   # a, b, c updated; f inserted
        [("a", 1, "x"), ("b", 3, "x"), ("d", 1, "y")],                  # a back to 1; d: a column not compared
        [("b", 2, "x"), ("g", 1, "x")],                                 # b: 2 → 3 → 2 again, then …
        [("b", 3, "x")],                                                # … 3: changed after all
    ]
    for rows in steps:
        tables.merge_upsert(spark.createDataFrame(rows, schema), path, keys=("k",))
    tables.delete_where(spark, path, F.col("k").isin("e", "g"))      # e deleted; g inserted and deleted again
    feed = tables.read_change_feed(spark, path, after=0, through=tables.latest_version(spark, path))
    before, after = net_changes(feed, keys=("k",))
    changed = changed_keys(before, after, keys=("k",), columns=("k", "v"))
    assert sorted(r["k"] for r in changed.collect()) == ["b", "c", "e", "f"]
    assert sorted(tuple(r) for r in before.collect()) == [("a", 1, "x"), ("b", 1, "x"), ("c", 1, "x"),
                                                          ("d", 1, "x"), ("e", 1, "x")]
    assert sorted(tuple(r) for r in after.collect()) == [("a", 1, "x"), ("b", 3, "x"), ("c", 2, "x"),
                                                         ("d", 1, "y"), ("f", 1, "x")]
    assert tables.read_change_feed(spark, path, after=5, through=5) is None          # nothing since then

    old = str(tmp_path / "no_feed")   # a table written before the setting: no feed, the caller compares versions
    spark.createDataFrame([("a", 1, "x")], schema).write.format("delta").option(
        "delta.enableChangeDataFeed", "false").save(old)
    tables.merge_upsert(spark.createDataFrame([("a", 2, "x")], schema), old, keys=("k",))
    assert tables.read_change_feed(spark, old, after=0, through=1) is None
