"""brandlake benchmarks: throughput of each stage at given scale factors, in one process per scale.

Not a test: figures go to benchmarks/out/<name>.json and are copied by hand into BENCHMARKS.md with the
machine's description. Usage: python benchmarks/run.py [--scales 0.1,1] [--stages generate,ingest,...]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from brandlake.jobs.pipeline import stage_args  # noqa: E402

from brandlake.config import deep_merge, load_config, parse_settings  # noqa: E402
from brandlake.runtime import job_context  # noqa: E402

log = logging.getLogger("bench")
ALL_STAGES = ("generate", "ingest", "silver", "gold")


def machine() -> dict:
    mem = ""
    try:
        mem = next(line.split()[1] for line in open("/proc/meminfo") if line.startswith("MemTotal"))
    except (OSError, StopIteration):
        pass
    cpu = ""
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    java = subprocess.run(["java", "-version"], capture_output=True, text=True).stderr.splitlines()[:1]
    return {"cores": os.cpu_count(), "mem_kib": mem, "cpu": cpu, "python": platform.python_version(),
            "java": java[0] if java else "", "os": platform.platform()}


def rows(summary_tables: dict, prefix: str, key: str) -> int:
    return sum(v.get(key, 0) for k, v in summary_tables.items() if k.startswith(prefix))


def bench_scale(scale: float, stages: list[str], out_dir: Path, env: str, driver_memory: str | None = None,
                event_log: bool = False, settings: dict | None = None, incremental: bool = False) -> dict:
    root = out_dir / f"lake_sf{scale}"
    if "generate" in stages and root.exists():
        shutil.rmtree(root)
    overrides: dict = deep_merge(settings or {}, {"lake": {"root": str(root)}})
    overrides.setdefault("spark", {}).setdefault("conf", {})
    if driver_memory:
        overrides["spark"]["driver_memory"] = driver_memory
    log_dir = out_dir / f"eventlog_sf{scale}"
    if event_log:  # Spark's own event log, summarized by benchmarks/spark_profile.py after the run
        shutil.rmtree(log_dir, ignore_errors=True)
        log_dir.mkdir(parents=True)
        overrides["spark"]["conf"].update({"spark.eventLog.enabled": "true", "spark.eventLog.dir": str(log_dir),
                                           "spark.eventLog.compress": "false"})
    cfg = load_config(env, overrides=overrides)
    root.mkdir(parents=True, exist_ok=True)  # the benchmark creates its lake (commands refuse a missing root)
    result: dict = {"scale": scale, "stages": {}}
    from brandlake.cli import COMMANDS

    with job_context(cfg, f"bench-sf{scale}") as ctx:
        from brandlake.jobs.generate import params_from

        n_batches = params_from(ctx, stage_args(COMMANDS["generate"][0])).n_batches  # the generator's own count

        def timed(stage: str, until_batch: int | None = None) -> dict:
            module = COMMANDS[stage][0]
            import importlib

            args = stage_args(module)
            if stage == "generate":
                args.scale = scale
                args.until_batch = until_batch
            before = json.loads(json.dumps(ctx.summary.tables))
            # until the stage marks its own first step, its jobs are named after it, not the last stage's step
            ctx.mark("bench", stage)
            t0 = time.perf_counter()
            importlib.import_module(module).run(ctx, args)
            secs = time.perf_counter() - t0
            after = ctx.summary.tables
            delta = {k: {m: v - before.get(k, {}).get(m, 0) for m, v in c.items()} for k, c in after.items()}
            prefix = {"generate": "landing.", "ingest": "bronze.", "silver": "silver.", "gold": "gold."}[stage]
            n_in = rows(delta, prefix, "rows_read") or rows(delta, prefix, "rows_written")
            n_out = rows(delta, prefix, "rows_written")
            if stage == "gold":  # gold counts settled order lines (and sales_daily rows written)
                n_in = n_out = ctx.summary.details.get("gold", {}).get("lines_settled", 0)
            log.info("sf=%s %s: %.1fs, %s rows in, %s rows out", scale, stage, secs, n_in, n_out)
            return {"seconds": round(secs, 2), "rows_in": n_in, "rows_out": n_out,
                    "rows_per_s": round(n_in / secs) if secs else None}

        # --incremental: the full build lands batches 1..N-1, then batch N alone goes through the same stages
        for stage in stages:
            result["stages"][stage] = timed(stage, n_batches - 1 if incremental else None)
        if incremental:
            result["batches"] = n_batches
            inc = result["incremental_batch_n"] = {"generate": timed("generate", n_batches)}
            for stage in ("ingest", "silver", "gold"):  # whatever --stages the full build timed
                inc[stage] = timed(stage)
            both = [s for s in inc if s != "generate" and s in result["stages"]]  # the stages timed both ways
            full = sum(result["stages"][s]["seconds"] for s in both)
            part = sum(inc[s]["seconds"] for s in both)
            result["incremental_over_full_stages"] = both
            result["incremental_over_full"] = round(part / full, 3) if full else None
            log.info("sf=%s incremental (batch %d of %d) / full build (batches 1..%d): %.1fs / %.1fs = %s",
                     scale, n_batches, n_batches, n_batches - 1, part, full, result["incremental_over_full"])
        if "gold" in stages:
            from benchmarks.duckdb_compare import compare

            try:  # the anchor must not cost the run's own figures, its profile and its JSON
                result["sales_daily_spark_vs_duckdb"] = compare(ctx.spark, str(root))
            except Exception as e:  # noqa: BLE001 - reported in the result and the log
                log.exception("sf=%s sales_daily spark vs duckdb failed", scale)
                result["sales_daily_spark_vs_duckdb"] = {"error": f"{type(e).__name__}: {e}"}
            log.info("sf=%s sales_daily spark vs duckdb: %s", scale, result["sales_daily_spark_vs_duckdb"])
        result["details"] = {k: ctx.summary.details.get(k) for k in ("generate", "silver_seconds", "gold")}
        result["stage_timings"] = ctx.summary.stages
    if event_log:
        ctx.spark.stop()  # closes the event log
        from benchmarks.spark_profile import profile, to_markdown

        result["profile"] = profile(log_dir)
        print(to_markdown(result["profile"]))
    return result


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--scales", default="0.1,1")
    p.add_argument("--stages", default=",".join(ALL_STAGES))
    p.add_argument("--env", default="local")
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "out"))
    p.add_argument("--driver-memory", help="override spark.driver_memory (local mode: the whole JVM heap)")
    p.add_argument("--event-log", action="store_true",
                   help="write Spark's event log and print where the time went (benchmarks/spark_profile.py); "
                        "one scale per process")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="a config setting for an A/B run, as `brandlake --set` (repeatable), e.g. "
                        "run.parallel_writes=1 or spark.conf.spark.sql.adaptive.enabled=false")
    p.add_argument("--incremental", action="store_true",
                   help="land batches 1..N-1 and time the stages (the full build), then land batch N and time "
                        "ingest, silver and gold again (the incremental run); reports their ratio")
    a = p.parse_args()
    settings = parse_settings(a.set)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    report = {"machine": machine(), "results": []}
    for s in a.scales.split(","):
        report["results"].append(bench_scale(float(s), a.stages.split(","), out, a.env, a.driver_memory,
                                             a.event_log, settings, a.incremental))
        (out / f"pipeline_sf{a.scales.replace(',', '_')}.json").write_text(json.dumps(report, indent=2, default=str))
    print(json.dumps(report, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
