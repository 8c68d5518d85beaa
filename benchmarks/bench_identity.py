"""Identity merge against the generator's truth: pair precision/recall (movers separately) and throughput.

Needs a lake with silver customers and truth (e.g. `brandlake generate --scale 0.1`, `ingest --sources
customers,platforms`, `silver --tables platforms,customers`). Works in its own folder under the lake
(`_bench_identity`): a full run on the accounts registered before the split date, then an incremental run
with all accounts, then precision/recall of the final persons over all pairs of accounts.

    .venv/bin/python -m benchmarks.bench_identity --lake-root ./lake_sf01 [--env local] [--driver-memory 3g]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import time

from brandlake.jobs import identity
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from brandlake import tables
from brandlake.config import load_config
from brandlake.runtime import job_context


def same_person_pairs(df: DataFrame, group: str) -> DataFrame:
    a = df.select(F.col("key").alias("k1"), F.col(group).alias("g"))
    b = df.select(F.col("key").alias("k2"), F.col(group).alias("g"))
    return a.join(b, "g").where(F.col("k1") < F.col("k2")).select("k1", "k2")


def evaluate(spark, accounts: DataFrame, truth: DataFrame, movers: DataFrame) -> dict:
    key = F.concat_ws(":", "platform_id", "customer_id")
    pred = same_person_pairs(accounts.select(key.alias("key"), "person_id"), "person_id").persist()
    true = same_person_pairs(truth.select(key.alias("key"), F.col("person_id").cast("string").alias("person_id"))
                             .join(accounts.select(key.alias("key")), "key", "left_semi"), "person_id").persist()
    tp = pred.join(true, ["k1", "k2"]).count()
    n_pred, n_true = pred.count(), true.count()
    mover_keys = movers.select(key.alias("k"))
    true_m = true.join(mover_keys.withColumnRenamed("k", "k1"), "k1", "left_semi").unionByName(
        true.join(mover_keys.withColumnRenamed("k", "k2"), "k2", "left_semi")).distinct()
    n_true_m = true_m.count()
    tp_m = true_m.join(pred, ["k1", "k2"]).count()
    return {"true_pairs": n_true, "predicted_pairs": n_pred, "true_positives": tp,
            "precision": tp / n_pred if n_pred else None, "recall": tp / n_true if n_true else None,
            "mover_true_pairs": n_true_m, "mover_recall": tp_m / n_true_m if n_true_m else None}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--lake-root", required=True)
    p.add_argument("--env", default="local")
    p.add_argument("--split", type=dt.datetime.fromisoformat, default=dt.datetime(2025, 1, 1),
                   help="accounts registered before this are matched in the first (full) run")
    p.add_argument("--driver-memory", default="3g")
    args = p.parse_args()
    source = load_config(args.env, overrides={"lake": {"root": args.lake_root}})
    bench_root = os.path.join(args.lake_root, "_bench_identity")
    shutil.rmtree(bench_root, ignore_errors=True)
    os.makedirs(bench_root)  # the benchmark's own lake (a job refuses to run on a lake that does not exist)
    cfg = load_config(args.env, overrides={"lake": {"root": bench_root},
                                           "spark": {"driver_memory": args.driver_memory}})
    out: dict = {"lake": args.lake_root, "split": args.split.isoformat()}
    with job_context(cfg, "bench_identity") as ctx:
        spark = ctx.spark
        customers = tables.read(spark, f"{source.lake.silver}/customers")
        silver = f"{cfg.lake.silver}/customers"
        early = customers.where(F.coalesce(F.col("registered_at"), F.lit(args.split)) < F.lit(args.split))
        tables.overwrite(early, silver)
        for mode in ("full", "incremental"):
            if mode == "incremental":
                tables.overwrite(customers, silver)
            t0 = time.perf_counter()
            with job_context(cfg, "identity", spark=spark) as jctx:
                identity.run(jctx, argparse.Namespace(full=False))
            seconds = time.perf_counter() - t0
            d = jctx.summary.details["identity"]
            out[mode] = {**d, "seconds": round(seconds, 1),
                         "accounts_matched_per_minute": round(d["accounts_matched"] / seconds * 60)}
        bronze = tables.read(spark, f"{source.lake.bronze}/customers")
        # a mover's account has a second version (the new address); only versions are counted, no PII read
        movers = (bronze.groupBy("platform_id", "customer_id").agg(F.countDistinct("updated_at").alias("n"))
                  .where(F.col("n") > 1).select("platform_id", "customer_id"))
        truth = spark.read.parquet(f"{source.lake.truth}/person_map")
        out["quality"] = evaluate(spark, tables.read(spark, f"{cfg.lake.gold}/identity_accounts"), truth, movers)
        out["redirects"] = tables.read(spark, f"{cfg.lake.gold}/person_redirects").count()
    print(json.dumps(out, indent=2, default=str))


if __name__ == "__main__":
    main()
