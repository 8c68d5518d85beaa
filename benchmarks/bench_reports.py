"""Brand marts and reports, timed: not a test. Figures go to benchmarks/out/reports_<name>.json and are copied
into BENCHMARKS.md by hand.

Generated data (`--scale SF`): lands batches 1..N-1, runs ingest → silver → gold → marts (full build, timed),
lands batch N, runs ingest → silver → gold → marts again (incremental, timed), reruns marts with nothing new
(timed), then `report --all` for the latest month (seconds per brand).

Online Retail II (`--online-retail`): import → silver → gold (GBP) → marts → report for its one brand; the
sections its data cannot feed (no clickstream, parcel scans, reviews or sale calendar) say so in the report.

Usage: python benchmarks/bench_reports.py --scale 0.1 [--driver-memory 10g] [--resume] | --online-retail [--file PATH]
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from brandlake.jobs.pipeline import stage_args  # noqa: E402

from benchmarks.run import machine  # noqa: E402
from brandlake import tables  # noqa: E402
from brandlake.config import load_config  # noqa: E402
from brandlake.runtime import job_context  # noqa: E402

log = logging.getLogger("bench.reports")


def _stage(ctx, name: str, argv: list[str] | None = None, **values) -> float:
    """Run one job in this process, timed. ``argv``: its command line (for a job with required options),
    else its defaults with ``values`` set."""
    module = f"brandlake.jobs.{name}"
    if argv is not None:
        parser = argparse.ArgumentParser()
        importlib.import_module(module).add_arguments(parser)
        args = parser.parse_args(argv)
    else:
        args = stage_args(module, **values)
    t0 = time.perf_counter()
    importlib.import_module(module).run(ctx, args)
    return round(time.perf_counter() - t0, 2)


def _report(ctx) -> dict:
    t = _stage(ctx, "report", argv=["--all"])
    details = ctx.summary.details["report"]
    per = details["seconds_per_brand"]
    return {"seconds": t, "period": details["period"], "brands": len(per),
            "seconds_per_brand_mean": round(sum(per.values()) / max(len(per), 1), 2),
            "seconds_per_brand": per, "out": details["out"]}


class StagesSoFar(dict):
    """Stage timings, also written to ``path`` as each is set: a failure late in a long run keeps the rest;
    ``resume`` starts from the timings that file already holds (their stages are not run again)."""

    def __init__(self, path: Path, *, resume: bool = False):
        super().__init__()
        self.path = path
        if resume and path.exists():
            super().update(json.loads(path.read_text()))

    def __setitem__(self, key, value):
        super().__setitem__(key, value)
        self.path.write_text(json.dumps(self, indent=2))


def generated(scale: float, out: Path, env: str, *, driver_memory: str | None = None, resume: bool = False) -> dict:
    root = out / f"lake_reports_sf{scale}"
    if not resume:
        shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True, exist_ok=True)  # the stages below create the lake, but the run's context needs its root
    overrides: dict = {"lake": {"root": str(root)}, "generate": {"scale": scale}}
    if driver_memory:
        overrides["spark"] = {"driver_memory": driver_memory}
    cfg = load_config(env, overrides=overrides)
    with job_context(cfg, f"bench-reports-sf{scale}") as ctx:
        from brandlake.jobs.generate import params_from

        n = params_from(ctx, stage_args("brandlake.jobs.generate", scale=scale)).n_batches  # the generator's own count
        res: dict = {"machine": machine(), "scale": scale, "batches": n, "driver_memory": cfg.spark.driver_memory,
                     "stages": StagesSoFar(out / f"reports_sf{scale}.partial.json", resume=resume)}
        s = res["stages"]
        if resume:
            res["resumed_after"] = sorted(s)  # these stages' timings are from the earlier, interrupted run

        def timed(key: str, name: str, **values) -> None:
            if key not in s:
                s[key] = _stage(ctx, name, **values)

        timed("generate_1_to_n-1", "generate", until_batch=n - 1, scale=scale)
        for st in ("ingest", "silver", "gold"):
            timed(f"{st}_first", st)
        timed("marts_full", "marts")
        timed("generate_n", "generate", until_batch=n, scale=scale)
        for st in ("ingest", "silver", "gold"):
            timed(f"{st}_batch_n", st)
        s["marts_incremental_one_batch"] = _stage(ctx, "marts")
        res["incremental_mode"] = ctx.summary.details["marts"]["mode"]
        rebuilt = ctx.summary.details["marts"]["periods_rebuilt"]
        res["incremental_periods_rebuilt"] = rebuilt if rebuilt == "all" else len(rebuilt)
        s["marts_rerun_nothing_new"] = _stage(ctx, "marts")
        s["marts_full_again"] = _stage(ctx, "marts", full=True)
        res["incremental_over_full"] = round(s["marts_incremental_one_batch"] / s["marts_full_again"], 3)
        res["report"] = _report(ctx)
        spark = ctx.spark
        res["mart_rows"] = {name: tables.read(spark, f"{cfg.lake.gold}/{name}").count()
                            for name in ("mart_sales_trend", "mart_order_time", "mart_delivery_regions",
                                         "mart_buyer_groups", "mart_products", "mart_funnel", "parcel_tracking",
                                         "logistics_exceptions")}
    return res


def online_retail(path: str | None, out: Path, env: str) -> dict:
    from benchmarks.online_retail import OR_FILE

    root = out / "lake_reports_online_retail"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    cfg = load_config(env, overrides={"lake": {"root": str(root)}, "silver": {"reporting_currency": "GBP"},
                                      "reports": {"brands": {"online_retail_ii": {"tier": "pro"}}}})
    res: dict = {"machine": machine(), "file": str(path or OR_FILE), "stages": {}}
    with job_context(cfg, "bench-reports-online-retail") as ctx:
        t0 = time.perf_counter()
        importlib.import_module("brandlake.jobs.import_source").run(ctx, argparse.Namespace(
            mapping=str(ROOT / "conf" / "sources" / "online_retail_ii.yaml"), path=str(path or OR_FILE)))
        res["stages"]["import"] = round(time.perf_counter() - t0, 2)
        for st in ("silver", "gold", "marts"):
            res["stages"][st] = _stage(ctx, st)
        res["report"] = _report(ctx)
    return res


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--scale", type=float, default=None)
    p.add_argument("--online-retail", action="store_true")
    p.add_argument("--file", default=None)
    p.add_argument("--sample", type=int, default=None,
                   help="Online Retail: only the first N rows of the file (written to <out>/online_retail_sample.csv.gz)")
    p.add_argument("--env", default="local")
    p.add_argument("--driver-memory", help="override spark.driver_memory (local mode: the whole JVM heap)")
    p.add_argument("--resume", action="store_true",
                   help="--scale: keep the lake of an interrupted run and skip the stages its partial JSON timed")
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "out"))
    a = p.parse_args()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    if a.online_retail:
        path = a.file
        if a.sample:
            import gzip
            import itertools

            from benchmarks.online_retail import OR_FILE

            path = str(out / "online_retail_sample.csv.gz")
            with gzip.open(a.file or OR_FILE, "rt", encoding="utf-8") as src, \
                    gzip.open(path, "wt", encoding="utf-8") as dst:
                dst.writelines(itertools.islice(src, a.sample + 1))
        res, name = online_retail(path, out, a.env), "online_retail"
        res["sample_rows"] = a.sample
    elif a.scale:
        res, name = generated(a.scale, out, a.env, driver_memory=a.driver_memory, resume=a.resume), f"sf{a.scale}"
    else:
        p.error("pass --scale SF or --online-retail")
    (out / f"reports_{name}.json").write_text(json.dumps(res, indent=2, default=str))
    print(json.dumps(res, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
