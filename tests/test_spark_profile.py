"""benchmarks/spark_profile.py: time per table and step from a Spark event log (hand-written log, no Spark)."""

from __future__ import annotations

import json

from benchmarks.spark_profile import bucket_of, profile


def _job(job_id, start, end, description, stages):
    return [
        {"Event": "SparkListenerJobStart", "Job ID": job_id, "Submission Time": start * 1000,
         "Stage IDs": stages, "Properties": {"spark.job.description": description}},
        {"Event": "SparkListenerJobEnd", "Job ID": job_id, "Completion Time": end * 1000},
    ]


def _task(stage, run_ms, gc_ms=0, spilled=0):
    return {"Event": "SparkListenerTaskEnd", "Stage ID": stage,
            "Task Metrics": {"Executor Run Time": run_ms, "JVM GC Time": gc_ms, "Disk Bytes Spilled": spilled}}


def test_jobs_tasks_and_driver_gaps_are_charged_to_their_table_and_step(tmp_path):
    merge = "brandlake silver · silver.orders · conform, gate, merge"
    events = [
        {"Event": "SparkListenerApplicationStart", "Timestamp": 100_000},
        *_job(0, 102, 104, f"{merge} · micro-batch 0", [0]), _task(0, 1500, gc_ms=300), _task(0, 1500, spilled=3 * 2**20),
        *_job(1, 103, 105, f"{merge} · micro-batch 0", [1]), _task(1, 1000),   # overlaps job 0
        *_job(2, 110, 111, "brandlake gold · gold.sales_daily · write", [2]), _task(2, 800),
        *_job(3, 111, 112, None, [3]),
        {"Event": "SparkListenerApplicationEnd", "Timestamp": 115_000},
    ]
    # Spark 4's rolling layout: eventlog_v2_<app>/events_<n>_<app>, read in order (events_2 before events_10)
    log = tmp_path / "eventlog_v2_app-1"
    log.mkdir()
    (log / "appstatus_app-1").write_text("")
    for n, part in ((2, events[3:9]), (1, events[:3]), (10, events[9:])):
        (log / f"events_{n}_app-1").write_text("".join(json.dumps(e) + "\n" for e in part))

    assert profile(log) == {
        "wall_seconds": 15.0, "job_seconds": 5.0, "jobs": 4, "task_seconds": 4.8, "gc_seconds": 0.3,
        "spilled_mb": 3.0,
        "buckets": {
            "silver.orders · conform, gate, merge": {"jobs": 2, "job_seconds": 3.0, "task_seconds": 4.0,
                                                     "idle_seconds": 2.0, "gc_seconds": 0.3, "spilled_mb": 3.0},
            "gold.sales_daily · write": {"jobs": 1, "job_seconds": 1.0, "task_seconds": 0.8, "idle_seconds": 5.0,
                                         "gc_seconds": 0.0, "spilled_mb": 0.0},
            "(no description)": {"jobs": 1, "job_seconds": 1.0, "task_seconds": 0.0, "idle_seconds": 0.0,
                                 "gc_seconds": 0.0, "spilled_mb": 0.0},
        },
    }
    assert bucket_of("some other description") == "some other description"


def test_delta_jobs_are_charged_to_the_step_that_ran_them_and_a_window_keeps_its_own_jobs(tmp_path):
    step = "brandlake gold · gold · find changed orders"
    assert bucket_of(f"Delta: {step}: Filtering files for query") == "gold · find changed orders · Delta: Filtering files for query"
    assert bucket_of(f"Delta: Delta: {step} · micro-batch 3: Compute snapshot for version: 7") == \
        "gold · find changed orders · Delta: Compute snapshot for version: 7"
    assert bucket_of("Delta: brandlake bench-sf1.0") == "brandlake bench-sf1.0 · Delta"
    events = [
        {"Event": "SparkListenerApplicationStart", "Timestamp": 100_000},
        *_job(0, 101, 103, step, [0]), _task(0, 2000),
        *_job(1, 110, 112, f"Delta: {step}: Filtering files for query", [1]), _task(1, 1000),
        *_job(2, 114, 115, step, [2]), _task(2, 500),
        *_job(3, 120, 121, step, [3]), _task(3, 700),
        {"Event": "SparkListenerApplicationEnd", "Timestamp": 130_000},
    ]
    log = tmp_path / "events"
    log.write_text("".join(json.dumps(e) + "\n" for e in events))
    got = profile(log, since=105, until=118)  # jobs 1 and 2 only; the wall and the first gap start at the window
    assert got["wall_seconds"] == 13.0 and got["jobs"] == 2 and got["job_seconds"] == 3.0
    assert got["buckets"] == {
        "gold · find changed orders · Delta: Filtering files for query": {
            "jobs": 1, "job_seconds": 2.0, "task_seconds": 1.0, "idle_seconds": 5.0, "gc_seconds": 0.0,
            "spilled_mb": 0.0},
        "gold · find changed orders": {"jobs": 1, "job_seconds": 1.0, "task_seconds": 0.5, "idle_seconds": 2.0,
                                       "gc_seconds": 0.0, "spilled_mb": 0.0},
    }
