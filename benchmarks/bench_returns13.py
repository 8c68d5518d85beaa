"""Issue 13 figures on a generated lake: the text models, the return-risk models next to the generator's
own best achievable ROC-AUC (from the true probabilities, from their order-time part, and from what order
time can know of the person: ``posterior_propensity``), the knowledge base on a time split, and the lifecycle tables.

    BRANDLAKE_PII_KEY=bench python benchmarks/bench_returns13.py --lake-root ./lake_bench [--scale 0.02]
        [--returns-only]

Runs `brandlake pipeline` first when the lake has no gold yet, then train-text, signals, lifecycle,
train-returns, score-returns and build-kb through the CLI (one process), then measures. With
``--returns-only``, only train-returns and score-returns run and only the return-risk figures are measured.
Prints JSON and writes benchmarks/out/returns13.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

# run as a script: the repository root on the path, so `benchmarks.bench_kb` imports
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.oracle_returns_auc import delay_part, segment_part  # noqa: E402


def _cli(args: list[str]) -> float:
    from brandlake.cli import main

    t0 = time.time()
    rc = main(args)
    if rc != 0:
        raise SystemExit(f"brandlake {' '.join(args)} exited {rc}")
    return round(time.time() - t0, 1)


def posterior_propensity(truth: str, *, settle_days: int = 28) -> pd.DataFrame:
    """Per truth order line (``line_id``, ``post``): the person's return propensity as far as it can be known
    when the line is ordered: its posterior mean given the outcomes of the person's earlier lines ordered at
    least ``settle_days`` before (returned or not, each with its own category, size, discount and delay
    part), under the generator's prior (synthetic/people.py: uniform 0.6–1.4, times 2.5 for 5 % of people)."""
    o = pd.read_parquet(f"{truth}/orders", columns=["order_id", "ordered_at"])
    ln = pd.read_parquet(f"{truth}/order_lines", columns=[
        "line_id", "order_id", "person_id", "category", "is_extreme_size", "discount_depth", "delay_days",
        "is_returned"]).merge(o, on="order_id").sort_values("ordered_at")
    part = (segment_part(ln, unknown_category=0.0) + delay_part(ln["delay_days"].fillna(0.0))).to_numpy()
    grid = np.linspace(0.6, 1.4, 41)
    props = np.concatenate([grid, grid * 2.5])
    log_prior = np.log(np.concatenate([np.full(41, 0.95 / 41), np.full(41, 0.05 / 41)]))
    at = ln["ordered_at"].to_numpy().astype("datetime64[s]").astype(np.int64)
    y = ln["is_returned"].to_numpy(bool)
    post = np.empty(len(ln))
    for idx in ln.groupby("person_id", sort=False).indices.values():   # positions, in order time
        p = np.minimum(part[idx, None] * props[None, :], 0.85)
        loglik = np.where(y[idx, None], np.log(p), np.log1p(-p))        # one row per earlier line
        for i in idx:
            known = at[idx] < at[i] - settle_days * 86400
            lp = log_prior + loglik[known].sum(axis=0)
            w = np.exp(lp - lp.max())
            post[i] = (w * props).sum() / w.sum()
    return pd.DataFrame({"line_id": ln["line_id"].to_numpy(), "post": post})


def oracle_auc(spark, truth: str, lake, cfg) -> dict:
    """ROC-AUC of the generator's true return probabilities on the same test lines as the model, and of
    the part of it known at order time (without the delivery-delay term; the person's propensity stays)."""
    from brandlake.models import registry, tracking
    from brandlake.models import returns as rr
    from pyspark.sql import functions as F

    tracking.configure(cfg)
    out = {}
    known = posterior_propensity(truth)
    t = spark.read.parquet(f"{truth}/order_lines").select(
        "line_id", "return_probability", "delay_days", "is_returned", "category", "is_extreme_size", "discount_depth")
    for stage in rr.STAGES:
        name = f"{cfg.returns.model_name}_{stage}"
        mv = registry.alias_version(name, registry.CHAMPION) or registry.alias_version(name, registry.CHALLENGER)
        run = mlflow_run(mv.run_id)
        test_from, until = run.data.tags["split.test_from"], run.data.tags["split.label_until"]
        from brandlake.jobs.returns import features_for, read_inputs

        from brandlake.runtime import JobContext
        from brandlake.summary import RunSummary

        ctx = JobContext(cfg=cfg, spark=spark, summary=RunSummary(run_id="bench", command="bench", env=cfg.env))
        inputs = read_inputs(ctx)
        feats = rr.with_label(features_for(inputs, stage), returns=inputs["returns"]).where(
            (F.col("ordered_at") >= F.lit(test_from).cast("timestamp"))
            & (F.col("ordered_at") <= F.lit(until).cast("timestamp")))
        import mlflow

        model = mlflow.spark.load_model(f"models:/{name}/{mv.version}")
        scored = rr.with_probability(model.transform(feats)).select("line_id", "label", "probability_return")
        pdf = scored.join(t, "line_id").toPandas().merge(known, on="line_id", how="left")
        raw, delay = segment_part(pdf), delay_part(pdf["delay_days"])
        propensity = pdf["return_probability"] / (raw + delay)   # exact unless the 0.85 cap bit
        order_time = np.minimum(raw * propensity, 0.85)
        # what order time can know: the propensity replaced by its posterior mean from the person's history
        knowable = np.minimum(raw * pdf["post"], 0.85)
        y = pdf["label"].to_numpy()
        out[stage] = {
            "test_lines_joined_to_truth": int(len(pdf)),
            "label_agrees_with_truth_is_returned": float((pdf["label"] == pdf["is_returned"].astype(float)).mean()),
            "model_roc_auc": rr.roc_auc(y, pdf["probability_return"].to_numpy()),
            "oracle_roc_auc_true_probability": rr.roc_auc(y, pdf["return_probability"].to_numpy()),
            "oracle_roc_auc_without_delay": rr.roc_auc(y, order_time.to_numpy()),
            "oracle_roc_auc_order_time_knowable": rr.roc_auc(y, knowable.to_numpy()),
            "oracle_roc_auc_segment_only": rr.roc_auc(y, raw.to_numpy()),
            "model_version": f"{name}/{mv.version}",
            "aliases": sorted(mv.aliases),
            "validation_summary": run.data.tags.get("validation_summary"),
            "split": {k: v for k, v in run.data.tags.items() if k.startswith("split.")},
            "logged_metrics": {k: v for k, v in sorted(run.data.metrics.items())
                               if k.startswith(("test.", "baseline_test.", "valid.", "baseline_valid.", "decision",
                                                "data."))},
        }
    return out


def mlflow_run(run_id):
    import mlflow

    return mlflow.MlflowClient().get_run(run_id)


def kb_eval(spark, cfg) -> dict:
    """The knowledge base on a time split of conversations: benchmarks/bench_kb.py (intent model and KB both
    learned only from the chats before the cut-off, next to the majority and nearest-question baselines)."""
    from brandlake.jobs.kb import chats_with_category
    from brandlake.jobs.text_models import LANGUAGES

    from benchmarks.bench_kb import default_cutoff, evaluate

    chats = chats_with_category(spark, cfg.lake)[0].where("answer IS NOT NULL AND intent IS NOT NULL AND question IS "
                                                       "NOT NULL").toPandas()
    chats = chats[chats["language"].isin(LANGUAGES)]
    return evaluate(chats, cutoff=default_cutoff(chats, cfg.signals.test_fraction), cfg=cfg)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lake-root", required=True)
    ap.add_argument("--scale", type=float, default=0.02)
    ap.add_argument("--skip-jobs", action="store_true", help="only measure (jobs already ran)")
    ap.add_argument("--returns-only", action="store_true",
                    help="only train-returns and score-returns, and only the return-risk figures")
    a = ap.parse_args()
    from brandlake import tables
    from brandlake.config import load_config
    from brandlake.session import get_spark

    cfg = load_config("local", overrides={"lake": {"root": a.lake_root}})
    common = ["--lake-root", a.lake_root]
    timings = {}
    spark = get_spark(cfg.spark)
    if not tables.exists(spark, f"{cfg.lake.gold}/order_line_settlement"):
        timings["pipeline"] = _cli(["pipeline", "--scale", str(a.scale), *common])
    jobs = (["train-returns"], ["score-returns"]) if a.returns_only else (
        ["train-text"], ["signals"], ["lifecycle"], ["train-returns"], ["score-returns"], ["build-kb"])
    if not a.skip_jobs:
        for cmd in jobs:
            timings[cmd[0]] = _cli([*cmd, *common])
    spark = get_spark(cfg.spark)
    result = {"timings_s": timings, "returns": oracle_auc(spark, cfg.lake.truth, cfg.lake, cfg)}
    if a.returns_only:
        _write(result)
        return
    result["kb"] = kb_eval(spark, cfg)
    g = cfg.lake.gold
    lc = tables.read(spark, f"{g}/product_lifecycle")
    last = lc.agg({"month": "max"}).first()[0]
    result["lifecycle"] = {
        "rows": lc.count(), "last_month": str(last),
        "stages_last_month": {r["stage"]: r["count"] for r in lc.where(lc.month == last).groupBy("stage").count()
                              .collect()},
        "alerts": tables.read(spark, f"{g}/product_alerts").count(),
    }
    result["gold_rows"] = {t: tables.read(spark, f"{g}/{t}").count()
                           for t in ("review_scores", "review_signals", "cs_signals", "return_risk", "cs_kb")}
    _write(result)


def _write(result: dict) -> None:
    text = json.dumps(result, indent=2, default=str)
    out = Path(__file__).resolve().parent / "out"
    out.mkdir(exist_ok=True)
    (out / "returns13.json").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
