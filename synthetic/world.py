"""Wiring of the synthetic world: every entity frame, the landing records of all 18 sources, and the
ground-truth frames. Lazy DataFrames only; the job decides what to persist and where to write."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import reduce

from brandlake.synthetic import activity, catalog, events, people
from brandlake.synthetic import constants as C
from brandlake.synthetic import orders as orders_mod
from brandlake.synthetic.export import to_lines, with_defects
from brandlake.synthetic.params import WorldParams
from brandlake.synthetic.rand import fmt_ts
from brandlake.transforms.landing import SOURCES
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F


@dataclass(frozen=True)
class World:
    platforms: DataFrame
    brands: DataFrame
    skus: DataFrame
    shops: DataFrame
    listings: DataFrame
    cat_n: DataFrame
    warehouses: DataFrame
    promotions: DataFrame
    promo_days: DataFrame
    weights: DataFrame
    bins: DataFrame
    accounts: DataFrame
    lines: DataFrame
    orders: DataFrame
    outcomes: DataFrame
    browse: DataFrame


Materialize = Callable[[str, DataFrame], DataFrame]


def _as_is(name: str, df: DataFrame) -> DataFrame:
    return df


def build_world(spark: SparkSession, *, p: WorldParams, materialize: Materialize = _as_is) -> World:
    """All entity frames. ``materialize(name, df)`` may store a frame and return it read back: the job uses it
    to cut long lineages (planning cost) and to compute frames that several sources reuse only once."""
    m = materialize
    plats = catalog.platforms(spark)
    brands = catalog.brands(spark, p=p)
    skus = catalog.skus(spark, brands, p=p)
    shops = catalog.shops(brands, plats, p=p)
    listings = m("listings", catalog.listings(skus, shops, plats, p=p))
    cat_n = listings.groupBy("platform_id", "category").agg(F.count(F.lit(1)).alias("cat_n"))
    cal = catalog.calendar(spark, p=p)
    promos = catalog.promotions(cal, plats, p=p)
    pdays = m("promo_days", catalog.promo_days(promos))
    weights = m("day_weights", catalog.day_weights(spark, cal, plats, p=p))
    bins = catalog.day_bins(weights)
    accts = m("accounts", people.accounts(people.persons(spark, p=p), plats, p=p))
    lines = m("lines", orders_mod.order_lines(accts, weights, bins, cat_n, listings, pdays, p=p))
    orders = m("orders", orders_mod.orders(lines, p=p, grace_days=p.balance_grace_days))
    outcomes = m("outcomes", orders_mod.line_outcomes(lines, orders, p=p))
    browse = m("browse", events.browse_sessions(accts, weights, bins, p=p))
    return World(plats, brands, skus, shops, listings, cat_n, catalog.warehouses(spark), promos, pdays, weights,
                 bins, accts, lines, orders, outcomes, browse)


def _snapshot(df: DataFrame) -> DataFrame:
    """Snapshot records: the version time is both arrival and event time; no order."""
    return df.withColumn("_event", F.col("_arrival")).withColumn("_order_id", F.lit(None).cast("string"))


def landing_records(w: World, *, p: WorldParams) -> dict[str, DataFrame]:
    """source name → records with the source's contract fields (text) and the ``_`` meta columns."""
    spark = w.platforms.sparkSession
    plat = w.platforms.select("platform_id", "name", "market", "country", "currency", "timezone",
                              F.lit(p.t0).alias("_arrival"))
    recs = {
        "platforms": _snapshot(plat.withColumn("updated_at", fmt_ts(F.col("_arrival")))
                               .withColumn("_rid", F.col("platform_id"))),
        "brands": _snapshot(catalog.brand_records(w.brands, p=p)),
        "products": _snapshot(catalog.product_records(w.skus, p=p)),
        "shops": _snapshot(catalog.shop_records(w.shops, p=p)),
        "customers": _snapshot(people.customer_records(w.accounts, p=p)),
        "promotions": _snapshot(catalog.promotion_records(w.promotions, p=p)),
        "warehouses": _snapshot(catalog.warehouse_records(w.warehouses, p=p)),
        "order_events": events.order_event_records(w.orders, p=p),
        "payment_events": events.payment_event_records(w.orders, p=p),
        "refund_events": events.refund_event_records(w.outcomes, p=p),
        "logistics_events": events.logistics_event_records(w.orders, p=p),
        "clickstream": events.clickstream_records(w.orders, w.browse, w.cat_n, w.listings, p=p),
        "returns": events.return_records(w.outcomes, p=p),
        "reviews": events.review_records(w.outcomes, p=p),
        "cs_chats": events.cs_chat_records(w.orders, w.outcomes, w.browse, p=p),
        "seller_records": activity.seller_records(w.orders, w.platforms, p=p),
        "inventory": activity.inventory_records(w.skus, p=p),
        "fx_rates": activity.fx_rate_records(spark, p=p),
    }
    missing = sorted(set(SOURCES) - set(recs))
    if missing:
        raise ValueError(f"generator builds no records for landing sources {missing}")
    return recs


DRIFT_FIELD = {"order_events": "device_type"}


# sources staged together (one Spark job per group keeps plans and task closures moderate)
STAGE_GROUPS = {
    "catalog": ["platforms", "brands", "products", "shops", "customers", "promotions", "warehouses", "fx_rates",
                "inventory"],
    "orders": ["order_events", "payment_events", "refund_events", "logistics_events", "returns", "reviews",
               "seller_records"],
    "sessions": ["clickstream", "cs_chats"],
}


def landing_lines(records: dict[str, DataFrame], *, p: WorldParams) -> dict[str, DataFrame]:
    """stage group → landing lines of its sources (source, batch, part, sort_key, line + defect truth)."""
    grouped = {name for names in STAGE_GROUPS.values() for name in names}
    if grouped != set(records):
        raise ValueError(f"stage groups {sorted(grouped)} do not match the sources {sorted(records)}")
    out = {}
    for group, names in STAGE_GROUPS.items():
        frames = [to_lines(with_defects(records[n], source=n, p=p), src=SOURCES[n], p=p,
                           n_parts=p.parts(C.ROWS_PER_SF_PER_BATCH[n]), drift_field=DRIFT_FIELD.get(n))
                  for n in names]
        out[group] = reduce(DataFrame.unionByName, frames)
    return out


def truth_frames(w: World, *, p: WorldParams) -> dict[str, DataFrame]:
    """Ground truth the pipeline must not read (see docs/generator.md)."""
    return {
        "person_map": people.person_map(w.accounts),
        "orders": w.orders.select(
            "order_id", "platform_id", "customer_id", "person_id", "shop_id", "currency", "is_presale",
            "balance_paid", "unpaid", "is_cross_border", F.col("subtotal").alias("lines_amount"), "discount_total",
            "shipping_fee", "payable", "deposit_amount", "deposit_value", "delay_days", "has_exception",
            F.timestamp_seconds("at").alias("ordered_at")),
        "order_lines": w.outcomes.select(
            "order_id", "line_id", "person_id", "platform_id", "product_id", "sku_id", "category", "size",
            "is_extreme_size", "quantity", "line_amount", "discount_depth", "delay_days", "return_probability",
            "is_returned", "return_reason", "return_qty", "has_partial_refund"),
        "seller_reliability": w.shops.where(F.col("seller_type") == "cross_border").select(
            "shop_id", activity.shop_reliability(p.seed).alias("reliability")),
    }
