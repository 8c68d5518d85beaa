"""`brandlake gold`: silver → gold `order_line_settlement` (incremental MERGE on order_id, line_id) and
`sales_daily` (only the days touched are rebuilt); reconciliation mismatches go to `settlement_mismatches`.

Incremental: the silver Delta versions processed are kept in `<lake.gold>/_gold_state`; the next run
re-settles only orders whose silver rows changed since those versions (a hash diff of the rows each table's
change data feed names, or of the two whole versions when a table has no feed over the range), plus pending
presales whose balance grace has run out, and settles each such order whole. It reconciles only those orders
again, and rebuilds only the sales days they fall on.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging

from brandlake.transforms.changes import GOLD_STATE
from brandlake.transforms.gold_tables import gold_path
from brandlake.transforms.resettle import KEYED_BY_ORDER, orders_to_resettle, to_event_watermark
from brandlake.transforms.sales import to_sales_daily
from brandlake.transforms.schemas import (
    SILVER_FX_RATES,
    SILVER_ORDER_DISCOUNTS,
    SILVER_ORDER_LINES,
    SILVER_ORDERS,
    SILVER_PAYMENTS,
    SILVER_REFUNDS,
)
from brandlake.transforms.settlement import find_orphan_orders, reconcile, settle_order_lines
from brandlake.transforms.silver.registry import SILVER_TABLES
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from brandlake import tables
from brandlake.runtime import JobContext
from brandlake.session import materialize, release

log = logging.getLogger(__name__)

# silver table -> the columns gold reads (and compares to detect changes)
SILVER_INPUTS: dict[str, tuple[str, ...]] = {
    "orders": tuple(SILVER_ORDERS.fieldNames()),
    "order_lines": tuple(SILVER_ORDER_LINES.fieldNames()),
    "order_discounts": tuple(SILVER_ORDER_DISCOUNTS.fieldNames()),
    "payments": tuple(SILVER_PAYMENTS.fieldNames()),
    "refunds": tuple(SILVER_REFUNDS.fieldNames()),
    "fx_rates": tuple(SILVER_FX_RATES.fieldNames()),
    "products": ("sku_id", "product_id", "brand_id"),
}

SETTLEMENT, SALES_DAILY, MISMATCHES, STATE = (
    "order_line_settlement", "sales_daily", "settlement_mismatches", "_gold_state",
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--as-of", type=dt.datetime.fromisoformat, default=None,
                   help="UTC time at which unpaid presale balances are judged overdue "
                        "(default: the latest event time in silver orders, payments and refunds)")
    p.add_argument("--full", action="store_true", help="re-settle every order instead of only changed ones")


def _paths(ctx: JobContext) -> tuple[dict[str, str], dict[str, str]]:
    silver = {name: f"{ctx.cfg.lake.silver}/{name}" for name in SILVER_INPUTS}
    gold = {name: gold_path(ctx.cfg.lake.gold, name) for name in (SETTLEMENT, SALES_DAILY, MISMATCHES, STATE)}
    return silver, gold


def _read_pinned(spark: SparkSession, name: str, path: str, version: int) -> DataFrame:
    """Silver table ``name`` as of Delta ``version``, only the columns gold reads."""
    df = tables.read(spark, path, version=version)
    columns = SILVER_INPUTS[name]
    if name == "products":
        # products may keep versions; to_sku_brands picks the current row with these when present
        columns = columns + tuple(c for c in ("is_current", "updated_at") if c in df.columns)
    return df.select(*columns)


def _read_state(spark: SparkSession, path: str) -> dict[str, int]:
    if not tables.exists(spark, path):
        return {}
    return {r["source"]: r["version"] for r in tables.read(spark, path).collect()}


def run(ctx: JobContext, args: argparse.Namespace) -> None:
    spark, cfg = ctx.spark, ctx.cfg
    silver_paths, gold_paths = _paths(ctx)
    ctx.evaluate_for_input(*silver_paths.values())
    versions = tables.required_versions(spark, silver_paths, command="gold", hint="run `brandlake silver` first")
    silver = {n: _read_pinned(spark, n, silver_paths[n], versions[n]) for n in SILVER_INPUTS}
    as_of = (args.as_of
             or to_event_watermark(silver["orders"], payments=silver["payments"], refunds=silver["refunds"]).first()[0]
             or dt.datetime.now(dt.UTC).replace(tzinfo=None))
    state = _read_state(spark, gold_paths[STATE])
    incremental = (
        not args.full and tables.exists(spark, gold_paths[SETTLEMENT]) and tables.exists(spark, gold_paths[SALES_DAILY])
        and set(state) >= set(SILVER_INPUTS)
    )
    ctx.mark("gold", "find changed orders")
    log.info("gold: %s run, as of %s, silver versions %s", "incremental" if incremental else "full", as_of, versions)

    inputs = dict(silver)
    old_dates: list[dt.date] = []
    orders_touched: int | None = None
    touched: DataFrame | None = None
    compared: dict[str, str] = {}
    if incremental:
        gold_before = tables.read(spark, gold_paths[SETTLEMENT])
        try:
            # each changed input's rows as the last run read them and as they are now: from its change data feed
            # (the commits since then) where it has one, else the whole table at both versions
            changes, compared = {}, {}
            for n in (n for n in SILVER_INPUTS if state[n] != versions[n]):
                old, new, compared[n] = tables.rows_between(spark, silver_paths[n], before=state[n], now=versions[n],
                                                            keys=SILVER_TABLES[n].keys, current=silver[n])
                changes[n] = (old, new)
            touched = orders_to_resettle(
                silver, changes, settlement=gold_before, columns=SILVER_INPUTS, as_of=as_of,
                balance_grace_days=cfg.settlement.balance_grace_days,
            )
            touched = materialize(touched)  # what is derived from it is not planned against the diff again
            orders_touched = touched.count()
        except Exception as e:  # an old version no longer readable (vacuumed): settle everything again
            log.warning("gold: cannot diff silver against the last processed versions (%s); full run", e)
            incremental, touched = False, None
        else:
            for name in KEYED_BY_ORDER:
                inputs[name] = silver[name].join(touched, "order_id", "left_semi")
            old_dates = [r[0] for r in gold_before.join(touched, "order_id", "left_semi")
                         .select("order_date").distinct().collect()]

    ctx.mark(SETTLEMENT, "settle")
    s = cfg.settlement
    settlement = settle_order_lines(
        inputs["order_lines"], orders=inputs["orders"], discounts=inputs["order_discounts"],
        payments=inputs["payments"], refunds=inputs["refunds"], products=inputs["products"],
        fx_rates=inputs["fx_rates"], as_of=as_of, reporting_currency=cfg.silver.reporting_currency,
        rounding=s.rounding, unpaid_balance_rule=s.unpaid_balance_rule, balance_grace_days=s.balance_grace_days,
    )
    settlement = materialize(settlement)  # computed once: its days and its write read the kept rows
    new_dates = [r[0] for r in settlement.select("order_date").distinct().collect()]
    # the write's own metrics count the lines settled: no extra pass over the settlement
    if incremental:
        merged = tables.merge_upsert(settlement, gold_paths[SETTLEMENT], keys=("order_id", "line_id"))
        lines_written = merged.source_rows
    else:
        lines_written = tables.overwrite_counted(settlement, gold_paths[SETTLEMENT])
    release(settlement)

    # reconciliation: mismatching and orphan orders are kept, with a reason. Whether an order reconciles depends
    # only on its own rows, so an incremental run checks the orders it settled again and keeps the others' rows
    ctx.mark(MISMATCHES, "reconcile")
    gold_settlement = tables.read(spark, gold_paths[SETTLEMENT])
    only_touched = touched is not None and tables.exists(spark, gold_paths[MISMATCHES])

    def scope(df: DataFrame) -> DataFrame:
        return df.join(touched, "order_id", "left_semi") if only_touched else df

    mismatches = reconcile(scope(gold_settlement), scope(silver["payments"]), scope(silver["refunds"])).unionByName(
        find_orphan_orders(scope(silver["order_lines"]), orders=scope(silver["orders"])))
    if only_touched:
        kept = tables.read(spark, gold_paths[MISMATCHES]).join(touched, "order_id", "left_anti")
        mismatches = materialize(kept.unionByName(mismatches))  # computed before the table it reads is replaced
    n_mismatches = tables.overwrite_counted(mismatches, gold_paths[MISMATCHES])
    release(mismatches)
    if touched is not None:
        release(touched)
    if n_mismatches:
        log.warning("gold: %d orders do not reconcile with payments - refunds; see %s", n_mismatches,
                    gold_paths[MISMATCHES])

    ctx.mark(SALES_DAILY, "rebuild days")
    days = sorted(set(old_dates) | set(new_dates))
    if incremental:
        if days:
            touched_days = F.col("order_date").isin(days)
            daily = to_sales_daily(gold_settlement.where(touched_days))
            tables.replace_where(daily, gold_paths[SALES_DAILY], touched_days)
    else:
        tables.overwrite(to_sales_daily(gold_settlement), gold_paths[SALES_DAILY])

    state_rows = [(name, int(v), as_of, ctx.summary.run_id) for name, v in sorted(versions.items())]
    tables.overwrite(spark.createDataFrame(state_rows, GOLD_STATE), gold_paths[STATE])

    ctx.summary.add_counts(SETTLEMENT, rows_written=lines_written)
    ctx.summary.add_counts(MISMATCHES, rows_written=n_mismatches)
    ctx.summary.details["gold"] = {
        "mode": "incremental" if incremental else "full",
        "as_of": as_of.isoformat(),
        "silver_versions": versions,
        "orders_resettled": orders_touched if incremental else "all",
        "changes_read_from": compared if incremental else "all",
        "lines_settled": lines_written,
        "sales_days_rebuilt": len(days) if incremental else "all",
        "reconciliation_mismatches": n_mismatches,
    }
    log.info("gold: settled %d lines, rebuilt %s sales days, %d reconciliation mismatches",
             lines_written, len(days) if incremental else "all", n_mismatches)
