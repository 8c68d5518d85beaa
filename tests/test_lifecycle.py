"""product_lifecycle stages on constructed sales curves, and product months → alerts with evidence."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from brandlake.transforms.lifecycle import (
    PRODUCT_ALERTS,
    PRODUCT_MONTHS,
    to_product_alerts,
    to_product_months,
    with_lifecycle_stage,
)
from brandlake.transforms.settlement import ORDER_LINE_SETTLEMENT
from chispa import assert_approx_df_equality, assert_df_equality
from pyspark.sql import functions as F
from pyspark.sql import types as T

from tests.gold_inputs import frame, nullable
from tests.gold_schema import assert_registered_schema

RULES = dict(intro_months=3, growth_threshold=0.2, decline_threshold=0.2, decline_peak_ratio=0.7)


def _months(spark, curves: dict[str, list[int]]):
    """PRODUCT_MONTHS rows with 10-day months so that velocity = units / 10."""
    rows = []
    for pid, units in curves.items():
        for age, u in enumerate(units):
            rows.append(dict(product_id=pid, brand_id="b1", category="apparel", month=dt.date(2024, 1 + age, 1),
                             age_months=age, days=10, lines=u, units=u, revenue_rpt=Decimal("0.00"),
                             velocity=u / 10, returned_lines=0, reviews=0, negative_reviews=0, complaint_chats=0))
    return frame(spark, nullable(PRODUCT_MONTHS), rows)


def test_lifecycle_stage_follows_the_documented_rules_on_each_kind_of_curve(spark):
    months = _months(spark, {
        "new": [10, 10],                       # two months old: introduction
        "grows": [10, 10, 10, 20, 20, 20],     # doubles after launch: growth
        "steady": [10, 10, 10, 10, 10, 10],    # flat: maturity
        "fades": [20, 20, 20, 10, 10, 10],     # halves and falls under 70 % of its peak: decline
    })
    out = with_lifecycle_stage(months, **RULES).select("product_id", "age_months", "velocity_3m", "growth",
                                                       "peak_velocity_3m", "stage")
    schema = T.StructType([T.StructField("product_id", T.StringType()), T.StructField("age_months", T.IntegerType()),
                           T.StructField("velocity_3m", T.DoubleType()), T.StructField("growth", T.DoubleType()),
                           T.StructField("peak_velocity_3m", T.DoubleType()), T.StructField("stage", T.StringType())])
    intro = "introduction"
    expected = spark.createDataFrame([
        ("new", 0, 1.0, None, 1.0, intro), ("new", 1, 1.0, None, 1.0, intro),
        ("grows", 0, 1.0, None, 1.0, intro), ("grows", 1, 1.0, None, 1.0, intro), ("grows", 2, 1.0, None, 1.0, intro),
        ("grows", 3, 4 / 3, 1 / 3, 4 / 3, "growth"), ("grows", 4, 5 / 3, 2 / 3, 5 / 3, "growth"),
        ("grows", 5, 2.0, 1.0, 2.0, "growth"),
        ("steady", 0, 1.0, None, 1.0, intro), ("steady", 1, 1.0, None, 1.0, intro),
        ("steady", 2, 1.0, None, 1.0, intro), ("steady", 3, 1.0, 0.0, 1.0, "maturity"),
        ("steady", 4, 1.0, 0.0, 1.0, "maturity"), ("steady", 5, 1.0, 0.0, 1.0, "maturity"),
        ("fades", 0, 2.0, None, 2.0, intro), ("fades", 1, 2.0, None, 2.0, intro), ("fades", 2, 2.0, None, 2.0, intro),
        # down 17 %: not yet past the 20 % decline threshold
        ("fades", 3, 5 / 3, -1 / 6, 2.0, "maturity"),
        ("fades", 4, 4 / 3, -1 / 3, 2.0, "decline"), ("fades", 5, 1.0, -0.5, 2.0, "decline"),
    ], schema)
    assert_approx_df_equality(out, expected, 1e-9, ignore_row_order=True, ignore_nullable=True)


def test_product_months_and_alerts_carry_rates_baselines_and_evidence(spark):
    jan, feb = dt.date(2024, 1, 10), dt.date(2024, 2, 10)

    def line(order_id, product_id, day, status="settled"):
        return dict(order_id=order_id, line_id=f"{order_id}-1", product_id=product_id, brand_id="b1", order_date=day,
                    quantity=1, settled_amount_rpt=Decimal("10.00"), settlement_status=status, platform_id="tmall",
                    currency="CNY", reporting_currency="CNY")

    lines = frame(spark, nullable(ORDER_LINE_SETTLEMENT), [
        line("o1", "p1", jan), line("o2", "p1", jan), line("o3", "p1", feb), line("o4", "p1", feb),
        line("o5", "p2", feb), line("o6", "p2", feb),
        line("o7", "p2", feb, status="cancelled"),  # cancelled: no demand
    ])
    products = spark.createDataFrame([("p1", "apparel"), ("p2", "apparel")], "product_id string, category string")
    returns = spark.createDataFrame([("o3-1", "requested"), ("o4-1", "refunded"), ("o5-1", "cancelled")],
                                    "line_id string, status string")
    reviews = spark.createDataFrame([
        ("r1", "p1", feb, 1, -1.0, True, ["sizing", "quality"]),
        ("r2", "p1", feb, 2, -1.0, True, ["sizing"]),
        ("r3", "p2", feb, 5, 1.0, False, ["delivery"]),
    ], "review_id string, product_id string, review_date date, rating int, sentiment double, is_negative boolean, "
       "topics array<string>")
    chats = spark.createDataFrame([("o3", feb, "return_request"), ("o4", feb, "return_request"),
                                   ("o1", jan, "invoice")], "order_id string, chat_date date, intent string")
    months = to_product_months(lines, products=products, returns=returns, reviews=reviews, chats=chats,
                               as_of=dt.date(2024, 2, 20), complaint_intents=("return_request", "where_is_my_order"))
    d = Decimal
    expected_months = spark.createDataFrame([
        ("p1", "b1", "apparel", dt.date(2024, 1, 1), 0, 31, 2, 2, d("20.00"), 2 / 31, 0, 0.0, 0, None, None, 0, None,
         0, 0.0),
        ("p1", "b1", "apparel", dt.date(2024, 2, 1), 1, 20, 2, 2, d("20.00"), 0.1, 2, 1.0, 2, 1.5, -1.0, 2, 1.0, 2, 1.0),
        ("p2", "b1", "apparel", dt.date(2024, 2, 1), 0, 20, 2, 2, d("20.00"), 0.1, 0, 0.0, 1, 5.0, 1.0, 0, 0.0, 0, 0.0),
    ], PRODUCT_MONTHS)
    assert_approx_df_equality(months, expected_months, 1e-9, ignore_row_order=True, ignore_nullable=True)

    lifecycle = with_lifecycle_stage(months, **RULES)
    assert_registered_schema(lifecycle, "product_lifecycle")   # what `brandlake lifecycle` writes as it is
    complaint_chats = chats.join(lines.select("order_id", "product_id"), "order_id") \
        .where(F.col("intent") == "return_request")
    alerts = to_product_alerts(lifecycle, reviews=reviews, chats=complaint_chats, history_months=6, min_volume=2,
                               min_increase=0.1, ratio=1.6)
    topics = [("sizing", 2), ("quality", 1)]
    intents = [("return_request", 2)]
    ids = ["r1", "r2"]
    feb1 = dt.date(2024, 2, 1)
    expected_alerts = spark.createDataFrame([
        # p1's February: every line returned, against no return in January and 50 % in the category
        ("p1", "b1", "apparel", feb1, "return_rate", "own_history", 1.0, 0.0, 2, 2, topics, intents, ids),
        ("p1", "b1", "apparel", feb1, "return_rate", "category", 1.0, 0.5, 2, 2, topics, intents, ids),
        ("p1", "b1", "apparel", feb1, "complaint_rate", "own_history", 1.0, 0.0, 2, 2, topics, intents, ids),
        ("p1", "b1", "apparel", feb1, "complaint_rate", "category", 1.0, 0.5, 2, 2, topics, intents, ids),
        # both reviews negative vs 2 of 3 in the category: +0.33 but under 1.6 × → no category alert; no own history
    ], PRODUCT_ALERTS)
    assert_df_equality(alerts, expected_alerts, ignore_row_order=True, ignore_nullable=True)
