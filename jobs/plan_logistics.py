"""`brandlake plan-logistics`: gold planning tables from silver inventory/orders/logistics/clickstream and the
latest gold `sales_forecast`: available_to_ship, prepositioning_plan, capacity_forecast, peak_load_forecast.
Each table is replaced whole per run (a plan is a snapshot as of --as-of)."""

from __future__ import annotations

import argparse
import datetime as dt
import logging

from brandlake.transforms.forecast import region_of, to_sale_calendar
from brandlake.transforms.gold_tables import gold_path
from brandlake.transforms.planning import (
    to_available_to_ship,
    to_capacity_forecast,
    to_peak_load_forecast,
    to_prepositioning_plan,
)
from pyspark.sql import Window
from pyspark.sql import functions as F

from brandlake import tables
from brandlake.runtime import JobContext

log = logging.getLogger(__name__)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--as-of", type=dt.datetime.fromisoformat, default=None,
                   help="UTC time the plans are made at (default: the latest order update in silver)")


def run(ctx: JobContext, args: argparse.Namespace) -> None:
    spark, cfg = ctx.spark, ctx.cfg
    s = tables.read_required(spark, {n: f"{cfg.lake.silver}/{n}" for n in (
        "inventory", "orders", "order_lines", "tracking_events", "warehouses", "promotions", "platforms",
        "clickstream")}, command="plan-logistics", hint="run `brandlake silver` first")
    forecast = tables.read_required(spark, {"sales_forecast": gold_path(cfg.lake.gold, "sales_forecast")},
                                    command="plan-logistics",
                                    hint="run `brandlake train-forecast` and `brandlake score-forecast` first"
                                    )["sales_forecast"]
    as_of = args.as_of or s["orders"].agg(F.max("updated_at")).first()[0]
    regions, pl = cfg.forecast.regions, cfg.planning
    calendar = to_sale_calendar(s["promotions"], platforms=s["platforms"]).persist()

    ats = to_available_to_ship(s["inventory"], orders=s["orders"], order_lines=s["order_lines"],
                               pickups=s["tracking_events"], as_of=as_of, regions=regions)
    tables.overwrite(ats, gold_path(cfg.lake.gold, "available_to_ship"))
    ats = tables.read(spark, gold_path(cfg.lake.gold, "available_to_ship"))

    since = F.lit(as_of).cast("timestamp") - F.expr("INTERVAL 90 DAYS")
    recent = s["order_lines"].join(s["orders"].where(F.col("ordered_at") > since).select("order_id"), "order_id")
    sku_units = recent.where(F.col("product_id").isNotNull()).groupBy("product_id", "sku_id").agg(
        F.sum("quantity").alias("u"))
    shares = sku_units.withColumn("share", F.col("u") / F.sum("u").over(
        Window.partitionBy("product_id"))).drop("u")
    plan = to_prepositioning_plan(forecast, sku_shares=shares, calendar=calendar, stock=ats,
                                  service_level=pl.service_level, lead_time_days=pl.lead_time_days)
    tables.overwrite(plan, gold_path(cfg.lake.gold, "prepositioning_plan"))

    lines_per_order = (s["order_lines"].join(s["orders"].where(F.col("ordered_at") > since)
                                             .select("order_id", "ship_country", "ship_province"), "order_id")
                       .withColumn("warehouse_id", region_of(F.col("ship_country"), F.col("ship_province"),
                                                             regions=regions))
                       .groupBy("warehouse_id").agg((F.sum("quantity") / F.count_distinct("order_id")
                                                     / F.lit(pl.parcels_per_order)).alias("units_per_parcel")))
    cap = to_capacity_forecast(forecast, warehouses=s["warehouses"], units_per_parcel=lines_per_order,
                               capacity_turn_days=pl.capacity_turn_days)
    tables.overwrite(cap, gold_path(cfg.lake.gold, "capacity_forecast"))

    peak = to_peak_load_forecast(s["clickstream"], orders=s["orders"].select("platform_id", "order_id", "ordered_at"),
                                 calendar=calendar, as_of=as_of, quantile=pl.peak_quantile)
    tables.overwrite(peak, gold_path(cfg.lake.gold, "peak_load_forecast"))
    counts = {n: tables.read(spark, gold_path(cfg.lake.gold, n)).count() for n in (
        "available_to_ship", "prepositioning_plan", "capacity_forecast", "peak_load_forecast")}
    for n, c in counts.items():
        ctx.summary.add_counts(n, rows_written=c)
    overflow = tables.read(spark, gold_path(cfg.lake.gold, "capacity_forecast")).where("is_overflow").count()
    ctx.summary.details["plan_logistics"] = {"as_of": str(as_of), **counts, "overflow_days": overflow}
    log.info("plan-logistics as of %s: %s, %d warehouse overflow days", as_of, counts, overflow)
