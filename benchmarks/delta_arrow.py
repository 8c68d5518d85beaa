"""Delta tables read without Spark, for benchmarks that compare with DuckDB or pandas: through delta-rs's query
engine, which applies deletion vectors (every table has them: conf/base.yaml). ``DeltaTable.to_pyarrow_dataset()``
/ ``to_pandas()`` refuse such a table, and a table's Parquet files (``file_uris()``) would also hold the rows a
MERGE replaced."""

from __future__ import annotations

from collections.abc import Sequence


def read_arrow(table, columns: Sequence[str] | None = None):
    """The latest version of ``table`` (a path or a deltalake ``DeltaTable``) as a pyarrow Table."""
    import pyarrow as pa
    from deltalake import DeltaTable, QueryBuilder

    t = DeltaTable(str(table)) if not isinstance(table, DeltaTable) else table
    sel = ", ".join(f'"{c}"' for c in columns) if columns else "*"
    return pa.table(QueryBuilder().register("t", t).execute(f"SELECT {sel} FROM t").read_all())


def load_delta(con, view: str, table, *, columns: Sequence[str] | None = None) -> None:
    """DuckDB temp table ``view`` = ``columns`` (default all) of the Delta ``table``'s latest version."""
    rows = read_arrow(table, columns)
    con.register(f"_{view}_arrow", rows)
    con.execute(f"CREATE OR REPLACE TEMP TABLE {view} AS SELECT * FROM _{view}_arrow")
    con.unregister(f"_{view}_arrow")
