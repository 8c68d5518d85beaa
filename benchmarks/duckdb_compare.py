"""sales_daily computed by Spark (transforms.sales.to_sales_daily) and by DuckDB (the same SQL) from the
same `order_line_settlement` Delta table, timed in one run; results are checked equal before timing counts.

DuckDB reads the table's current version through the `deltalake` package's query engine into memory first
(deletion vectors applied; no DuckDB extension download needed), so its time is the SQL alone, on rows already
in memory; Spark's includes reading the Delta table. Usage: python benchmarks/duckdb_compare.py LAKE_ROOT
[--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import duckdb  # noqa: E402
from deltalake import DeltaTable  # noqa: E402

from benchmarks.delta_arrow import load_delta  # noqa: E402

SQL = """
SELECT brand_id, product_id, platform_id, ship_country, ship_province, order_date,
       reporting_currency AS currency,
       CAST(SUM(CASE WHEN settlement_status <> 'cancelled' THEN quantity ELSE 0 END) AS BIGINT) AS units,
       SUM(CASE WHEN settlement_status <> 'cancelled' THEN gross_amount_rpt ELSE 0 END) AS gross_amount,
       SUM(CASE WHEN settlement_status <> 'cancelled' THEN discount_amount_rpt ELSE 0 END) AS discount_amount,
       COALESCE(SUM(settled_amount_rpt), 0) AS settled_amount,
       SUM(refunded_amount_rpt) AS refund_amount,
       COUNT(DISTINCT CASE WHEN settlement_status <> 'cancelled' THEN order_id END) AS orders,
       COUNT(DISTINCT CASE WHEN settlement_status <> 'cancelled' THEN customer_id END) AS buyers
FROM settlement
GROUP BY ALL
"""


def _key(row) -> tuple:
    return tuple("" if v is None else str(v) for v in row[:7])


def _norm(row) -> tuple:
    from decimal import Decimal

    return tuple(Decimal(str(v)).quantize(Decimal("0.01")) if v is not None and i in (8, 9, 10, 11) else v
                 for i, v in enumerate(row))


def compare(spark, lake_root: str, repeat: int = 3) -> dict:
    from brandlake.transforms.sales import to_sales_daily

    from brandlake import tables

    path = f"{lake_root}/gold/order_line_settlement"
    con = duckdb.connect()
    con.execute("SET threads TO 2")
    settlement = DeltaTable(path)
    load_delta(con, "settlement", settlement, columns=[f.name for f in settlement.schema().fields])

    # the version DuckDB reads
    settled = tables.read(spark, path, version=settlement.version())
    spark_rows = sorted((_norm(tuple(r)) for r in to_sales_daily(settled).collect()), key=_key)
    duck_rows = sorted((_norm(r) for r in con.execute(SQL).fetchall()), key=_key)
    mismatched = sum(1 for a, b in zip(spark_rows, duck_rows, strict=False) if a != b)
    same = len(spark_rows) == len(duck_rows) and mismatched == 0

    spark_s, duck_s = [], []
    for _ in range(repeat):
        t0 = time.perf_counter()
        # every row computed, nothing collected (Spark's own benchmark idiom): the noop sink refuses a Delta scan
        # with deletion vectors after a MERGE in the same session, even pinned
        to_sales_daily(settled)._jdf.queryExecution().toRdd().count()
        spark_s.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        con.execute("CREATE OR REPLACE TEMP TABLE sd AS " + SQL)
        duck_s.append(time.perf_counter() - t0)
    s, d = statistics.median(spark_s), statistics.median(duck_s)
    return {"input_rows": con.execute("SELECT count(*) FROM settlement").fetchone()[0], "result_rows": len(spark_rows),
            "results_equal": same, "spark_s_median": round(s, 3), "duckdb_s_median": round(d, 3),
            "spark_over_duckdb": round(s / d, 2) if d else None, "repeat": repeat}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("lake_root")
    p.add_argument("--repeat", type=int, default=3)
    a = p.parse_args()
    from brandlake.config import load_config
    from brandlake.session import get_spark

    spark = get_spark(load_config("local").spark)
    print(json.dumps(compare(spark, a.lake_root, a.repeat), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
