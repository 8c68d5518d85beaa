"""Bronze transforms: JSON lines and CSV rows to delivered-text columns, drift columns, audit columns."""

from __future__ import annotations

import datetime as dt

import pytest
from brandlake.transforms import bronze
from brandlake.transforms.columns import MissingColumnsError
from chispa import assert_df_equality
from pyspark.sql import functions as F
from pyspark.sql import types as T

AT = dt.datetime(2024, 3, 1, 12, 0, tzinfo=dt.UTC)
FILE1 = "file:/lake/landing/refund_events/batch=00001/part-00000.jsonl"
FIELDS = ("event_id", "amount", "lines")
S = T.StringType()


def bronze_schema(*columns: str) -> T.StructType:
    return T.StructType(
        [T.StructField(c, S, True) for c in columns]
        + [
            T.StructField("_corrupt_record", S, True),
            T.StructField("_source_file", S, True),
            T.StructField("_landing_batch", T.IntegerType(), True),
            T.StructField("_ingested_at", T.TimestampType(), True),
            T.StructField("_run_id", S, True),
        ]
    )


def lines_df(spark, *lines: str, path: str = FILE1):
    return spark.createDataFrame([(v, path) for v in lines], "value string, _source_file string")


def test_json_lines_become_text_columns_and_malformed_lines_are_kept_raw(spark):
    lines = lines_df(
        spark,
        '{"event_id": "e1", "amount": 12.5, "lines": [{"line_id": "l1", "qty": 2}]}',
        '{"event_id": "e1", "amount": 12.5, "lines": [{"line_id": "l1", "qty": 2}]}',  # duplicate: kept
        '{"event_id": "e2", "amount": 123456789012345678.99, "lines": null}',  # beyond double precision
        '{"event_id": "e3", broken',
        "[1, 2]",  # valid JSON but not an object
        "   ",  # blank line: no record
    )
    actual = lines.transform(bronze.with_json_payload).transform(
        bronze.json_to_bronze, fields=FIELDS, extra={}, run_id="r1", ingested_at=AT
    )
    at = AT.replace(tzinfo=None)
    expected = spark.createDataFrame(
        [
            ("e1", "12.5", '[{"line_id":"l1","qty":2}]', None, FILE1, 1, at, "r1"),
            ("e1", "12.5", '[{"line_id":"l1","qty":2}]', None, FILE1, 1, at, "r1"),
            ("e2", "123456789012345678.99", None, None, FILE1, 1, at, "r1"),
            (None, None, None, '{"event_id": "e3", broken', FILE1, 1, at, "r1"),
            (None, None, None, "[1, 2]", FILE1, 1, at, "r1"),
        ],
        bronze_schema(*FIELDS),
    )
    assert_df_equality(actual, expected, ignore_row_order=True, ignore_nullable=True)


def test_extra_json_key_becomes_its_own_string_column(spark):
    lines = lines_df(
        spark,
        '{"event_id": "e1", "amount": "1.00", "lines": "[]", "device type": "mobile"}',
        '{"event_id": "e2", "amount": "2.00", "lines": "[]"}',
    )
    actual = lines.transform(bronze.with_json_payload).transform(
        bronze.json_to_bronze, fields=FIELDS, extra={"device type": "device_type"}, run_id="r1", ingested_at=AT
    )
    at = AT.replace(tzinfo=None)
    expected = spark.createDataFrame(
        [
            ("e1", "1.00", "[]", "mobile", None, FILE1, 1, at, "r1"),
            ("e2", "2.00", "[]", None, None, FILE1, 1, at, "r1"),
        ],
        bronze_schema(*FIELDS, "device_type"),
    )
    assert_df_equality(actual, expected, ignore_row_order=True, ignore_nullable=True)


def test_batch_profile_counts_rows_and_corrupt_rows_and_lists_keys(spark):
    lines = lines_df(
        spark,
        '{"event_id": "e1", "amount": 1}',
        '{"event_id": "e2", "device_type": "app"}',
        "not json",
        "",
    )
    actual = lines.transform(bronze.with_json_payload).transform(bronze.to_batch_profile)
    expected = spark.createDataFrame(
        [(3, 1, ["amount", "device_type", "event_id"])],
        "rows_read long, rows_corrupt long, keys array<string>",
    )
    assert_df_equality(actual, expected, ignore_nullable=True)


def test_drift_keys_get_delta_safe_names_that_never_clash():
    keys = ["event_id", "device type", "Event_ID", "_run_id", "a.b", "device_type"]
    assert bronze.drift_columns(keys, fields=FIELDS) == {
        "Event_ID": "Event_ID_2",  # clashes with the contract field event_id (names are case-insensitive)
        "_run_id": "_run_id_2",  # clashes with an audit column
        "a.b": "a_b",
        "device type": "device_type",
        "device_type": "device_type_2",
    }


def test_csv_row_flagged_corrupt_keeps_raw_line_and_no_half_parsed_fields(spark):
    path = "file:/lake/landing/warehouses/batch=00012/part-00000.csv"
    fields = ("warehouse_id", "name", "city")
    rows = spark.createDataFrame(
        [
            ("w1", "Big, Shed", "Paris", None, path),
            ("w2", "too", "many", "w2,too,many,fields", path),
            ("w3", None, None, "w3", path),
            (None, None, None, None, path),
        ],
        "warehouse_id string, name string, city string, _corrupt_record string, _source_file string",
    )
    actual = rows.transform(bronze.csv_to_bronze, fields=fields, run_id="r9", ingested_at=AT)
    at = AT.replace(tzinfo=None)
    expected = spark.createDataFrame(
        [
            ("w1", "Big, Shed", "Paris", None, path, 12, at, "r9"),
            (None, None, None, "w2,too,many,fields", path, 12, at, "r9"),
            (None, None, None, "w3", path, 12, at, "r9"),
            (None, None, None, None, path, 12, at, "r9"),
        ],
        bronze_schema(*fields),
    )
    assert_df_equality(actual, expected, ignore_row_order=True, ignore_nullable=True)


def test_landing_batch_is_the_number_of_the_batch_folder_or_null(spark):
    df = spark.createDataFrame(
        [
            ("s3a://bucket/landing/x/batch=00042/part-00000.jsonl",),
            ("file:/landing/x/batch=7/part-00001.csv",),
            ("file:/landing/x/part-00000.jsonl",),
            ("file:/landing/x/batch=99999999999/part-00000.jsonl",),  # too big for INT
            (None,),
        ],
        "path string",
    )
    actual = df.select("path", bronze.landing_batch(F.col("path")).alias("batch"))
    expected = spark.createDataFrame(
        [
            ("s3a://bucket/landing/x/batch=00042/part-00000.jsonl", 42),
            ("file:/landing/x/batch=7/part-00001.csv", 7),
            ("file:/landing/x/part-00000.jsonl", None),
            ("file:/landing/x/batch=99999999999/part-00000.jsonl", None),
            (None, None),
        ],
        "path string, batch int",
    )
    assert_df_equality(actual, expected, ignore_nullable=True)


def test_transform_without_required_columns_names_them(spark):
    df = spark.createDataFrame([("x",)], "value string")
    with pytest.raises(MissingColumnsError, match=r"\['_payload', '_source_file'\]"):
        bronze.json_to_bronze(df, fields=FIELDS, extra={}, run_id="r1", ingested_at=AT)
