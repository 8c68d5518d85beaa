"""The table properties production gives every new Delta table, for the tests that build a lake as it runs.

conf/base.yaml turns on the change data feed and deletion vectors for every new table; conf/test.yaml turns both
off, because on tiny tables they cost more than the work: each change writes change files, and each scan of a table
that can hold deletion vectors runs a Spark job at planning time to list its files (BENCHMARKS.md, the test suite's
time). The tests whose later runs MERGE into earlier tables and read what changed (incremental gold, the marts and
reports) turn them back on with :func:`production_table_defaults`, so writing and reading through both stays covered.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from delta.tables import DeltaTable
from pyspark.sql import SparkSession

from brandlake.config import load_config

PREFIX = "spark.databricks.delta.properties.defaults."


def production_defaults() -> dict[str, str]:
    """The new-table properties of the default (local) configuration, as Spark settings."""
    return {k: v for k, v in load_config("local").spark.conf.items() if k.startswith(PREFIX)}


@contextmanager
def production_table_defaults(spark: SparkSession) -> Iterator[dict[str, str]]:
    """New tables get production's properties until the block ends; the session's own settings come back after."""
    wanted = production_defaults()
    before = {k: spark.conf.get(k, None) for k in wanted}
    for k, v in wanted.items():
        spark.conf.set(k, v)
    try:
        yield wanted
    finally:
        for k, v in before.items():
            if v is None:
                spark.conf.unset(k)
            else:
                spark.conf.set(k, v)


def deletion_vectors_added(spark: SparkSession, path: str) -> int:
    """Deletion vectors the MERGEs into the Delta table at ``path`` have written, over its whole history."""
    return sum(int((r["operationMetrics"] or {}).get("numTargetDeletionVectorsAdded", 0))
               for r in DeltaTable.forPath(spark, path).history().collect() if r["operation"] == "MERGE")
