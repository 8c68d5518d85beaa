"""Landing records not tied to single orders: cross-border seller records, inventory snapshots, fx rates."""

from __future__ import annotations

import math

from brandlake.synthetic import constants as C
from brandlake.synthetic.catalog import day_date
from brandlake.synthetic.params import WorldParams
from brandlake.synthetic.rand import fmt_ts, lit_map, money, pick, randint, uniform
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F


def _meta(at, rid, order_id=None) -> list:
    return [at.alias("_arrival"), at.alias("_event"), rid.alias("_rid"),
            (order_id if order_id is not None else F.lit(None).cast("string")).alias("_order_id")]


def shop_reliability(seed: int, shop_id: Column | str = "shop_id") -> Column:
    """A cross-border shop's latent reliability in [0, 1): the less reliable, the more of its disputes, weeks
    without a customs clearance and takings collected outside the FX channel (seller_records; truth
    `seller_reliability`)."""
    return uniform(seed, "shop_reliability", shop_id)


def seller_records(orders_df: DataFrame, platforms_df: DataFrame, *, p: WorldParams) -> DataFrame:
    """Cross-border shops' records: weekly customs clearance of shipped value, monthly FX collection of
    payments, quarterly export tax refund (9 % of customs value, in CNY) and disputes on single orders.

    Each shop's reliability r (``shop_reliability``) shapes them: a dispute on 0.5 % + 4 % × (1 − r) of paid
    orders, a week's clearance missing with probability 30 % × (1 − r), and 70 % + 30 % × r of the takings
    collected through the FX channel. Disputes persist from quarter to quarter with the shop, and the other
    components carry a signal of them, as the credit index assumes."""
    s = p.seed
    unreliable = 1 - shop_reliability(s)
    xb = orders_df.where((F.col("seller_type") == "cross_border") & F.col("shipped_at").isNotNull())
    goods = money(F.col("subtotal") - F.col("discount_total"))
    week = F.floor((F.col("shipped_at") - p.t0) / (7 * 86400)).cast("long")
    customs = xb.groupBy("shop_id", "platform_id", "currency", "country", week.alias("w")).agg(
        money(F.sum(goods)).alias("amount"), F.count(F.lit(1)).alias("n")).select(
        "shop_id", "platform_id", "currency", "amount", F.lit("customs_clearance").alias("record_type"),
        F.col("country").alias("destination_country"), (F.lit(p.t0) + (F.col("w") + 1) * 7 * 86400 + 36000).alias("_at"),
        F.lit("cleared").alias("status"),
        F.to_json(F.struct(F.col("n").cast("string").alias("parcels"), F.col("w").cast("string").alias("week")))
        .alias("details"), F.concat_ws("|", F.lit("cc"), "shop_id", "country", F.col("w").cast("string")).alias("_k"),
        F.lit(None).cast("string").alias("_oid")).where(
        uniform(s, "customs_missed", "shop_id", "destination_country", "details") >= 0.3 * unreliable)
    paid = orders_df.where((F.col("seller_type") == "cross_border") & F.col("paid_at").isNotNull())
    month = F.date_format(F.timestamp_seconds("paid_at"), "yyyy-MM")
    fx = paid.groupBy("shop_id", "platform_id", "currency", month.alias("m")).agg(
        money(F.sum("payable") * (0.7 + 0.3 * (1 - unreliable))).alias("amount"), F.count(F.lit(1)).alias("n")).select(
        "shop_id", "platform_id", "currency", "amount", F.lit("fx_collection").alias("record_type"),
        F.lit(None).cast("string").alias("destination_country"),
        (F.unix_seconds(F.to_timestamp(F.add_months(F.to_date(F.concat("m", F.lit("-01"))), 1))) + 4 * 86400)
        .alias("_at"), F.lit("settled").alias("status"),
        F.to_json(F.struct(F.col("m").alias("period"), F.lit("CNY").alias("payout_currency"),
                           F.col("n").cast("string").alias("orders"))).alias("details"),
        F.concat_ws("|", F.lit("fx"), "shop_id", "m").alias("_k"), F.lit(None).cast("string").alias("_oid"))
    quarter = F.concat(F.year(F.timestamp_seconds("shipped_at")).cast("string"), F.lit("Q"),
                       F.quarter(F.timestamp_seconds("shipped_at")).cast("string"))
    to_cny = lit_map({c: C.BASE_RATE["CNY"] / r for c, r in C.BASE_RATE.items()})[F.col("currency")]
    q_end = F.add_months(F.make_date(F.substring("q", 1, 4).cast("int"),
                                     (F.substring("q", 6, 1).cast("int") - 1) * 3 + 1, F.lit(1)), 3)
    tax = xb.groupBy("shop_id", "platform_id", "currency", quarter.alias("q")).agg(
        F.sum(goods.cast("double") * to_cny * 0.09).alias("amt")).select(
        "shop_id", "platform_id", F.lit("CNY").alias("currency"), money(F.round("amt", 2)).alias("amount"),
        F.lit("export_tax_refund").alias("record_type"), F.lit(None).cast("string").alias("destination_country"),
        (F.unix_seconds(F.to_timestamp(q_end)) + 20 * 86400).alias("_at"), F.lit("approved").alias("status"),
        F.to_json(F.struct(F.col("q").alias("period"), F.lit("0.09").alias("rate"))).alias("details"),
        F.concat_ws("|", F.lit("tax"), "shop_id", "q").alias("_k"), F.lit(None).cast("string").alias("_oid"))
    disp = paid.where(uniform(s, "dispute", "order_id") < 0.005 + 0.04 * unreliable).select(
        "shop_id", "platform_id", "currency", F.col("payable").alias("amount"), F.lit("dispute").alias("record_type"),
        F.col("country").alias("destination_country"),
        (F.col("paid_at") + randint(5 * 86400, 30 * 86400, uniform(s, "dispute_at", "order_id"))).alias("_at"),
        pick(["opened", "resolved_seller", "resolved_buyer"], uniform(s, "dispute_st", "order_id")).alias("status"),
        F.to_json(F.struct(F.col("order_id"), pick(["item_not_received", "not_as_described", "unauthorized"],
                                                   uniform(s, "dispute_reason", "order_id")).alias("reason")))
        .alias("details"), F.concat_ws("|", F.lit("dp"), "order_id").alias("_k"), F.col("order_id").alias("_oid"))
    r = customs.unionByName(fx).unionByName(tax).unionByName(disp).where(F.col("_at") < p.end)
    rid = F.concat(F.lit("SR"), F.substring(F.sha2(F.col("_k"), 256), 1, 16))
    return r.select(
        rid.alias("record_id"), "shop_id", "platform_id", "record_type", fmt_ts(F.col("_at")).alias("record_at"),
        F.col("amount").cast("string").alias("amount"), "currency", "status", "destination_country", "details",
        *_meta(F.col("_at"), rid, F.col("_oid")),
    )


def inventory_records(skus_df: DataFrame, *, p: WorldParams) -> DataFrame:
    """Weekly stock snapshot (every 7th day from start) per launched SKU in the 1-2 warehouses that stock it.
    Stock builds up in the weeks before November and June sales."""
    s = p.seed
    whs = [w[0] for w in C.WAREHOUSES]
    k = skus_df.select("sku_id", "launch_day",
                       F.array_distinct(F.array(pick(whs, uniform(s, "inv_wh1", "sku_id")),
                                                F.when(uniform(s, "inv_two", "sku_id") < 0.5,
                                                       pick(whs, uniform(s, "inv_wh2", "sku_id")))
                                                .otherwise(pick(whs, uniform(s, "inv_wh1", "sku_id"))))).alias("whs"))
    k = k.withColumn("warehouse_id", F.explode("whs"))
    k = k.withColumn("snap", F.explode(F.sequence(F.lit(0), F.lit((p.days - 1) // 7))))
    k = k.withColumn("day", F.col("snap") * 7).where(F.col("day") >= F.col("launch_day"))
    key = F.concat_ws("|", "sku_id", "warehouse_id", F.col("snap").cast("string"))
    date = day_date(p, F.col("day"))
    build_up = F.when(F.month(date).isin(5, 10, 11), F.lit(1.6)).otherwise(F.lit(1.0))
    base = randint(20, 400, uniform(s, "inv_base", "sku_id", "warehouse_id"))
    on_hand = F.floor(base * build_up * (F.lit(0.5) + uniform(s, "inv_noise", key))).cast("long")
    at = F.lit(p.t0) + F.col("day") * 86400 + 7200
    return k.select(
        F.date_format(date, "yyyy-MM-dd").alias("snapshot_date"), "warehouse_id", "sku_id",
        on_hand.cast("string").alias("on_hand"),
        F.floor(on_hand * uniform(s, "inv_res", key) * 0.15).cast("long").cast("string").alias("reserved"),
        F.when(uniform(s, "inv_in", key) < 0.3, randint(10, 300, uniform(s, "inv_in_n", key))).otherwise(0)
        .cast("string").alias("inbound"),
        *_meta(at, key),
    )


def fx_rate_records(spark: SparkSession, *, p: WorldParams) -> DataFrame:
    """Daily units per USD for every currency: base rate with a yearly wave, a faster cycle and noise."""
    s = p.seed
    d = spark.range(p.days).select(F.col("id").alias("day")).crossJoin(
        spark.createDataFrame([(c, r, i) for i, (c, r) in enumerate(sorted(C.BASE_RATE.items()))],
                              "currency string, base double, ci int"))
    wave = (F.lit(1.0) + 0.03 * F.sin(2 * math.pi * F.col("day") / 365.25 + F.col("ci"))
            + 0.01 * F.sin(2 * math.pi * F.col("day") / 57 + 2 * F.col("ci"))
            + 0.002 * (uniform(s, "fx", "currency", "day") - 0.5))
    rate = F.when(F.col("currency") == "USD", F.lit(1.0)).otherwise(F.col("base") * wave)
    at = F.lit(p.t0) + F.col("day") * 86400 + 22 * 3600
    return d.select(
        F.date_format(day_date(p, F.col("day")), "yyyy-MM-dd").alias("rate_date"), "currency",
        rate.cast("decimal(18,6)").cast("string").alias("per_usd"),
        *_meta(at, F.concat_ws("|", "currency", F.col("day").cast("string"))),
    )
