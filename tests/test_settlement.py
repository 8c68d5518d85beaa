"""order_line_settlement: penny-exact allocation, presale rules, shipping and refunds, reconciliation."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from brandlake.transforms.money import MONEY, allocate_largest_remainder, round_money
from brandlake.transforms.settlement import (
    ORDER_LINE_SETTLEMENT,
    RECONCILIATION,
    reconcile,
    settle_order_lines,
    to_discount_allocations,
)
from chispa import assert_df_equality
from pyspark.sql import types as T

from tests.gold_inputs import AT, DAY, discount, fx, line, m, order, payment, product, refund, silver

ALLOC_IN = T.StructType([
    T.StructField("g", T.StringType()), T.StructField("line_id", T.StringType()),
    T.StructField("w", MONEY), T.StructField("total", MONEY),
])
ALLOC_OUT = T.StructType([*ALLOC_IN.fields, T.StructField("share", MONEY)])


def allocate(df):
    return allocate_largest_remainder(df, group_cols=("g",), total_col="total", weight_col="w", out_col="share",
                                      tiebreak_cols=("line_id",))


def settle(s, *, as_of=dt.datetime(2024, 3, 21), reporting_currency="CNY", rule="forfeit_deposit"):
    return settle_order_lines(
        s["order_lines"], orders=s["orders"], discounts=s["order_discounts"], payments=s["payments"],
        refunds=s["refunds"], products=s["products"], fx_rates=s["fx_rates"], as_of=as_of,
        reporting_currency=reporting_currency, rounding="half_up", unpaid_balance_rule=rule, balance_grace_days=3,
    )


def test_worked_example_79_and_119_share_5_as_1_99_and_3_01(spark):
    rows = [("o1", "l1", m("79.00"), m("5.00")), ("o1", "l2", m("119.00"), m("5.00"))]
    expected = [("o1", "l1", m("79.00"), m("5.00"), m("1.99")), ("o1", "l2", m("119.00"), m("5.00"), m("3.01"))]
    assert_df_equality(allocate(spark.createDataFrame(rows, ALLOC_IN)), spark.createDataFrame(expected, ALLOC_OUT),
                       ignore_row_order=True, ignore_nullable=True)


def test_allocation_sums_exactly_with_ties_to_lowest_line_id_zero_weights_split_equally_and_null_total(spark):
    rows = [
        ("tie", "a", m("1.00"), m("1.00")), ("tie", "b", m("1.00"), m("1.00")), ("tie", "c", m("1.00"), m("1.00")),
        ("zero", "x", m("0.00"), m("0.01")), ("zero", "y", m("0.00"), m("0.01")),
        ("none", "z", m("5.00"), None),
    ]
    expected = [
        ("tie", "a", m("1.00"), m("1.00"), m("0.34")), ("tie", "b", m("1.00"), m("1.00"), m("0.33")),
        ("tie", "c", m("1.00"), m("1.00"), m("0.33")),
        ("zero", "x", m("0.00"), m("0.01"), m("0.01")), ("zero", "y", m("0.00"), m("0.01"), m("0.00")),
        ("none", "z", m("5.00"), None, None),
    ]
    assert_df_equality(allocate(spark.createDataFrame(rows, ALLOC_IN)), spark.createDataFrame(expected, ALLOC_OUT),
                       ignore_row_order=True, ignore_nullable=True)


def test_round_money_honours_half_up_and_half_even(spark):
    df = spark.createDataFrame([(Decimal("50.005"),), (Decimal("50.015"),), (None,)], "x decimal(20,3)")
    out = df.select(round_money(df.x, rounding="half_up").alias("up"), round_money(df.x, rounding="half_even").alias("even"))
    expected = spark.createDataFrame([(m("50.01"), m("50.00")), (m("50.02"), m("50.02")), (None, None)],
                                     T.StructType([T.StructField("up", MONEY), T.StructField("even", MONEY)]))
    assert_df_equality(out, expected, ignore_row_order=True, ignore_nullable=True)


def test_overlapping_discounts_are_split_across_their_own_line_ids(spark):
    s = silver(
        spark,
        lines=[line("o1", "l1", "100.00"), line("o1", "l2", "50.00"), line("o1", "l3", "0.00"), line("o2", "m1", "10.00")],
        discounts=[
            discount("o1", "t1", "threshold", "10.00", ["l1", "l2"]),
            discount("o1", "t2", "threshold", "2.00", ["l1"]),
            discount("o1", "c1", "coupon", "3.00", ["l2", "l3", "l9"]),  # l9 is not a line of o1: skipped
            discount("o1", "x1", "cross_shop", "1.00", []),  # no line_ids: every line of the order
            discount("o2", "c2", "coupon", "0.00", ["m1"]),
        ],
    )
    out = to_discount_allocations(s["order_lines"], discounts=s["order_discounts"])
    schema = T.StructType([T.StructField("order_id", T.StringType()), T.StructField("line_id", T.StringType()),
                           *[T.StructField(f"{t}_discount", MONEY) for t in ("threshold", "coupon", "cross_shop")]])
    expected = spark.createDataFrame([
        ("o1", "l1", m("8.67"), None, m("0.67")),
        ("o1", "l2", m("3.33"), m("3.00"), m("0.33")),
        ("o1", "l3", None, m("0.00"), m("0.00")),
        ("o2", "m1", None, m("0.00"), None),
    ], schema)
    assert_df_equality(out, expected, ignore_row_order=True, ignore_nullable=True)


def test_ordinary_order_settles_with_shipping_partial_refund_zero_line_and_reporting_currency(spark):
    s = silver(
        spark,
        orders=[order("o1", shipping_fee_amount="10.00")],
        lines=[line("o1", "l1", "79.00"), line("o1", "l2", "119.00", quantity=2, sku_id="sku2"),
               line("o1", "l3", "0.00", sku_id="sku1")],  # a free gift
        discounts=[discount("o1", "t1", "threshold", "5.00", ["l1", "l2"])],
        payments=[payment("o1", "full", "203.00"), payment("o1", "full", "203.00", status="failed")],
        refunds=[refund("o1", "l2", "20.00")],
        products=[product("sku1", "brandA"), product("sku2", "brandB")],
        # no rate on the order day: the previous day's carries forward
        fx_rates=[fx(DAY - dt.timedelta(days=1), "CNY", "7.20000000"), fx(DAY - dt.timedelta(days=1), "USD", "1")],
    )
    out = settle(s, reporting_currency="USD")
    z = m("0.00")

    def row(line_id, brand, sku, qty, unit, line_amount, threshold, shipping, refunded, settled, unit_price,
            status, rpt):
        return ("o1", line_id, "tmall", "shop1", brand, f"p-{sku}", sku, "c-o1", "CN", "Zhejiang", "CNY", qty,
                m(unit), m(line_amount), z, m(line_amount), m(threshold), z, z, z, m(threshold), m(shipping),
                m(refunded), z, m(settled), m(unit_price), status, False, DAY, AT, "USD", *map(m, rpt))

    expected = spark.createDataFrame([
        row("l1", "brandA", "sku1", 1, "79.00", "79.00", "1.99", "3.99", "0.00", "81.00", "81.00", "settled",
            ("10.97", "0.28", "0.00", "11.25")),
        row("l2", "brandB", "sku2", 2, "59.50", "119.00", "3.01", "6.01", "20.00", "102.00", "51.00",
            "partially_refunded", ("16.53", "0.42", "2.78", "14.17")),
        row("l3", "brandA", "sku1", 1, "0.00", "0.00", "0.00", "0.00", "0.00", "0.00", "0.00", "settled",
            ("0.00", "0.00", "0.00", "0.00")),
    ], ORDER_LINE_SETTLEMENT)
    assert_df_equality(out, expected, ignore_row_order=True, ignore_nullable=True)


PRESALE_COLUMNS = ["order_id", "line_id", "deposit_inflation", "deposit_refund_amount", "settled_amount",
                   "settlement_status", "settled_at"]


@pytest.mark.parametrize("rule", ["forfeit_deposit", "refund_deposit"])
def test_presale_is_pending_until_the_balance_and_cancelled_per_rule_when_unpaid_past_grace(spark, rule):
    due_ok, due_past = dt.datetime(2024, 3, 20), dt.datetime(2024, 3, 5)
    presale = dict(is_presale=True)
    s = silver(
        spark,
        orders=[
            order("p1", **presale, deposit_amount="50.00", deposit_value="80.00", balance_due_at=due_ok),
            order("p2", **presale, deposit_amount="20.00", deposit_value="30.00", balance_due_at=due_ok),
            order("p3", **presale, deposit_amount="10.00", deposit_value="15.00", balance_due_at=due_past),
            order("p4", **presale, deposit_amount="10.00", deposit_value="15.00", balance_due_at=due_past),
        ],
        lines=[line("p1", "l1", "300.00"), line("p1", "l2", "100.00"), line("p2", "l1", "200.00"),
               line("p3", "l1", "70.00"), line("p3", "l2", "30.00"), line("p4", "l1", "100.00")],
        payments=[
            payment("p1", "deposit", "50.00"), payment("p1", "balance", "320.00", paid_at=dt.datetime(2024, 3, 11)),
            payment("p2", "deposit", "20.00"),  # balance not due yet + grace: pending
            payment("p3", "deposit", "10.00"),  # balance never paid: cancelled at due + 3 days
        ],  # p4: not even the deposit was paid
    )
    out = settle(s, as_of=dt.datetime(2024, 3, 21), rule=rule).select(*PRESALE_COLUMNS)
    cancel_at = dt.datetime(2024, 3, 8)
    kept = {"forfeit_deposit": ("7.00", "3.00", "0.00", "0.00"), "refund_deposit": ("0.00", "0.00", "7.00", "3.00")}
    k1, k2, r1, r2 = (m(x) for x in kept[rule])
    schema = T.StructType([f for f in ORDER_LINE_SETTLEMENT.fields if f.name in PRESALE_COLUMNS])
    expected = spark.createDataFrame([
        ("p1", "l1", m("22.50"), m("0.00"), m("277.50"), "settled", dt.datetime(2024, 3, 11)),
        ("p1", "l2", m("7.50"), m("0.00"), m("92.50"), "settled", dt.datetime(2024, 3, 11)),
        ("p2", "l1", m("10.00"), m("0.00"), None, "pending", None),
        ("p3", "l1", m("3.50"), r1, k1, "cancelled", cancel_at),
        ("p3", "l2", m("1.50"), r2, k2, "cancelled", cancel_at),
        ("p4", "l1", m("5.00"), m("0.00"), m("0.00"), "cancelled", cancel_at),
    ], schema)
    assert_df_equality(out, expected, ignore_row_order=True, ignore_nullable=True)


def test_reconcile_returns_only_final_orders_whose_settlement_differs_from_payments_minus_refunds(spark):
    settled_schema = T.StructType([
        T.StructField("order_id", T.StringType()), T.StructField("settled_amount", MONEY),
        T.StructField("deposit_refund_amount", MONEY), T.StructField("settlement_status", T.StringType()),
    ])
    settlement = spark.createDataFrame([
        ("ok", m("81.00"), m("0.00"), "settled"), ("ok", m("102.00"), m("0.00"), "partially_refunded"),
        ("short", m("50.00"), m("0.00"), "settled"),
        ("pending", None, m("0.00"), "pending"),
        ("refund_dep", m("0.00"), m("10.00"), "cancelled"),
    ], settled_schema)
    s = silver(
        spark,
        payments=[payment("ok", "full", "203.00"), payment("short", "full", "49.99"),
                  payment("short", "retry", "0.01", status="failed"), payment("pending", "deposit", "10.00"),
                  payment("refund_dep", "deposit", "10.00"), payment("no_lines", "full", "30.00")],
        refunds=[refund("ok", "l2", "20.00")],
    )
    expected = spark.createDataFrame([
        ("short", m("50.00"), m("49.99"), m("0.00"), m("0.00"), m("0.01"),
         "settled amount differs from payments - refunds"),
        ("no_lines", None, m("30.00"), m("0.00"), m("0.00"), None, "payments for an order without settled lines"),
    ], RECONCILIATION)
    assert_df_equality(reconcile(settlement, s["payments"], s["refunds"]), expected,
                       ignore_row_order=True, ignore_nullable=True)
