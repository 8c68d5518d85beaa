"""Benchmark: the data-quality gate's share of silver time on a moderately sized bronze input.

Run once: `PYTHONPATH=. .venv/bin/python benchmarks/bench_silver_dq.py --rows 200000`. Uses the test-suite's
stand-in silver tables (widgets -> makers) so it runs before the real conform transforms exist.
"""

from __future__ import annotations

import argparse
import json
import logging
import tempfile
import time

from brandlake.jobs import silver as job
from pyspark.sql import functions as F

from brandlake import tables
from brandlake.config import load_config
from brandlake.runtime import JobContext
from brandlake.session import get_spark
from brandlake.summary import RunSummary
from tests.test_silver_job import SPECS, SUITES, Ctx


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=200_000)
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    root = tempfile.mkdtemp(prefix="brandlake-bench-")
    cfg = load_config("local", overrides={"lake": {"root": root},
                                          "dq": {"build_data_docs": True}})
    spark = get_spark(cfg.spark)
    n = args.rows
    widgets = spark.range(n).select(
        F.concat(F.lit("w"), (F.col("id") % int(n * 0.8)).cast("string")).alias("widget_id"),   # 20% older versions
        F.concat(F.lit("m"), (F.col("id") % 1_100).cast("string")).alias("maker_id"),           # some unknown makers
        F.when(F.col("id") % 200 == 0, F.lit("abc"))
         .otherwise(F.format_string("%d.%02d", F.col("id") % 500, F.col("id") % 100)).alias("price"),
        F.when(F.col("id") % 97 == 0, F.lit("odd")).otherwise(F.lit("active")).alias("status"),
        F.date_format(F.timestamp_seconds(F.lit(1_700_000_000) + F.col("id")), "yyyy-MM-dd HH:mm:ss").alias("updated_at"),
        F.current_timestamp().alias("_ingested_at"),
    )
    makers = spark.range(1_000).select(
        F.concat(F.lit("m"), F.col("id").cast("string")).alias("maker_id"),
        F.lit("2024-01-01 00:00:00").alias("updated_at"), F.current_timestamp().alias("_ingested_at"),
    )
    tables.append_once(widgets, f"{cfg.lake.bronze}/widget_events", app_id="bench", version=0)
    tables.append_once(makers, f"{cfg.lake.bronze}/makers", app_id="bench", version=0)
    ctx = JobContext(cfg=cfg, spark=spark, summary=RunSummary(run_id="bench", command="silver", env="local"))
    t0 = time.perf_counter()
    job.build_silver(ctx, SPECS, conform_context=lambda tz: Ctx("k", "CNY", tz), suites=SUITES)
    total = time.perf_counter() - t0
    print(json.dumps({"rows": n, "lake": root, "silver_total_seconds": round(total, 1),
                      "per_table_seconds": ctx.summary.details["silver_seconds"],
                      "stages": ctx.summary.stages, "tables": ctx.summary.tables}, indent=2))


if __name__ == "__main__":
    main()
