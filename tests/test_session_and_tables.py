"""The Spark factory and the Delta I/O module: Delta on, spark-submit settings respected, idempotent writes."""

from __future__ import annotations

import json
import os

import pytest
from chispa import assert_df_equality
from pyspark import SparkConf
from pyspark.sql import Row
from pyspark.sql import functions as F
from pyspark.sql import types as T

from brandlake import tables
from brandlake.config import load_config
from brandlake.errors import exit_code_of
from brandlake.session import materialize, release, session_conf
from brandlake.summary import RunSummary

SCHEMA = T.StructType([
    T.StructField("id", T.LongType(), False),
    T.StructField("v", T.StringType(), True),
    T.StructField("updated_at", T.IntegerType(), True),
])


def test_local_session_conf_sets_master_delta_and_jars():
    conf = session_conf(load_config("test").spark, SparkConf(loadDefaults=False))
    assert conf["spark.master"] == "local[2]"
    assert conf["spark.sql.extensions"] == "io.delta.sql.DeltaSparkSessionExtension"
    assert conf["spark.sql.shuffle.partitions"] == "1"
    assert conf["spark.jars"].endswith("delta-storage-4.1.0.jar") and "delta-spark_2.13-4.1.0.jar" in conf["spark.jars"]


def test_spark_submit_master_and_jars_are_kept():
    launched = SparkConf(loadDefaults=False).set("spark.master", "spark://127.0.0.1:7077").set(
        "spark.jars", "/opt/jars/delta-spark_2.13-4.1.0.jar,/opt/jars/delta-storage-4.1.0.jar"
    )
    conf = session_conf(load_config("test").spark, launched)
    assert "spark.master" not in conf and "spark.jars" not in conf and "spark.driver.memory" not in conf


def test_session_runs_with_delta_and_ansi_and_builds_columns_without_capturing_call_sites(spark):
    from pyspark.errors.utils import is_debugging_enabled

    assert spark.conf.get("spark.sql.catalog.spark_catalog") == "org.apache.spark.sql.delta.catalog.DeltaCatalog"
    assert spark.conf.get("spark.sql.ansi.enabled") == "true"
    # PySpark decides once per process, at the first column built: a column function then makes no extra trips
    # to the JVM for the DataFrame query context (conf/base.yaml)
    assert not is_debugging_enabled()
    assert spark.conf.get("spark.sql.dataFrameQueryContext.enabled") == "false"


def test_a_materialized_frame_is_computed_once_planned_without_its_lineage_and_released(spark):
    source = spark.createDataFrame([(1, "a", 5), (2, "b", 6)], SCHEMA).withColumn("v", F.upper("v"))
    kept = materialize(source)
    storage = spark.sparkContext._jsc.sc().getRDDStorageInfo
    before = {i.id(): i.numCachedPartitions() for i in storage()}
    derived = kept.where("updated_at > 5")
    assert "Project" not in derived._jdf.queryExecution().analyzed().toString()  # upper() is not re-planned
    assert_df_equality(derived, spark.createDataFrame([(2, "B", 6)], SCHEMA), ignore_nullable=True)
    rdd_id = kept._jdf.queryExecution().logical().rdd().id()
    assert before.get(rdd_id, 0) > 0
    release(kept)
    assert rdd_id not in {i.id() for i in storage()}
    release(source)  # a frame that keeps nothing: left alone


def test_merge_upsert_never_rolls_back_to_an_older_version_and_reports_what_it_did(spark, tmp_path):
    path = str(tmp_path / "t")
    created = tables.merge_upsert(spark.createDataFrame([(1, "a", 5), (2, "b", 5)], SCHEMA), path, keys=["id"],
                                  newer_than="updated_at")
    # id 1: newer version wins; id 2: an older, late version is ignored; id 3: new row
    merged = tables.merge_upsert(
        spark.createDataFrame([(1, "a2", 6), (2, "stale", 4), (3, "c", 1)], SCHEMA), path, keys=["id"], newer_than="updated_at"
    )
    expected = spark.createDataFrame([(1, "a2", 6), (2, "b", 5), (3, "c", 1)], SCHEMA)
    assert_df_equality(tables.read(spark, path), expected, ignore_row_order=True, ignore_nullable=True)
    assert created == tables.MergeMetrics(source_rows=2, inserted=2, updated=0, deleted=0)
    assert merged == tables.MergeMetrics(source_rows=3, inserted=1, updated=1, deleted=0)
    assert (merged.written, merged.unchanged) == (2, 1)
    # a source known to be empty writes no commit
    assert tables.merge_upsert(spark.createDataFrame([], SCHEMA), path, keys=["id"], source_rows=0) == \
        tables.MergeMetrics(source_rows=0, inserted=0, updated=0)
    assert tables.latest_version(spark, path) == 1


def test_merge_upsert_compares_map_columns_so_an_identical_row_stays_untouched(spark, tmp_path):
    path = str(tmp_path / "m")
    schema = "id int, counts map<string,bigint>, tags array<struct<k:string,m:map<string,int>>>"
    tables.merge_upsert(spark.createDataFrame([(1, {"a": 1}, [("x", {"p": 1})]), (2, {"b": 2}, None)], schema), path,
                        keys=["id"])
    # id 1 again as it is; id 2 with a changed count; id 3 new
    merged = tables.merge_upsert(spark.createDataFrame(
        [(1, {"a": 1}, [("x", {"p": 1})]), (2, {"b": 3}, None), (3, None, None)], schema), path, keys=["id"])
    assert (merged.inserted, merged.updated, merged.unchanged) == (1, 1, 1)
    assert sorted((r["id"], r["counts"], r["tags"]) for r in tables.read(spark, path).collect()) == [
        (1, {"a": 1}, [Row(k="x", m={"p": 1})]), (2, {"b": 3}, None), (3, None, None)]


def test_merge_insert_new_adds_only_unseen_keys_and_counts_the_rest_unchanged(spark, tmp_path):
    path = str(tmp_path / "q")
    tables.merge_insert_new(spark.createDataFrame([(1, "a", 1)], SCHEMA), path, keys=["id", "v"])
    again = tables.merge_insert_new(spark.createDataFrame([(1, "a", 9), (2, None, 1)], SCHEMA), path, keys=["id", "v"])
    expected = spark.createDataFrame([(1, "a", 1), (2, None, 1)], SCHEMA)
    assert_df_equality(tables.read(spark, path), expected, ignore_row_order=True, ignore_nullable=True)
    assert again == tables.MergeMetrics(source_rows=2, inserted=1, updated=0, deleted=0)
    assert again.unchanged == 1


def test_append_once_skips_a_replayed_batch(spark, tmp_path):
    path = str(tmp_path / "t")
    batch0 = spark.createDataFrame([(1, "a", 1)], SCHEMA)
    batch1 = spark.createDataFrame([(2, "b", 1)], SCHEMA)
    tables.append_once(batch0, path, app_id="test", version=0)
    tables.append_once(batch1, path, app_id="test", version=1)
    tables.append_once(batch1, path, app_id="test", version=1)  # a retried micro-batch
    expected = spark.createDataFrame([(1, "a", 1), (2, "b", 1)], SCHEMA)
    assert_df_equality(tables.read(spark, path), expected, ignore_row_order=True, ignore_nullable=True)
    assert tables.latest_version(spark, path) == 1


def test_replace_where_replaces_only_the_matching_rows(spark, tmp_path):
    path = os.path.relpath(tmp_path / "t")  # relative, like the default lake root ./lake
    tables.overwrite(spark.createDataFrame([(1, "a", 1), (2, "b", 2)], SCHEMA), path)
    tables.replace_where(spark.createDataFrame([(3, "c", 2)], SCHEMA), path, F.col("updated_at") == 2)
    expected = spark.createDataFrame([(1, "a", 1), (3, "c", 2)], SCHEMA)
    assert_df_equality(tables.read(spark, path), expected, ignore_row_order=True, ignore_nullable=True)


def test_run_summary_accumulates_counts_and_writes_json(spark, tmp_path):
    s = RunSummary(run_id="r1", command="ingest", env="test")
    s.add_counts("bronze.orders", rows_read=3, rows_written=3)
    s.add_counts("bronze.orders", rows_read=2, rows_written=1, rows_quarantined=1)
    with s.stage("ingest"):
        pass
    s.finish("succeeded")
    tables.write_text(spark, str(tmp_path / "runs" / "r1.json"), s.to_json())
    doc = json.loads((tmp_path / "runs" / "r1.json").read_text())
    assert doc["tables"] == {"bronze.orders": {"rows_read": 5, "rows_written": 4, "rows_quarantined": 1}}
    assert [st["name"] for st in doc["stages"]] == ["ingest"] and doc["status"] == "succeeded"


def test_read_required_reads_every_table_or_names_every_missing_one_and_its_command(spark, tmp_path):
    have, absent, also_absent = (str(tmp_path / n) for n in ("orders", "payments", "refunds"))
    tables.overwrite(spark.createDataFrame([(2, "b", 2)], SCHEMA), have)
    got = tables.read_required(spark, {"orders": have}, command="gold", hint="run `brandlake silver` first")
    assert list(got) == ["orders"]
    assert_df_equality(got["orders"], spark.createDataFrame([(2, "b", 2)], SCHEMA), ignore_nullable=True)

    with pytest.raises(tables.MissingInputsError) as e:
        tables.read_required(spark, {"orders": have, "payments": absent, "refunds": also_absent}, command="gold",
                             hint="run `brandlake silver` first")
    assert (str(e.value), e.value.missing, exit_code_of(e.value)) == (
        f"gold needs table(s) 'payments' at {absent}, 'refunds' at {also_absent}; run `brandlake silver` first",
        {"payments": absent, "refunds": also_absent}, 2)


def test_overwrite_counted_replaces_the_table_and_returns_the_rows_its_commit_wrote(spark, tmp_path):
    path = str(tmp_path / "t")
    tables.overwrite(spark.createDataFrame([(9, "old", 1)], SCHEMA), path)
    df = spark.createDataFrame([(1, "a", 1), (2, None, 2), (3, "c", None)], SCHEMA)
    assert tables.overwrite_counted(df, path) == 3
    assert_df_equality(tables.read(spark, path), df, ignore_row_order=True, ignore_nullable=True)
    assert tables.overwrite_counted(spark.createDataFrame([], SCHEMA), path) == 0


def test_for_each_new_batch_hands_over_only_new_rows_and_starts_no_query_when_nothing_is_new(spark, tmp_path):
    source, checkpoint = str(tmp_path / "src"), str(tmp_path / "ckpt")
    tables.overwrite(spark.createDataFrame([(1, "a", 1), (2, "b", 1)], SCHEMA), source)
    seen: list[tuple[int, list[int]]] = []

    def handle(df, batch_id):
        seen.append((batch_id, sorted(r["id"] for r in df.collect())))

    tables.for_each_new_batch(spark, source, checkpoint=checkpoint, handle=handle)
    commits = sorted(os.listdir(tmp_path / "ckpt" / "commits"))
    tables.for_each_new_batch(spark, source, checkpoint=checkpoint, handle=handle)  # nothing new
    assert sorted(os.listdir(tmp_path / "ckpt" / "commits")) == commits  # no query ran: no commit, no batch
    tables.append_once(spark.createDataFrame([(3, "c", 2)], SCHEMA), source, app_id="t", version=1)
    tables.for_each_new_batch(spark, source, checkpoint=checkpoint, handle=handle)
    assert seen == [(0, [1, 2]), (1, [3])]

    # a handler that fails leaves the note as it was: the next call retries the same rows
    tables.append_once(spark.createDataFrame([(4, "d", 3)], SCHEMA), source, app_id="t", version=2)

    def broken(df, batch_id):
        raise ValueError("disk full")

    with pytest.raises(ValueError, match="disk full"):
        tables.for_each_new_batch(spark, source, checkpoint=checkpoint, handle=broken)
    tables.for_each_new_batch(spark, source, checkpoint=checkpoint, handle=handle)
    assert seen[-1] == (2, [4])

    # a checkpoint deleted to reprocess forgets the note with it: everything is handed over again
    tables.delete_path(spark, checkpoint)
    tables.for_each_new_batch(spark, source, checkpoint=checkpoint, handle=handle)
    assert seen[-1] == (0, [1, 2, 3, 4])
