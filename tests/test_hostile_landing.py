"""Hostile landing files: each is either read (by name, line by line) or set aside whole with a reason, and
never blocks its source. One landing zone holds every case; it is ingested once through the CLI, ingested
again (nothing lost or duplicated, a re-delivered file read as a new version), and one quarantined file is
fixed and replayed exactly once.
"""

from __future__ import annotations

import gzip
import json
from decimal import Decimal
from pathlib import Path

import pytest
from chispa import assert_df_equality
from pyspark.sql import functions as F

from brandlake import tables
from brandlake.cli import main
from tests.test_ingest import PAYMENT_FIELDS, WAREHOUSE_FIELDS, bronze_schema, payment, payment_row

WH_HEADER = ",".join(WAREHOUSE_FIELDS)
JUNK = b"\x00\xffjunk\xfe\x01"  # binary bytes inside a JSON-lines file: one corrupt line, not a lost file


def put(root: Path, rel: str, data: bytes | str) -> str:
    path = root / "landing" / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
    return f"file:{path}"


def summary_of(root: Path) -> dict:
    return json.loads((root / "_runs" / "latest.json").read_text())


def cli(root: Path, *args: str) -> int:
    return main([args[0], "--env", "test", "--lake-root", str(root), *args[1:]])


def wh_row(values, *, f, run_id, manager=None, batch=1):
    return (*values, manager, None, f, batch, True, run_id)


@pytest.fixture(scope="module")
def hostile(spark, tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile") / "lake"
    files = {
        # payment_events (JSON lines)
        "pay_mixed": put(root, "payment_events/batch=00001/part-00000.jsonl", b"\n".join([
            payment("e1", "7").encode(), payment("e2", "7").encode(), JUNK, payment("e3", "7").encode(), payment("e4", "7").encode(),
            b'{"event_id": "e9", "amo',  # truncated: the file ends mid-record
        ])),
        "pay_nul": put(root, "payment_events/batch=00001/part-00001.jsonl", b"\x00" * 4096),
        "pay_gz": put(root, "payment_events/batch=00001/part-00002.jsonl.gz", gzip.compress(payment("e7", "7").encode())),
        "pay_ok": put(root, "payment_events/batch=00001/part-00003.jsonl", payment("e5", "7") + "\n"),
        # warehouses (CSV)
        "wh_ok": put(root, "warehouses/batch=00001/part-00000.csv", f"{WH_HEADER}\nw1,North,CN,SH,Shanghai,10,2024-01-01\n"),
        "wh_reordered": put(root, "warehouses/batch=00001/part-00001.csv",
                            "name,warehouse_id,country,province,city,capacity_units,updated_at,manager\r\n"
                            "South,w2,CN,GD,Shenzhen,20,2024-01-01,Li\r\n"),
        "wh_renamed": put(root, "warehouses/batch=00001/part-00002.csv",
                          WH_HEADER.replace("capacity_units", "capacity") + "\nw3,East,CN,ZJ,Hangzhou,30,2024-01-01\n"),
        "wh_binary": put(root, "warehouses/batch=00001/part-00003.csv", bytes(range(256)) * 8),
        "wh_header_only": put(root, "warehouses/batch=00001/part-00004.csv", "\ufeff" + WH_HEADER + "\n"),
        "wh_empty": put(root, "warehouses/batch=00001/part-00005.csv", b""),
        "wh_dir": put(root, "warehouses/batch=00001/part-00006.csv/inner.csv", f"{WH_HEADER}\n"),
    }
    files["wh_dir"] = files["wh_dir"].rsplit("/", 1)[0]
    first = cli(root, "ingest")
    first_summary = summary_of(root)
    silver = [cli(root, "silver", "--tables", "payments", "--set", "dq.build_data_docs=false")]
    silver_summaries = [summary_of(root)]

    # second delivery: the same file name with two records appended (e5 unchanged), and a later batch of the
    # source whose first batch had files set aside
    put(root, "payment_events/batch=00001/part-00003.jsonl", "\n".join([payment("e5", "7"), payment("e6", "5.5")]) + "\n")
    files["wh_later"] = put(root, "warehouses/batch=00002/part-00000.csv", f"{WH_HEADER}\nw4,West,CN,SC,Chengdu,40,2024-02-01\n")
    second = cli(root, "ingest")
    second_summary = summary_of(root)
    silver.append(cli(root, "silver", "--tables", "payments", "--set", "dq.build_data_docs=false"))
    silver_summaries.append(summary_of(root))
    return root, files, (first, first_summary, (silver, silver_summaries)), (second, second_summary)


def read_bronze(spark, root: Path, source: str):
    return tables.read(spark, f"{root}/bronze/{source}").withColumn("_ingested_at", F.col("_ingested_at").isNotNull())


def test_first_ingest_reads_every_readable_file_and_sets_the_rest_aside_with_a_reason(spark, hostile):
    root, f, (code, summary, _), _ = hostile
    assert code == 3  # files were kept back: the run says so
    assert summary["status"] == "held_back"
    assert summary["tables"] == {
        "bronze.payment_events": {"files_quarantined": 2, "rows_read": 7, "rows_written": 7, "rows_corrupt": 2},
        "bronze.warehouses": {"files_quarantined": 3, "rows_read": 2, "rows_written": 2, "rows_corrupt": 0},
    }
    assert summary["details"]["kept_back"] == (
        "kept back: bronze.payment_events: 2 file(s) quarantined, 2 corrupt row(s) (corrupt_record 2, not_text 1, "
        "undeclared_format 1); bronze.warehouses: 3 file(s) quarantined (directory 1, header_mismatch 1, unreadable_header 1)"
    )
    quarantine = tables.read(spark, f"{root}/bronze/_landing_quarantine")
    actual = quarantine.select("source", "file", "landing_batch", "reason_code", "status",
                               F.col("quarantined_path").endswith(F.regexp_extract("file", r"(/[^/]+/batch=.*)$", 1)).alias("moved"))
    expected = spark.createDataFrame([
        ("payment_events", f["pay_nul"], 1, "not_text", "quarantined", True),
        ("payment_events", f["pay_gz"], 1, "undeclared_format", "quarantined", True),
        ("warehouses", f["wh_renamed"], 1, "header_mismatch", "quarantined", True),
        ("warehouses", f["wh_binary"], 1, "unreadable_header", "quarantined", True),
        ("warehouses", f["wh_dir"], 1, "directory", "quarantined", True),
    ], actual.schema)
    assert_df_equality(actual, expected, ignore_row_order=True, ignore_nullable=True)
    reasons = {r["file"]: r["reason"] for r in quarantine.collect()}
    assert reasons[f["wh_renamed"]].startswith("header_mismatch: missing contract column(s) ['capacity_units']")
    assert reasons[f["pay_gz"]] == "undeclared_format: extension .jsonl.gz, declared .jsonl"
    # set aside whole: gone from the landing zone, kept byte for byte under the quarantine folder
    for key in ("pay_nul", "pay_gz", "wh_renamed", "wh_binary", "wh_dir"):
        assert not Path(f[key].removeprefix("file:")).exists()
    moved = {r["file"]: Path(r["quarantined_path"].removeprefix("file:")) for r in quarantine.collect()}
    assert moved[f["pay_nul"]].read_bytes() == b"\x00" * 4096
    assert (moved[f["wh_dir"]] / "inner.csv").exists()


def test_readable_files_reach_bronze_whole_csv_by_column_name(spark, hostile):
    root, f, (_, first, _), _ = hostile
    pm, run = f["pay_mixed"], first["run_id"]
    expected_pay = spark.createDataFrame([
        payment_row("e1", "7", source_file=pm, batch=1, run_id=run),
        payment_row("e2", "7", source_file=pm, batch=1, run_id=run),
        payment_row(None, None, corrupt="\x00\ufffdjunk\ufffd\x01", source_file=pm, batch=1, run_id=run),
        payment_row("e3", "7", source_file=pm, batch=1, run_id=run),
        payment_row("e4", "7", source_file=pm, batch=1, run_id=run),
        payment_row(None, None, corrupt='{"event_id": "e9", "amo', source_file=pm, batch=1, run_id=run),
        payment_row("e5", "7", source_file=f["pay_ok"], batch=1, run_id=run),
    ], bronze_schema(PAYMENT_FIELDS))
    first_run_rows = read_bronze(spark, root, "payment_events").filter(F.col("_run_id") == run)
    assert_df_equality(first_run_rows, expected_pay, ignore_row_order=True, ignore_nullable=True)
    expected_wh = spark.createDataFrame([
        wh_row(("w1", "North", "CN", "SH", "Shanghai", "10", "2024-01-01"), f=f["wh_ok"], run_id=run),
        wh_row(("w2", "South", "CN", "GD", "Shenzhen", "20", "2024-01-01"), f=f["wh_reordered"], run_id=run,
               manager="Li"),
    ], bronze_schema(WAREHOUSE_FIELDS, "manager"))
    actual_wh = read_bronze(spark, root, "warehouses").filter(F.col("_run_id") == run)
    assert_df_equality(actual_wh, expected_wh, ignore_row_order=True, ignore_nullable=True)


def test_rerun_adds_nothing_and_a_redelivered_file_is_read_as_a_new_version(spark, hostile):
    root, f, _, (code, summary) = hostile
    assert code == 0
    assert summary["tables"] == {
        "bronze.payment_events": {"rows_read": 2, "rows_written": 2, "rows_corrupt": 0},
        "bronze.warehouses": {"rows_read": 1, "rows_written": 1, "rows_corrupt": 0},
    }
    assert summary["details"]["ingest"]["redelivered_files"] == {"payment_events": [f["pay_ok"]]}
    assert summary["details"]["kept_back"] == "kept back: nothing"
    new_version = read_bronze(spark, root, "payment_events").filter(F.col("_run_id") == summary["run_id"])
    expected = spark.createDataFrame([
        payment_row("e5", "7", source_file=f["pay_ok"], batch=1, run_id=summary["run_id"]),
        payment_row("e6", "5.5", source_file=f["pay_ok"], batch=1, run_id=summary["run_id"]),
    ], bronze_schema(PAYMENT_FIELDS))
    assert_df_equality(new_version, expected, ignore_row_order=True, ignore_nullable=True)
    assert read_bronze(spark, root, "payment_events").count() == 9  # 7 from the first run + the new version's 2
    later = read_bronze(spark, root, "warehouses").filter(F.col("_run_id") == summary["run_id"])
    expected_later = spark.createDataFrame([
        wh_row(("w4", "West", "CN", "SC", "Chengdu", "40", "2024-02-01"), f=f["wh_later"], run_id=summary["run_id"],
               batch=2),
    ], bronze_schema(WAREHOUSE_FIELDS, "manager"))
    assert_df_equality(later, expected_later, ignore_nullable=True)  # the source is not blocked by its bad files
    ledger = tables.read(spark, f"{root}/bronze/_landing_files").filter(F.col("file") == f["pay_ok"])
    assert sorted(r["status"] for r in ledger.collect()) == ["accepted", "redelivered"]


def test_silver_quarantines_every_corrupt_line_and_counts_an_identical_redelivery_as_a_duplicate(spark, hostile):
    root, f, (_, _, (codes, summaries)), _ = hostile
    assert codes == [0, 0]
    first, second = (s["tables"]["silver.payments"] for s in summaries)
    # every corrupt bronze line (the junk line, the truncated record) is in the quarantine as corrupt_record
    assert first == {"bronze_rows_read": 7, "rows_read": 7, "rows_written": 5, "rows_quarantined": 2,
                     "rows_duplicate": 0, "bronze_rows_corrupt": 2, "rows_quarantined_corrupt": 2}
    # the re-delivered file: e5 unchanged is a duplicate, left untouched; e6 is written
    assert second == {"bronze_rows_read": 2, "rows_read": 2, "rows_written": 1, "rows_quarantined": 0,
                      "rows_duplicate": 1, "bronze_rows_corrupt": 0, "rows_quarantined_corrupt": 0}
    # the top reasons say what was wrong (a corrupt line), not the rules its unread fields could not pass
    assert summaries[0]["details"]["kept_back"] == (
        "kept back: silver.payments: 2 of 7 row(s) quarantined (corrupt_record 2); "
        "silver.payments: kept with warnings (ref_orders 5)")
    published = tables.read(spark, f"{root}/silver/payments").select("payment_id", "amount")
    assert_df_equality(published, spark.createDataFrame(
        [(f"p-e{i}", Decimal(a)) for i, a in enumerate(["7.00"] * 5 + ["5.50"], start=1)], published.schema),
        ignore_row_order=True, ignore_nullable=True)
    quarantine = tables.read(spark, f"{root}/silver/payments_quarantine").select(
        "payment_id", "failed_rules", "reasons", F.get_json_object("raw_record", "$._corrupt_record").alias("line"),
        F.get_json_object("raw_record", "$._source_file").alias("file"))
    rules = ["conform"]  # a corrupt line breaks the conform rule only, not every not-null rule of its unread fields
    expected = spark.createDataFrame([
        (None, rules, ["corrupt_record"], "\x00\ufffdjunk\ufffd\x01", f["pay_mixed"]),
        (None, rules, ["corrupt_record"], '{"event_id": "e9", "amo', f["pay_mixed"]),
    ], quarantine.schema)
    assert_df_equality(quarantine, expected, ignore_row_order=True, ignore_nullable=True)


def test_fixed_quarantined_file_replays_exactly_once(spark, hostile):
    root, f, _, _ = hostile
    quarantine = f"{root}/bronze/_landing_quarantine"
    row = tables.read(spark, quarantine).filter(F.col("file") == f["wh_renamed"]).first()
    fixed = Path(row["quarantined_path"].removeprefix("file:"))
    fixed.write_text(f"{WH_HEADER}\nw3,East,CN,ZJ,Hangzhou,30,2024-01-01\n", encoding="utf-8")

    assert cli(root, "replay-landing", "--file", "warehouses/batch=00001/part-00002.csv") == 0
    replay = summary_of(root)
    assert replay["tables"] == {"bronze.warehouses": {"rows_read": 1, "rows_written": 1, "rows_corrupt": 0}}
    assert cli(root, "replay-landing", "--file", "warehouses/batch=00001/part-00002.csv") == 2  # exactly once
    replayed = read_bronze(spark, root, "warehouses").filter(F.col("_source_file") == f["wh_renamed"])
    expected = spark.createDataFrame([
        wh_row(("w3", "East", "CN", "ZJ", "Hangzhou", "30", "2024-01-01"), f=f["wh_renamed"], run_id=replay["run_id"]),
    ], bronze_schema(WAREHOUSE_FIELDS, "manager"))
    assert_df_equality(replayed, expected, ignore_nullable=True)
    marked = tables.read(spark, quarantine).filter(F.col("file") == f["wh_renamed"]).first()
    assert (marked["status"], marked["replay_run_id"], marked["replay_rows"]) == ("replayed", replay["run_id"], 1)


def test_reading_command_refuses_a_lake_root_that_does_not_exist(tmp_path, capsys):
    missing = tmp_path / "typo" / "lake"
    assert cli(missing, "silver") == 2
    assert cli(missing, "ingest") == 2
    assert not missing.exists()
    err = capsys.readouterr().err
    assert f"no lake at {missing}" in err and "brandlake generate" in err
