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

    lines = _messages(caplog)
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
        "spark.sql.sources.parallelPartitionDiscovery.parallelism": "2",
        "spark.default.parallelism": "2",
        "spark.driver.host": "127.0.0.1",
        "spark.driver.bindAddress": "127.0.0.1",
        "spark.ui.showConsoleProgress": "false",
        "spark.databricks.delta.schema.autoMerge.enabled": "false",
        "spark.sql.streaming.stopGracefullyOnShutdown": "true",
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.ansi.enabled": "true",
        "spark.sql.extensions": "com.example.Ext,io.delta.sql.DeltaSparkSessionExtension",
        "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
    }
    assert sorted(m for m in _messages(caplog, "brandlake.session") if m.startswith("overriding")) == [
        "overriding spark.sql.ansi.enabled=false with true: brandlake's results are only correct with it",
        "overriding spark.sql.session.timeZone=Asia/Shanghai with UTC: brandlake's results are only correct with it",
    ]
