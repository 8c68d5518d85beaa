"""Return-risk features are built as of the prediction time (later events change nothing), and the
decision metrics follow the cost matrix."""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
from decimal import Decimal

import mlflow
import pytest
from brandlake.models import registry, tracking
from brandlake.models import returns as rr
from brandlake.transforms.gold_tables import gold_path
from brandlake.transforms.settlement import ORDER_LINE_SETTLEMENT
from chispa import assert_approx_df_equality
from pandas.testing import assert_frame_equal
from pyspark.sql import functions as F
from pyspark.sql import types as T

from brandlake import tables
from brandlake.errors import EXIT_USAGE, exit_code_of
from brandlake.runtime import job_context
from tests.gold_inputs import frame, nullable
from tests.gold_schema import assert_gold_schema


def _at(day: int, hour: int = 10) -> dt.datetime:
    return dt.datetime(2024, 1, day, hour)


def _world(spark, orders, returns, reviews, pickups):
    """Silver-shaped inputs of ``build_features``: one line of product p1 (apparel, size XL) per order
    (order_id, ordered_at, customer_id); every line 100.00 with a 10.00 item discount and 10.00 of order
    promotions (5 threshold, 5 cross-shop)."""
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
        pickups=spark.createDataFrame(pickups, "order_id string, shipped_at timestamp, carrier string, "
                                      "warehouse_id string"),
    )


def _features(inputs, stage):
    return rr.build_features(inputs["lines"], orders=inputs["orders"], products=inputs["products"],
                             shops=inputs["shops"], returns=inputs["returns"], reviews=inputs["reviews"],
                             pickups=inputs["pickups"], stage=stage)


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
    return _world(spark, orders, returns, reviews, [("o3", _at(11), "sf_express", "WH-CN-SH")])


DEPTH = 0.1 + 10 / 90
COLUMNS = ("line_id", "discount_depth", "is_extreme_size", "product_lines", "product_return_rate", "customer_lines",
           "customer_returns", "customer_return_rate", "product_reviews", "product_avg_rating")


def test_order_time_features_use_only_earlier_events_and_ignore_later_ones(spark):
    def features(later: bool):
        return _features(_inputs(spark, later=later), "order").where("line_id IN ('o1-1', 'o2-1', 'o3-1')").select(
            *COLUMNS)

    before = features(later=False)
    schema = T.StructType([T.StructField(c, T.StringType() if c == "line_id" else T.DoubleType()) for c in COLUMNS])
    # discount depth = item discount share 10 / 100 + the order's promotions over its net 10 / 90;
    # category rate = (returns + 1) / (lines + 10); product rate shrinks to it with 20 pseudo-lines,
    # the customer's with 2. o2 sees o1 and its return on Jan 4; o3 sees o1, o2, one return (o2's came
    # on Jan 12, after o3 was ordered) and the 1-star review of Jan 6 (not the 5-star one of Jan 11).
    expected = spark.createDataFrame([
        ("o1-1", DEPTH, 1.0, 0.0, 0.1, 0.0, 0.0, 0.1, 0.0, -1.0),
        ("o2-1", DEPTH, 1.0, 1.0, (1 + 20 * 2 / 11) / 21, 1.0, 1.0, (1 + 2 * 2 / 11) / 3, 0.0, -1.0),
        ("o3-1", DEPTH, 1.0, 2.0, (1 + 20 / 6) / 22, 0.0, 0.0, (2 / 6) / 2, 1.0, 1.0),
    ], schema)
    assert_approx_df_equality(before, expected, 1e-9, ignore_row_order=True, ignore_nullable=True)
    assert_approx_df_equality(features(later=True), expected, 1e-9, ignore_row_order=True, ignore_nullable=True)


def _dt(month: int, day: int, hour: int = 10) -> dt.datetime:
    return dt.datetime(2024, month, day, hour)


SETTLED = ("line_id", "stage", "segment_return_rate", "customer_settled_lines", "customer_expected_returns",
           "customer_settled_returns", "customer_propensity", "expected_return_rate", "carrier", "handling_hours")


def test_settled_histories_and_shipment_features_use_only_earlier_events(spark):
    """Customer c1 buys XL apparel on Jan 1 and Jan 3 (both returned: on Jan 8, and on Feb 5 after the line's
    28 settling days), then o3 on Feb 10, picked up Feb 11 by sf_express; ``later`` adds what happens after
    that pickup: another order o4 (picked up), returns of o3 and o4, a 1-star review."""
    def features(later: bool):
        orders = [("o1", _dt(1, 1), "c1"), ("o2", _dt(1, 3), "c1"), ("o3", _dt(2, 10), "c1")]
        returns = [("o1-1", _dt(1, 8), "refunded"), ("o2-1", _dt(2, 5), "refunded")]
        reviews, pickups = [], [("o3", _dt(2, 11), "sf_express", "WH-CN-SH")]
        if later:
            orders.append(("o4", _dt(2, 12), "c1"))
            pickups.append(("o4", _dt(2, 12, 20), "yto", "WH-CN-GZ"))
            returns += [("o3-1", _dt(2, 15), "requested"), ("o4-1", _dt(2, 16), "requested")]
            reviews.append(("p1", _dt(2, 14), 1))
        w = _world(spark, orders, returns, reviews, pickups)
        order = _features(w, "order").withColumn("stage", F.lit("order")).withColumn("carrier", F.lit(None)) \
            .withColumn("handling_hours", F.lit(None).cast("double"))
        ship = _features(w, "shipment").withColumn("stage", F.lit("shipment"))
        return order.select(*SETTLED).unionByName(ship.select(*SETTLED)).where(
            "line_id IN ('o1-1', 'o2-1', 'o3-1')")

    schema = T.StructType([T.StructField(c, T.StringType() if c in ("line_id", "stage", "carrier")
                                         else T.DoubleType()) for c in SETTLED])
    # nothing had settled when o1 and o2 were ordered: the segment's rate is its prior (0 + 1) / (0 + 10) and c1's
    # propensity (0 + 3) / (0 + 3). By o3 both of c1's lines have settled and come back: segment (2 + 1) / (2 + 10),
    # c1 expected 0.1 + 0.1 returns and made 2, propensity (2 + 3) / (0.2 + 3). The shipment model sees the
    # same histories one day later (nothing settled in between), the carrier and 24 handling hours.
    o3 = (0.25, 2.0, 0.2, 2.0, 5 / 3.2, 0.25 * 5 / 3.2)
    expected = spark.createDataFrame([
        ("o1-1", "order", 0.1, 0.0, 0.0, 0.0, 1.0, 0.1, None, None),
        ("o2-1", "order", 0.1, 0.0, 0.0, 0.0, 1.0, 0.1, None, None),
        ("o3-1", "order", *o3, None, None),
        ("o3-1", "shipment", *o3, "sf_express", 24.0),
    ], schema)
    for later in (False, True):
        assert_approx_df_equality(features(later), expected, 1e-9, ignore_row_order=True, ignore_nullable=True)


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


# ---------------------------------------------------------------------------------------------------
# train-returns → score-returns end to end: real Delta inputs, the embedded MLflow store, gold return_risk

START = dt.datetime(2024, 1, 1, 10)   # order k is placed START + k days (k = 0..80), UTC
DAYS = 81
OPEN = {76: "paid", 77: "paid", 78: "created", 79: "shipped", 80: "shipped"}   # the rest are completed
CUSTOMERS = ("c1", "c2", "c3")


def _returned(k: int, size: str) -> bool:
    """The constructed truth: extreme-size (XL) lines come back except every fourth day, regular (M) ones on
    every seventh day only. Both lines of an order share product, customer and time, so the product-history
    baseline cannot tell them apart while the size can."""
    return k % 4 != 0 if size == "XL" else k % 7 == 0


def _write_return_inputs(spark, cfg) -> None:
    from tests.report_inputs import silver_frame

    d = Decimal
    orders, lines, rets, scans, reviews = [], [], [], [], []
    for k in range(DAYS):
        oid, at = f"o{k:02d}", START + dt.timedelta(days=k)
        status = OPEN.get(k, "completed")
        cust = CUSTOMERS[k % 3]
        orders.append(dict(order_id=oid, platform_id="tmall", shop_id="sh1", customer_id=cust, currency="CNY",
                           order_status=status, ordered_at=at, order_date=at.date(), updated_at=at,
                           is_presale=False, shipping_fee_amount=d("0.00"), ship_country="CN",
                           ship_province="Zhejiang", ship_city="Hangzhou", event_id=f"e-{oid}",
                           event_type="order_created"))
        if status in ("completed", "shipped"):
            scans.append(dict(event_id=f"scan-{oid}", shipment_id=f"sp-{oid}", order_id=oid, platform_id="tmall",
                              carrier="sf_express", warehouse_id="WH-CN-SH", scan_type="pickup",
                              event_at=at + dt.timedelta(hours=20 + k % 5), event_date=at.date()))
        for n, size in ((1, "XL"), (2, "M")):
            lid = f"{oid}-{n}"
            lines.append(dict(
                order_id=oid, line_id=lid, platform_id="tmall", shop_id="sh1", brand_id="b1", product_id="p1",
                sku_id=f"p1-{size}", customer_id=cust, ship_country="CN", ship_province="Zhejiang",
                currency="CNY", quantity=1, unit_price_amount=d("100.00"), gross_amount=d("100.00"),
                item_discount_amount=d("10.00") if k % 2 else d("0.00"), line_amount=d("100.00"),
                threshold_discount=d("0.00"), coupon_discount=d("0.00"), cross_shop_discount=d("0.00"),
                deposit_inflation=d("0.00"), discount_amount=d("0.00"), shipping_allocated=d("0.00"),
                refunded_amount=d("0.00"), deposit_refund_amount=d("0.00"), settled_amount=d("100.00"),
                settled_unit_price=d("100.00"), settlement_status="settled", is_presale=False,
                order_date=at.date(), settled_at=at, reporting_currency="CNY", gross_amount_rpt=d("100.00"),
                discount_amount_rpt=d("0.00"), refunded_amount_rpt=d("0.00"), settled_amount_rpt=d("100.00")))
            if status == "completed" and _returned(k, size):
                req = at + dt.timedelta(days=5)
                rets.append(dict(return_id=f"r-{lid}", order_id=oid, line_id=lid, platform_id="tmall",
                                 requested_at=req, request_date=req.date(), reason="size_too_large",
                                 status="refunded", quantity=1, updated_at=req))
        if k % 10 == 3:
            rv = at + dt.timedelta(days=6)
            reviews.append(dict(review_id=f"rv-{oid}", platform_id="tmall", order_id=oid, line_id=f"{oid}-1",
                                product_id="p1", customer_id=cust, rating=2 if k % 20 == 3 else 5,
                                language="en", created_at=rv, review_date=rv.date()))
    products = [dict(sku_id=f"p1-{s}", product_id="p1", brand_id="b1", category="apparel", size=s,
                     updated_at=START) for s in ("XL", "M")]
    shops = [dict(shop_id="sh1", platform_id="tmall", brand_id="b1", seller_type="official", country="CN",
                  updated_at=START)]
    silver = {"orders": orders, "products": products, "shops": shops, "returns": rets, "reviews": reviews,
              "tracking_events": scans}
    for name, rows in silver.items():
        tables.overwrite(silver_frame(spark, name, rows), f"{cfg.lake.silver}/{name}")
    tables.overwrite(frame(spark, nullable(ORDER_LINE_SETTLEMENT), lines),
                     gold_path(cfg.lake.gold, "order_line_settlement"))


def test_train_then_score_registers_champions_and_merges_return_risk_for_open_lines(spark, cfg):
    from brandlake.jobs import score_returns, train_returns

    small = dataclasses.replace(cfg.returns, model_name="test_return_risk", label_days=10, max_iter=5, max_depth=2,
                                min_instances_per_node=1)
    cfg = cfg.with_overrides(returns=small, mlflow=dataclasses.replace(cfg.mlflow, tracking_uri=""))
    _write_return_inputs(spark, cfg)
    # scoring before any model is trained: a missing prerequisite (exit 2) naming the command to run first
    with pytest.raises(registry.NoChampionError, match=r"no champion for 'test_return_risk_order' at .*; run "
                       r"`brandlake train-returns` first") as no_model, \
            job_context(cfg, "score-returns", spark=spark) as ctx:
        score_returns.run(ctx, argparse.Namespace(stage="both"))
    assert exit_code_of(no_model.value) == EXIT_USAGE
    assert not tables.exists(spark, gold_path(cfg.lake.gold, "return_risk"))

    with job_context(cfg, "train-returns", spark=spark) as ctx:
        train_returns.run(ctx, argparse.Namespace(stage="both"))
        trained = ctx.summary.details["train_returns"]
    with job_context(cfg, "score-returns", spark=spark) as ctx:
        score_returns.run(ctx, argparse.Namespace(stage="both"))
    out = gold_path(cfg.lake.gold, "return_risk")
    first = tables.read(spark, out).drop("scored_at").toPandas()
    with job_context(cfg, "score-returns", spark=spark) as ctx:   # rerun: the MERGE replaces its own rows
        score_returns.run(ctx, argparse.Namespace(stage="both"))
        rescored = ctx.summary.details["score_returns"]

    # the time split of the labelled period (first order .. last order - 10 days = day 70): the last 30 %
    # of its 70 days, 15 % validation from day 49, 15 % test from day 59.5 until day 70
    split = {"split.valid_from": "2024-02-19 10:00:00", "split.test_from": "2024-02-29 22:00:00",
             "split.label_until": "2024-03-11 10:00:00"}
    client = mlflow.MlflowClient()
    for stage in rr.STAGES:
        name = f"test_return_risk_{stage}"
        t = trained[stage]
        # the size the baseline cannot see separates returns from keeps: the GBT beats it on ROC-AUC and
        # Brier, and with no earlier champion it is promoted
        assert (t["version"], sorted(t["aliases"])) == ("1", ["challenger", "champion"]), stage
        assert str(client.get_model_version_by_alias(name, "champion").version) == "1"
        assert t["levels"]["test"]["roc_auc"] > t["levels"]["baseline_test"]["roc_auc"] + 0.15, stage
        assert t["levels"]["test"]["brier"] < t["levels"]["baseline_test"]["brier"], stage
        # test window: orders of days 60..70, two lines each; XL returned except days 60, 64, 68, M on day 63 and 70
        assert (t["levels"]["data"]["test_lines"], t["levels"]["test"]["positive_rate"]) == (22.0, 10 / 22), stage
        mv = client.get_model_version(name, "1")
        run = client.get_run(mv.run_id)
        assert mv.tags["validation_status"] == "passed"
        assert {k: run.data.tags[k] for k in split} == split
        assert run.data.tags["stage"] == stage
        assert run.data.tags["git.commit"] == tracking.git_commit()
        assert {k: v for k, v in run.data.tags.items() if k.startswith("delta.version.")} == {
            f"delta.version.{n}": "0" for n in ("order_line_settlement", "orders", "products", "shops", "returns",
                                                "reviews", "tracking_events")}
        assert {k: run.data.params[k] for k in ("max_iter", "max_depth", "label_days", "model_name")} == {
            "max_iter": "5", "max_depth": "2", "label_days": "10", "model_name": "test_return_risk"}
        levels = ("valid", "test", "baseline_valid", "baseline_test")
        assert {f"{lv}.{m}" for lv in levels for m in ("roc_auc", "pr_auc", "brier", "top_decile_lift")} | {
            "test.auc_loss", "decision_test.threshold", "decision_test.expected_saving",
            "decision_baseline_test.expected_saving", "data.train_lines"} <= set(run.data.metrics)
        assert run.data.metrics["test.roc_auc"] == pytest.approx(t["levels"]["test"]["roc_auc"])

    # one row per open line: not yet picked up -> the order model, picked up -> the shipment model
    expected = sorted(
        (f"o{k}", f"o{k}-{n}", "shipment" if status == "shipped" else "order",
         f"test_return_risk_{'shipment' if status == 'shipped' else 'order'}/1")
        for k, status in OPEN.items() for n in (1, 2))
    keys = sorted(zip(first["order_id"], first["line_id"], first["stage"], first["model_version"], strict=True))
    assert keys == expected
    assert first["probability_return"].between(0.0, 1.0).all()
    assert (first["is_flagged"] == (first["probability_return"] >= first["threshold"])).all()
    # XL lines score above the M line of the same order
    p = first.set_index("line_id")["probability_return"]
    assert all(p[f"o{k}-1"] > p[f"o{k}-2"] for k in OPEN)
    # the rerun merges the same rows: same keys, same probabilities (only scored_at moves)
    again = tables.read(spark, out).drop("scored_at").toPandas()
    cols = list(first.columns)
    assert_frame_equal(first.sort_values("line_id").reset_index(drop=True)[cols],
                       again.sort_values("line_id").reset_index(drop=True)[cols])
    assert (rescored["lines_scored"], rescored["delta_version"]) == (10, 1)
    assert_gold_schema(spark, cfg.lake.gold, "return_risk")


def test_promotion_needs_the_configured_ranking_gain_over_the_baseline():
    from brandlake.jobs.returns import rules
    from brandlake.models import validation

    from brandlake.config import ReturnsConfig

    strict = rules(ReturnsConfig(min_auc_loss_gain=0.1))    # 1 - ROC-AUC at least 10 % below the baseline's
    baseline = {"test.auc_loss": 0.30, "test.brier": 0.12}
    slightly = validation.validate({"test.auc_loss": 0.28, "test.brier": 0.11}, baseline=baseline, champion=None,
                                   rules=strict)
    clearly = validation.validate({"test.auc_loss": 0.26, "test.brier": 0.11}, baseline=baseline, champion=None,
                                  rules=strict)
    lenient = validation.validate({"test.auc_loss": 0.28, "test.brier": 0.11}, baseline=baseline, champion=None,
                                  rules=rules(ReturnsConfig()))
    assert (slightly.promote, clearly.promote, lenient.promote) == (False, True, True)
