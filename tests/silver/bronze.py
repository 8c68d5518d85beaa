"""Test helpers: bronze frames built from the landing contract (all text) plus the technical columns."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from brandlake.transforms.landing import SOURCES
from brandlake.transforms.silver.common import ConformContext
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import types as T

INGESTED_AT = dt.datetime(2024, 3, 1, 0, 0, 0, tzinfo=dt.UTC)
PII_KEY = "test-only-pii-key"
CTX = ConformContext(pii_key=PII_KEY, reporting_currency="CNY",
                     platform_timezones={"tmall": "Asia/Shanghai", "amazon_us": "America/New_York"})

TECHNICAL = [
    T.StructField("_corrupt_record", T.StringType()),
    T.StructField("_source_file", T.StringType()),
    T.StructField("_landing_batch", T.IntegerType()),
    T.StructField("_ingested_at", T.TimestampType()),
    T.StructField("_run_id", T.StringType()),
]


def bronze_schema(source: str, extra: tuple[str, ...] = ()) -> T.StructType:
    fields = list(SOURCES[source].schema.fields) + [T.StructField(c, T.StringType()) for c in extra]
    return T.StructType(fields + TECHNICAL)


def bronze(spark: SparkSession, source: str, rows: list[dict], *, extra: tuple[str, ...] = ()) -> DataFrame:
    """Rows given as {field: text}; absent fields are null. ``{"_corrupt_record": ...}`` alone is a corrupt row."""
    schema = bronze_schema(source, extra)
    tech = {"_source_file": f"file:/landing/{source}/batch=00001/part-00000", "_landing_batch": 1,
            "_ingested_at": INGESTED_AT, "_run_id": "run-1"}
    data = [tuple({**tech, **r}.get(f.name) for f in schema.fields) for r in rows]
    return spark.createDataFrame(data, schema)


def ts(text: str) -> dt.datetime:
    """A UTC instant (aware, so the Python process time zone plays no part)."""
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


def d(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def m(text: str) -> Decimal:
    return Decimal(text)


def expected(spark: SparkSession, schema: T.StructType, rows: list[tuple], *, with_ingested: bool = True) -> DataFrame:
    """Expected conform output: the schema's columns plus ``_errors`` (and ``_ingested_at``)."""
    fields = list(schema.fields) + [T.StructField("_errors", T.ArrayType(T.StringType()))]
    if with_ingested:
        fields.append(T.StructField("_ingested_at", T.TimestampType()))
        rows = [(*r, INGESTED_AT) for r in rows]
    return spark.createDataFrame(rows, T.StructType([T.StructField(f.name, f.dataType, True) for f in fields]))
