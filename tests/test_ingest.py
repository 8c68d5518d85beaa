"""`brandlake ingest`: landing files in the docs/contracts.md layout → bronze Delta tables, exactly once.

Streams are slow to start, so the first-ingest behaviours share one module-scoped run over a small
landing zone; the re-run, new-batch, crash and failure behaviours each get their own lake.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
from brandlake.jobs import ingest as ingest_job
from brandlake.transforms.landing import SOURCES
from chispa import assert_df_equality
from pyspark.sql import functions as F
from pyspark.sql import types as T

from brandlake import tables
from brandlake.config import load_config
from brandlake.runtime import JobContext
from brandlake.summary import RunSummary

PAYMENT_FIELDS = SOURCES["payment_events"].fields
WAREHOUSE_FIELDS = SOURCES["warehouses"].fields
FX_FIELDS = SOURCES["fx_rates"].fields


def land(cfg, source: str, batch: int, text: str, part: int = 0) -> str:
    """Write one landing file; returns the path as Spark's _metadata.file_path reports it."""
    path = Path(cfg.lake.landing) / source / f"batch={batch:05d}" / f"part-{part:05d}.{SOURCES[source].extension}"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return f"file:{path}"


def ingest(spark, cfg, sources: str | None, run_id: str = "run-1") -> RunSummary:
    parser = argparse.ArgumentParser()
    ingest_job.add_arguments(parser)
    args = parser.parse_args(["--sources", sources] if sources else [])
    ctx = JobContext(cfg=cfg, spark=spark, summary=RunSummary(run_id=run_id, command="ingest", env="test"))
    ingest_job.run(ctx, args)
    return ctx.summary


def bronze_schema(fields, *extra: str) -> T.StructType:
    """Bronze columns with _ingested_at replaced by whether it is set (its value is the wall clock)."""
    return T.StructType(
        [T.StructField(f, T.StringType(), True) for f in (*fields, *extra)]
        + [
            T.StructField("_corrupt_record", T.StringType(), True),
            T.StructField("_source_file", T.StringType(), True),
            T.StructField("_landing_batch", T.IntegerType(), True),
            T.StructField("_ingested_at", T.BooleanType(), True),
            T.StructField("_run_id", T.StringType(), True),
        ]
    )


def read_bronze(spark, cfg, source: str, *columns: str):
    df = tables.read(spark, f"{cfg.lake.bronze}/{source}").withColumn("_ingested_at", F.col("_ingested_at").isNotNull())
    return df.select(*columns) if columns else df


def payment(event_id: str, amount: str = "10.00", **extra: str) -> str:
    fields = {"event_id": event_id, "event_at": "2024-01-02T03:04:05Z", "platform_id": "tmall", "order_id": "o1",
              "payment_id": f"p-{event_id}", "payment_kind": "full", "currency": "CNY", "method": "alipay",
              "status": "succeeded", **extra}
    body = ", ".join(f'"{k}": "{v}"' for k, v in fields.items())
    return "{" + body + f', "amount": {amount}' + "}"


def payment_row(event_id, amount, *, corrupt=None, source_file, batch, run_id="run-1", extra=()):
    if corrupt is not None:
        return (*([None] * len(PAYMENT_FIELDS)), *extra, corrupt, source_file, batch, True, run_id)
    return (event_id, "2024-01-02T03:04:05Z", "tmall", "o1", f"p-{event_id}", "full", amount, "CNY", "alipay",
            "succeeded", *extra, None, source_file, batch, True, run_id)


# ---- one first ingest over a small landing zone -------------------------------------------------------


@pytest.fixture(scope="module")
def first_run(spark, tmp_path_factory):
    cfg = load_config("test", overrides={"lake": {"root": str(tmp_path_factory.mktemp("ingest") / "lake")}})
    pay1 = land(cfg, "payment_events", 1, "\n".join([
        payment("e1", "12.5"),
        payment("e1", "12.5"),  # a duplicate delivery: bronze keeps both, silver deduplicates
        '{"event_id": "e2", "amount": 3.0',  # malformed
        payment("e3", "7"),
    ]) + "\n")
    pay2 = land(cfg, "payment_events", 2, payment("e4", "1.25", device_type="mobile") + "\n")
    wh = land(cfg, "warehouses", 1, (
        "warehouse_id,name,country,province,city,capacity_units,updated_at\n"
        'w1,"Shanghai North, Bay 2",CN,Shanghai,Shanghai,5000,2024-01-01\n'
        'w2,"The ""Big"" One",DE,Hessen,Frankfurt,1200,2024-01-01\n'
        "w3,Short,CN,Zhejiang\n"  # too few fields
        "w4,Long,CN,Zhejiang,Hangzhou,10,2024-01-01,extra\n"  # too many fields
    ))
    summary = ingest(spark, cfg, "payment_events,warehouses,clickstream")
    return cfg, summary, {"pay1": pay1, "pay2": pay2, "wh": wh}


def test_jsonl_records_land_as_text_with_malformed_and_duplicate_lines_kept(spark, first_run):
    cfg, _, files = first_run
    actual = read_bronze(spark, cfg, "payment_events").filter("_landing_batch = 1").drop("device_type")
    f = files["pay1"]
    expected = spark.createDataFrame(
        [
            payment_row("e1", "12.5", source_file=f, batch=1),
            payment_row("e1", "12.5", source_file=f, batch=1),
            payment_row(None, None, corrupt='{"event_id": "e2", "amount": 3.0', source_file=f, batch=1),
            payment_row("e3", "7", source_file=f, batch=1),
        ],
        bronze_schema(PAYMENT_FIELDS),
    )
    assert_df_equality(actual, expected, ignore_row_order=True, ignore_nullable=True)


def test_csv_rows_with_wrong_field_counts_are_kept_corrupt_and_quoted_commas_parse(spark, first_run):
    cfg, _, files = first_run
    f = files["wh"]
    expected = spark.createDataFrame(
        [
            ("w1", "Shanghai North, Bay 2", "CN", "Shanghai", "Shanghai", "5000", "2024-01-01", None, f, 1, True, "run-1"),
            ("w2", 'The "Big" One', "DE", "Hessen", "Frankfurt", "1200", "2024-01-01", None, f, 1, True, "run-1"),
            (None, None, None, None, None, None, None, "w3,Short,CN,Zhejiang", f, 1, True, "run-1"),
            (None, None, None, None, None, None, None, "w4,Long,CN,Zhejiang,Hangzhou,10,2024-01-01,extra",
             f, 1, True, "run-1"),
        ],
        bronze_schema(WAREHOUSE_FIELDS),
    )
    assert_df_equality(read_bronze(spark, cfg, "warehouses"), expected, ignore_row_order=True, ignore_nullable=True)


def test_field_drifting_in_from_a_later_batch_becomes_a_string_column_null_before(spark, first_run):
    cfg, _, _ = first_run
    actual = read_bronze(spark, cfg, "payment_events", "event_id", "device_type", "_landing_batch")
    expected = spark.createDataFrame(
        [("e1", None, 1), ("e1", None, 1), (None, None, 1), ("e3", None, 1), ("e4", "mobile", 2)],
        "event_id string, device_type string, _landing_batch int",
    )
    assert_df_equality(actual, expected, ignore_row_order=True, ignore_nullable=True)


def test_run_summary_counts_rows_per_source_and_records_drift_and_skipped_sources(first_run):
    _, summary, _ = first_run
    assert summary.tables == {
        "bronze.payment_events": {"rows_read": 5, "rows_written": 5, "rows_corrupt": 1},
        "bronze.warehouses": {"rows_read": 4, "rows_written": 4, "rows_corrupt": 2},
    }
    assert summary.details["ingest"] == {
        "skipped_sources": ["clickstream"],
        "micro_batches": {"payment_events": 1, "warehouses": 1},  # both landing batches fit one trigger
        "drift_columns": {"payment_events": ["device_type"]},
    }
    assert [s["name"] for s in summary.stages] == ["ingest.check_files", "ingest", "ingest.redelivered"]


def test_missing_source_folder_creates_no_table_or_checkpoint(spark, first_run):
    cfg, _, _ = first_run
    assert not tables.exists(spark, f"{cfg.lake.bronze}/clickstream")
    assert not Path(cfg.lake.checkpoints, "bronze", "clickstream").exists()


# ---- re-runs, new batches, crashes and failures ----------------------------------------------------------

FX_HEADER = "rate_date,currency,per_usd\n"


def fx_rows(rows, *, source_file, batch, run_id):
    return [(d, c, r, None, source_file, batch, True, run_id) for d, c, r in rows]


def test_second_ingest_without_new_files_leaves_bronze_unchanged(spark, cfg):
    f = land(cfg, "fx_rates", 1, FX_HEADER + "2024-01-01,CNY,7.1000\n2024-01-01,EUR,0.9100\n")
    ingest(spark, cfg, "fx_rates", run_id="run-1")
    table = f"{cfg.lake.bronze}/fx_rates"
    version = tables.latest_version(spark, table)
    summary = ingest(spark, cfg, "fx_rates", run_id="run-2")
    expected = spark.createDataFrame(
        fx_rows([("2024-01-01", "CNY", "7.1000"), ("2024-01-01", "EUR", "0.9100")], source_file=f, batch=1,
                run_id="run-1"),
        bronze_schema(FX_FIELDS),
    )
    assert_df_equality(read_bronze(spark, cfg, "fx_rates"), expected, ignore_row_order=True, ignore_nullable=True)
    assert tables.latest_version(spark, table) == version
    assert summary.tables["bronze.fx_rates"] == {"rows_read": 0, "rows_written": 0, "rows_corrupt": 0}


def test_new_landing_batch_adds_exactly_its_records(spark, cfg):
    f1 = land(cfg, "fx_rates", 1, FX_HEADER + "2024-01-01,CNY,7.1000\n")
    ingest(spark, cfg, "fx_rates", run_id="run-1")
    f2 = land(cfg, "fx_rates", 2, FX_HEADER + "2024-01-02,CNY,7.1200\n2024-01-02,EUR,0.9050\n")
    summary = ingest(spark, cfg, "fx_rates", run_id="run-2")
    expected = spark.createDataFrame(
        fx_rows([("2024-01-01", "CNY", "7.1000")], source_file=f1, batch=1, run_id="run-1")
        + fx_rows([("2024-01-02", "CNY", "7.1200"), ("2024-01-02", "EUR", "0.9050")], source_file=f2, batch=2,
                  run_id="run-2"),
        bronze_schema(FX_FIELDS),
    )
    assert_df_equality(read_bronze(spark, cfg, "fx_rates"), expected, ignore_row_order=True, ignore_nullable=True)
    assert summary.tables["bronze.fx_rates"] == {"rows_read": 2, "rows_written": 2, "rows_corrupt": 0}


def test_a_byte_bound_cuts_a_large_first_ingest_into_micro_batches_that_land_every_record_once(spark, tmp_path):
    # maxBytesPerTrigger is a soft bound: a micro-batch takes files until it passes the bound, at least one file
    cfg = load_config("test", overrides={"lake": {"root": str(tmp_path / "lake")},
                                         "ingest": {"max_bytes_per_trigger": 40}})
    days = [f"2024-01-0{d}" for d in (1, 2, 3)]
    files = [land(cfg, "fx_rates", b, FX_HEADER + f"{day},CNY,7.1{b}00\n{day},EUR,0.9{b}00\n")
             for b, day in enumerate(days, start=1)]
    summary = ingest(spark, cfg, "fx_rates")
    expected = spark.createDataFrame(
        [row for b, (f, day) in enumerate(zip(files, days, strict=True), start=1)
         for row in fx_rows([(day, "CNY", f"7.1{b}00"), (day, "EUR", f"0.9{b}00")], source_file=f, batch=b,
                            run_id="run-1")],
        bronze_schema(FX_FIELDS),
    )
    assert_df_equality(read_bronze(spark, cfg, "fx_rates"), expected, ignore_row_order=True, ignore_nullable=True)
    assert summary.details["ingest"]["micro_batches"] == {"fx_rates": 3}  # one file each: every file is > 40 B
    assert summary.tables["bronze.fx_rates"] == {"rows_read": 6, "rows_written": 6, "rows_corrupt": 0}


def test_rerun_after_crash_between_delta_commit_and_checkpoint_commit_adds_no_duplicates(spark, cfg):
    f1 = land(cfg, "fx_rates", 1, FX_HEADER + "2024-01-01,CNY,7.1000\n2024-01-01,EUR,0.9100\n")
    ingest(spark, cfg, "fx_rates", run_id="run-1")
    # The crash: micro-batch 0 reached Delta, but its checkpoint commit was never written.
    commits = Path(cfg.lake.checkpoints, "bronze", "fx_rates", "commits")
    for name in ("0", ".0.crc"):
        (commits / name).unlink(missing_ok=True)
    f2 = land(cfg, "fx_rates", 2, FX_HEADER + "2024-01-02,CNY,7.1200\n")
    summary = ingest(spark, cfg, "fx_rates", run_id="run-2")
    expected = spark.createDataFrame(
        fx_rows([("2024-01-01", "CNY", "7.1000"), ("2024-01-01", "EUR", "0.9100")], source_file=f1, batch=1,
                run_id="run-1")
        + fx_rows([("2024-01-02", "CNY", "7.1200")], source_file=f2, batch=2, run_id="run-2"),
        bronze_schema(FX_FIELDS),
    )
    assert_df_equality(read_bronze(spark, cfg, "fx_rates"), expected, ignore_row_order=True, ignore_nullable=True)
    # batch 0 was replayed (read again) but Delta skipped its append
    assert summary.tables["bronze.fx_rates"] == {"rows_read": 3, "rows_written": 1, "rows_corrupt": 0}


def test_failing_source_fails_the_job_by_name_after_the_other_sources_finish(spark, cfg, monkeypatch):
    land(cfg, "fx_rates", 1, FX_HEADER + "2024-01-01,CNY,7.1000\n")
    land(cfg, "brands", 1, '{"brand_id": "b1", "name": "Acme"}\n')
    append_once = tables.append_once

    def broken_for_brands(df, path, **kwargs):
        if path.endswith("/brands"):
            raise OSError("disk full")
        append_once(df, path, **kwargs)

    monkeypatch.setattr(tables, "append_once", broken_for_brands)
    with pytest.raises(ingest_job.IngestError, match=r"1 source\(s\): brands: .*disk full") as failed:
        ingest(spark, cfg, "brands,fx_rates")
    assert "fx_rates" not in str(failed.value)
    assert tables.exists(spark, f"{cfg.lake.bronze}/fx_rates")
    assert not tables.exists(spark, f"{cfg.lake.bronze}/brands")


def test_bronze_table_whose_checkpoint_is_gone_is_refused_not_silently_skipped(spark, cfg):
    land(cfg, "fx_rates", 1, FX_HEADER + "2024-01-01,CNY,7.1000\n")
    tables.overwrite(spark.createDataFrame([("x",)], "rate_date string"), f"{cfg.lake.bronze}/fx_rates")
    with pytest.raises(ingest_job.IngestError, match=r"fx_rates: IngestError: bronze table .* checkpoint .* is missing"):
        ingest(spark, cfg, "fx_rates")


def test_unknown_source_name_is_rejected_with_the_known_names():
    with pytest.raises(argparse.ArgumentTypeError, match=r"unknown source\(s\) \['nope'\]; known: \['brands'"):
        ingest_job.source_list("fx_rates,nope")
