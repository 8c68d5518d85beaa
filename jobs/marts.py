"""`brandlake marts`: gold `parcel_tracking`, `logistics_exceptions` and the brand report marts
(transforms/marts/build.py MARTS).

Incremental: the Delta versions of the inputs processed last time are kept in `<lake.gold>/_marts_state`.
Nothing changed → nothing is written. Otherwise parcels whose scans changed are rebuilt and MERGEd on
shipment_id, and the marts recompute only the periods that changed settlement lines, orders, scans,
returns, reviews or sessions touched (plus the periods that compare against them), replacing exactly those
periods (`replaceWhere period_key IN ...`). Customers, products and promotions change with nearly every
delivery (new accounts, new SKUs, the next sale's promotions), so they are diffed too: a changed or new
customer touches the dates of its lines, a changed SKU those of its product's lines and sessions, and a
changed promotion the sale events it moves (their old and new dates and event periods). A change in platforms
or warehouses, or `--full`, rebuilds everything. Repurchase, cohort retention and the peer benchmarks (whose
tiers rank brands by all-time sales) are rebuilt whole on every run with changes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging

from brandlake.transforms.changes import MARTS_STATE, changed_keys
from brandlake.transforms.gold_tables import gold_path
from brandlake.transforms.marts import build as M
from brandlake.transforms.marts.periods import (
    to_periods_to_rebuild,
    to_reference_keys,
    to_sale_events,
    with_periods,
)
from brandlake.transforms.silver.registry import SILVER_TABLES, published_schema
from brandlake.transforms.tracking import to_logistics_exceptions, to_parcel_tracking
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from brandlake import tables
from brandlake.runtime import JobContext
from brandlake.session import materialize, release

log = logging.getLogger(__name__)

SILVER_INPUTS = ("orders", "payments", "customers", "products", "platforms", "returns", "reviews", "promotions",
                 "clickstream", "tracking_events", "warehouses")
GOLD_INPUTS = ("order_line_settlement",)
REQUIRED = ("order_line_settlement", "orders", "products", "platforms")
MISSING = -1   # version recorded for an optional input that does not exist (e.g. no clickstream in an import)
REFERENCE = ("platforms", "warehouses")  # a change rebuilds everything
# diffed like the facts, on the columns the marts read (a re-delivered row with only a new updated_at changes
# no mart): name -> (keys, columns). Promotions are compared through the sale events they define.
DIMENSIONS = {"customers": (("platform_id", "customer_id"), ("gender", "birth_year")),
              "products": (("sku_id",), ("product_id", "brand_id", "category"))}
KEYS = {"orders": ("order_id",), "payments": ("payment_id",), "returns": ("return_id",),
        "reviews": ("review_id",), "clickstream": ("event_id",), "tracking_events": ("event_id",),
        "order_line_settlement": ("order_id", "line_id")}
TRACKING, EXCEPTIONS, STATE = "parcel_tracking", "logistics_exceptions", "_marts_state"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--full", action="store_true", help="rebuild every table instead of only touched periods")
    p.add_argument("--as-of", type=dt.datetime.fromisoformat, default=None,
                   help="UTC time at which open parcels are judged late or stuck (default: the latest scan)")


def _input_paths(ctx: JobContext) -> dict[str, str]:
    out = {n: f"{ctx.cfg.lake.silver}/{n}" for n in SILVER_INPUTS}
    out.update({n: gold_path(ctx.cfg.lake.gold, n) for n in GOLD_INPUTS})
    return out


def _read_input(spark: SparkSession, name: str, path: str, version: int) -> DataFrame:
    """The input at ``version``; an absent optional silver table reads as empty with its published schema."""
    if version == MISSING:
        return spark.createDataFrame([], published_schema(SILVER_TABLES[name]))
    return tables.read(spark, path, version=version)


def _read_state(spark: SparkSession, path: str) -> dict[str, int]:
    if not tables.exists(spark, path):
        return {}
    return {r["source"]: r["version"] for r in tables.read(spark, path).collect()}


def _changed(spark: SparkSession, name: str, path: str, before: int, now: DataFrame) -> DataFrame:
    old = tables.read(spark, path, version=before)
    return changed_keys(old, now, keys=KEYS[name], columns=now.columns)


class _FullRunNeeded(Exception):
    """An input changed in a way the incremental run cannot follow (the message says which)."""


def _touched_by_dimensions(spark, paths, state, inputs, *, sale_events: DataFrame,
                           platform_timezones: dict[str, str]) -> tuple[list[DataFrame], DataFrame | None]:
    """(platform_id, order_date) frames touched by changed customers, products and promotions, and the
    period keys of the sale events a promotion change moved (None when no promotion changed)."""
    settlement, clicks = inputs["order_line_settlement"], inputs["clickstream"]
    parts: list[DataFrame] = []
    event_keys = None
    for name in (*DIMENSIONS, "promotions"):
        before, now = state.get(name), inputs["_versions"][name]
        if before == now:
            continue
        if MISSING in (before, now):
            raise _FullRunNeeded(f"silver {name} appeared or disappeared")
        old = tables.read(spark, paths[name], version=before)
        if name in DIMENSIONS:
            keys, columns = DIMENSIONS[name]
            ch = changed_keys(old, inputs[name], keys=keys, columns=columns)
        if name == "customers":
            parts.append(settlement.join(ch, list(keys), "left_semi").select("platform_id", "order_date"))
        elif name == "products":
            # lines and sessions take a product's category and brand by product_id, from any of its SKUs
            products = (old.select("sku_id", "product_id").unionByName(inputs[name].select("sku_id", "product_id"))
                        .join(ch, "sku_id", "left_semi").select("product_id").distinct())
            parts.append(settlement.join(products, "product_id", "left_semi").select("platform_id", "order_date"))
            parts.append(clicks.join(products, "product_id", "left_semi")
                         .select("platform_id", F.col("event_date").alias("order_date")))
        else:  # promotions: the sale events they define, before and now
            events_before = to_sale_events(old, platform_timezones=platform_timezones)
            moved = events_before.subtract(sale_events).unionByName(sale_events.subtract(events_before))
            event_keys = moved.select("period_key").distinct()
            parts.append(moved.select("platform_id", F.explode(F.sequence("start_date", "end_date"))
                                      .alias("order_date")))
    return parts, event_keys


def _touched_order_dates(spark, paths, state, inputs) -> DataFrame:
    """(platform_id, order_date) of every fact that changed since ``state``: settlement lines (old and new
    dates), orders, returns, reviews, scans (through their orders), payments, and session dates."""
    settlement, orders = inputs["order_line_settlement"], inputs["orders"]
    parts: list[DataFrame] = []
    versions_changed = [n for n in KEYS if state.get(n) != inputs["_versions"][n]]
    for name in versions_changed:
        if state[name] == MISSING:
            # a table that appeared since the last run: all its rows are new
            ch = inputs[name].select(*KEYS[name]).distinct()
        else:
            ch = _changed(spark, name, paths[name], state[name], inputs[name])
        if name == "order_line_settlement":
            old = tables.read(spark, paths[name], version=state[name])
            for df in (old, settlement):
                parts.append(df.join(ch, ["order_id", "line_id"], "left_semi").select("platform_id", "order_date"))
        elif name == "clickstream":
            parts.append(inputs[name].join(ch, "event_id", "left_semi")
                         .select("platform_id", F.col("event_date").alias("order_date")))
        else:
            ids = inputs[name].join(ch, list(KEYS[name]), "left_semi").select("order_id")
            parts.append(orders.join(ids, "order_id", "left_semi").select("platform_id", "order_date"))
    return _union_dates(spark, parts)


def _union_dates(spark: SparkSession, parts: list[DataFrame]) -> DataFrame:
    if not parts:
        return spark.createDataFrame([], "platform_id STRING, order_date DATE")
    out = parts[0]
    for p in parts[1:]:
        out = out.unionByName(p)
    return out.distinct()


def _write_tracking(ctx, inputs, paths, state, incremental: bool, as_of) -> int:
    spark, cfg = ctx.spark, ctx.cfg
    events = inputs["tracking_events"]
    path = gold_path(ctx.cfg.lake.gold, TRACKING)
    build = lambda ev: to_parcel_tracking(ev, orders=inputs["orders"], warehouses=inputs["warehouses"],  # noqa: E731
                                          promise_days=cfg.tracking.promise_days)
    changed_tracking = state.get("tracking_events") != inputs["_versions"]["tracking_events"]
    if incremental and tables.exists(spark, path) and state.get("tracking_events") != MISSING:
        if changed_tracking:
            ch = _changed(spark, "tracking_events", paths["tracking_events"], state["tracking_events"], events)
            old = tables.read(spark, paths["tracking_events"], version=state["tracking_events"])
            ships = (events.join(ch, "event_id", "left_semi").select("shipment_id")
                     .unionByName(old.join(ch, "event_id", "left_semi").select("shipment_id")).distinct())
            tables.merge_upsert(build(events.join(ships, "shipment_id", "left_semi")), path, keys=("shipment_id",))
    else:
        tables.overwrite(build(events), path)
    tracking = tables.read(spark, path)
    if as_of is None:
        as_of = tracking.agg(F.max("last_scan_at")).first()[0] or dt.datetime.now(dt.UTC).replace(tzinfo=None)
    exceptions = to_logistics_exceptions(tracking, as_of=as_of, stuck_hours=cfg.tracking.stuck_hours)
    return tables.overwrite_counted(exceptions, gold_path(ctx.cfg.lake.gold, EXCEPTIONS))


def run(ctx: JobContext, args: argparse.Namespace) -> None:
    spark, cfg = ctx.spark, ctx.cfg
    k, m = cfg.reports.k_min_buyers, cfg.reports.m_min_brands
    paths = _input_paths(ctx)
    ctx.evaluate_for_input(*paths.values())
    required = tables.required_versions(spark, {n: paths[n] for n in REQUIRED}, command="marts",
                                        hint="run `brandlake silver` and `brandlake gold` first")
    versions: dict[str, int] = {}
    for name, path in paths.items():
        v = required[name] if name in required else tables.latest_version(spark, path)
        versions[name] = MISSING if v is None else v
    absent = sorted(n for n, v in versions.items() if v == MISSING)
    if absent:
        log.warning("marts: no %s table; the report sections built from it will say so", ", ".join(absent))
    state_path = gold_path(ctx.cfg.lake.gold, STATE)
    state = _read_state(spark, state_path)
    outputs = [TRACKING, EXCEPTIONS, *M.MARTS]
    have_all = all(tables.exists(spark, gold_path(ctx.cfg.lake.gold, n)) for n in outputs)
    if not args.full and have_all and state == versions:
        log.info("marts: no input changed since the last run; nothing written")
        ctx.summary.details["marts"] = {"mode": "unchanged", "input_versions": versions}
        return
    incremental = (not args.full and have_all and set(state) >= set(versions)
                   and all(state[n] == versions[n] for n in REFERENCE))
    inputs: dict = {n: _read_input(spark, n, p, versions[n]) for n, p in paths.items()}
    inputs["_versions"] = versions

    n_exceptions = _write_tracking(ctx, inputs, paths, state, incremental, args.as_of)

    tz = {r["platform_id"]: r["timezone"] for r in inputs["platforms"].select("platform_id", "timezone").collect()}
    # kept as rows of their own (session.materialize): the twelve marts are planned against the kept rows, not
    # against the joins that built them again and again
    sale_events = materialize(to_sale_events(inputs["promotions"], platform_timezones=tz))
    lines = materialize(M.to_mart_lines(
        inputs["order_line_settlement"], orders=inputs["orders"], customers=inputs["customers"],
        products=inputs["products"], platforms=inputs["platforms"], returns=inputs["returns"],
        reviews=inputs["reviews"]))
    sessions = materialize(M.to_session_facts(inputs["clickstream"], products=inputs["products"], lines=lines))

    touched: list[str] | None = None
    if incremental:
        try:
            dims, event_keys = _touched_by_dimensions(spark, paths, state, inputs, sale_events=sale_events,
                                                      platform_timezones=tz)
            touched_dates = _union_dates(spark, [_touched_order_dates(spark, paths, state, inputs), *dims])
        except _FullRunNeeded as e:
            log.info("marts: %s; full run", e)
            incremental = False
        except Exception as e:  # an old version no longer readable (vacuumed): rebuild everything
            log.warning("marts: cannot diff inputs against the last processed versions (%s); full run", e)
            incremental = False
        else:
            all_dates = lines.select("platform_id", "order_date").unionByName(
                sessions.select("platform_id", F.col("event_date").alias("order_date"))).distinct()
            touched = sorted(r[0] for r in to_periods_to_rebuild(
                touched_dates, all_dates=all_dates, sale_events=sale_events, touched_keys=event_keys).collect())
    log.info("marts: %s run; %s periods to rebuild", "incremental" if incremental else "full",
             len(touched) if touched is not None else "all")

    periodic = with_periods(lines, sale_events=sale_events)
    periodic_sessions = with_periods(sessions, sale_events=sale_events, date_col="event_date")
    if touched is not None:
        # comparisons read the previous and year-ago periods too, so only the output is restricted
        references = sorted(r[0] for r in to_reference_keys(periodic, touched=touched).collect())
        periodic = periodic.where(F.col("period_key").isin(*touched) | F.col("period_key").isin(*references))
        periodic_sessions = periodic_sessions.where(F.col("period_key").isin(*touched))
    periodic = materialize(periodic)
    session_products = (inputs["clickstream"].where(F.col("event_type").isin("view", "cart"))
                        .join(inputs["products"].select("product_id", "brand_id").distinct(), "product_id")
                        .select("session_id", "brand_id", "product_id").distinct())

    funnel, lost = M.to_funnel(periodic_sessions, session_products=session_products, k=k)
    repurchase, retention = M.to_repurchase(lines, k=k)
    tiers = M.to_brand_tiers(lines, m=m)
    results: dict[str, DataFrame] = {
        "mart_sales_trend": M.to_sales_trend(periodic, k=k),
        "mart_order_time": M.to_order_time(periodic, k=k),
        "mart_delivery_regions": M.to_delivery_regions(
            periodic, tracking=tables.read(spark, gold_path(ctx.cfg.lake.gold, TRACKING)), k=k),
        "mart_buyer_groups": M.to_buyer_groups(M.with_buyer_type(periodic, lines=lines), k=k),
        "mart_repurchase": repurchase,
        "mart_cohort_retention": retention,
        "mart_products": M.to_products(periodic, k=k),
        "mart_funnel": funnel,
        "mart_lost_visitors": lost,
        "mart_presale": M.to_presale(periodic, orders=inputs["orders"], payments=inputs["payments"], k=k),
        "mart_category_totals": M.to_category_totals(periodic, k=k, m=m),
    }
    written = {}

    def benchmarks() -> DataFrame:
        # from the marts just written: no second computation of the brand marts
        read = {n: tables.read(spark, gold_path(ctx.cfg.lake.gold, n)) for n in
                ("mart_sales_trend", "mart_funnel", "mart_repurchase", "mart_products")}
        return M.to_benchmarks(read["mart_sales_trend"], read["mart_funnel"], read["mart_repurchase"],
                               read["mart_products"], tiers=tiers, m=m)

    def write(name: str, df: DataFrame) -> None:
        path = gold_path(ctx.cfg.lake.gold, name)
        # rebuilt whole: cohort rates change with any new purchase, and peer tiers rank brands by all-time sales
        whole = name in ("mart_repurchase", "mart_cohort_retention", "mart_benchmarks") or touched is None
        if whole:
            tables.overwrite(df, path)
        elif touched:
            if "period_key" in df.columns:
                tables.replace_where(df.where(F.col("period_key").isin(*touched)), path,
                                     F.col("period_key").isin(*sorted(touched)))
        written[name] = "all" if whole else len(touched or [])

    # the marts are independent of each other: written side by side; the benchmarks read four of them
    ctx.concurrently({name: (lambda n=name, d=df: write(n, d)) for name, df in results.items()}, step="write")
    write("mart_benchmarks", benchmarks())
    for kept in (periodic, lines, sessions, sale_events):
        release(kept)

    state_rows = [(n, int(v), ctx.summary.run_id) for n, v in sorted(versions.items())]
    tables.overwrite(spark.createDataFrame(state_rows, MARTS_STATE), state_path)
    ctx.summary.add_counts(EXCEPTIONS, rows_written=n_exceptions)
    ctx.summary.details["marts"] = {
        "mode": "incremental" if incremental else "full", "input_versions": versions,
        "periods_rebuilt": touched if touched is not None else "all", "logistics_exceptions": n_exceptions,
    }
    log.info("marts: done (%s)", "incremental" if incremental else "full")
