"""The gold job: incremental re-settlement equals one clean run, re-runs change nothing, mismatches are kept."""

from __future__ import annotations

import argparse
import datetime as dt

import pytest
from brandlake.jobs import gold
from brandlake.transforms.settlement import RECONCILIATION
from chispa import assert_df_equality
from pyspark.sql import types as T

from brandlake import tables
from brandlake.runtime import job_context
from tests.delta_defaults import deletion_vectors_added, production_table_defaults
from tests.gold_inputs import AT, DAY, discount, line, m, order, payment, refund, silver
from tests.gold_schema import assert_gold_schema

LATER = dict(balance=dt.datetime(2024, 3, 6), refund=dt.datetime(2024, 3, 7))
PROJECTION = ["order_id", "line_id", "settled_amount", "settlement_status"]
PROJECTION_SCHEMA = T.StructType([
    T.StructField("order_id", T.StringType()), T.StructField("line_id", T.StringType()),
    T.StructField("settled_amount", T.DecimalType(18, 2)), T.StructField("settlement_status", T.StringType()),
])


def silver_rows(*, late_events: bool) -> dict:
    """o1 ordinary (refund later), p1 presale (balance later), o3 presale never paid (overdue by the later
    watermark), o4 paid one cent short (a mismatch), o2's line first without its order (an orphan), its order and
    a payment one yuan short later. o4 is on the next day; o1, alone on its day, is moved three days earlier by its
    late creation event (gold replaces its lines and rebuilds the sales days of both dates)."""
    presale = dict(is_presale=True)
    day = dt.timedelta(days=1)
    moved = dict(ordered_at=AT - day, order_date=DAY - day, updated_at=LATER["refund"]) if late_events else dict(
        ordered_at=AT + 2 * day, order_date=DAY + 2 * day)
    orders = [
        order("o1", shipping_fee_amount="10.00", **moved),
        order("p1", **presale, deposit_amount="20.00", deposit_value="30.00", balance_due_at=dt.datetime(2024, 3, 5)),
        order("o3", **presale, deposit_amount="5.00", deposit_value="8.00", balance_due_at=dt.datetime(2024, 3, 2)),
        order("o4", ordered_at=AT + day, order_date=DAY + day),
    ]
    lines = [line("o1", "l1", "79.00"), line("o1", "l2", "119.00"), line("p1", "l1", "100.00"),
             line("o3", "l1", "40.00"), line("o4", "l1", "30.00"), line("o2", "l1", "50.00")]
    payments = [payment("o1", "full", "203.00"), payment("p1", "deposit", "20.00"), payment("o3", "deposit", "5.00"),
                payment("o4", "full", "29.99")]
    refunds = []
    if late_events:
        orders.append(order("o2", updated_at=LATER["refund"]))
        payments += [payment("p1", "balance", "70.00", paid_at=LATER["balance"]),
                     payment("o2", "full", "49.00", paid_at=LATER["refund"])]
        refunds.append(refund("o1", "l2", "20.00", refunded_at=LATER["refund"]))
    return dict(orders=orders, lines=lines, payments=payments, refunds=refunds,
                discounts=[discount("o1", "t1", "threshold", "5.00", ["l1", "l2"])])


def write_silver(spark, cfg, *, late_events: bool, only: tuple[str, ...] = ()) -> None:
    """Silver as ``brandlake silver`` leaves it: written whole the first time, later rows MERGEd on the tables'
    keys (so the tables' change data feeds record them)."""
    from brandlake.transforms.silver.registry import SILVER_TABLES

    for name, df in silver(spark, **silver_rows(late_events=late_events)).items():
        if not only or name in only:
            path = f"{cfg.lake.silver}/{name}"
            if only:
                tables.merge_upsert(df, path, keys=SILVER_TABLES[name].keys)
            else:
                tables.overwrite(df, path)


def run_gold(spark, cfg):
    with job_context(cfg, "gold", spark=spark) as ctx:
        gold.run(ctx, argparse.Namespace(as_of=None, full=False))
    return ctx.summary.details["gold"]


def read_gold(spark, cfg, name):
    return tables.read(spark, f"{cfg.lake.gold}/{name}")


def projection(spark, rows):
    return spark.createDataFrame([(o, ln, m(a), st) for o, ln, a, st in rows], PROJECTION_SCHEMA)


@pytest.fixture
def production_tables(spark):
    """Silver and gold record their changes and use deletion vectors, as in production (conf/base.yaml; off in
    conf/test.yaml)."""
    with production_table_defaults(spark):
        yield


def test_late_balance_and_refund_resettle_incrementally_to_the_same_tables_as_one_clean_run(
        spark, cfg, tmp_path, production_tables):
    write_silver(spark, cfg, late_events=False)
    first = run_gold(spark, cfg)
    assert_gold_schema(spark, cfg.lake.gold, "order_line_settlement", "sales_daily", "settlement_mismatches")
    assert_df_equality(read_gold(spark, cfg, "order_line_settlement").select(*PROJECTION), projection(spark, [
        ("o1", "l1", "81.00", "settled"), ("o1", "l2", "122.00", "settled"), ("p1", "l1", None, "pending"),
        ("o3", "l1", None, "pending"), ("o4", "l1", "30.00", "settled"),
    ]), ignore_row_order=True, ignore_nullable=True)

    short = "settled amount differs from payments - refunds"
    o4_short = ("o4", m("30.00"), m("29.99"), m("0.00"), m("0.00"), m("0.01"), short)
    assert_df_equality(read_gold(spark, cfg, "settlement_mismatches"), spark.createDataFrame([
        o4_short, ("o2", None, m("0.00"), m("0.00"), m("0.00"), None, "order lines without an order"),
    ], RECONCILIATION), ignore_row_order=True, ignore_nullable=True)

    write_silver(spark, cfg, late_events=True, only=("orders", "order_lines", "payments", "refunds"))
    second = run_gold(spark, cfg)
    settled = read_gold(spark, cfg, "order_line_settlement")
    assert_df_equality(settled.select(*PROJECTION), projection(spark, [
        ("o1", "l1", "81.00", "settled"), ("o1", "l2", "102.00", "partially_refunded"), ("p1", "l1", "90.00", "settled"),
        ("o3", "l1", "5.00", "cancelled"), ("o4", "l1", "30.00", "settled"), ("o2", "l1", "50.00", "settled"),
    ]), ignore_row_order=True, ignore_nullable=True)
    # o1, p1, o2 changed in silver (read from the change data feeds of the tables the MERGEs moved: the lines
    # were upserted unchanged); o3 went overdue; o4 was untouched
    assert (first["mode"], second["mode"], second["orders_resettled"]) == ("full", "incremental", 4)
    # as in production, the late MERGEs marked the rows they replaced in deletion vectors: the incremental run read
    # silver and re-settled gold through them
    assert [deletion_vectors_added(spark, p) > 0 for p in (f"{cfg.lake.silver}/orders",
                                                           f"{cfg.lake.gold}/order_line_settlement")] == [True, True]
    assert second["changes_read_from"] == dict.fromkeys(("orders", "payments", "refunds"), "change feed")
    # only the re-settled orders were reconciled again: o4's mismatch kept, o2's orphan row replaced by its short pay
    assert_df_equality(read_gold(spark, cfg, "settlement_mismatches"), spark.createDataFrame([
        o4_short, ("o2", m("50.00"), m("49.00"), m("0.00"), m("0.00"), m("1.00"), short),
    ], RECONCILIATION), ignore_row_order=True, ignore_nullable=True)
    assert second["reconciliation_mismatches"] == 2

    settled_rows, daily_rows = settled.collect(), read_gold(spark, cfg, "sales_daily").collect()
    third = run_gold(spark, cfg)  # nothing new in silver: the same tables
    assert third["orders_resettled"] == 0
    assert_df_equality(read_gold(spark, cfg, "order_line_settlement"), spark.createDataFrame(settled_rows, settled.schema),
                       ignore_row_order=True)
    assert_df_equality(read_gold(spark, cfg, "sales_daily"), spark.createDataFrame(daily_rows, read_gold(
        spark, cfg, "sales_daily").schema), ignore_row_order=True)

    clean = cfg.with_overrides(lake=type(cfg.lake)(root=str(tmp_path / "clean")))
    write_silver(spark, clean, late_events=True)
    run_gold(spark, clean)
    for name in ("order_line_settlement", "sales_daily", "settlement_mismatches"):
        assert_df_equality(read_gold(spark, cfg, name), read_gold(spark, clean, name), ignore_row_order=True)


def test_orders_to_resettle_are_changed_orders_their_changed_skus_later_fx_days_and_overdue_presales(spark):
    from brandlake.transforms.resettle import orders_to_resettle

    from tests.gold_inputs import fx, product

    presale = dict(is_presale=True, deposit_amount="5.00", deposit_value="8.00")
    orders = [order("o2"), order("o3", order_date=dt.date(2024, 3, 5)), order("o5")]
    overdue = order("o4", **presale, balance_due_at=dt.datetime(2024, 3, 2))       # + 3 days grace < 10 March
    in_grace = order("o6", **presale, balance_due_at=dt.datetime(2024, 3, 8))
    before = silver(spark, orders=[order("o1"), *orders, overdue, in_grace],
                    lines=[line("o1", "l1", "9.00"), line("o2", "l1", "9.00", sku_id="sku2")],
                    fx_rates=[fx(dt.date(2024, 3, 1), "CNY", "7.2")], products=[product("sku1"), product("sku2")])
    current = silver(spark, orders=[order("o1", order_status="completed"), *orders, overdue, in_grace],
                     lines=[line("o1", "l1", "9.00"), line("o2", "l1", "9.00", sku_id="sku2")],
                     fx_rates=[fx(dt.date(2024, 3, 1), "CNY", "7.2"), fx(dt.date(2024, 3, 4), "CNY", "7.3")],
                     products=[product("sku1"), product("sku2", brand_id="brandB")])
    settlement = spark.createDataFrame([("o1", "settled"), ("o4", "pending"), ("o6", "pending")],
                                       "order_id string, settlement_status string")
    changed = ("orders", "products", "fx_rates")  # the job passes only the inputs whose version moved
    actual = orders_to_resettle(current, {n: (before[n], current[n]) for n in changed}, settlement=settlement,
                                columns=gold.SILVER_INPUTS, as_of=dt.datetime(2024, 3, 10), balance_grace_days=3)
    # o1: its order row changed; o2: its SKU's product changed; o3: dated after the new 4 March rate; o4: overdue
    assert_df_equality(actual, spark.createDataFrame([("o1",), ("o2",), ("o3",), ("o4",)], "order_id string"),
                       ignore_row_order=True, ignore_nullable=True)


def test_event_watermark_is_the_latest_order_payment_or_refund_time_and_null_when_all_are_empty(spark):
    from brandlake.transforms.resettle import to_event_watermark

    orders = spark.createDataFrame([("o1", dt.datetime(2024, 3, 1, 9)), ("o2", None)],
                                   "order_id string, updated_at timestamp")
    payments = spark.createDataFrame([("y1", dt.datetime(2024, 3, 2, 8))], "payment_id string, paid_at timestamp")
    refunds = spark.createDataFrame([("r1", dt.datetime(2024, 3, 1, 23))], "refund_id string, refunded_at timestamp")
    expected = spark.createDataFrame([(dt.datetime(2024, 3, 2, 8),)], "as_of timestamp")
    assert_df_equality(to_event_watermark(orders, payments=payments, refunds=refunds), expected, ignore_nullable=True)
    empty = to_event_watermark(orders.limit(0), payments=payments.limit(0), refunds=refunds.limit(0))
    assert_df_equality(empty, spark.createDataFrame([(None,)], "as_of timestamp"), ignore_nullable=True)
