"""`brandlake clv`: gold `order_line_settlement` + `identity_accounts` → brand-scoped gold
`customer_lifetime_value` (BG/NBD + Gamma–Gamma per brand, models/clv.py), in one MLflow run.

The run backtests first: every brand's models are fitted on purchases up to ``as_of − clv.holdout_days``
and predict each person's purchases and spend in the holdout window, next to a constant-rate baseline on
the same people (per-decile tables and MAE logged; thresholds in ``RULES``). Then the models are refitted
on everything up to ``as_of``, registered, and promoted to ``champion`` when the backtest beat the baseline
and the current champion's recipe on the same split. The table is scored by the champion (this run's model
once promoted; this run's challenger, named so in ``model_version``, while the registry has no champion)
and replaced as a whole, partitioned by brand_id.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
from dataclasses import asdict

import mlflow
import pandas as pd
from brandlake.models import clv as cm
from brandlake.models import registry, tracking, validation
from brandlake.transforms import clv as ct
from brandlake.transforms import customers as cu
from brandlake.transforms.gold_tables import gold_path
from pyspark.sql import functions as F

from brandlake import tables
from brandlake.runtime import JobContext

log = logging.getLogger(__name__)

TABLE = "customer_lifetime_value"
RECIPE = ("penalizer", "spend_penalizer", "min_repeat_buyers")   # what the champion's backtest is refitted with


def rules(min_gain_vs_baseline: float) -> tuple[validation.Rule, ...]:
    """Holdout RMSE of purchases and of spend per person, and the decile error of purchases (models/clv.py
    DECISION_METRICS): not worse than the champion's recipe on the same split, and at least
    ``min_gain_vs_baseline`` better than the constant-rate baseline."""
    return tuple(validation.Rule(f"holdout.{m}", min_gain_vs_baseline=min_gain_vs_baseline)
                 for m in cm.DECISION_METRICS)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--as-of", type=dt.date.fromisoformat, default=None,
                   help="scoring date (YYYY-MM-DD): purchases up to it count (default: latest settled order date)")


def _pandas(df) -> pd.DataFrame:
    return ct.to_model_frame(df).toPandas()


def champion_on_same_backtest(name: str, calibration: pd.DataFrame, c, bt: cm.Backtest) -> dict | None:
    """The champion's recipe (penalties, minimum repeat buyers from its run's params) refitted on THIS
    calibration split and measured on THIS holdout; None when there is no champion."""
    found = registry.champion_metrics(name)
    if found is None:
        return None
    mv, _ = found
    params = mlflow.MlflowClient().get_run(mv.run_id).data.params if mv.run_id else {}
    recipe = {k: params.get(f"clv.{k}") for k in RECIPE}
    if all(v is not None and str(getattr(c, k)) == v for k, v in recipe.items()):
        return cm.decision_metrics(bt)    # the same recipe on the same split gives the same backtest
    if any(v is None for v in recipe.values()):
        log.warning("clv: champion %s/%s has no recipe params %s; compared by its own logged backtest",
                    name, mv.version, [k for k, v in recipe.items() if v is None])
        return {k: v for k, v in found[1].items() if k in cm.decision_metrics(bt)}
    models = cm.fit_brands(calibration, penalizer=float(recipe["penalizer"]),
                           spend_penalizer=float(recipe["spend_penalizer"]),
                           min_repeat_buyers=int(recipe["min_repeat_buyers"]))
    return cm.decision_metrics(cm.backtest(calibration, models, holdout_days=c.holdout_days))


def run(ctx: JobContext, args: argparse.Namespace) -> None:
    spark, cfg, c = ctx.spark, ctx.cfg, ctx.cfg.clv
    paths = {"order_line_settlement": gold_path(cfg.lake.gold, "order_line_settlement"),
             "identity_accounts": gold_path(cfg.lake.gold, "identity_accounts"),
             "products": f"{cfg.lake.silver}/products", "returns": f"{cfg.lake.silver}/returns"}
    versions = tables.required_versions(
        spark, paths, command="clv", hint="run `brandlake silver`, `brandlake gold` and `brandlake identity` first")
    inputs = {n: tables.read(spark, p, version=versions[n]) for n, p in paths.items()}
    used = [tracking.TrainingTable(n, p, versions[n]) for n, p in paths.items()]
    settlement = inputs["order_line_settlement"]
    as_of = args.as_of or settlement.agg(F.max("order_date")).first()[0] or dt.date.today()
    cutoff = as_of - dt.timedelta(days=c.holdout_days)

    purchases = cu.to_purchase_lines(settlement, accounts=inputs["identity_accounts"], products=inputs["products"],
                                     returns=inputs["returns"], as_of=as_of)
    days = ct.to_purchase_days(purchases).persist()
    with ctx.step(TABLE, "summaries"):
        calibration = _pandas(ct.to_calibration_holdout(days, cutoff=cutoff, holdout_end=as_of))
        summary_sdf = ct.to_rfm_summary(days, cutoff=as_of).persist()
        summary = _pandas(summary_sdf)
    days.unpersist()
    if summary.empty:
        raise ValueError(f"clv: no purchase day of a known person up to {as_of} in {paths['order_line_settlement']}; "
                         "run `brandlake identity` after `brandlake gold`")
    log.info("clv: as of %s, cut-off %s: %d brand × person rows to score, %d in the calibration split",
             as_of, cutoff, len(summary), len(calibration))

    fit = dict(penalizer=c.penalizer, spend_penalizer=c.spend_penalizer, min_repeat_buyers=c.min_repeat_buyers)
    with tracking.training_run(cfg, run_name="clv", params=c, params_prefix="clv", training_tables=used,
                               tags={"as_of": as_of.isoformat(), "split.cutoff": cutoff.isoformat(),
                                     "split.holdout_end": as_of.isoformat()}) as mlrun:
        with ctx.step(TABLE, "backtest"):
            calibrated = cm.fit_brands(calibration, **fit)
            bt = cm.backtest(calibration, calibrated, holdout_days=c.holdout_days)
        tracking.log_level_metrics({**bt.metrics, "data": {"calibration_people": float(len(calibration)),
                                                           "scored_people": float(len(summary))}})
        mlflow.log_text(bt.deciles.to_csv(index=False), "holdout_deciles.csv")
        mlflow.log_text(bt.baseline_deciles.to_csv(index=False), "baseline_holdout_deciles.csv")
        mlflow.log_text(bt.per_brand.to_csv(index=False), "holdout_per_brand.csv")
        with ctx.step(TABLE, "fit"):
            final = cm.fit_brands(summary, **fit)
        mlflow.log_text(json.dumps({"calibration": [asdict(m) for m in calibrated.values()],
                                    "final": [asdict(m) for m in final.values()]}, indent=2), "brands.json")
        model = cm.ClvModel(final, horizon_days=c.horizon_days)
        example = cm.model_input(summary.head(5))
        info = tracking.log_pyfunc_model(model, name="model", input_example=example,
                                         output_example=model.predict(None, example),
                                         registered_model_name=c.model_name, pip_requirements=cm.requirements())
        decision = validation.validate(
            cm.decision_metrics(bt), baseline=cm.decision_metrics(bt, "baseline_holdout"),
            champion=champion_on_same_backtest(c.model_name, calibration, c, bt), rules=rules(c.min_gain_vs_baseline))
        promotion = registry.promote(info, c.model_name, decision)

    if registry.CHAMPION in promotion.aliases or registry.alias_version(c.model_name, registry.CHAMPION) is None:
        scorer, version = model, f"{c.model_name}/{promotion.version}@{promotion.aliases[-1]}"
    else:
        loaded, mv = registry.load_alias(c.model_name, registry.CHAMPION)
        scorer, version = loaded.unwrap_python_model(), f"{c.model_name}/{mv.version}@{registry.CHAMPION}"
    predictions = spark.createDataFrame(scorer.predict(None, cm.model_input(summary)), ct.CLV_PREDICTIONS)
    out = ct.to_customer_lifetime_value(summary_sdf, predictions, model_version=version)
    with ctx.step(TABLE, "write"):
        written = tables.overwrite_counted(out, gold_path(cfg.lake.gold, TABLE), partition_by=("brand_id",))
    summary_sdf.unpersist()
    ctx.summary.add_counts(TABLE, rows_written=written)
    statuses = pd.Series([m.status for m in final.values()]).value_counts().to_dict()
    ctx.summary.details["clv"] = {
        "as_of": as_of.isoformat(), "cutoff": cutoff.isoformat(), "rows": written, "scored_by": version,
        "brand_status": {str(k): int(v) for k, v in statuses.items()},
        "holdout": {lv: {k: round(v, 4) for k, v in ms.items()} for lv, ms in bt.metrics.items()},
        "model_version": promotion.version, "aliases": list(promotion.aliases), "decision": decision.summary(),
        "mlflow_run_id": mlrun.info.run_id,
    }
    m, b = bt.metrics["holdout"], bt.metrics["baseline_holdout"]
    log.info("clv: %d rows scored by %s; holdout purchases RMSE %.4f (baseline %.4f), MAE %.4f (baseline %.4f), "
             "spend RMSE %.2f (baseline %.2f); %s", written, version, m["purchases_rmse"], b["purchases_rmse"],
             m["purchases_mae"], b["purchases_mae"], m["spend_rmse"], b["spend_rmse"], decision.summary())
