"""One assertion for the job tests that write a gold table: the Delta table as written has exactly the
columns and types of the schema constant it is registered with (transforms/gold_tables.py), so a job
whose output drifts from the documented schema fails the test that already builds it."""

from __future__ import annotations

import importlib

from brandlake.transforms.gold_tables import GOLD_TABLES, gold_path
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import types as T

from brandlake import tables


def registered_schema(name: str) -> T.StructType:
    module, _, constant = GOLD_TABLES[name].schema.rpartition(".")
    return getattr(importlib.import_module(module), constant)


def _nullable(dt: T.DataType) -> T.DataType:
    """``dt`` with every nested field, element and value nullable: Delta and Spark relax nullability on
    write and read, so only names and types are compared."""
    if isinstance(dt, T.StructType):
        return T.StructType([T.StructField(f.name, _nullable(f.dataType), True) for f in dt.fields])
    if isinstance(dt, T.ArrayType):
        return T.ArrayType(_nullable(dt.elementType), True)
    if isinstance(dt, T.MapType):
        return T.MapType(_nullable(dt.keyType), _nullable(dt.valueType), True)
    return dt


def assert_gold_schema(spark: SparkSession, gold_root: str, *names: str) -> None:
    """Each gold table ``names`` under ``gold_root`` has the registered schema's columns, in order, with
    its types (nullability aside)."""
    for name in names:
        assert_registered_schema(tables.read(spark, gold_path(gold_root, name)), name)


def assert_registered_schema(df: DataFrame, name: str) -> None:
    """``df`` (a written table, or a transform's output that its job writes as it is) has gold table ``name``'s
    registered columns, in order, and types."""
    got = [(f.name, _nullable(f.dataType).simpleString()) for f in df.schema.fields]
    want = [(f.name, _nullable(f.dataType).simpleString()) for f in registered_schema(name).fields]
    assert got == want, (f"gold table {name}: schema differs from {GOLD_TABLES[name].schema}\n"
                         f"actual:     {got}\nregistered: {want}")
