"""Customer lifetime value on a lake that holds gold settlement and identity: `brandlake clv` run in-process
(one MLflow run, as the command does), timed, with the holdout figures of the model and the constant-rate
baseline (overall and per decile of predicted purchases) printed as JSON for BENCHMARKS.md.

Not a test. Usage:
  python benchmarks/bench_clv.py --lake-root L [--env local] [--set clv.holdout_days=120 ...]
      [--identity]   run `brandlake identity` first (a lake without gold identity_accounts)
      [--accounts-as-persons]   instead, write gold identity_accounts with one person per account: for an
                     import without phone or address hashes (Online Retail II), where identity finds no
                     candidate pair and stops ("no candidate pairs to estimate match parameters from")
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import pandas as pd  # noqa: E402
from brandlake.jobs.pipeline import stage_args  # noqa: E402

from benchmarks.run import machine  # noqa: E402
from brandlake.config import deep_merge, load_config, parse_settings  # noqa: E402
from brandlake.runtime import job_context  # noqa: E402


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--lake-root", required=True)
    p.add_argument("--env", default="local")
    p.add_argument("--set", action="append", default=[], dest="settings")
    p.add_argument("--identity", action="store_true")
    p.add_argument("--accounts-as-persons", action="store_true")
    p.add_argument("--out", default=None, help="also write the JSON here")
    a = p.parse_args()
    cfg = load_config(a.env, overrides=deep_merge(parse_settings(a.settings), {"lake": {"root": a.lake_root}}))
    import importlib

    import mlflow

    report: dict = {"machine": machine(), "lake": a.lake_root, "settings": a.settings, "seconds": {}}
    with job_context(cfg, "bench-clv") as ctx:
        if a.accounts_as_persons:
            from brandlake.transforms.gold_tables import gold_path
            from brandlake.transforms.identity import IDENTITY_ACCOUNTS
            from pyspark.sql import functions as F

            from brandlake import tables

            now = F.current_timestamp()
            accounts = (tables.read(ctx.spark, f"{cfg.lake.silver}/customers").select("platform_id", "customer_id")
                        .distinct().select("platform_id", "customer_id",
                                           F.concat_ws(":", "platform_id", "customer_id").alias("person_id"),
                                           now.alias("person_created_at"), F.lit(None).alias("source_updated_at"),
                                           now.alias("assigned_at"), F.lit("bench-clv").alias("run_id")))
            tables.overwrite(accounts.select(*[F.col(f.name).cast(f.dataType) for f in IDENTITY_ACCOUNTS.fields]),
                             gold_path(cfg.lake.gold, "identity_accounts"))
        steps = (["identity"] if a.identity else []) + ["clv"]
        for name in steps:
            module = f"brandlake.jobs.{name}"
            t0 = time.perf_counter()
            importlib.import_module(module).run(ctx, stage_args(module))
            report["seconds"][name] = round(time.perf_counter() - t0, 1)
        details = ctx.summary.details["clv"]
    report["clv"] = details
    client = mlflow.MlflowClient()
    for name in ("holdout_deciles.csv", "baseline_holdout_deciles.csv", "holdout_per_brand.csv"):
        text = mlflow.artifacts.load_text(f"{client.get_run(details['mlflow_run_id']).info.artifact_uri}/{name}")
        report[name.removesuffix(".csv")] = (pd.read_csv(io.StringIO(text)).round(4).to_dict("records")
                                             if text.strip() else [])
    print(json.dumps(report, indent=2, default=str))
    if a.out:
        Path(a.out).write_text(json.dumps(report, indent=2, default=str), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
