"""Online Retail II, the whole real file: `brandlake import` → silver → gold in one process, timed per stage,
with the DQ outcome, and gold's figures checked against the same figures computed in plain Python.

Not a test. Writes benchmarks/out/online_retail.json; the figures are copied into BENCHMARKS.md by hand.
Usage: python benchmarks/bench_online_retail.py [--file PATH] [--env local] [--driver-memory 8g]
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from brandlake.jobs.pipeline import stage_args  # noqa: E402

from benchmarks.online_retail import OR_FILE, online_retail_figures, read_rows  # noqa: E402
from benchmarks.run import machine  # noqa: E402
from brandlake import tables  # noqa: E402
from brandlake.config import load_config  # noqa: E402
from brandlake.runtime import job_context  # noqa: E402

log = logging.getLogger("bench.online_retail")
MAPPING = ROOT / "conf" / "sources" / "online_retail_ii.yaml"


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--file", default=str(OR_FILE))
    p.add_argument("--env", default="local")
    p.add_argument("--driver-memory", default=None)
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "out"))
    a = p.parse_args()
    out = Path(a.out)
    root = out / "lake_online_retail"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)  # the benchmark creates its lake (commands refuse a missing root)
    overrides: dict = {"lake": {"root": str(root)}, "silver": {"reporting_currency": "GBP"}}
    if a.driver_memory:
        overrides["spark"] = {"driver_memory": a.driver_memory}
    cfg = load_config(a.env, overrides=overrides)

    from pyspark.sql import functions as F

    report: dict = {"machine": machine(), "file": a.file, "stages": {}}
    with job_context(cfg, "bench-online-retail") as ctx:
        steps = [("import", "brandlake.jobs.import_source", {"mapping": str(MAPPING), "path": a.file}),
                 ("silver", "brandlake.jobs.silver", {}), ("gold", "brandlake.jobs.gold", {})]
        import importlib

        for name, module, values in steps:
            t0 = time.perf_counter()
            args = argparse.Namespace(**values) if values else stage_args(module)  # import: required args
            importlib.import_module(module).run(ctx, args)
            report["stages"][name] = round(time.perf_counter() - t0, 2)
            log.info("%s: %.1fs", name, report["stages"][name])
        spark = ctx.spark
        report["import"] = {k: v for k, v in ctx.summary.tables.items() if k.startswith("import.")}
        report["import_reasons"] = ctx.summary.details.get("import")
        report["silver_tables"] = {k: v for k, v in ctx.summary.tables.items() if k.startswith("silver.")}
        dq = tables.read(spark, f"{cfg.lake.silver}/dq_results").where(F.col("run_id") == ctx.summary.run_id)
        report["dq"] = {
            "rules": dq.count(), "failed_rules": dq.where("NOT passed").count(),
            "unexpected_by_rule": [r.asDict() for r in dq.where("unexpected_count > 0").select(
                "table_name", "rule", "severity", "checked_count", "unexpected_count").orderBy(
                "table_name", "rule").collect()],
        }
        settlement = tables.read(spark, f"{cfg.lake.gold}/order_line_settlement")
        got = settlement.agg(
            F.count_distinct("order_id").alias("invoices"), F.count("*").alias("lines"),
            F.sum("settled_amount").alias("net_sales"), F.sum("refunded_amount").alias("refunded"),
            F.sum("settled_amount_rpt").alias("net_sales_gbp"),
        ).first().asDict()
        sales_daily = tables.read(spark, f"{cfg.lake.gold}/sales_daily").agg(
            F.count("*").alias("rows"), F.sum("settled_amount").alias("settled"),
            F.count_distinct("ship_country").alias("countries")).first().asDict()
        report["gold"] = {**got, "sales_daily": sales_daily,
                          "reconciliation_mismatches": ctx.summary.details["gold"]["reconciliation_mismatches"]}

    t0 = time.perf_counter()
    expected = online_retail_figures(read_rows()[1]) if Path(a.file) == OR_FILE else None
    report["plain_python_seconds"] = round(time.perf_counter() - t0, 2)
    if expected:
        report["plain_python"] = {k: str(v) for k, v in expected.items()}
        report["gold_equals_plain_python"] = (
            got["invoices"] == expected["invoices"] and got["net_sales"] == expected["net_sales"]
            and got["refunded"] == expected["refunded"] and got["net_sales_gbp"] == expected["net_sales"])
    out.mkdir(parents=True, exist_ok=True)
    (out / "online_retail.json").write_text(json.dumps(report, indent=2, default=str))
    print(json.dumps(report, indent=2, default=str))
    return 0 if report.get("gold_equals_plain_python", True) else 1


if __name__ == "__main__":
    sys.exit(main())
