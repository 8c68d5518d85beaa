"""`brandlake marts`: gold `parcel_tracking`, `logistics_exceptions` and the brand report marts
(transforms/marts/build.py MARTS).

Incremental: the Delta versions of the inputs processed last time are kept in `<lake.gold>/_marts_state`.
Nothing changed → nothing is written. Otherwise what changed since those versions is read from each input's
change data feed (only the commits since then; a table without one is compared whole, version against
version): parcels whose scans changed are rebuilt and MERGEd on shipment_id, and the marts recompute only the
periods that changed settlement lines, orders, scans, returns, reviews or sessions touched, replacing exactly
those periods (`replaceWhere period_key IN ...`); their lines and sessions are built from those periods' dates
alone. Sales trend and products (COMPARING) also rewrite the periods that compare with a changed one, from their
own rows as written (no lines are built for those). Customers, products and
promotions change with nearly every delivery (new accounts, new SKUs, the next sale's promotions), so they are
followed too, on the columns the marts read: a changed or new customer touches the dates of its lines, a
changed SKU those of its product's lines and sessions, and a changed promotion the sale events it moves (their
old and new dates and event periods). A change in platforms or warehouses, or `--full`, rebuilds everything.
Repurchase, cohort retention and the peer benchmarks (whose tiers rank brands by all-time sales) are rebuilt
whole on every run with changes, from the settlement lines alone.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
from functools import reduce

from brandlake.transforms.changes import MARTS_STATE, changed_keys
from brandlake.transforms.gold_tables import gold_path
from brandlake.transforms.marts import build as M
from brandlake.transforms.marts.periods import (
    to_periods_to_rebuild,
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
# marts comparing a period with the previous one or the same one a year earlier: a change in a period rewrites
# the periods comparing with it too (their figures are read back from the mart, not rebuilt from lines)
COMPARING = ("mart_sales_trend", "mart_products")
# the layout of the marts' keys and columns, recorded in the state: marts written under another layout (for
# example before sale events were keyed without their year, layout 2) are rebuilt whole, not patched
LAYOUT, LAYOUT_KEY = 2, "_layout"


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


class _Changes:
    """What changed in each input since the versions the last run processed (``state``): the rows whose key
    changed in the columns the marts read, as they were and as they are now (an updated key appears twice).
    Read from the table's change data feed (only the commits since then); a table that did not record its
    changes over the range (a lake older than the setting) is compared whole, version against version."""

    def __init__(self, spark: SparkSession, paths: dict[str, str], state: dict[str, int], inputs: dict):
        self.spark, self.paths, self.state, self.inputs = spark, paths, state, inputs
        self.compared: dict[str, str] = {}  # name -> "change feed" | "whole versions" | "new table"
        self._rows: dict[str, DataFrame] = {}

    def changed(self, name: str) -> bool:
        return self.state.get(name) != self.inputs["_versions"][name]

    def rows(self, name: str) -> DataFrame:
        if name not in self._rows:
            rows = self._changed_rows(name)
            # kept: the rows are read by more than one step (parcels, touched dates); a new table is read as it is
            self._rows[name] = rows if self.compared[name] == "new table" else materialize(rows)
        return self._rows[name]

    def _changed_rows(self, name: str) -> DataFrame:
        keys, columns = DIMENSIONS.get(name, (KEYS.get(name), None))
        before, now, current = self.state[name], self.inputs["_versions"][name], self.inputs[name]
        if before == MISSING:  # a table that appeared since the last run: all its rows are new
            self.compared[name] = "new table"
            return current
        old, new, self.compared[name] = tables.rows_between(self.spark, self.paths[name], before=before, now=now,
                                                            keys=keys, current=current)
        ch = changed_keys(old, new, keys=keys, columns=columns or new.columns)
        return (old.join(ch, list(keys), "left_semi")
                .unionByName(new.join(ch, list(keys), "left_semi"), allowMissingColumns=True))

    def prefetch(self, name: str) -> None:
        """Read and keep the rows of ``name`` now. A failure is left to the step that uses them, which decides
        what it means (a version no longer readable: a full run)."""
        try:
            self.rows(name)
        except Exception as e:  # noqa: BLE001 - raised again, and handled, where the rows are used
            log.info("marts: could not read the changes of %s yet (%s)", name, e)

    def release(self) -> None:
        for name, df in self._rows.items():
            if self.compared[name] != "new table":
                release(df)


class _FullRunNeeded(Exception):
    """An input changed in a way the incremental run cannot follow (the message says which)."""


def _touched_by_dimensions(changes: _Changes, *, sale_events: DataFrame,
                           platform_timezones: dict[str, str]) -> tuple[list[DataFrame], DataFrame | None]:
    """(platform_id, order_date) frames touched by changed customers, products and promotions, and the
    period keys of the sale events a promotion change moved (None when no promotion changed)."""
    spark, paths, state, inputs = changes.spark, changes.paths, changes.state, changes.inputs
    settlement, clicks = inputs["order_line_settlement"], inputs["clickstream"]
    parts: list[DataFrame] = []
    event_keys = None
    for name in (*DIMENSIONS, "promotions"):
        if not changes.changed(name):
            continue
        if MISSING in (state.get(name), inputs["_versions"][name]):
            raise _FullRunNeeded(f"silver {name} appeared or disappeared")
        if name == "customers":
            customers = changes.rows(name).select("platform_id", "customer_id").distinct()
            parts.append(settlement.join(customers, ["platform_id", "customer_id"], "left_semi")
                         .select("platform_id", "order_date"))
        elif name == "products":
            # lines and sessions take a product's category and brand by product_id, from any of its SKUs
            products = changes.rows(name).select("product_id").distinct()
            parts.append(settlement.join(products, "product_id", "left_semi").select("platform_id", "order_date"))
            parts.append(clicks.join(products, "product_id", "left_semi")
                         .select("platform_id", F.col("event_date").alias("order_date")))
        else:  # promotions (a small table): the sale events they define, before and now
            old = tables.read(spark, paths[name], version=state[name])
            events_before = to_sale_events(old, platform_timezones=platform_timezones)
            moved = events_before.subtract(sale_events).unionByName(sale_events.subtract(events_before))
            event_keys = moved.select("period_key").distinct()
            parts.append(moved.select("platform_id", F.explode(F.sequence("start_date", "end_date"))
                                      .alias("order_date")))
    return parts, event_keys


def _touched_order_dates(inputs, changes: _Changes) -> DataFrame:
    """(platform_id, order_date) of every fact that changed since the last run, as it was and as it is:
    settlement lines, orders, returns, reviews, scans and payments (through their orders), and session dates."""
    orders = inputs["orders"]
    parts: list[DataFrame] = []
    order_ids: list[DataFrame] = []   # of returns, reviews, scans and payments: dated through one read of orders
    for name in KEYS:
        if not changes.changed(name):
            continue
        rows = changes.rows(name)
        if name in ("order_line_settlement", "orders"):
            parts.append(rows.select("platform_id", "order_date"))
        elif name == "clickstream":
            parts.append(rows.select("platform_id", F.col("event_date").alias("order_date")))
        else:
            order_ids.append(rows.select("order_id"))
    if order_ids:
        ids = reduce(DataFrame.unionByName, order_ids).distinct()
        parts.append(orders.join(ids, "order_id", "left_semi").select("platform_id", "order_date"))
    return _union_dates(orders.sparkSession, parts)


# days around a period's dates whose lines its sessions read: a purchase up to 24 h after a session ended (and an
# hour before) is no loss; local order dates and session dates differ by at most a day of time zone
SESSION_MARGIN_DAYS = (2, 3)


def _within_periods(settlement: DataFrame, clicks: DataFrame, dated: DataFrame, *, keys: list[str]):
    """``settlement`` and ``clicks`` cut to what the periods ``keys`` read: the lines of their dates (and the days
    around them, for the sessions), and every event of the sessions that started on one of their dates.
    ``dated``: (platform_id, order_date) with the periods they fall in (``with_periods``)."""
    dates = dated.where(F.col("period_key").isin(*keys)).select("platform_id", "order_date").distinct()
    before, after = SESSION_MARGIN_DAYS
    line_dates = dates.select("platform_id", F.explode(F.sequence(
        F.date_sub("order_date", before), F.date_add("order_date", after))).alias("order_date")).distinct()
    started = (clicks.join(F.broadcast(dates.withColumnRenamed("order_date", "event_date")),
                           ["platform_id", "event_date"], "left_semi").select("session_id").distinct())
    return (settlement.join(F.broadcast(line_dates), ["platform_id", "order_date"], "left_semi"),
            clicks.join(started, "session_id", "left_semi"))


def _union_dates(spark: SparkSession, parts: list[DataFrame]) -> DataFrame:
    if not parts:
        return spark.createDataFrame([], "platform_id STRING, order_date DATE")
    return reduce(DataFrame.unionByName, parts).distinct()


def _write_tracking(ctx, inputs, state, changes: _Changes, incremental: bool, as_of) -> int:
    spark, cfg = ctx.spark, ctx.cfg
    events = inputs["tracking_events"]
    path = gold_path(ctx.cfg.lake.gold, TRACKING)
    build = lambda ev: to_parcel_tracking(ev, orders=inputs["orders"], warehouses=inputs["warehouses"],  # noqa: E731
                                          promise_days=cfg.tracking.promise_days)
    if incremental and tables.exists(spark, path) and state.get("tracking_events") != MISSING:
        if changes.changed("tracking_events"):
            ships = changes.rows("tracking_events").select("shipment_id").distinct()
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
    if state and state.pop(LAYOUT_KEY, 1) != LAYOUT:
        log.info("marts: the marts were written under an older layout; full run")
        state = {}
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

    changes = _Changes(spark, paths, state, inputs)
    # the parcels and, on an incremental run, the changed rows of each input, side by side: each is many small
    # Spark jobs and Delta log reads, mostly driver time
    ctx.mark("marts", "parcel tracking and changes")
    work = {TRACKING: lambda: _write_tracking(ctx, inputs, state, changes, incremental, args.as_of)}
    if incremental:
        work.update({f"changes of {n}": (lambda n=n: changes.prefetch(n))
                     for n in (*KEYS, *DIMENSIONS) if changes.changed(n)})
    n_exceptions = ctx.concurrently(work, step="read", after={TRACKING: ["changes of tracking_events"]})[TRACKING]

    tz = {r["platform_id"]: r["timezone"] for r in inputs["platforms"].select("platform_id", "timezone").collect()}
    sale_events = materialize(to_sale_events(inputs["promotions"], platform_timezones=tz))
    settlement, clicks = inputs["order_line_settlement"], inputs["clickstream"]

    touched: list[str] | None = None    # the periods rewritten: changed ones and those comparing with them
    changed: list[str] | None = None    # the periods whose own figures changed: built from their lines
    kept: list[DataFrame] = [sale_events]
    if incremental:
        ctx.mark("marts", "find changed periods")
        try:
            dims, event_keys = _touched_by_dimensions(changes, sale_events=sale_events, platform_timezones=tz)
            # kept: the periods to rebuild are found from them in more than one pass
            touched_dates = materialize(_union_dates(spark, [_touched_order_dates(inputs, changes), *dims]))
        except _FullRunNeeded as e:
            log.info("marts: %s; full run", e)
            incremental = False
        except Exception as e:  # an old version no longer readable (vacuumed): rebuild everything
            log.warning("marts: cannot diff inputs against the last processed versions (%s); full run", e)
            incremental = False
        else:
            all_dates = materialize(settlement.select("platform_id", "order_date").unionByName(
                clicks.select("platform_id", F.col("event_date").alias("order_date"))).distinct())
            kept += [touched_dates, all_dates]
            rebuild = to_periods_to_rebuild(touched_dates, all_dates=all_dates, sale_events=sale_events,
                                            touched_keys=event_keys).collect()
            touched = sorted(r["period_key"] for r in rebuild)
            changed = sorted(r["period_key"] for r in rebuild if r["changed"])
    log.info("marts: %s run; %s periods to rebuild", "incremental" if incremental else "full",
             f"{len(touched)} ({len(changed)} changed)" if touched is not None else "all")
    ctx.mark("marts", "lines and sessions")
    if changed is not None:
        # the lines and sessions of the changed periods' dates alone: the periods that only compare with them
        # read their own figures from the marts as written (to_sales_trend, to_products)
        dated = with_periods(all_dates, sale_events=sale_events)
        settlement, clicks = _within_periods(settlement, clicks, dated, keys=changed)
        # the cut clickstream, read by the sessions and by the funnel's products: kept, with the columns they read
        clicks = materialize(clicks.select(*M.CLICK_COLUMNS))
        kept.append(clicks)
    # kept as rows of their own (session.materialize): the twelve marts are planned against the kept rows, not
    # against the joins that built them again and again
    lines = materialize(M.to_mart_lines(
        settlement, orders=inputs["orders"], customers=inputs["customers"], products=inputs["products"],
        platforms=inputs["platforms"], returns=inputs["returns"], reviews=inputs["reviews"]))
    sessions = materialize(M.to_session_facts(clicks, products=inputs["products"], lines=lines))
    # repurchase, cohorts, new versus returning and the peer tiers read the whole history, from settlement alone
    buyer_days = materialize(M.to_buyer_days(inputs["order_line_settlement"]))
    kept += [lines, sessions, buyer_days]

    periodic = with_periods(lines, sale_events=sale_events)
    periodic_sessions = with_periods(sessions, sale_events=sale_events, date_col="event_date")
    if changed is not None:
        periodic = periodic.where(F.col("period_key").isin(*changed))
        periodic_sessions = periodic_sessions.where(F.col("period_key").isin(*changed))
    periodic = materialize(periodic)
    kept.append(periodic)
    session_products = (clicks.where(F.col("event_type").isin("view", "cart"))
                        .join(inputs["products"].select("product_id", "brand_id").distinct(), "product_id")
                        .select("session_id", "brand_id", "product_id").distinct())

    funnel, lost = M.to_funnel(periodic_sessions, session_products=session_products, k=k)
    repurchase, retention = M.to_repurchase(buyer_days, k=k)
    tiers = M.to_brand_tiers(M.to_brand_category_sales(inputs["order_line_settlement"], products=inputs["products"]),
                             m=m)
    def stored(name: str) -> DataFrame | None:
        """The mart as written, for the periods this run does not build (None on a full run)."""
        if changed is None:
            return None
        return tables.read(spark, gold_path(ctx.cfg.lake.gold, name)).where(~F.col("period_key").isin(*changed))

    results: dict[str, DataFrame] = {
        "mart_sales_trend": M.to_sales_trend(periodic, k=k, stored=stored("mart_sales_trend")),
        "mart_order_time": M.to_order_time(periodic, k=k),
        "mart_delivery_regions": M.to_delivery_regions(
            periodic, tracking=tables.read(spark, gold_path(ctx.cfg.lake.gold, TRACKING)), k=k),
        "mart_buyer_groups": M.to_buyer_groups(M.with_buyer_type(periodic, lines=buyer_days), k=k),
        "mart_repurchase": repurchase,
        "mart_cohort_retention": retention,
        "mart_products": M.to_products(periodic, k=k, stored=stored("mart_products")),
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
        # the marts with comparisons rewrite the periods comparing with a changed one too; the others only those
        keys = sorted(touched if name in COMPARING else changed) if not whole else []
        if whole:
            tables.overwrite(df, path)
        elif keys:
            tables.replace_where(df.where(F.col("period_key").isin(*keys)), path, F.col("period_key").isin(*keys))
        written[name] = "all" if whole else len(keys)

    # the marts are independent of each other: written side by side; the benchmarks read four of them
    ctx.mark("marts", "write")
    ctx.concurrently({name: (lambda n=name, d=df: write(n, d)) for name, df in results.items()}, step="write")
    write("mart_benchmarks", benchmarks())
    for df in kept:
        release(df)
    changes.release()

    state_rows = [(n, int(v), ctx.summary.run_id) for n, v in sorted({**versions, LAYOUT_KEY: LAYOUT}.items())]
    tables.overwrite(spark.createDataFrame(state_rows, MARTS_STATE), state_path)
    ctx.summary.add_counts(EXCEPTIONS, rows_written=n_exceptions)
    ctx.summary.details["marts"] = {
        "mode": "incremental" if incremental else "full", "input_versions": versions,
        "periods_rebuilt": touched if touched is not None else "all",
        "periods_changed": changed if changed is not None else "all", "logistics_exceptions": n_exceptions,
        "changes_read_from": changes.compared,
    }
    log.info("marts: done (%s)", "incremental" if incremental else "full")
