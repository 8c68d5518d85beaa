"""Return-risk model: features of an order line as of a prediction time, the label, the time split,
the Spark ML gradient-boosted classifier, its metrics next to a baseline, and the cost-matrix threshold.

Two prediction times: ``order`` (the order's ``ordered_at``) and ``shipment`` (its first pickup scan).
Every history feature counts only events strictly before the line's prediction time (a range window
ending one second before it), so events added later never change a feature (tests/test_returns.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from brandlake.transforms.columns import require_columns
from brandlake.transforms.settlement import CANCELLED
from pyspark.ml import Pipeline, PipelineModel
from pyspark.ml.classification import GBTClassifier, LogisticRegression
from pyspark.ml.feature import StringIndexer, VectorAssembler, VectorSlicer
from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

STAGES = ("order", "shipment")
CATEGORICAL = ("category", "size", "platform_id", "ship_country", "seller_type")
# known once the parcel is picked up: who carries it, from which warehouse
CATEGORICAL_SHIPMENT = (*CATEGORICAL, "carrier", "warehouse_id")
EXTREME_SIZES = ("XS", "XL", "36", "44")
# prior pseudo-lines for smoothed rates: a key with little history leans on the global rate
PRIOR_LINES = 20.0
# a line's outcome enters the settled histories this long after its order: by then almost every return
# of it has been requested (delivery plus the return window), so "no return yet" means "kept"
SETTLE_DAYS = 28
# a customer's return propensity (returns / returns expected from their lines' segments) is shrunk
# towards 1 by this many expected returns' worth of prior
CUSTOMER_PRIOR = 3.0

NUMERIC_ORDER = (
    "unit_price_rpt", "quantity", "discount_depth", "item_discount_share", "order_discount_share", "is_presale",
    "is_extreme_size", "is_cross_border",
    "product_lines", "product_return_rate", "category_return_rate", "customer_lines", "customer_returns",
    "customer_return_rate", "product_reviews", "product_avg_rating", "product_negative_share",
    "segment_return_rate", "customer_settled_lines", "customer_expected_returns", "customer_settled_returns",
    "customer_propensity", "expected_return_rate",
)
NUMERIC_SHIPMENT = (*NUMERIC_ORDER, "handling_hours")


def numeric_features(stage: str) -> tuple[str, ...]:
    return NUMERIC_SHIPMENT if stage == "shipment" else NUMERIC_ORDER


def categorical_features(stage: str) -> tuple[str, ...]:
    return CATEGORICAL_SHIPMENT if stage == "shipment" else CATEGORICAL


def _smoothed_rate(returns: Column, lines: Column) -> Column:
    """A return rate with a prior of 1 return in 10 lines, so a key with little history is not 0 or 1."""
    return (returns + 1.0) / (lines + 10.0)


def _segment_rate(counts: DataFrame) -> DataFrame:
    """(line_id, segment_return_rate) from settled (n_lines, n_returns) of the line's category × extreme size."""
    return counts.select("line_id", _smoothed_rate(F.col("n_returns"), F.col("n_lines")).alias("segment_return_rate"))


def _epoch(c: Column) -> Column:
    return F.unix_timestamp(c)


def _prior_counts(lines: DataFrame, events: DataFrame, *, key: Sequence[str], names: Sequence[str]) -> DataFrame:
    """For each line (line_id, key..., _t epoch seconds), the sums of ``names`` over ``events`` (key...,
    _t, names...) strictly before _t."""
    k = list(key)
    probe = lines.select("line_id", *k, "_t", *[F.lit(0).cast("double").alias(n) for n in names],
                         F.lit(True).alias("_probe"))
    ev = events.select(F.lit(None).cast("string").alias("line_id"), *k, "_t",
                       *[F.col(n).cast("double") for n in names], F.lit(False).alias("_probe"))
    w = Window.partitionBy(*k).orderBy("_t").rangeBetween(Window.unboundedPreceding, -1)
    u = probe.unionByName(ev).select("line_id", "_probe", *[F.coalesce(F.sum(n).over(w), F.lit(0.0)).alias(n)
                                                             for n in names])
    return u.where("_probe").drop("_probe")


def build_features(
    lines: DataFrame,
    *,
    orders: DataFrame,
    products: DataFrame,
    shops: DataFrame,
    returns: DataFrame,
    reviews: DataFrame,
    pickups: DataFrame,
    stage: str = "order",
) -> DataFrame:
    """One row per (live) order line with its features as of the stage's prediction time ``predict_at``.

    lines: order_line_settlement; orders: silver orders (order_id, ordered_at); products: silver products
    (sku_id, product_id, category, size); shops: (shop_id, seller_type); returns: silver returns
    (line_id, requested_at, status); reviews: silver reviews (product_id, created_at, rating);
    pickups: (order_id, shipped_at) — the first pickup scan of the order's shipment.
    """
    if stage not in STAGES:
        raise ValueError(f"stage must be one of {STAGES}, found {stage!r}")
    require_columns(lines, ("order_id", "line_id", "platform_id", "shop_id", "product_id", "sku_id", "customer_id",
                            "ship_country", "quantity", "unit_price_amount", "gross_amount", "item_discount_amount",
                            "threshold_discount", "coupon_discount", "cross_shop_discount", "gross_amount_rpt",
                            "is_presale", "settlement_status"), what="order_line_settlement")
    require_columns(orders, ("order_id", "ordered_at"), what="orders")
    require_columns(products, ("sku_id", "category", "size"), what="products")
    require_columns(returns, ("line_id", "requested_at", "status"), what="returns")
    require_columns(reviews, ("product_id", "created_at", "rating"), what="reviews")
    require_columns(pickups, ("order_id", "shipped_at", "carrier", "warehouse_id"), what="pickups")
    sku = products.groupBy("sku_id").agg(F.max("category").alias("category"), F.max("size").alias("size"))
    shop = shops.groupBy("shop_id").agg(F.max("seller_type").alias("seller_type"))
    gross = F.col("gross_amount").cast("double")
    per_order = Window.partitionBy("order_id")
    order_disc = F.sum(F.col("threshold_discount") + F.col("coupon_discount") + F.col("cross_shop_discount")).over(
        per_order)
    order_net = F.sum(F.col("gross_amount") - F.col("item_discount_amount")).over(per_order).cast("double")
    base = (lines.where(F.col("settlement_status") != CANCELLED)
            .join(orders.select("order_id", "ordered_at"), "order_id")
            .join(sku, "sku_id", "left").join(shop, "shop_id", "left")
            .join(pickups.groupBy("order_id").agg(F.min("shipped_at").alias("shipped_at"),
                                                  F.min_by("carrier", "shipped_at").alias("carrier"),
                                                  F.min_by("warehouse_id", "shipped_at").alias("warehouse_id")),
                  "order_id", "left"))
    base = base.select(
        "order_id", "line_id", "platform_id", "product_id", "customer_id", "ship_country", "ordered_at", "shipped_at",
        F.coalesce("carrier", F.lit("unknown")).alias("carrier"),
        F.coalesce("warehouse_id", F.lit("unknown")).alias("warehouse_id"),
        F.coalesce("category", F.lit("unknown")).alias("category"), F.coalesce("size", F.lit("unknown")).alias("size"),
        F.coalesce("seller_type", F.lit("unknown")).alias("seller_type"),
        (F.col("gross_amount_rpt").cast("double") / F.greatest(F.col("quantity"), F.lit(1))).alias("unit_price_rpt"),
        F.col("quantity").cast("double").alias("quantity"),
        F.when(gross > 0, F.col("item_discount_amount").cast("double") / gross).otherwise(0.0)
        .alias("item_discount_share"),
        F.when(gross > 0, (F.col("threshold_discount") + F.col("coupon_discount") + F.col("cross_shop_discount"))
               .cast("double") / gross).otherwise(0.0).alias("order_discount_share"),
        F.col("is_presale").cast("double").alias("is_presale"),
        F.col("size").isin(*EXTREME_SIZES).cast("double").alias("is_extreme_size"),
        (F.col("seller_type") == "cross_border").cast("double").alias("is_cross_border"),
        # the order's promotions over the order's value after item discounts (a coupon lands on one line,
        # but the buyer saw the whole order's deal)
        F.when(order_net > 0, order_disc.cast("double") / order_net).otherwise(0.0).alias("order_depth"),
    ).withColumn("discount_depth", F.col("item_discount_share") + F.col("order_depth"))
    at = F.col("ordered_at") if stage == "order" else F.col("shipped_at")
    # histories count every live line (shipped or not); only the lines to predict need a shipment
    history = base.withColumn("segment", F.concat_ws("|", "category", F.col("is_extreme_size").cast("string")))
    base = history.withColumn("predict_at", at)
    if stage == "shipment":
        base = base.where(F.col("shipped_at").isNotNull()).withColumn(
            "handling_hours", (_epoch(F.col("shipped_at")) - _epoch(F.col("ordered_at"))) / 3600.0)
    keys = ("product_id", "category", "segment", "platform_id", "customer_id")
    probe = base.select("line_id", *keys, _epoch(F.col("predict_at")).alias("_t"))

    # history events: each live line at its order time, each return request at its request time
    line_keys = history.select("line_id", *keys, _epoch(F.col("ordered_at")).alias("_t"))
    ret = (returns.where((F.col("status") != "cancelled") & F.col("requested_at").isNotNull())
           .groupBy("line_id").agg(F.min("requested_at").alias("requested_at")))
    ret_ev = ret.join(line_keys, "line_id").select(
        *keys, _epoch(F.col("requested_at")).alias("_t"), F.col("_t").alias("_ordered"),
        F.lit(0).alias("n_lines"), F.lit(1).alias("n_returns"))
    line_ev = line_keys.select(*keys, "_t", F.col("_t").alias("_ordered"),
                               F.lit(1).alias("n_lines"), F.lit(0).alias("n_returns"))
    ev = line_ev.unionByName(ret_ev)
    names = ("n_lines", "n_returns")
    prod = _prior_counts(probe, ev, key=("product_id",), names=names)
    cat = _prior_counts(probe, ev, key=("category",), names=names)
    cust = _prior_counts(probe, ev.where(F.col("customer_id").isNotNull()), key=("platform_id", "customer_id"),
                         names=names)
    # settled histories: a line counts SETTLE_DAYS after its order (when its return would mostly have been
    # requested) and its return at max(request, that moment), so a recent line not returned *yet* does not
    # pass for a kept one
    settle = F.col("_ordered") + SETTLE_DAYS * 86400
    settled = ev.withColumn("_t", F.greatest(F.col("_t"), settle))
    seg = _prior_counts(probe, settled, key=("segment",), names=names)
    seg_at_order = _segment_rate(_prior_counts(line_keys, settled, key=("segment",), names=names))
    # the customer's settled lines next to what their segments' rates (as of each line's order) expected:
    # their return propensity is returns / expected returns, shrunk towards 1 with CUSTOMER_PRIOR lines' worth
    exp_ev = (line_keys.join(seg_at_order, "line_id").where(F.col("customer_id").isNotNull())
              .select("platform_id", "customer_id", (F.col("_t") + SETTLE_DAYS * 86400).alias("_t"),
                      F.lit(1).alias("n_settled"), F.col("segment_return_rate").alias("n_expected"),
                      F.lit(0).alias("n_returned")))
    ret_settled = (settled.where(F.col("customer_id").isNotNull() & (F.col("n_returns") == 1))
                   .select("platform_id", "customer_id", "_t", F.lit(0).alias("n_settled"),
                           F.lit(0.0).alias("n_expected"), F.lit(1).alias("n_returned")))
    cust_exp = _prior_counts(probe.where(F.col("customer_id").isNotNull()), exp_ev.unionByName(ret_settled),
                             key=("platform_id", "customer_id"), names=("n_settled", "n_expected", "n_returned"))
    rv = reviews.where(F.col("rating").isNotNull()).select(
        "product_id", _epoch(F.col("created_at")).alias("_t"), F.lit(1).alias("n_reviews"),
        F.col("rating").alias("sum_rating"), (F.col("rating") <= 2).cast("int").alias("n_negative"))
    prv = _prior_counts(probe, rv, key=("product_id",), names=("n_reviews", "sum_rating", "n_negative"))

    out = (base.join(prod.select("line_id", F.col("n_lines").alias("product_lines"),
                                 F.col("n_returns").alias("product_returns")), "line_id")
           .join(cat.select("line_id", F.col("n_lines").alias("category_lines"),
                            F.col("n_returns").alias("category_returns")), "line_id")
           .join(_segment_rate(seg), "line_id")
           .join(cust.select("line_id", F.col("n_lines").alias("customer_lines"),
                             F.col("n_returns").alias("customer_returns")), "line_id", "left")
           .join(cust_exp.select("line_id", F.col("n_settled").alias("customer_settled_lines"),
                                 F.col("n_expected").alias("customer_expected_returns"),
                                 F.col("n_returned").alias("customer_settled_returns")), "line_id", "left")
           .join(prv.select("line_id", F.col("n_reviews").alias("product_reviews"), "sum_rating", "n_negative"),
                 "line_id"))
    out = out.fillna(0.0, subset=["customer_settled_lines", "customer_expected_returns", "customer_settled_returns"])
    out = (out.withColumn("customer_propensity", (F.col("customer_settled_returns") + CUSTOMER_PRIOR)
                          / (F.col("customer_expected_returns") + CUSTOMER_PRIOR))
           .withColumn("expected_return_rate", F.col("segment_return_rate") * F.col("customer_propensity")))
    out = out.fillna(0.0, subset=["customer_lines", "customer_returns"])
    cat_rate = _smoothed_rate(F.col("category_returns"), F.col("category_lines"))
    out = (out.withColumn("category_return_rate", cat_rate)
           .withColumn("product_return_rate", (F.col("product_returns") + PRIOR_LINES * cat_rate)
                       / (F.col("product_lines") + PRIOR_LINES))
           .withColumn("customer_return_rate", (F.col("customer_returns") + 2.0 * cat_rate)
                       / (F.col("customer_lines") + 2.0))
           .withColumn("product_avg_rating", F.when(F.col("product_reviews") > 0,
                                                    F.col("sum_rating") / F.col("product_reviews")))
           .withColumn("product_negative_share", F.when(F.col("product_reviews") > 0,
                                                        F.col("n_negative") / F.col("product_reviews")))
           .fillna(-1.0, subset=["product_avg_rating", "product_negative_share"]))
    keep = ("order_id", "line_id", "product_id", "customer_id", "ordered_at", "predict_at", *categorical_features(stage),
            *numeric_features(stage))
    # GBT rejects NaN: a line whose SKU or reporting-currency amount is missing gets 0 for that feature
    return out.select(*keep).fillna(0.0, subset=list(numeric_features(stage)))


def with_label(features: DataFrame, *, returns: DataFrame) -> DataFrame:
    """Adds ``label`` (1.0 when the line got a return request that was not cancelled, else 0.0)."""
    r = returns.where(F.col("status") != "cancelled").select("line_id").distinct().withColumn("label", F.lit(1.0))
    return features.join(r, "line_id", "left").fillna(0.0, subset=["label"])


@dataclass(frozen=True)
class SplitDates:
    valid_from: object   # datetime: lines ordered at or after go to validation
    test_from: object    # ... to test
    label_until: object  # lines ordered after this are too recent for their return to have been seen


def split_dates(min_at, max_at, *, valid_fraction: float, test_fraction: float, label_days: int) -> SplitDates:
    """Time split of the labelled period [min_at, max_at − label_days]: the last fractions of it."""
    import datetime as dt

    label_until = max_at - dt.timedelta(days=label_days)
    span = label_until - min_at
    return SplitDates(valid_from=label_until - span * (valid_fraction + test_fraction),
                      test_from=label_until - span * test_fraction, label_until=label_until)


def gbt_pipeline(stage: str, *, max_iter: int, max_depth: int, min_instances_per_node: int = 1,
                 seed: int = 7) -> Pipeline:
    """StringIndexers for the categoricals, a VectorAssembler, and a GBTClassifier on ``label`` (its outputs
    are ``gbt_*``: the calibration step, ``with_calibration``, writes the final ``probability``)."""
    cats = categorical_features(stage)
    idx = [StringIndexer(inputCol=c, outputCol=f"{c}_idx", handleInvalid="keep") for c in cats]
    vec = VectorAssembler(inputCols=[f"{c}_idx" for c in cats] + list(numeric_features(stage)),
                          outputCol="features", handleInvalid="keep")
    gbt = GBTClassifier(labelCol="label", featuresCol="features", maxIter=max_iter, maxDepth=max_depth,
                        minInstancesPerNode=min_instances_per_node, maxBins=64, stepSize=0.1, subsamplingRate=0.8,
                        seed=seed, predictionCol="gbt_prediction")
    gbt.setRawPredictionCol("gbt_raw").setProbabilityCol("gbt_probability")
    return Pipeline(stages=[*idx, vec, gbt])


def with_calibration(model: PipelineModel, valid: DataFrame) -> PipelineModel:
    """``model`` (a fitted ``gbt_pipeline``) followed by Platt scaling fitted on the validation lines: a
    logistic regression of ``label`` on the GBT's margin. A few boosting rounds leave the GBT's probabilities
    squeezed towards 0.5; the calibrated ones match observed rates (Brier), the ranking (ROC-AUC) stays."""
    margin = VectorSlicer(inputCol="gbt_raw", outputCol="gbt_margin", indices=[1])
    platt = LogisticRegression(featuresCol="gbt_margin", labelCol="label", regParam=0.0, maxIter=100)
    fitted = platt.fit(margin.transform(model.transform(valid)))
    return PipelineModel(stages=[*model.stages, margin, fitted])


def with_probability(scored: DataFrame) -> DataFrame:
    """The positive-class probability of a Spark ML classifier's output as a double column."""
    from pyspark.ml.functions import vector_to_array

    return scored.withColumn("probability_return", vector_to_array("probability")[1])


# ---------------------------------------------------------------------------------------------------
# Metrics (numpy; the same function for the model and the baseline)


def roc_auc(y: np.ndarray, p: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y, p)) if len(np.unique(y)) == 2 else float("nan")


def classification_metrics(y: Sequence[float], p: Sequence[float]) -> dict[str, float]:
    """ROC-AUC, PR-AUC (average precision), Brier score, top-decile lift, positive rate, n."""
    from sklearn.metrics import average_precision_score, brier_score_loss

    y, p = np.asarray(y, dtype=float), np.asarray(p, dtype=float)
    both = len(np.unique(y)) == 2
    order = np.argsort(-p, kind="stable")
    top = order[: max(1, int(np.ceil(len(p) * 0.1)))]
    rate = y.mean() if len(y) else float("nan")
    return {
        "roc_auc": roc_auc(y, p),
        "pr_auc": float(average_precision_score(y, p)) if both else float("nan"),
        "brier": float(brier_score_loss(y, p)) if len(y) else float("nan"),
        "top_decile_lift": float(y[top].mean() / rate) if len(y) and rate > 0 else float("nan"),
        "positive_rate": float(rate),
        "n": float(len(y)),
    }


def calibration_table(y: Sequence[float], p: Sequence[float], *, bins: int = 10) -> list[dict[str, float]]:
    """Deciles of predicted probability: n, mean predicted, observed return rate."""
    y, p = np.asarray(y, dtype=float), np.asarray(p, dtype=float)
    order = np.argsort(p, kind="stable")
    rows = []
    for i, part in enumerate(np.array_split(order, bins)):
        if len(part):
            rows.append({"bin": i + 1, "n": int(len(part)), "mean_predicted": float(p[part].mean()),
                         "observed_rate": float(y[part].mean())})
    return rows


def cost_threshold(*, cost_of_return: float, cost_of_intervention: float, intervention_effect: float) -> float:
    """Flag a line when its expected saving p × effect × cost_of_return exceeds the intervention's cost."""
    if cost_of_return <= 0 or intervention_effect <= 0:
        raise ValueError("cost_of_return and intervention_effect must be positive")
    return min(1.0, cost_of_intervention / (intervention_effect * cost_of_return))


def expected_saving(y: Sequence[float], p: Sequence[float], *, threshold: float, cost_of_return: float,
                    cost_of_intervention: float, intervention_effect: float) -> dict[str, float]:
    """Realised saving on labelled lines when every line with p ≥ threshold is acted on: prevented
    returns × cost − interventions × their cost."""
    y, p = np.asarray(y, dtype=float), np.asarray(p, dtype=float)
    flagged = p >= threshold
    saving = float((y[flagged] * intervention_effect * cost_of_return).sum() - flagged.sum() * cost_of_intervention)
    return {"threshold": threshold, "flagged": float(flagged.sum()), "flagged_share": float(flagged.mean()),
            "expected_saving": saving, "saving_per_line": saving / len(y) if len(y) else float("nan")}
