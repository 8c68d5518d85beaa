"""Observable runs: steps name their Spark jobs and report progress, a failure names its step and lands its
trace in the run log, and spark-submit's own settings survive (only UTC and ANSI are enforced)."""

from __future__ import annotations

import json
import logging
import re
import time
from pathlib import Path

import pytest
from pyspark import SparkConf

from brandlake.config import load_config
from brandlake.runtime import JobContext, job_context
from brandlake.session import session_conf
from brandlake.summary import RunSummary


def _messages(caplog, logger: str = "brandlake.runtime") -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == logger]


def test_a_step_names_its_spark_jobs_and_reports_progress_while_they_run(spark, cfg, caplog):
    ctx = JobContext(cfg=cfg, spark=spark, summary=RunSummary(run_id="r1", command="silver", env="test"))
    ctx.summary.add_counts("silver.orders", rows_read=3)
    sc = spark.sparkContext
    # a job run by an earlier test on a bare JobContext (no job_context to close its marks) can leave this
    # thread's job group set; a step keeps an existing group (a streaming query owns it), so start clean
    sc.setLocalProperty("spark.jobGroup.id", None)
    sc.setLocalProperty("spark.job.description", None)
    caplog.set_level(logging.INFO, logger="brandlake.runtime")
    with ctx.step("silver.orders", "merge", progress_seconds=0.3):
        described = (sc.getLocalProperty("spark.jobGroup.id"), sc.getLocalProperty("spark.job.description"))
        # one Spark job that runs for a few poll intervals: two tasks that sleep
        assert sc.parallelize([1, 2], 2).map(lambda x: time.sleep(2) or x).collect() == [1, 2]
    assert described == ("brandlake-r1-silver.orders-merge", "brandlake silver · silver.orders · merge")
    assert sorted(sc.statusTracker().getJobIdsForGroup("brandlake-r1-silver.orders-merge"))  # ran under it
    assert (sc.getLocalProperty("spark.jobGroup.id"), sc.getLocalProperty("spark.job.description")) == (None, None)

    lines = [m for m in _messages(caplog) if m.startswith("silver.orders merge:")]  # not other jobs' threads
    assert lines[0] == "silver.orders merge: started"
    assert re.fullmatch(r"silver\.orders merge: done in \d+\.\ds; rows so far: rows_read=3", lines[-1])
    progress = lines[1:-1]
    assert progress, "no progress line while the job ran"
    for line in progress:
        assert re.fullmatch(r"silver\.orders merge: running \d+\.\ds; rows so far: rows_read=3"
                            r"(; spark stage \d+: [012]/2 tasks done, [012] running)*", line), line
    assert any("tasks done" in line for line in progress), progress


def test_a_failure_names_the_innermost_step_and_its_trace_goes_to_the_run_log(spark, cfg, caplog):
    Path(cfg.lake.root).mkdir(parents=True)  # an existing lake keeps its run logs beside the summaries
    caplog.set_level(logging.INFO, logger="brandlake.runtime")
    with pytest.raises(ZeroDivisionError) as e, job_context(cfg, "gold", run_id="r2", spark=spark) as ctx:
        ctx.mark("order_line_settlement", "settle")
        ctx.mark("settlement_mismatches", "reconcile")
        with ctx.step("settlement_mismatches", "count"):
            spark.range(1).count()
        logging.getLogger("brandlake.jobs.gold").warning("about to fail")
        1 / 0  # noqa: B018
    log_file = f"{cfg.lake.runs}/r2.log"
    assert (e.value.brandlake_step, e.value.brandlake_log) == ("settlement_mismatches reconcile", log_file)
    assert [m for m in _messages(caplog) if "run summary" not in m] == [
        "order_line_settlement settle: started",
        next(m for m in _messages(caplog) if m.startswith("order_line_settlement settle: done in ")),
        "settlement_mismatches reconcile: started",
        "settlement_mismatches count: started",
        next(m for m in _messages(caplog) if m.startswith("settlement_mismatches count: done in ")),
        next(m for m in _messages(caplog) if m.startswith("settlement_mismatches reconcile: failed after ")),
    ]
    summary = json.loads(open(f"{cfg.lake.runs}/r2.json", encoding="utf-8").read())
    assert (summary["status"], summary["error"], summary["details"]["failed_step"], summary["details"]["log_file"]) == (
        "failed", "ZeroDivisionError: division by zero", "settlement_mismatches reconcile", log_file)
    text = open(log_file, encoding="utf-8").read()
    assert re.search(r"WARNING brandlake\.jobs\.gold: about to fail\n", text)
    assert re.search(r"INFO brandlake\.runtime: settlement_mismatches reconcile: failed after", text)


def test_spark_submit_settings_are_kept_and_only_utc_and_ansi_are_enforced(caplog):
    launched = (SparkConf(loadDefaults=False).set("spark.master", "local[1]").set("spark.app.name", "nightly")
                .set("spark.sql.shuffle.partitions", "400").set("spark.sql.session.timeZone", "Asia/Shanghai")
                .set("spark.sql.ansi.enabled", "false").set("spark.ui.enabled", "true")
                .set("spark.sql.extensions", "com.example.Ext")
                .set("spark.jars", "/j/delta-spark_2.13-4.1.0.jar,/j/delta-storage-4.1.0.jar"))
    caplog.set_level(logging.INFO, logger="brandlake.session")
    conf = session_conf(load_config("test").spark, launched)
    assert conf == {
        # everything else spark-submit set stays as it set it (not in this dict, so the builder keeps it)
        "spark.sql.adaptive.enabled": "false",
        "spark.databricks.delta.snapshotPartitions": "1",
        "spark.sql.codegen.wholeStage": "false",
        "spark.sql.codegen.factoryMode": "NO_CODEGEN",
        "spark.sql.sources.parallelPartitionDiscovery.parallelism": "1",
        "spark.default.parallelism": "1",
        "spark.driver.host": "127.0.0.1",
        "spark.driver.bindAddress": "127.0.0.1",
        "spark.ui.showConsoleProgress": "false",
        "spark.databricks.delta.schema.autoMerge.enabled": "false",
        "spark.sql.streaming.stopGracefullyOnShutdown": "true",
        "spark.python.sql.dataFrameDebugging.enabled": "false",
        "spark.sql.dataFrameQueryContext.enabled": "false",
        "spark.databricks.delta.properties.defaults.enableChangeDataFeed": "false",
        "spark.databricks.delta.properties.defaults.enableDeletionVectors": "false",
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.ansi.enabled": "true",
        "spark.sql.extensions": "com.example.Ext,io.delta.sql.DeltaSparkSessionExtension",
        "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
    }
    assert sorted(m for m in _messages(caplog, "brandlake.session") if m.startswith("overriding")) == [
        "overriding spark.sql.ansi.enabled=false with true: brandlake's results are only correct with it",
        "overriding spark.sql.session.timeZone=Asia/Shanghai with UTC: brandlake's results are only correct with it",
    ]


def test_concurrent_pieces_start_after_what_they_need_and_a_failure_starts_nothing_new(spark, tmp_path):
    import threading

    cfg = load_config("test", overrides={"lake": {"root": str(tmp_path / "lake")}, "run": {"parallel_writes": 3}})
    ctx = JobContext(cfg=cfg, spark=spark, summary=RunSummary(run_id="r1", command="silver", env="test"))
    events: list[tuple[str, str]] = []
    seen = {name: threading.Event() for name in ("platforms", "orders", "products", "lines", "fx", "slow", "late",
                                                 "orders failed")}

    def piece(name: str, *, waits_for: str | None = None, fail: bool = False):
        """Records its start and end; with ``waits_for``, ends only once that piece has started (or failed),
        which can only happen when the two run side by side."""
        def run():
            events.append(("start", name))
            seen[name].set()
            with ctx.step(f"silver.{name}", "build", progress_seconds=0):  # a step on a worker thread
                described = spark.sparkContext.getLocalProperty("spark.job.description")
                if waits_for is not None:
                    assert seen[waits_for].wait(timeout=60), f"{name} ran alone: {waits_for} never started"
                if waits_for == "orders failed":
                    time.sleep(1)  # orders' thread hands its failure over meanwhile
                if fail:
                    seen[f"{name} failed"].set()
                    raise ValueError(f"{name} broke")
            events.append(("end", name))
            return described
        return run

    ctx.mark("silver", "whole run")  # the job's own mark: the workers' steps must not close it
    after = {"orders": {"platforms"}, "lines": {"orders", "products"}, "products": {"platforms"}}
    done: list[str] = []
    got = ctx.concurrently({"platforms": piece("platforms", waits_for="fx"), "orders": piece("orders", waits_for="products"),
                            "products": piece("products"), "lines": piece("lines"), "fx": piece("fx")},
                           step="build", after=after, on_done=lambda n, r: done.append(n), keep_going=False)
    assert got == {n: f"brandlake silver · silver.{n} · build" for n in ("platforms", "orders", "products",
                                                                        "lines", "fx")}
    when = {(kind, name): i for i, (kind, name) in enumerate(events)}
    for name, needs in after.items():
        for need in needs:
            assert when[("end", need)] < when[("start", name)], (name, need, events)
    assert sorted(done) == sorted(got) and done[-1] == "lines"
    assert len(ctx._marks) == 1 and ctx._depth == 0

    events.clear()
    for e in seen.values():
        e.clear()
    with pytest.raises(ValueError, match="orders broke") as failure:
        ctx.concurrently({"platforms": piece("platforms"), "orders": piece("orders", fail=True),
                          "lines": piece("lines"), "slow": piece("slow", waits_for="orders failed"), "late": piece("late")},
                         step="build", after={"orders": {"platforms"}, "lines": {"orders"}, "late": {"slow"}},
                         keep_going=False)
    assert failure.value.brandlake_step == "silver.orders build"  # the step it escaped from
    started = {name for kind, name in events if kind == "start"}
    assert started == {"platforms", "orders", "slow"}  # lines needs orders; late would start after the failure
    assert ("end", "slow") in events  # what was running ran to its end
    ctx._close_marks(0, None)


def test_pieces_run_side_by_side_only_while_their_inputs_fit_the_memory_bound_and_a_large_one_runs_alone(spark, tmp_path):
    import threading

    cfg = load_config("test", overrides={"lake": {"root": str(tmp_path / "lake")},
                                         "run": {"parallel_writes": 3, "parallel_input_mb": 100}})
    ctx = JobContext(cfg=cfg, spark=spark, summary=RunSummary(run_id="r1", command="silver", env="test"))
    events: list[tuple[str, str]] = []
    lock = threading.Lock()
    b_started = threading.Event()

    def piece(name: str):
        def run():
            with lock:
                events.append(("start", name))
            if name == "b":
                b_started.set()
            if name == "a":  # ends only once b has started: a and b (80 MB together) must run side by side
                assert b_started.wait(timeout=60), "a ran alone: b never started"
            time.sleep(0.05)
            with lock:
                events.append(("end", name))
            return name
        return run

    sizes = {"a": 40.0, "b": 40.0, "c": 40.0, "big": 150.0}
    got = ctx.concurrently({n: piece(n) for n in ("a", "b", "c", "big")}, step="build", input_mb=sizes)
    assert got == {n: n for n in sizes}
    running: set[str] = set()
    together: list[set[str]] = []
    for kind, name in events:
        (running.add if kind == "start" else running.discard)(name)
        together.append(set(running))
    assert {"a", "b"} in together  # side by side: 80 MB fit
    assert all(sum(sizes[n] for n in r) <= 100 or r == {"big"} for r in together), together  # never a+b+c
    assert all("big" not in r or r == {"big"} for r in together), together  # 150 MB: alone
    assert events[-2:] == [("start", "big"), ("end", "big")]  # it waited for room; nothing overtook it after


def test_a_job_on_small_input_evaluates_interpreted_and_gives_the_session_back_as_it_was(spark, tmp_path):
    keys = ("spark.sql.codegen.wholeStage", "spark.sql.codegen.factoryMode")
    before = {k: spark.conf.get(k) for k in keys}  # the test overlay's own choice
    small, big = tmp_path / "small", tmp_path / "big"
    small.mkdir()
    big.mkdir()
    (small / "part-0").write_bytes(b"x" * 1000)
    (big / "part-0").write_bytes(b"x" * 3 * 2**20)
    cfg = load_config("test", overrides={"lake": {"root": str(tmp_path / "lake")}, "run": {"interpreted_below_mb": 2}})
    (tmp_path / "lake").mkdir()
    try:
        spark.conf.set("spark.sql.codegen.wholeStage", "true")
        spark.conf.set("spark.sql.codegen.factoryMode", "FALLBACK")
        seen = {}
        with job_context(cfg, "pipeline", spark=spark) as ctx:
            assert ctx.evaluate_for_input(str(small)) is True
            seen["small"] = {k: spark.conf.get(k) for k in keys}
            assert ctx.evaluate_for_input(str(small), str(big)) is False  # 3 MB: the next stage compiles again
            seen["big"] = {k: spark.conf.get(k) for k in keys}
            assert ctx.evaluate_for_input(size_mb=0.5) is True
        seen["after"] = {k: spark.conf.get(k) for k in keys}
        assert seen == {"small": dict(zip(keys, ("false", "NO_CODEGEN"), strict=True)),
                        "big": dict(zip(keys, ("true", "FALLBACK"), strict=True)),
                        "after": dict(zip(keys, ("true", "FALLBACK"), strict=True))}
        summary = json.loads(Path(f"{cfg.lake.runs}/{ctx.summary.run_id}.json").read_text())
        assert summary["details"]["evaluation"] == [
            {"input_mb": 0.0, "interpreted": True, "below_mb": 2.0},
            {"input_mb": 3.0, "interpreted": False, "below_mb": 2.0},
            {"input_mb": 0.5, "interpreted": True, "below_mb": 2.0}]
    finally:
        for k, v in before.items():
            spark.conf.set(k, v)
