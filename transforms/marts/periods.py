"""Report periods: ISO weeks, calendar months and the sale events of the sale calendar (with their presale
phase), all in the platform's local dates.

A period is named by ``period_key``: ``week:2024-03-04`` (its Monday), ``month:2024-03`` or
``event:2024 Double 11``; ``phase`` is ``all`` for weeks and months, and ``presale``, ``main`` or ``all``
(presale + main) for a sale event.
"""

from __future__ import annotations

from collections.abc import Mapping

from brandlake.transforms.columns import require_columns
from brandlake.transforms.sale_events import event_series
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

PERIOD_TYPES = ("week", "month", "event")
PERIOD_COLUMNS = ("period_type", "period_key", "phase", "period_start")

SALE_EVENTS = T.StructType([T.StructField(n, t, False) for n, t in [
    ("platform_id", T.StringType()), ("period_key", T.StringType()), ("phase", T.StringType()),
    ("start_date", T.DateType()), ("end_date", T.DateType()),
]])
"""One row per platform × sale event × phase (presale, main): its local first and last day."""


def _local_date(ts: Column, tz: Column) -> Column:
    return F.to_date(F.from_utc_timestamp(ts, tz))


def to_sale_events(promotions: DataFrame, *, platform_timezones: Mapping[str, str]) -> DataFrame:
    """SALE_EVENTS from silver promotions: the main phase spans the event's non-presale promotions, the
    presale phase the deposit window of its presale promotion; the event's year is its main start's, and its
    key names it without the year its promotions may carry (``event:2024 Double 11`` from "Double 11 2024"),
    so that the same event a year earlier has the key the comparisons look for."""
    require_columns(promotions, ("platform_id", "promotion_type", "event_name", "starts_at", "ends_at"),
                    what="promotions")
    tz_map = F.create_map(*[x for k, v in sorted(platform_timezones.items()) for x in (F.lit(k), F.lit(v))]) \
        if platform_timezones else None
    tz = F.coalesce(F.element_at(tz_map, F.col("platform_id")), F.lit("UTC")) if tz_map is not None else F.lit("UTC")
    p = promotions.where(F.col("event_name").isNotNull() & F.col("starts_at").isNotNull()
                         & F.col("ends_at").isNotNull()).select(
        "platform_id", event_series(F.col("event_name")), F.col("promotion_type") == "presale",
        _local_date(F.col("starts_at"), tz).alias("s"), _local_date(F.col("ends_at"), tz).alias("e"),
    ).toDF("platform_id", "event_name", "is_presale", "s", "e")
    main = (p.where(~F.col("is_presale")).groupBy("platform_id", "event_name", F.year("s").alias("year"))
            .agg(F.min("s").alias("start_date"), F.max("e").alias("end_date"))
            .withColumn("phase", F.lit("main")))
    # a presale window ends the day before its event's main phase starts
    pre = (p.where(F.col("is_presale")).groupBy("platform_id", "event_name", F.year(F.date_add("e", 1)).alias("year"))
           .agg(F.min("s").alias("start_date"), F.max("e").alias("end_date"))
           .withColumn("phase", F.lit("presale")))
    out = main.unionByName(pre).withColumn(
        "period_key", F.concat(F.lit("event:"), F.col("year").cast("string"), F.lit(" "), F.col("event_name")))
    return out.select(*SALE_EVENTS.fieldNames())


def week_key(d: Column) -> Column:
    return F.concat(F.lit("week:"), F.date_format(F.date_trunc("week", d).cast("date"), "yyyy-MM-dd"))


def month_key(d: Column) -> Column:
    return F.concat(F.lit("month:"), F.date_format(d, "yyyy-MM"))


def with_periods(df: DataFrame, *, sale_events: DataFrame, date_col: str = "order_date") -> DataFrame:
    """``df`` (with ``platform_id`` and ``date_col``) once per period it falls in: its week, its month and,
    when in a sale event, that event's phase and ``all``; adds PERIOD_COLUMNS."""
    d = F.col(date_col)
    week = df.select("*", F.lit("week").alias("period_type"), week_key(d).alias("period_key"),
                     F.lit("all").alias("phase"), F.date_trunc("week", d).cast("date").alias("period_start"))
    month = df.select("*", F.lit("month").alias("period_type"), month_key(d).alias("period_key"),
                      F.lit("all").alias("phase"), F.trunc(d, "month").alias("period_start"))
    ev = sale_events.alias("ev")
    starts = sale_events.groupBy("period_key").agg(F.min("start_date").alias("period_start"))
    in_event = (
        df.alias("f").join(ev, (F.col("f.platform_id") == F.col("ev.platform_id"))
                           & F.col(f"f.{date_col}").between(F.col("ev.start_date"), F.col("ev.end_date")))
        .select("f.*", F.col("ev.period_key").alias("period_key"), F.col("ev.phase").alias("phase"))
    )
    phases = in_event.select("*", F.explode(F.array(F.col("phase"), F.lit("all"))).alias("_phase")) \
        .drop("phase").withColumnRenamed("_phase", "phase")
    events = phases.join(starts, "period_key").select(*df.columns, F.lit("event").alias("period_type"),
                                                      "period_key", "phase", "period_start")
    return week.unionByName(month).unionByName(events)


def previous_key(period_type: Column, period_key: Column, period_start: Column) -> Column:
    """The key of the period before (the previous week or month; none for sale events)."""
    return (F.when(period_type == "week", week_key(F.date_sub(period_start, 7)))
            .when(period_type == "month", month_key(F.add_months(period_start, -1))))


def year_ago_key(period_type: Column, period_key: Column, period_start: Column) -> Column:
    """The same period a year earlier: 52 weeks back, 12 months back, or the same event the year before."""
    year = F.substring(period_key, 7, 4).cast("int")
    return (F.when(period_type == "week", week_key(F.date_sub(period_start, 364)))
            .when(period_type == "month", month_key(F.add_months(period_start, -12)))
            .when(period_type == "event", F.concat(F.lit("event:"), (year - 1).cast("string"), F.lit(" "),
                                                   F.substring(period_key, 12, 1000))))


def to_periods_to_rebuild(touched_dates: DataFrame, *, all_dates: DataFrame, sale_events: DataFrame,
                          touched_keys: DataFrame | None = None) -> DataFrame:
    """Columns ``period_key`` (distinct) and ``changed``: the periods holding a touched (platform_id,
    order_date), and ``touched_keys`` (e.g. sale events whose dates moved), with ``changed`` true: their own
    figures change; plus every other period of ``all_dates`` whose previous or year-ago period is one of them,
    with ``changed`` false: only its comparisons change."""
    touched = with_periods(touched_dates, sale_events=sale_events).select("period_key").distinct()
    if touched_keys is not None:
        touched = touched.unionByName(touched_keys.select("period_key")).distinct()
    periods = with_periods(all_dates, sale_events=sale_events).select(*PERIOD_COLUMNS).distinct()
    refs = periods.select(
        "period_key", previous_key(F.col("period_type"), F.col("period_key"), F.col("period_start")).alias("_p"),
        year_ago_key(F.col("period_type"), F.col("period_key"), F.col("period_start")).alias("_y"))
    t = touched.select(F.col("period_key").alias("_t"))
    dependents = (refs.join(t, (F.col("_p") == F.col("_t")) | (F.col("_y") == F.col("_t")), "left_semi")
                  .select("period_key").distinct().join(touched, "period_key", "left_anti"))
    return (touched.withColumn("changed", F.lit(True))
            .unionByName(dependents.withColumn("changed", F.lit(False))))
