"""Where a run's time goes, from Spark's own event log (no extra jar): per table and step, the wall time its
Spark jobs covered, the task time they used, and the time the driver spent with no Spark job running
(planning, Delta log and commit work, Python, the streaming source between micro-batches).

Jobs are attributed by their description, which every brandlake step sets
(``brandlake <command> · <table> · <step>[ · micro-batch N][ · <sub-step>]``, brandlake/runtime.py); the
driver-only gap before a job is charged to that job's table and step, since that is the work that prepared it.

Usage: ``python -m benchmarks.spark_profile <event log file or directory> [--top 30]``; ``benchmarks/run.py
--event-log`` writes the log and prints this summary after the run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

_BATCH = re.compile(r" · micro-batch \d+")


@dataclass
class Bucket:
    jobs: int = 0
    job_seconds: float = 0.0     # wall time covered by this bucket's jobs (overlaps merged)
    task_seconds: float = 0.0    # executor run time of their tasks (both cores busy counts twice)
    idle_seconds: float = 0.0    # driver-only time before its jobs
    gc_seconds: float = 0.0      # of the task time, the JVM's garbage collection (memory pressure)
    spilled_mb: float = 0.0      # bytes its tasks spilled to disk (execution memory too small)
    intervals: list[tuple[float, float]] = field(default_factory=list)


def _files(path: Path) -> list[Path]:
    """The event files of a log: one file, or Spark 4's rolling ``eventlog_v2_<app>/events_<n>_<app>`` files in
    order (uncompressed: benchmarks/run.py sets ``spark.eventLog.compress=false``)."""
    if path.is_file():
        return [path]
    files = [p for p in path.rglob("*") if p.is_file() and not p.name.startswith((".", "appstatus"))]
    compressed = [p for p in files if p.suffix in (".zstd", ".lz4", ".snappy", ".lzf")]
    if compressed:
        raise ValueError(f"compressed event log {compressed[0]}: decompress it (e.g. `unzstd`) or run with "
                         "spark.eventLog.compress=false")
    def order(p: Path) -> tuple:
        parts = p.name.split("_")
        return (p.parent.name, int(parts[1]) if p.name.startswith("events_") and parts[1].isdigit() else 0, p.name)
    return sorted(files, key=order)


def bucket_of(description: str | None) -> str:
    """``silver.orders · conform, gate, merge`` from a job description (micro-batch numbers dropped).

    Delta's own jobs prefix the step's description with ``Delta: `` (once per nesting) and may end with their
    operation (``...: Filtering files for query``): they are charged to that step, named ``· Delta: <operation>``.
    """
    if not description:
        return "(no description)"
    text, delta = _BATCH.sub("", description), False
    while text.startswith("Delta: "):
        text, delta = text[len("Delta: "):], True
    operation = ""
    if delta and ": " in text:
        text, operation = text.split(": ", 1)
    parts = text.split(" · ")
    step = " · ".join(parts[1:]) if parts[0].startswith("brandlake ") and len(parts) > 1 else parts[0]
    return f"{step} · Delta: {operation}" if delta and operation else (f"{step} · Delta" if delta else step)


def _union(intervals: list[tuple[float, float]]) -> float:
    total, end = 0.0, float("-inf")
    for s, e in sorted(intervals):
        if e <= end:
            continue
        total += e - max(s, end)
        end = e
    return total


def profile(path: Path, *, since: float | None = None, until: float | None = None) -> dict:
    """Buckets of one application's event log, plus the application's wall and idle totals (seconds).

    ``since``/``until`` (epoch seconds) keep only the jobs submitted in that window, e.g. a benchmark's
    incremental batch after its full build; the wall is then the window's."""
    jobs: dict[int, dict] = {}
    stage_job: dict[int, int] = {}
    task_ms: dict[int, float] = defaultdict(float)
    gc_ms: dict[int, float] = defaultdict(float)
    spilled: dict[int, float] = defaultdict(float)
    app_start = app_end = None
    for f in _files(path):
        with open(f, encoding="utf-8") as fh:
            for line in fh:
                e = json.loads(line)
                kind = e.get("Event")
                if kind == "SparkListenerApplicationStart":
                    app_start = e["Timestamp"] / 1000
                elif kind == "SparkListenerApplicationEnd":
                    app_end = e["Timestamp"] / 1000
                elif kind == "SparkListenerJobStart":
                    props = e.get("Properties") or {}
                    jobs[e["Job ID"]] = {"start": e["Submission Time"] / 1000, "end": None,
                                         "bucket": bucket_of(props.get("spark.job.description"))}
                    for sid in e.get("Stage IDs", []):
                        stage_job[sid] = e["Job ID"]
                elif kind == "SparkListenerJobEnd" and e["Job ID"] in jobs:
                    jobs[e["Job ID"]]["end"] = e["Completion Time"] / 1000
                elif kind == "SparkListenerTaskEnd":
                    metrics = e.get("Task Metrics") or {}
                    job = stage_job.get(e.get("Stage ID"))
                    if job is not None:
                        task_ms[job] += metrics.get("Executor Run Time", 0)
                        gc_ms[job] += metrics.get("JVM GC Time", 0)
                        spilled[job] += metrics.get("Disk Bytes Spilled", 0)
    if since is not None:
        app_start = max(app_start or since, since)
    if until is not None:
        app_end = min(app_end or until, until)
    done = sorted((j for j in jobs.items() if j[1]["end"] is not None
                   and (since is None or j[1]["start"] >= since) and (until is None or j[1]["start"] < until)),
                  key=lambda kv: kv[1]["start"])
    buckets: dict[str, Bucket] = defaultdict(Bucket)
    busy_until = app_start if app_start is not None else (done[0][1]["start"] if done else 0.0)
    for job_id, j in done:
        b = buckets[j["bucket"]]
        b.jobs += 1
        b.intervals.append((j["start"], j["end"]))
        b.task_seconds += task_ms[job_id] / 1000
        b.gc_seconds += gc_ms[job_id] / 1000
        b.spilled_mb += spilled[job_id] / 2**20
        if j["start"] > busy_until:
            b.idle_seconds += j["start"] - busy_until
        busy_until = max(busy_until, j["end"])
    for b in buckets.values():
        b.job_seconds = _union(b.intervals)
    wall = (app_end or busy_until) - (app_start or 0.0) if app_start is not None else None
    busy = _union([iv for b in buckets.values() for iv in b.intervals])
    return {"wall_seconds": wall, "job_seconds": busy, "jobs": len(done),
            "task_seconds": round(sum(b.task_seconds for b in buckets.values()), 2),
            "gc_seconds": round(sum(b.gc_seconds for b in buckets.values()), 2),
            "spilled_mb": round(sum(b.spilled_mb for b in buckets.values()), 1),
            "buckets": {k: {"jobs": b.jobs, "job_seconds": round(b.job_seconds, 2),
                            "task_seconds": round(b.task_seconds, 2), "idle_seconds": round(b.idle_seconds, 2),
                            "gc_seconds": round(b.gc_seconds, 2), "spilled_mb": round(b.spilled_mb, 1)}
                        for k, b in buckets.items()}}


def to_markdown(result: dict, *, top: int = 30) -> str:
    rows = sorted(result["buckets"].items(), key=lambda kv: -(kv[1]["job_seconds"] + kv[1]["idle_seconds"]))
    wall = result["wall_seconds"]
    lines = [f"Application wall {wall:.1f} s; Spark jobs running {result['job_seconds']:.1f} s "
             f"({result['jobs']} jobs); driver-only {wall - result['job_seconds']:.1f} s." if wall else "",
             f"Task time {result.get('task_seconds', 0):.1f} s, of which JVM GC {result.get('gc_seconds', 0):.1f} s; "
             f"{result.get('spilled_mb', 0):.0f} MB spilled to disk.",
             "", "| table · step | jobs | jobs running (s) | task time (s) | GC (s) | spilled (MB) "
                 "| driver-only before (s) |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for name, b in rows[:top]:
        lines.append(f"| {name} | {b['jobs']} | {b['job_seconds']:.1f} | {b['task_seconds']:.1f} "
                     f"| {b.get('gc_seconds', 0):.1f} | {b.get('spilled_mb', 0):.0f} | {b['idle_seconds']:.1f} |")
    return "\n".join(lines)


def _instant(text: str) -> float:
    """``2026-12-07 12:36:04`` or ``2026-12-07T12:36:04,302`` (a log line's time, UTC) → epoch seconds."""
    return dt.datetime.fromisoformat(text.replace(",", ".")).replace(tzinfo=dt.UTC).timestamp()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("path", type=Path)
    p.add_argument("--top", type=int, default=30)
    p.add_argument("--since", type=_instant, help="only jobs submitted from this UTC time (ISO 8601, as in the logs)")
    p.add_argument("--until", type=_instant, help="only jobs submitted before this UTC time")
    a = p.parse_args(argv)
    print(to_markdown(profile(a.path, since=a.since, until=a.until), top=a.top))
    return 0


if __name__ == "__main__":
    sys.exit(main())
