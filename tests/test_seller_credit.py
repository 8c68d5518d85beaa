"""Seller credit: each component moved on its own lowers the score and names itself as a reason."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from brandlake.transforms import seller_credit as sc
from chispa import assert_df_equality
from pyspark.sql import functions as F

from tests.gold_schema import assert_registered_schema

Q1, Q2 = dt.date(2024, 1, 1), dt.date(2024, 4, 1)
INPUTS = ("shop_id string, quarter_start date, customs_weeks int, customs_value_rpt decimal(18,2), "
          "fx_collected_rpt decimal(18,2), tax_refund_rpt decimal(18,2), orders int, disputes int, tenure_quarters int")


def quarter(shop, *, q=Q2, weeks=13, customs="1000", fx="1000", tax="90", orders=100, disputes=0, tenure=8):
    return (shop, q, weeks, Decimal(customs), Decimal(fx), Decimal(tax), orders, disputes, tenure)


def test_moving_one_component_costs_only_its_points_and_names_it_as_the_reason(spark):
    rows = [
        quarter("base"),
        quarter("customs", weeks=0), quarter("fx", fx="500"), quarter("tax", tax="45"),
        quarter("dispute", disputes=2), quarter("tenure", tenure=4),
        quarter("trend", q=Q1), quarter("trend", disputes=1),
        quarter("all_bad", weeks=0, customs="0", fx="0", tax="0", disputes=10, tenure=1),
    ]
    scored = (spark.createDataFrame(rows, INPUTS).transform(sc.with_shortfalls).transform(sc.with_score)
              .select("shop_id", "quarter_start", "score", "reason_codes"))
    expected = spark.createDataFrame([
        ("base", Q2, 1000, []),
        ("customs", Q2, 800, ["customs_regularity"]),
        ("fx", Q2, 900, ["fx_collection"]),
        ("tax", Q2, 925, ["tax_refund"]),
        ("dispute", Q2, 900, ["dispute_rate"]),
        ("tenure", Q2, 950, ["tenure"]),
        ("trend", Q1, 1000, []),
        ("trend", Q2, 930, ["dispute_rate", "dispute_trend"]),     # 1 % disputes, up from 0 %
        ("all_bad", Q2, 113, ["dispute_rate", "customs_regularity", "fx_collection"]),  # 1000 - 887.5
    ], "shop_id string, quarter_start date, score int, reason_codes array<string>")
    assert_df_equality(scored, expected, ignore_row_order=True, ignore_nullable=True)


def test_quarter_inputs_count_only_cross_border_shops_records_and_orders(spark):
    shops = spark.createDataFrame([("x1", "amazon_us", "cross_border"), ("o1", "tmall", "official")],
                                  "shop_id string, platform_id string, seller_type string")
    d = dt.date
    records = spark.createDataFrame([
        ("x1", "amazon_us", "customs_clearance", d(2024, 4, 2), Decimal("600")),
        ("x1", "amazon_us", "customs_clearance", d(2024, 4, 3), Decimal("400")),   # same week
        ("x1", "amazon_us", "customs_clearance", d(2024, 4, 10), Decimal("500")),
        ("x1", "amazon_us", "fx_collection", d(2024, 4, 30), Decimal("1400")),
        ("x1", "amazon_us", "export_tax_refund", d(2024, 6, 30), Decimal("135")),
        ("x1", "amazon_us", "dispute", d(2024, 5, 5), Decimal("20")),
        ("x1", "amazon_us", "customs_clearance", d(2024, 1, 8), None),             # first quarter, no rate
        ("o1", "tmall", "customs_clearance", d(2024, 4, 2), Decimal("999")),
    ], "shop_id string, platform_id string, record_type string, record_date date, amount_rpt decimal(18,2)")
    orders = spark.createDataFrame([("a", "x1", d(2024, 4, 5)), ("b", "x1", d(2024, 5, 5)), ("c", "o1", d(2024, 4, 5))],
                                   "order_id string, shop_id string, order_date date")
    actual = sc.to_quarter_inputs(records, orders=orders, shops=shops)
    expected = spark.createDataFrame([
        ("x1", "amazon_us", Q1, 1, Decimal("0"), Decimal("0"), Decimal("0"), 0, 0, 1),
        ("x1", "amazon_us", Q2, 2, Decimal("1500"), Decimal("1400"), Decimal("135"), 2, 1, 2),
    ], "shop_id string, platform_id string, quarter_start date, customs_weeks int, customs_value_rpt decimal(18,2), "
       "fx_collected_rpt decimal(18,2), tax_refund_rpt decimal(18,2), orders int, disputes int, tenure_quarters int")
    assert_df_equality(actual.select(*expected.columns), expected, ignore_row_order=True, ignore_nullable=True)
    credit = sc.to_seller_credit(records, orders=orders, shops=shops)
    assert_registered_schema(credit, "seller_credit")   # what `brandlake seller-credit` writes as it is
    forward = sc.to_forward_pairs(credit).select("shop_id", "quarter_start", "next_dispute_rate")
    assert_df_equality(forward, spark.createDataFrame([("x1", Q1, 0.5)], "shop_id string, quarter_start date, "
                                                      "next_dispute_rate double"),
                       ignore_nullable=True)
    assert credit.where(F.col("quarter_start") == Q2).first()["reason_codes"][0] == "dispute_rate"


def test_forward_check_compares_the_score_with_the_quarters_own_dispute_rate_on_the_same_pairs():
    import pandas as pd
    from brandlake.jobs.seller_credit import forward_check

    # next quarter's disputes: a < b < c < d. The score orders them exactly (higher score, fewer disputes);
    # this quarter's dispute rate puts d first and c last (a one-off incident at d, a new trend at c)
    pairs = pd.DataFrame({"shop_id": ["a", "b", "c", "d"], "score": [900, 700, 500, 300],
                          "dispute_rate": [0.00, 0.01, 0.00, 0.05], "next_dispute_rate": [0.00, 0.01, 0.02, 0.04]})
    check = forward_check(pairs)
    # baseline ranks (ties averaged): [1.5, 3, 1.5, 4] against [1, 2, 3, 4]: Spearman 0.632
    assert {k: (round(v, 3) if isinstance(v, float) else v) for k, v in check.items()} == {
        "forward_pairs": 4, "spearman_risk_vs_next_dispute_rate": 1.0,
        "baseline_spearman_dispute_rate_vs_next": 0.632}
    # fewer than three pairs, or a constant ranking, has no correlation rather than a made-up one
    assert forward_check(pairs.head(2))["spearman_risk_vs_next_dispute_rate"] is None
    assert forward_check(pairs.assign(score=500))["spearman_risk_vs_next_dispute_rate"] is None
