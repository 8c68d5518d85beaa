"""`brandlake train-returns` and `brandlake score-returns`: the return-risk models.

train-returns: for each prediction time (``order``, ``shipment``) build features as of that time
(models/returns.py), split by order time into train / validation / test, fit a Spark ML GBT, measure it
next to the product-history baseline, log everything to one MLflow run per model, register it and
promote it to ``champion`` when it beats the baseline and the current champion on the same test lines.

score-returns: score open order lines (orders created, paid or shipped, no return request yet) with
the champions — the shipment model once the parcel was picked up, the order model before — and MERGE
gold `return_risk` on (order_id, line_id).
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging

import mlflow
from brandlake.models import registry, tracking, validation
from brandlake.models import returns as rr
from brandlake.transforms.gold_tables import gold_path
from brandlake.transforms.returns import RETURN_RISK
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from brandlake import tables
from brandlake.runtime import JobContext

log = logging.getLogger(__name__)

OPEN_STATUSES = ("created", "paid", "shipped")


def rules(c) -> tuple[validation.Rule, ...]:
    """Promotion rules: ranking (1 − ROC-AUC, by ``returns.min_auc_loss_gain`` at least) and calibration (Brier)
    both no worse than the baseline's and the current champion's on the same test lines."""
    gain = c.min_auc_loss_gain
    return (validation.Rule("test.auc_loss", min_gain_vs_baseline=gain, min_gain_vs_champion=gain),
            validation.Rule("test.brier"))


def model_name(ctx: JobContext, stage: str) -> str:
    return f"{ctx.cfg.returns.model_name}_{stage}"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--stage", choices=(*rr.STAGES, "both"), default="both",
                   help="prediction time: at order, at shipment, or both models (default)")


def read_inputs(ctx: JobContext) -> dict[str, DataFrame]:
    spark, lake = ctx.spark, ctx.cfg.lake
    paths = {n: f"{lake.silver}/{n}" for n in ("orders", "products", "shops", "returns", "reviews", "tracking_events")}
    inputs = tables.read_required(spark, {**paths, "order_line_settlement": gold_path(lake.gold, "order_line_settlement")},
                                  command=ctx.summary.command, hint="run `brandlake silver` and `brandlake gold` first")
    return {
        "lines": inputs["order_line_settlement"],
        "orders": inputs["orders"], "products": inputs["products"], "shops": inputs["shops"],
        "returns": inputs["returns"], "reviews": inputs["reviews"],
        "pickups": inputs["tracking_events"].where(F.col("scan_type") == "pickup")
        .select("order_id", F.col("event_at").alias("shipped_at"), "carrier", "warehouse_id"),
    }


def features_for(inputs: dict[str, DataFrame], stage: str) -> DataFrame:
    return rr.build_features(inputs["lines"], orders=inputs["orders"], products=inputs["products"],
                             shops=inputs["shops"], returns=inputs["returns"], reviews=inputs["reviews"],
                             pickups=inputs["pickups"], stage=stage)


def _collect(scored: DataFrame) -> tuple[list[float], list[float], list[float]]:
    rows = rr.with_probability(scored).select("label", "probability_return", "product_return_rate").collect()
    return [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows]


def train_stage(ctx: JobContext, inputs: dict[str, DataFrame], stage: str,
                training_tables: list[tracking.TrainingTable]) -> dict:
    c = ctx.cfg.returns
    data = rr.with_label(features_for(inputs, stage), returns=inputs["returns"]).persist()
    lo, hi = data.agg(F.min("ordered_at"), F.max("ordered_at")).first()
    if lo is None:
        raise ValueError("train-returns: no order lines to learn from; run the pipeline first")
    d = rr.split_dates(lo, hi, valid_fraction=c.valid_fraction, test_fraction=c.test_fraction, label_days=c.label_days)
    at = F.col("ordered_at")
    train = data.where(at < d.valid_from)
    valid = data.where((at >= d.valid_from) & (at < d.test_from))
    test = data.where((at >= d.test_from) & (at <= d.label_until))
    name = model_name(ctx, stage)
    with tracking.training_run(ctx.cfg, run_name=f"train-returns-{stage}", params=c, training_tables=training_tables,
                               tags={"stage": stage, "split.valid_from": str(d.valid_from),
                                     "split.test_from": str(d.test_from), "split.label_until": str(d.label_until)}):
        model = rr.with_calibration(rr.gbt_pipeline(stage, max_iter=c.max_iter, max_depth=c.max_depth,
                                                    min_instances_per_node=c.min_instances_per_node).fit(train),
                                    valid)
        levels, calib = {}, {}
        for split, df in (("valid", valid), ("test", test)):
            y, p, base = _collect(model.transform(df))
            levels[split] = rr.classification_metrics(y, p)
            levels[f"baseline_{split}"] = rr.classification_metrics(y, base)
            calib[split] = rr.calibration_table(y, p)
        levels["test"]["auc_loss"] = 1 - levels["test"]["roc_auc"]
        levels["baseline_test"]["auc_loss"] = 1 - levels["baseline_test"]["roc_auc"]
        threshold = rr.cost_threshold(cost_of_return=c.cost_of_return, cost_of_intervention=c.cost_of_intervention,
                                      intervention_effect=c.intervention_effect)
        costs = dict(cost_of_return=c.cost_of_return, cost_of_intervention=c.cost_of_intervention,
                     intervention_effect=c.intervention_effect)
        levels["decision_test"] = rr.expected_saving(y, p, threshold=threshold, **costs)
        levels["decision_baseline_test"] = rr.expected_saving(y, base, threshold=threshold, **costs)
        levels["data"] = {"train_lines": float(train.count()), "valid_lines": float(valid.count()),
                          "test_lines": float(len(y))}
        tracking.log_level_metrics(levels)
        mlflow.log_dict(calib, "calibration.json")
        # the model's own input columns (the scoring frame may carry more: ids, times)
        example = test.select(*rr.categorical_features(stage), *rr.numeric_features(stage)).limit(5).toPandas()
        info = tracking.log_spark_model(model, registered_model_name=name, input_example=example)
        champion = _champion_test_metrics(name, test)
        decision = validation.validate(
            {"test.auc_loss": levels["test"]["auc_loss"], "test.brier": levels["test"]["brier"]},
            baseline={"test.auc_loss": levels["baseline_test"]["auc_loss"],
                      "test.brier": levels["baseline_test"]["brier"]},
            champion=champion, rules=rules(c))
        promotion = registry.promote(info, name, decision)
    data.unpersist()
    log.info("train-returns %s: test ROC-AUC %.4f (baseline %.4f), Brier %.4f; %s", stage, levels["test"]["roc_auc"],
             levels["baseline_test"]["roc_auc"], levels["test"]["brier"], decision.summary())
    return {"levels": levels, "calibration_test": calib["test"], "version": promotion.version,
            "aliases": list(promotion.aliases), "split": {k: str(v) for k, v in vars(d).items()}}


def _champion_test_metrics(name: str, test: DataFrame) -> dict | None:
    """The current champion re-scored on these test lines (None when there is none yet)."""
    mv = registry.alias_version(name, registry.CHAMPION)
    if mv is None:
        return None
    champ = mlflow.spark.load_model(registry.model_uri(name, registry.CHAMPION))
    y, p, _ = _collect(champ.transform(test))
    m = rr.classification_metrics(y, p)
    return {"test.auc_loss": 1 - m["roc_auc"], "test.brier": m["brier"]}


def train(ctx: JobContext, args: argparse.Namespace) -> None:
    inputs = read_inputs(ctx)
    spark, lake = ctx.spark, ctx.cfg.lake
    used = [tracking.TrainingTable(n, p, tables.latest_version(spark, p)) for n, p in [
        ("order_line_settlement", gold_path(lake.gold, "order_line_settlement")),
        *[(n, f"{lake.silver}/{n}") for n in ("orders", "products", "shops", "returns", "reviews",
                                             "tracking_events")]]]
    stages = rr.STAGES if args.stage == "both" else (args.stage,)
    ctx.summary.details["train_returns"] = {s: train_stage(ctx, inputs, s, used) for s in stages}


def score(ctx: JobContext, args: argparse.Namespace) -> None:
    spark, cfg, c = ctx.spark, ctx.cfg, ctx.cfg.returns
    tracking.configure(cfg)
    inputs = read_inputs(ctx)
    open_orders = inputs["orders"].where(F.col("order_status").isin(*OPEN_STATUSES)).select("order_id")
    returned = inputs["returns"].select("line_id").distinct()
    threshold = rr.cost_threshold(cost_of_return=c.cost_of_return, cost_of_intervention=c.cost_of_intervention,
                                  intervention_effect=c.intervention_effect)
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    stages = rr.STAGES if args.stage == "both" else (args.stage,)
    parts = []
    for stage in stages:
        name = model_name(ctx, stage)
        mv = registry.alias_version(name, registry.CHAMPION)
        if mv is None:
            raise registry.NoChampionError(f"no champion for {name!r} at {mlflow.get_registry_uri()}; run "
                                           "`brandlake train-returns` first")
        model = mlflow.spark.load_model(registry.model_uri(name, registry.CHAMPION))
        feats = (features_for(inputs, stage).join(open_orders, "order_id", "left_semi")
                 .join(returned, "line_id", "left_anti"))
        if stage == "order" and "shipment" in stages:
            feats = feats.where(F.col("predict_at").isNotNull()).join(
                inputs["pickups"].select("order_id").distinct(), "order_id", "left_anti")
        scored = rr.with_probability(model.transform(feats)).select(
            "order_id", "line_id", "product_id", "customer_id", F.lit(stage).alias("stage"), "predict_at",
            "probability_return", F.lit(threshold).alias("threshold"),
            (F.col("probability_return") >= threshold).alias("is_flagged"),
            F.lit(f"{name}/{mv.version}").alias("model_version"), F.lit(now).cast("timestamp").alias("scored_at"))
        parts.append(scored)
    out = parts[0]
    for p in parts[1:]:
        out = out.unionByName(p)
    out = out.select(*[F.col(f.name).cast(f.dataType) for f in RETURN_RISK.fields]).persist()
    scored_lines = out.count()
    path = gold_path(cfg.lake.gold, "return_risk")
    tables.merge_upsert(out, path, keys=("order_id", "line_id"))
    out.unpersist()
    version, _, _ = tables.commit_metrics(spark, path)
    ctx.summary.add_counts("return_risk", rows_written=scored_lines)
    ctx.summary.details["score_returns"] = {"threshold": threshold, "delta_version": version,
                                            "lines_scored": scored_lines}
    log.info("score-returns: merged into %s (version %d), threshold %.3f", path, version, threshold)
