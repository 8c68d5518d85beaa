"""Silver ``orders`` built by the Spark job and by DuckDB from the same bronze files, timed in one run.

The single-node anchor of issue 15: how far the Spark silver build of the largest table is from what one
vectorised process does with the same input on this machine.

- **Spark**: ``brandlake silver --tables orders`` on a scratch copy of the lake with silver ``orders``, its
  quarantine and its checkpoint removed (every other silver table kept, since the gate's reference rules read
  them): the whole job, i.e. conform, dedupe, the data-quality gate, quarantine, FX, the Delta writes. Timed as
  the job's own figure for the table (``silver_seconds`` in the run summary) and as the process's wall time
  (JVM start included).
- **DuckDB**: the core of the same build over the same bronze Parquet files (listed by ``deltalake``): trim and
  parse the fields, ISO timestamps with or without an offset to UTC, status synonyms, money as DECIMAL(18,2),
  keyed hashes of address and phone (sha256), the latest event per order, ``ordered_at`` = its earliest event,
  ``order_date`` in the platform's time zone. No quality gate, no quarantine, no FX, no Delta write: the anchor
  is the least any engine must do, so the ratio is an upper bound on Spark's overhead, not a like-for-like race.
- **Check**: the share of Spark's published orders that DuckDB's result holds with the same order id, status,
  event type, customer, updated_at, ordered_at, order_date and shipping fee (the rest are orders whose latest
  events the gate quarantined, so Spark published an earlier version or none).

    BRANDLAKE_PII_KEY=bench python -m benchmarks.orders_anchor --lake-root <lake> --out /tmp/orders_anchor
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from brandlake.transforms.silver.orders import ORDER_STATUS_SYNONYMS as STATUS_SYNONYMS  # noqa: E402

from benchmarks.delta_arrow import load_delta  # noqa: E402

ZONE = r":\d{2}(\.\d+)?\s*(Z|UTC|GMT|[+-]\d{1,2}(:?\d{2})?)$"


def _ts(col: str) -> str:
    s = f"upper(trim({col}))"
    return (f"try_cast(CASE WHEN regexp_matches({s}, '{ZONE}') THEN {s} "
            f"WHEN regexp_matches({s}, '^\\d{{4}}-\\d{{1,2}}-\\d{{1,2}}$') THEN {s} || 'T00:00:00Z' "
            f"ELSE {s} || 'Z' END AS TIMESTAMPTZ)")


def duckdb_sql() -> str:
    status = "CASE lower(trim(order_status)) " + " ".join(
        f"WHEN '{k}' THEN '{v}'" for k, v in STATUS_SYNONYMS.items()) + " ELSE lower(trim(order_status)) END"
    return f"""
    WITH ev AS (
      SELECT trim(order_id) AS order_id, trim(platform_id) AS platform_id, trim(shop_id) AS shop_id,
             trim(customer_id) AS customer_id, upper(trim(currency)) AS currency, {status} AS order_status,
             lower(trim(event_type)) AS event_type, trim(event_id) AS event_id,
             {_ts('event_at')} AS updated_at, {_ts('balance_due_at')} AS balance_due_at,
             try_cast(trim(shipping_fee) AS DECIMAL(18, 2)) AS shipping_fee_amount,
             try_cast(trim(deposit_amount) AS DECIMAL(18, 2)) AS deposit_amount,
             upper(trim(ship_country)) AS ship_country, trim(ship_province) AS ship_province,
             trim(ship_city) AS ship_city,
             sha256($key || lower(trim(ship_address))) AS ship_address_hash,
             sha256($key || regexp_replace(ship_phone, '[^0-9+]', '', 'g')) AS ship_phone_hash,
             lower(trim(device_type)) AS device_type, _ingested_at
      FROM read_parquet($bronze, union_by_name = true)
      WHERE _corrupt_record IS NULL
    ), versions AS (
      SELECT *, min(updated_at) OVER (PARTITION BY order_id) AS ordered_at FROM ev
      WHERE order_id IS NOT NULL AND updated_at IS NOT NULL
      QUALIFY row_number() OVER (PARTITION BY order_id ORDER BY updated_at DESC, event_id DESC) = 1
    )
    SELECT v.*, CAST(timezone(coalesce(p.timezone, 'UTC'), v.ordered_at) AS DATE) AS order_date
    FROM versions v LEFT JOIN platforms p ON p.platform_id = v.platform_id
    """


def spark_build(lake: Path, scratch: Path) -> dict:
    shutil.rmtree(scratch, ignore_errors=True)
    (scratch / "bronze").mkdir(parents=True)
    shutil.copytree(lake / "bronze" / "order_events", scratch / "bronze" / "order_events")
    shutil.copytree(lake / "silver", scratch / "silver",
                    ignore=lambda d, names: [n for n in names if d == str(lake / "silver")
                                             and n in ("orders", "orders_quarantine")])
    (scratch / "_checkpoints" / "silver").mkdir(parents=True)
    for name in ("platforms", "fx_rates"):
        if (lake / "_checkpoints" / "silver" / name).is_dir():
            shutil.copytree(lake / "_checkpoints" / "silver" / name, scratch / "_checkpoints" / "silver" / name)
    t0 = time.perf_counter()
    rc = subprocess.run([sys.executable, "-m", "brandlake.cli", "silver", "--tables", "orders", "--env", "local",
                         "--lake-root", str(scratch), "--run-id", "orders-anchor"], cwd=str(scratch)).returncode
    wall = time.perf_counter() - t0
    if rc not in (0, 3):
        raise SystemExit(f"silver --tables orders exited {rc}")
    summary = json.loads((scratch / "_runs" / "orders-anchor.json").read_text())
    secs = summary.get("details", {}).get("silver_seconds", {}).get("orders", {})
    return {"wall_s": round(wall, 2), "table_s": secs, "exit": rc}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--lake-root", required=True, help="a lake whose bronze and silver are built")
    p.add_argument("--out", required=True, help="scratch folder (a copy of the lake's bronze order_events)")
    p.add_argument("--repeat", type=int, default=3, help="DuckDB runs (median reported)")
    p.add_argument("--spark-summary", help="take Spark's side from this run summary of a silver run over the whole "
                                           "lake (its details.silver_seconds.orders) and the lake's own silver "
                                           "orders, instead of rebuilding the table")
    a = p.parse_args()
    key = os.environ.get("BRANDLAKE_PII_KEY")
    if not key:
        raise SystemExit("set BRANDLAKE_PII_KEY (the key the lake was built with)")
    lake, out = Path(a.lake_root).resolve(), Path(a.out).resolve()
    if a.spark_summary:
        scratch = lake
        summary = json.loads(Path(a.spark_summary).read_text())
        result: dict = {"lake": str(lake), "spark": {
            "from": a.spark_summary, "wall_s": None,
            "table_s": summary.get("details", {}).get("silver_seconds", {}).get("orders", {}),
            "micro_batches": summary.get("details", {}).get("silver_batches", {}).get("orders")}}
    else:
        scratch = out / "lake"
        result = {"lake": str(lake), "spark": spark_build(lake, scratch)}
    out.mkdir(parents=True, exist_ok=True)

    import duckdb
    from deltalake import DeltaTable

    # bronze is only ever appended to (no deletion vectors): its Parquet files are the table. Silver platforms
    # may have rows replaced by a MERGE: read through delta-rs's query engine (a small table)
    bronze = DeltaTable(str(scratch / "bronze" / "order_events")).file_uris()
    con = duckdb.connect()
    con.execute("SET threads TO 2")
    con.execute("SET TimeZone = 'UTC'")
    silver_platforms = DeltaTable(str(scratch / "silver" / "platforms"))
    load_delta(con, "platforms", silver_platforms, columns=[f.name for f in silver_platforms.schema().fields])
    params = {"key": key, "bronze": bronze}
    times = []
    for _ in range(a.repeat):
        t0 = time.perf_counter()
        con.execute(f"CREATE OR REPLACE TEMP TABLE duck_orders AS {duckdb_sql()}", params)
        times.append(time.perf_counter() - t0)
    result["duckdb_s_median"] = round(statistics.median(times), 3)
    result["duckdb_s"] = [round(t, 3) for t in times]
    result["bronze_rows"] = con.execute("SELECT count(*) FROM read_parquet(?)", [bronze]).fetchone()[0]
    result["duckdb_orders"] = con.execute("SELECT count(*) FROM duck_orders").fetchone()[0]
    silver_orders = DeltaTable(str(scratch / "silver" / "orders"))
    cols = ("order_id, order_status, event_type, customer_id, CAST(updated_at AS TIMESTAMP), "
            "CAST(ordered_at AS TIMESTAMP), order_date, shipping_fee_amount")
    load_delta(con, "spark_orders", silver_orders, columns=[f.name for f in silver_orders.schema().fields])
    result["spark_orders"] = con.execute("SELECT count(*) FROM spark_orders").fetchone()[0]
    same = con.execute(f"SELECT count(*) FROM (SELECT {cols} FROM spark_orders "
                       f"INTERSECT ALL SELECT {cols} FROM duck_orders)").fetchone()[0]
    result["spark_orders_equal_in_duckdb"] = same
    result["share_equal"] = round(same / result["spark_orders"], 4) if result["spark_orders"] else None
    table_s = result["spark"]["table_s"]
    spark_s = table_s.get("batch") if isinstance(table_s, dict) else None  # its micro-batches, the gate included
    result["spark_table_s"] = round(spark_s, 2) if spark_s else None
    result["spark_over_duckdb_table"] = round(spark_s / result["duckdb_s_median"], 1) if spark_s else None
    if result["spark"]["wall_s"]:
        result["spark_over_duckdb_wall"] = round(result["spark"]["wall_s"] / result["duckdb_s_median"], 1)
    (out / "orders_anchor.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
