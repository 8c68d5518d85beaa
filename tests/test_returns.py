"""Return-risk features are built as of the prediction time (later events change nothing), and the
decision metrics follow the cost matrix."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from brandlake.models import returns as rr
from brandlake.transforms.settlement import ORDER_LINE_SETTLEMENT
from chispa import assert_approx_df_equality
from pyspark.sql import types as T

from tests.gold_inputs import frame, nullable


def _at(day: int, hour: int = 10) -> dt.datetime:
    return dt.datetime(2024, 1, day, hour)


def _inputs(spark, *, later: bool):
    """Three lines of product p1 (o1, o2 by customer c1, o3 by c2); with ``later``, events after o3's order
    time: another order, a return of o3, and a review."""
    orders = [("o1", _at(1), "c1"), ("o2", _at(5), "c1"), ("o3", _at(10), "c2")]
    returns = [("o1-1", _at(4), "refunded"), ("o2-1", _at(12), "requested")]
    reviews = [("p1", _at(6), 1), ("p1", _at(11), 5)]
    if later:
        orders.append(("o4", _at(20), "c2"))
        returns.append(("o3-1", _at(21), "requested"))
        reviews.append(("p1", _at(22), 1))
    d = Decimal
    lines = frame(spark, nullable(ORDER_LINE_SETTLEMENT), [
        dict(order_id=o, line_id=f"{o}-1", platform_id="tmall", shop_id="sh1", product_id="p1", sku_id="s1",
             customer_id=c, ship_country="CN", quantity=1, unit_price_amount=d("100.00"), gross_amount=d("100.00"),
             item_discount_amount=d("10.00"), threshold_discount=d("5.00"), coupon_discount=d("0.00"),
             cross_shop_discount=d("5.00"), gross_amount_rpt=d("100.00"), is_presale=False,
             settlement_status="settled", currency="CNY")
        for o, _, c in orders])
    return dict(
        lines=lines,
        orders=spark.createDataFrame([(o, t) for o, t, _ in orders], "order_id string, ordered_at timestamp"),
        products=spark.createDataFrame([("s1", "p1", "apparel", "XL")],
                                       "sku_id string, product_id string, category string, size string"),
        shops=spark.createDataFrame([("sh1", "official")], "shop_id string, seller_type string"),
        returns=spark.createDataFrame(returns, "line_id string, requested_at timestamp, status string"),
        reviews=spark.createDataFrame(reviews, "product_id string, created_at timestamp, rating int"),
        pickups=spark.createDataFrame([("o3", _at(11))], "order_id string, shipped_at timestamp"),
    )


COLUMNS = ("line_id", "discount_depth", "is_extreme_size", "product_lines", "product_return_rate", "customer_lines",
           "customer_returns", "customer_return_rate", "product_reviews", "product_avg_rating")


def test_order_time_features_use_only_earlier_events_and_ignore_later_ones(spark):
    def features(later: bool):
        i = _inputs(spark, later=later)
        f = rr.build_features(i["lines"], orders=i["orders"], products=i["products"], shops=i["shops"],
                              returns=i["returns"], reviews=i["reviews"], pickups=i["pickups"], stage="order")
        return f.where("line_id IN ('o1-1', 'o2-1', 'o3-1')").select(*COLUMNS)

    before = features(later=False)
    schema = T.StructType([T.StructField(c, T.StringType() if c == "line_id" else T.DoubleType()) for c in COLUMNS])
    # category rate = (returns + 1) / (lines + 10); product rate shrinks to it with 20 pseudo-lines,
    # the customer's with 2. o2 sees o1 and its return on Jan 4; o3 sees o1, o2, one return (o2's came
    # on Jan 12, after o3 was ordered) and the 1-star review of Jan 6 (not the 5-star one of Jan 11).
    expected = spark.createDataFrame([
        ("o1-1", 0.2, 1.0, 0.0, 0.1, 0.0, 0.0, 0.1, 0.0, -1.0),
        ("o2-1", 0.2, 1.0, 1.0, (1 + 20 * 2 / 11) / 21, 1.0, 1.0, (1 + 2 * 2 / 11) / 3, 0.0, -1.0),
        ("o3-1", 0.2, 1.0, 2.0, (1 + 20 / 6) / 22, 0.0, 0.0, (2 / 6) / 2, 1.0, 1.0),
    ], schema)
    assert_approx_df_equality(before, expected, 1e-9, ignore_row_order=True, ignore_nullable=True)
    assert_approx_df_equality(features(later=True), expected, 1e-9, ignore_row_order=True, ignore_nullable=True)


def test_cost_matrix_threshold_and_expected_saving():
    # act when p × 25 % × 60 > 4, i.e. p ≥ 4 / 15
    t = rr.cost_threshold(cost_of_return=60.0, cost_of_intervention=4.0, intervention_effect=0.25)
    assert t == pytest.approx(4 / 15)
    y, p = [1, 0, 1, 0, 0], [0.9, 0.5, 0.2, 0.1, 0.3]
    # flagged: 0.9 (returned), 0.5, 0.3 -> one return prevented at 25 % x 60 = 15, three actions at 4 = 12
    assert rr.expected_saving(y, p, threshold=t, cost_of_return=60.0, cost_of_intervention=4.0,
                              intervention_effect=0.25) == pytest.approx(
        {"threshold": 4 / 15, "flagged": 3.0, "flagged_share": 0.6, "expected_saving": 3.0, "saving_per_line": 0.6})
    m = rr.classification_metrics(y, p)
    # ranks: positives 0.9 and 0.2 vs negatives 0.5, 0.3, 0.1 -> 4 of 6 pairs ordered right
    assert m == pytest.approx({"roc_auc": 4 / 6, "pr_auc": (1 / 1 + 2 / 4) / 2, "brier": (0.01 + 0.25 + 0.64 + 0.01
                                                                                       + 0.09) / 5,
                               "top_decile_lift": 1.0 / 0.4, "positive_rate": 0.4, "n": 5.0})
