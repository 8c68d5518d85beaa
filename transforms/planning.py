"""Logistics plans from inventory, order/shipment events and the sales forecast: available-to-ship,
pre-positioning ahead of big sales, warehouse parcel capacity and peak (server) load. Pure functions.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping

from brandlake.transforms.columns import require_columns
from brandlake.transforms.forecast import region_of
from brandlake.transforms.sale_events import event_series
from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

_S, _D, _L, _DB, _TS, _B = (T.StringType(), T.DateType(), T.LongType(), T.DoubleType(), T.TimestampType(),
                            T.BooleanType())


def _schema(*fields) -> T.StructType:
    return T.StructType([T.StructField(n, t, nullable) for n, t, nullable in fields])


AVAILABLE_TO_SHIP = _schema(
    ("warehouse_id", _S, False), ("sku_id", _S, False), ("snapshot_date", _D, False), ("on_hand", _L, False),
    ("shipped_since_snapshot", _L, False), ("reserved", _L, False), ("paid_not_shipped", _L, False),
    ("available_to_ship", _L, False), ("as_of", _TS, False),
)
"""One row per warehouse × SKU: the latest inventory snapshot on or before ``as_of``, less the units picked
up (shipped) from that warehouse since the snapshot day, less reserved units, less units of orders paid
but not yet shipped that the warehouse will ship (the warehouse serving the order's destination)."""

PREPOSITIONING_PLAN = _schema(
    ("warehouse_id", _S, False), ("sku_id", _S, False), ("event_name", _S, False), ("event_start", _D, False),
    ("event_demand_units", _DB, False), ("safety_stock_units", _DB, False), ("stock_units", _L, False),
    ("units_to_move", _L, False), ("move_by_date", _D, False),
)
"""One row per platform warehouse × SKU × coming big-sale event: forecast demand of the warehouse's region
over the event days (product forecast split by the SKU's recent share), safety stock z·σ·√lead time,
stock already there (available to ship), and the units to move in by ``move_by_date``."""

CAPACITY_FORECAST = _schema(
    ("warehouse_id", _S, False), ("target_date", _D, False), ("parcels_forecast", _DB, False),
    ("parcels_hi_95", _DB, False), ("capacity_parcels", _DB, True), ("is_overflow", _B, False),
    ("overflow_parcels", _DB, False),
)
"""One row per warehouse × forecast day: parcels to ship (forecast units of its region ÷ units per parcel)
against its daily parcel capacity; ``is_overflow`` (爆仓) when the 95 % upper bound exceeds capacity, by
``overflow_parcels``."""

PEAK_LOAD_FORECAST = _schema(
    ("platform_id", _S, False), ("event_name", _S, False), ("event_start", _D, False), ("hour_at", _TS, False),
    ("sessions_forecast", _DB, False), ("orders_forecast", _DB, False), ("sessions_p95", _DB, False),
    ("orders_p95", _DB, False),
)
"""One row per platform × hour of its next big sale: sessions and orders expected that hour (the hourly
profile of the platform's previous occurrence of that sale, scaled by growth since), with the event's
95th-percentile hourly sessions and orders for server sizing."""


def _cast(df: DataFrame, schema: T.StructType) -> DataFrame:
    return df.select(*[F.col(f.name).cast(f.dataType) for f in schema.fields])


def to_available_to_ship(inventory: DataFrame, *, orders: DataFrame, order_lines: DataFrame,
                         pickups: DataFrame, as_of: dt.datetime, regions: Mapping[str, str]) -> DataFrame:
    """AVAILABLE_TO_SHIP. ``pickups``: tracking events (order_id, warehouse_id, scan_type, event_at)."""
    require_columns(inventory, ("snapshot_date", "warehouse_id", "sku_id", "on_hand", "reserved"), what="inventory")
    require_columns(orders, ("order_id", "order_status", "ship_country", "ship_province", "updated_at"), what="orders")
    require_columns(order_lines, ("order_id", "sku_id", "quantity"), what="order_lines")
    require_columns(pickups, ("order_id", "warehouse_id", "scan_type", "event_at"), what="tracking_events")
    ts = F.lit(as_of).cast("timestamp")
    w = Window.partitionBy("warehouse_id", "sku_id").orderBy(F.col("snapshot_date").desc())
    snap = (inventory.where(F.col("snapshot_date") <= F.to_date(ts))
            .withColumn("_r", F.row_number().over(w)).where("_r = 1").drop("_r"))
    picked = (pickups.where((F.col("scan_type") == "pickup") & (F.col("event_at") <= ts))
              .groupBy("order_id").agg(F.min("event_at").alias("picked_at"), F.first("warehouse_id").alias("wh")))
    lines = order_lines.select("order_id", "sku_id", "quantity")
    shipped = (picked.join(lines, "order_id")
               .join(snap.select(F.col("warehouse_id").alias("wh"), "sku_id", "snapshot_date"), ["wh", "sku_id"])
               # a snapshot counts stock at the end of its day: pickups on later days reduce it
               .where(F.to_date("picked_at") > F.col("snapshot_date"))
               .groupBy(F.col("wh").alias("warehouse_id"), "sku_id").agg(F.sum("quantity").alias("shipped")))
    waiting = (orders.where((F.col("order_status") == "paid") & (F.col("updated_at") <= ts))
               .join(picked, "order_id", "left_anti")
               .select("order_id", region_of(F.col("ship_country"), F.col("ship_province"), regions=regions)
                       .alias("warehouse_id"))
               .join(lines, "order_id")
               .groupBy("warehouse_id", "sku_id").agg(F.sum("quantity").alias("waiting")))
    out = (snap.join(shipped, ["warehouse_id", "sku_id"], "left").join(waiting, ["warehouse_id", "sku_id"], "left")
           .select("warehouse_id", "sku_id", "snapshot_date", F.col("on_hand").cast("long").alias("on_hand"),
                   F.coalesce("shipped", F.lit(0)).cast("long").alias("shipped_since_snapshot"),
                   F.coalesce("reserved", F.lit(0)).cast("long").alias("reserved"),
                   F.coalesce("waiting", F.lit(0)).cast("long").alias("paid_not_shipped"))
           .withColumn("available_to_ship", F.col("on_hand") - F.col("shipped_since_snapshot") - F.col("reserved")
                       - F.col("paid_not_shipped"))
           .withColumn("as_of", ts))
    return _cast(out, AVAILABLE_TO_SHIP)


def z_of(service_level: float) -> float:
    """Standard normal quantile (Acklam's rational approximation; |error| < 1.2e-9 on (0, 1))."""
    p = service_level
    if not 0 < p < 1:
        raise ValueError(f"planning.service_level must be in (0, 1), found {p}")
    a = (-3.969683028665376e01, 2.209460984245205e02, -2.759285104469687e02, 1.383577518672690e02,
         -3.066479806614716e01, 2.506628277459239e00)
    b = (-5.447609879822406e01, 1.615858368580409e02, -1.556989798598866e02, 6.680131188771972e01,
         -1.328068155288572e01)
    c = (-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e00, -2.549732539343734e00,
         4.374664141464968e00, 2.938163982698783e00)
    d = (7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e00, 3.754408661907416e00)
    lo = 0.02425
    if p < lo:
        q = math.sqrt(-2 * math.log(p))
        return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / \
            ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1)
    if p > 1 - lo:
        return -z_of(1 - p)
    q = p - 0.5
    r = q * q
    return (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q / \
        (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1)


def to_prepositioning_plan(forecast: DataFrame, *, sku_shares: DataFrame, calendar: DataFrame,
                           stock: DataFrame, service_level: float, lead_time_days: int) -> DataFrame:
    """PREPOSITIONING_PLAN from ``sales_forecast`` rows at level product_region (series_key product|region),
    ``sku_shares`` (product_id, sku_id, share), the SALE_CALENDAR and AVAILABLE_TO_SHIP (``stock``).
    σ of a day = the 95 % interval half-width / 1.96; the event's σ adds daily variances."""
    require_columns(forecast, ("forecast_date", "target_date", "level", "series_key", "units_forecast",
                               "units_lo_95", "units_hi_95"), what="sales_forecast")
    z = z_of(service_level)
    latest = forecast.where(F.col("level") == "product_region").agg(F.max("forecast_date").alias("fd"))
    fc = (forecast.where(F.col("level") == "product_region").join(latest, F.col("forecast_date") == F.col("fd"))
          .withColumn("product_id", F.split("series_key", r"\|")[0])
          .withColumn("warehouse_id", F.split("series_key", r"\|")[1])
          .withColumn("sigma", (F.col("units_hi_95") - F.col("units_lo_95")) / F.lit(2 * 1.959963984540054)))
    events = calendar.select("event_name", "event_start", "event_end").groupBy("event_name", "event_start").agg(
        F.max("event_end").alias("event_end"))
    ev = (fc.join(events, (F.col("target_date") >= F.col("event_start")) & (F.col("target_date") <= F.col("event_end")))
          .groupBy("warehouse_id", "product_id", "event_name", "event_start")
          .agg(F.sum("units_forecast").alias("demand"), F.sum(F.col("sigma") ** 2).alias("var"),
               F.count("*").alias("n_days")))
    per_sku = (ev.join(sku_shares, "product_id")
               .select("warehouse_id", "sku_id", "event_name", "event_start",
                       (F.col("demand") * F.col("share")).alias("event_demand_units"),
                       (F.lit(z) * F.sqrt(F.col("var") / F.col("n_days")) * F.col("share")
                        * F.lit(math.sqrt(lead_time_days))).alias("safety_stock_units")))
    have = stock.select("warehouse_id", "sku_id", F.col("available_to_ship").alias("stock_units"))
    out = (per_sku.join(have, ["warehouse_id", "sku_id"], "left")
           .withColumn("stock_units", F.greatest(F.coalesce("stock_units", F.lit(0)), F.lit(0)).cast("long"))
           .withColumn("units_to_move", F.greatest(
               F.ceil(F.col("event_demand_units") + F.col("safety_stock_units") - F.col("stock_units")), F.lit(0)))
           .withColumn("move_by_date", F.date_sub("event_start", lead_time_days)))
    return _cast(out, PREPOSITIONING_PLAN)


def to_capacity_forecast(forecast: DataFrame, *, warehouses: DataFrame, units_per_parcel: DataFrame,
                         capacity_turn_days: float) -> DataFrame:
    """CAPACITY_FORECAST from ``sales_forecast`` (level warehouse), warehouses (capacity_units: storage) and
    units per parcel per warehouse region (from history). Daily parcel capacity = capacity_units ÷
    ``capacity_turn_days`` (the days the warehouse needs to turn its whole storage over)."""
    latest = forecast.where(F.col("level") == "warehouse").agg(F.max("forecast_date").alias("fd"))
    fc = forecast.where(F.col("level") == "warehouse").join(latest, F.col("forecast_date") == F.col("fd"))
    out = (fc.withColumn("warehouse_id", F.col("series_key")).join(units_per_parcel, "warehouse_id", "left")
           .join(warehouses.select("warehouse_id", "capacity_units"), "warehouse_id", "left")
           .withColumn("upp", F.coalesce(F.col("units_per_parcel"), F.lit(1.0)))
           .select("warehouse_id", "target_date",
                   (F.col("units_forecast") / F.col("upp")).alias("parcels_forecast"),
                   (F.col("units_hi_95") / F.col("upp")).alias("parcels_hi_95"),
                   (F.col("capacity_units") / F.lit(capacity_turn_days)).alias("capacity_parcels"))
           .withColumn("overflow_parcels", F.greatest(F.coalesce(F.col("parcels_hi_95") - F.col("capacity_parcels"),
                                                                 F.lit(0.0)), F.lit(0.0)))
           .withColumn("is_overflow", F.col("overflow_parcels") > 0))
    return _cast(out, CAPACITY_FORECAST)


def to_peak_load_forecast(sessions: DataFrame, *, orders: DataFrame, calendar: DataFrame, as_of: dt.datetime,
                          quantile: float = 0.95) -> DataFrame:
    """PEAK_LOAD_FORECAST. ``sessions``: clickstream (platform_id, session_id, event_at); ``orders``:
    (platform_id, order_id, ordered_at). The previous occurrence of the coming event is the latest one ended
    before ``as_of`` with the same name once its year is removed ("Double 11 2024" for "Double 11 2025").
    Hours are UTC. Growth = the 28 days before ``as_of`` over the 28 days before the previous occurrence's
    start (sessions and orders each)."""
    ts = F.lit(as_of).cast("timestamp")
    nxt_w = Window.partitionBy("platform_id").orderBy("event_start")
    cal = calendar.select("platform_id", "event_name", event_series(F.col("event_name")).alias("series"),
                          "event_start", "event_end")
    nxt = (cal.where(F.col("event_start") > F.to_date(ts)).withColumn("_r", F.row_number().over(nxt_w))
           .where("_r = 1").drop("_r"))
    # the previous occurrence: the same event a year (or an edition) earlier, named without its year
    prev = (nxt.alias("n").join(cal.alias("p"), (F.col("n.platform_id") == F.col("p.platform_id"))
                                & (F.col("p.series") == F.col("n.series"))
                                & (F.col("p.event_end") < F.to_date(ts)))
            .groupBy("n.platform_id", "n.event_name", "n.event_start", "n.event_end")
            .agg(F.max_by("p.event_start", "p.event_start").alias("prev_start"),
                 F.max_by("p.event_end", "p.event_start").alias("prev_end")))
    first_hit = sessions.groupBy("platform_id", "session_id").agg(F.min("event_at").alias("at"))
    hits = first_hit.select("platform_id", "at", F.lit(1).alias("s"), F.lit(0).alias("o")).unionByName(
        orders.select("platform_id", F.col("ordered_at").alias("at"), F.lit(0).alias("s"), F.lit(1).alias("o")))
    j = hits.join(prev, "platform_id")
    day = F.to_date("at")
    in_prev = (day >= F.col("prev_start")) & (day <= F.col("prev_end"))
    recent = (F.col("at") > ts - F.expr("INTERVAL 28 DAYS")) & (F.col("at") <= ts)
    before_prev = (day >= F.date_sub("prev_start", 28)) & (day < F.col("prev_start"))
    # try_divide: no sessions (or orders) in the base weeks means no growth known (null → 1.0 below), not an
    # ANSI division error
    growth = j.groupBy("platform_id").agg(
        F.try_divide(F.sum(F.when(recent, F.col("s"))), F.sum(F.when(before_prev, F.col("s")))).alias("g_s"),
        F.try_divide(F.sum(F.when(recent, F.col("o"))), F.sum(F.when(before_prev, F.col("o")))).alias("g_o"))
    hourly = (j.where(in_prev)
              .withColumn("hour_at", F.date_trunc("hour", "at") + F.make_dt_interval(
                  days=F.datediff("event_start", "prev_start")))
              .groupBy("platform_id", "event_name", "event_start", "hour_at")
              .agg(F.sum("s").alias("s"), F.sum("o").alias("o"))
              .join(growth, "platform_id", "left")
              .withColumn("sessions_forecast", F.col("s") * F.coalesce("g_s", F.lit(1.0)))
              .withColumn("orders_forecast", F.col("o") * F.coalesce("g_o", F.lit(1.0))))
    pw = Window.partitionBy("platform_id", "event_name", "event_start")
    out = (hourly.withColumn("sessions_p95", F.percentile_approx("sessions_forecast", quantile, 10000).over(pw))
           .withColumn("orders_p95", F.percentile_approx("orders_forecast", quantile, 10000).over(pw)))
    return _cast(out, PEAK_LOAD_FORECAST)
