"""Catalog and calendar of the synthetic world: platforms, brands, SKUs, shops, listings, warehouses,
sale events, promotions and the seasonal day sampler. Pure builders; frames are small dimensions."""

from __future__ import annotations

import datetime as dt
import math

from brandlake.synthetic import constants as C
from brandlake.synthetic.params import DAY_BINS, WorldParams
from brandlake.synthetic.rand import (
    fmt_ts,
    lit_map,
    local_to_epoch,
    money,
    pick,
    randint,
    uniform,
    wpick,
)
from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

_PLATFORM_SCHEMA = T.StructType([
    T.StructField(n, T.StringType(), False)
    for n in ("platform_id", "name", "market", "country", "currency", "timezone", "language", "prefix")
])


def day_date(p: WorldParams, day: F.Column) -> F.Column:
    """The local calendar date of day index ``day`` (0 = start_date)."""
    return F.date_add(F.lit(p.start_date), day.cast("int"))


def platforms(spark: SparkSession) -> DataFrame:
    """One row per platform, with its index ``p_idx``."""
    rows = [(*row,) for row in C.PLATFORMS]
    df = spark.createDataFrame(rows, _PLATFORM_SCHEMA)
    idx = lit_map({pid: i for i, pid in enumerate(C.PLATFORM_IDS)})
    return df.withColumn("p_idx", idx[F.col("platform_id")].cast("int"))


def brands(spark: SparkSession, *, p: WorldParams) -> DataFrame:
    """One row per brand (internal attributes included): brand_id, name, home_country, category_focus, premium."""
    s = p.seed
    b = spark.range(p.n_brands).withColumnRenamed("id", "b_idx")
    k = F.col("b_idx")
    name = F.concat(
        pick(C.BRAND_SYLLABLES, uniform(s, "brand_n1", k)),
        F.lower(pick(C.BRAND_SYLLABLES, uniform(s, "brand_n2", k))),
        pick(C.BRAND_SYLLABLES, uniform(s, "brand_n3", k)).substr(1, 1).cast("string"),
        F.lower(pick(C.BRAND_SYLLABLES, uniform(s, "brand_n4", k))),
        pick(C.BRAND_SUFFIXES, uniform(s, "brand_suffix", k)),
    )
    return b.select(
        "b_idx",
        F.concat(F.lit("BR"), F.lpad((k + 1).cast("string"), 5, "0")).alias("brand_id"),
        name.alias("name"),
        F.when(k == 0, F.lit("CN")).otherwise(wpick(C.BRAND_HOME, uniform(s, "brand_home", k))).alias("home_country"),
        F.element_at(F.array(*[F.lit(c) for c in C.CATEGORIES]), (k % len(C.CATEGORIES) + 1).cast("int"))
        .alias("category_focus"),
        (F.lit(0.6) + uniform(s, "brand_premium", k) * 1.8).alias("premium"),
        F.when(uniform(s, "brand_update", k) < 0.15, randint(10, max(p.days - 1, 10), uniform(s, "brand_upd_day", k)))
        .alias("update_day"),
    )


def brand_records(brands_df: DataFrame, *, p: WorldParams) -> DataFrame:
    """Brand versions as landing records (the catalog at start, renamed brands later)."""
    base = brands_df.select("brand_id", "name", "home_country", "category_focus",
                            F.lit(p.t0).alias("_at"), F.lit(0).alias("_v"))
    upd = brands_df.where(F.col("update_day") < p.days).select(
        "brand_id", F.upper("name").alias("name"), "home_country", "category_focus",
        (F.lit(p.t0) + F.col("update_day") * 86400 + 36000).alias("_at"), F.lit(1).alias("_v"))
    return base.unionByName(upd).select(
        "brand_id", "name", "home_country", "category_focus", fmt_ts(F.col("_at")).alias("updated_at"),
        F.col("_at").alias("_arrival"), F.concat_ws("|", "brand_id", "_v").alias("_rid"))


def _charm(x: F.Column, currency: F.Column) -> F.Column:
    step = lit_map(C.PRICE_STEP)[currency].cast("decimal(18,2)")
    minus = lit_map(C.PRICE_MINUS)[currency].cast("decimal(18,2)")
    return money(F.ceil(x / step.cast("double")).cast("decimal(18,2)") * step - minus)


def skus(spark: SparkSession, brands_df: DataFrame, *, p: WorldParams) -> DataFrame:
    """One row per SKU (size x colour of a product), with launch day and an optional price update."""
    s = p.seed
    prod = spark.range(p.n_products).withColumnRenamed("id", "pr_idx")
    k = F.col("pr_idx")
    prod = prod.withColumn("b_idx", k % p.n_brands).join(
        F.broadcast(brands_df.select("b_idx", "brand_id", "category_focus", "premium")), "b_idx")
    cat = F.when(uniform(s, "prod_focus", k) < 0.6, F.col("category_focus")).otherwise(
        pick(C.CATEGORIES, uniform(s, "prod_cat", k)))
    prod = prod.withColumn("category", cat)
    subcat = F.coalesce(*[
        F.when(F.col("category") == c, pick(subs, uniform(s, "prod_sub", k))) for c, subs in C.SUBCATEGORIES.items()
    ])
    usd = (F.lit(1.0) * lit_map(C.CATEGORY_PRICE_USD)[F.col("category")] * F.col("premium")
           * F.exp((uniform(s, "prod_price", k) - 0.5) * 1.2))
    launch = F.when(uniform(s, "prod_new", k) < 0.65, -randint(30, 700, uniform(s, "prod_old_day", k))).otherwise(
        randint(0, p.days - 1, uniform(s, "prod_launch_day", k)))
    prod = prod.select(
        "pr_idx", "brand_id", "category", subcat.alias("subcategory"),
        F.concat(F.lit("PR"), F.lpad((k + 1).cast("string"), 7, "0")).alias("product_id"),
        usd.alias("usd"), launch.alias("launch_day"),
    )
    upd = F.greatest(F.col("launch_day"), F.lit(0)) + randint(20, max(p.days, 20), uniform(s, "prod_upd_day", k))
    prod = prod.withColumn(
        "price_update_day", F.when((uniform(s, "prod_upd", k) < 0.12) & (upd < p.days), upd).cast("long"))
    sizes = F.coalesce(*[
        F.when(F.col("category") == c, F.array(*[F.lit(z) for z in sz])) for c, sz in C.SIZES.items()])
    prod = prod.withColumn("all_sizes", sizes)
    # shoes carry 5 consecutive sizes, apparel/sports all of theirs
    prod = prod.withColumn(
        "sizes",
        F.when(F.col("category") == "shoes",
               F.slice("all_sizes", (randint(0, 4, uniform(s, "prod_size_off", k)) + 1).cast("int"), 5))
        .otherwise(F.col("all_sizes")),
    )
    n_col = 1 + (uniform(s, "prod_ncol1", k) < 0.5).cast("int") + (uniform(s, "prod_ncol2", k) < 0.2).cast("int")
    col_off = randint(0, len(C.COLORS) - 1, uniform(s, "prod_color", k))
    out = (
        prod.withColumn("ci", F.explode(F.sequence(F.lit(0), n_col - 1)))
        .withColumn("size", F.explode("sizes"))
        .withColumn("color", F.element_at(F.array(*[F.lit(c) for c in C.COLORS]),
                                          ((col_off + F.col("ci")) % len(C.COLORS) + 1).cast("int")))
    )
    list_usd = _charm(F.col("usd"), F.lit("USD"))
    return out.select(
        "product_id",
        F.concat_ws("-", "product_id", F.upper(F.substring("color", 1, 3)), "size").alias("sku_id"),
        "brand_id", "category", "subcategory", "size", "color", "usd",
        list_usd.alias("list_price_usd"), "launch_day", "price_update_day",
        F.col("size").isin(C.EXTREME_SIZES).alias("is_extreme_size"),
    )


def product_records(skus_df: DataFrame, *, p: WorldParams) -> DataFrame:
    """SKU versions as landing records: initial catalog at start, launches on their day, price updates later."""
    first_at = F.lit(p.t0) + F.greatest(F.col("launch_day"), F.lit(0)) * 86400 + 3600
    v1 = skus_df.select("*", F.col("list_price_usd").alias("_price"), first_at.alias("_at"), F.lit(0).alias("_v"))
    v2 = skus_df.where(F.col("price_update_day").isNotNull()).select(
        "*", _charm(F.col("usd") * 1.08, F.lit("USD")).alias("_price"),
        (F.lit(p.t0) + F.col("price_update_day") * 86400 + 3600).alias("_at"), F.lit(1).alias("_v"))
    return v1.unionByName(v2).select(
        "product_id", "sku_id", "brand_id", "category", "subcategory", "size", "color",
        F.col("_price").cast("string").alias("list_price"), F.lit("USD").alias("currency"),
        F.date_format(day_date(p, F.col("launch_day")), "yyyy-MM-dd").alias("launch_date"),
        fmt_ts(F.col("_at")).alias("updated_at"),
        F.col("_at").alias("_arrival"), F.concat_ws("|", "sku_id", "_v").alias("_rid"),
    )


def shops(brands_df: DataFrame, platforms_df: DataFrame, *, p: WorldParams) -> DataFrame:
    """One row per shop: a brand's official/cross-border store or a reseller on one platform."""
    s = p.seed
    bp = brands_df.crossJoin(F.broadcast(platforms_df.select("platform_id", "p_idx", "market", "country", "prefix")))
    key = F.concat_ws("|", "brand_id", "platform_id")
    present = ((F.col("b_idx") % len(C.PLATFORMS)) == F.col("p_idx")) | (F.col("b_idx") == 0) | (
        uniform(s, "shop_present", key) < 0.45)
    bp = bp.where(present)
    own_type = F.when(F.col("market") == "domestic", F.lit("official")).when(
        F.col("home_country") == "CN", F.lit("cross_border")).otherwise(F.lit("official"))
    own = bp.select("*", own_type.alias("seller_type"), F.lit("").alias("_suffix"))
    resell = bp.where((F.col("b_idx") == 1) | (uniform(s, "shop_reseller", key) < 0.25)).select(
        "*", F.lit("reseller").alias("seller_type"), F.lit("R").alias("_suffix"))
    shop_name = (
        F.when((F.col("seller_type") != "reseller") & (F.col("market") == "domestic"),
               F.concat(F.col("name"), F.lit("官方旗舰店")))
        .when(F.col("seller_type") != "reseller", F.concat(F.col("name"), F.lit(" Official Store")))
        .otherwise(F.concat(F.col("name"), F.lit(" Outlet by "),
                            pick(["Sunny Trade", "Global Deals", "BestBuy Mall", "Yoyo Shop"],
                                 uniform(s, "shop_reseller_name", key))))
    )
    return (own.unionByName(resell).select(
        F.concat(F.lit("SH-"), F.col("prefix"), F.lit("-"), F.substring("brand_id", 3, 5), F.col("_suffix"))
        .alias("shop_id"),
        "platform_id", "brand_id", shop_name.alias("shop_name"), "seller_type",
        F.when(F.col("seller_type") == "cross_border", F.lit("CN")).otherwise(F.col("country")).alias("country"),
        F.when(uniform(s, "shop_update", key, "seller_type") < 0.1,
               randint(15, max(p.days - 1, 15), uniform(s, "shop_upd_day", key, "seller_type")))
        .alias("update_day"),
    ))


def shop_records(shops_df: DataFrame, *, p: WorldParams) -> DataFrame:
    cols = ["shop_id", "platform_id", "brand_id", "shop_name", "seller_type", "country"]
    v1 = shops_df.select(*cols, F.lit(p.t0).alias("_at"), F.lit(0).alias("_v"))
    v2 = shops_df.where(F.col("update_day") < p.days).select(
        *[F.concat(F.col(c), F.lit(" (renamed)")).alias(c) if c == "shop_name" else c for c in cols],
        (F.lit(p.t0) + F.col("update_day") * 86400 + 7200).alias("_at"), F.lit(1).alias("_v"))
    return v1.unionByName(v2).select(*cols, fmt_ts(F.col("_at")).alias("updated_at"),
                                     F.col("_at").alias("_arrival"), F.concat_ws("|", "shop_id", "_v").alias("_rid"))


def listings(skus_df: DataFrame, shops_df: DataFrame, platforms_df: DataFrame, *, p: WorldParams) -> DataFrame:
    """One row per SKU offered in a shop, with its local prices and pick indexes.

    ``cat_idx``/``cat_n`` index the listing within (platform, category) and ``shop_idx``/``shop_n`` within
    its shop, in a hash order: orders pick listings by index with a popularity skew.
    """
    s = p.seed
    df = (
        skus_df.join(shops_df.select("shop_id", "platform_id", "brand_id", "seller_type"), "brand_id")
        .join(F.broadcast(platforms_df.select("platform_id", "currency", "market", "timezone", "country")),
              "platform_id")
    )
    factor = lit_map(C.PRICE_FACTOR)[F.col("platform_id")] * F.when(
        F.col("seller_type") == "reseller", F.lit(0.93)).otherwise(F.lit(1.0))
    rate = lit_map(C.BASE_RATE)[F.col("currency")]
    df = df.withColumn("price_v1", _charm(F.col("usd") * rate * factor, F.col("currency"))).withColumn(
        "price_v2", _charm(F.col("usd") * 1.08 * rate * factor, F.col("currency")))
    order = uniform(s, "listing_order", "sku_id", "shop_id")
    w_cat = Window.partitionBy("platform_id", "category").orderBy(order, "sku_id", "shop_id")
    w_shop = Window.partitionBy("shop_id").orderBy(order, "sku_id")
    return (
        df.withColumn("cat_idx", F.row_number().over(w_cat) - 1)
        .withColumn("cat_n", F.count(F.lit(1)).over(Window.partitionBy("platform_id", "category")))
        .withColumn("shop_idx", F.row_number().over(w_shop) - 1)
        .withColumn("shop_n", F.count(F.lit(1)).over(Window.partitionBy("shop_id")))
    )


def warehouses(spark: SparkSession) -> DataFrame:
    schema = "warehouse_id string, name string, country string, province string, city string, capacity_units long"
    return spark.createDataFrame(C.WAREHOUSES, schema)


def warehouse_records(wh: DataFrame, *, p: WorldParams) -> DataFrame:
    cols = ["warehouse_id", "name", "country", "province", "city"]
    v1 = wh.select(*cols, "capacity_units", F.lit(p.t0).alias("_at"), F.lit(0).alias("_v"))
    upd_day = p.days // 2
    v2 = wh.where(F.col("warehouse_id") == "WH-CN-SH").select(
        *cols, (F.col("capacity_units") + 100000).alias("capacity_units"),
        F.lit(p.t0 + upd_day * 86400 + 3600).alias("_at"), F.lit(1).alias("_v"))
    return v1.unionByName(v2).select(
        *cols, F.col("capacity_units").cast("string").alias("capacity_units"),
        fmt_ts(F.col("_at")).alias("updated_at"), F.col("_at").alias("_arrival"),
        F.concat_ws("|", "warehouse_id", "_v").alias("_rid"))


# ---------------------------------------------------------------------------------------------------
# Sale calendar, promotions and the seasonal day sampler


def _black_friday(year: int) -> dt.date:
    nov1 = dt.date(year, 11, 1)
    first_thu = nov1 + dt.timedelta(days=(3 - nov1.weekday()) % 7)
    return first_thu + dt.timedelta(days=22)


def calendar(spark: SparkSession, *, p: WorldParams) -> DataFrame:
    """One row per sale-event occurrence per platform: day indexes of presale, start and end, and boost.

    Built from the fixed event list for each year the world spans (a few dozen rows)."""
    rows = []
    for year in range(p.start_date.year - 1, (p.start_date + dt.timedelta(days=p.days)).year + 2):
        for key, name, plats, md, n_days, presale, boost in C.SALE_EVENTS:
            start = _black_friday(year) if md is None else dt.date(year, *md)
            s_idx = (start - p.start_date).days
            e_idx = s_idx + n_days - 1
            lead = max(presale, C.RAMP_DAYS)
            if e_idx < -60 or s_idx - lead >= p.days:
                continue
            for pid in plats:
                rows.append((pid, key, f"{name} {year}", year, s_idx, e_idx, presale, float(boost)))
    schema = ("platform_id string, event_key string, event_name string, year int, start_idx int, end_idx int, "
              "presale_days int, boost double")
    return spark.createDataFrame(rows, schema)


def promotions(cal: DataFrame, platforms_df: DataFrame, *, p: WorldParams) -> DataFrame:
    """One row per promotion (typed, internal): threshold, percentage, coupon, cross_shop and presale."""
    s = p.seed
    types = cal.sparkSession.createDataFrame(
        [(t,) for t in ("threshold", "percentage", "coupon", "cross_shop", "presale")], "promotion_type string")
    df = (cal.join(F.broadcast(platforms_df.select("platform_id", "currency", "timezone", "prefix")), "platform_id")
          .crossJoin(F.broadcast(types))
          .where((F.col("promotion_type") != "presale") | (F.col("presale_days") > 0)))
    cur = F.col("currency")

    def m(kind: str, i: int) -> F.Column:
        return lit_map({c: v[kind][i] for c, v in C.PROMO_MONEY.items()})[cur].cast("decimal(18,2)")

    t = F.col("promotion_type")
    pid = F.concat_ws("-", F.lit("PM"), F.col("prefix"), F.col("event_key"), F.col("year").cast("string"),
                      F.upper(F.substring(t, 1, 3)))
    pct = (randint(2, 6, uniform(s, "promo_pct", pid)) * 5).cast("int")
    thr = F.when(t == "threshold", m("thr", 0)).when(t == "coupon", m("cpn", 0)).when(t == "cross_shop", m("xs", 0))
    amt = F.when(t == "threshold", m("thr", 1)).when(t == "coupon", m("cpn", 1)).when(t == "cross_shop", m("xs", 1))
    desc = (F.when(t == "percentage", F.concat(pct.cast("string"), F.lit("% off selected items")))
            .when(t == "presale", F.concat(F.lit("presale deposit "), m("presale", 0).cast("string"),
                                           F.lit(" worth "), m("presale", 1).cast("string")))
            .otherwise(F.concat(F.lit("spend "), thr.cast("string"), F.lit(" save "), amt.cast("string"))))
    day0 = day_date(p, F.col("start_idx"))
    start_at = local_to_epoch(day0, F.lit(0), F.col("timezone"))
    end_at = local_to_epoch(day_date(p, F.col("end_idx")), F.lit(86399), F.col("timezone"))
    pre_start = local_to_epoch(day_date(p, F.col("start_idx") - F.col("presale_days")), F.lit(0), F.col("timezone"))
    is_pre = t == "presale"
    return df.select(
        pid.alias("promotion_id"), "platform_id", "promotion_type", "event_key", "event_name", "currency",
        F.concat_ws(" ", F.col("event_name"), desc).alias("name"),
        thr.alias("threshold_amount"), amt.alias("discount_amount"),
        F.when(t == "percentage", pct).alias("discount_pct"),
        F.when(is_pre, m("presale", 0)).alias("deposit_amount"),
        F.when(is_pre, m("presale", 1)).alias("deposit_value"),
        F.when(is_pre, pre_start).otherwise(start_at).alias("starts_at"),
        F.when(is_pre, start_at - 1).otherwise(end_at).alias("ends_at"),
        F.when(is_pre, start_at).alias("balance_starts_at"),
        F.when(is_pre, start_at + 2 * 86400 - 1).alias("balance_ends_at"),
        F.when(is_pre, F.col("start_idx") - F.col("presale_days")).otherwise(F.col("start_idx")).alias("from_idx"),
        F.when(is_pre, F.col("start_idx") - 1).otherwise(F.col("end_idx")).alias("to_idx"),
        (uniform(s, "promo_update", pid) < 0.2).alias("is_updated"),
    )


def promotion_records(promos: DataFrame, *, p: WorldParams) -> DataFrame:
    """Promotion versions as landing records: announced 14 days ahead, some corrected 2 days ahead."""
    created = F.greatest(F.col("starts_at") - 14 * 86400, F.lit(p.t0))
    v1 = promos.select("*", F.col("name").alias("_name"), created.alias("_at"), F.lit(0).alias("_v"))
    v2 = promos.where("is_updated").select(
        "*", F.concat(F.col("name"), F.lit(" (extended offer)")).alias("_name"),
        F.greatest(F.col("starts_at") - 2 * 86400, created + 60).alias("_at"), F.lit(1).alias("_v"))

    def ts(c: str) -> F.Column:
        return F.when(F.col(c).isNotNull(), fmt_ts(F.col(c))).alias(c)

    return v1.unionByName(v2).where(F.col("_at") < p.end).select(
        "promotion_id", "platform_id", "promotion_type", F.col("_name").alias("name"), "event_name",
        *[F.col(c).cast("string").alias(c) for c in ("threshold_amount", "discount_amount", "discount_pct",
                                                      "deposit_amount", "deposit_value")],
        "currency", ts("starts_at"), ts("ends_at"), ts("balance_starts_at"), ts("balance_ends_at"),
        fmt_ts(F.col("_at")).alias("updated_at"), F.col("_at").alias("_arrival"),
        F.concat_ws("|", "promotion_id", "_v").alias("_rid"),
    )


def promo_days(promos: DataFrame) -> DataFrame:
    """One row per (platform, day index) with the promotion of each type active that local day (or null)."""
    d = promos.withColumn("day", F.explode(F.sequence("from_idx", "to_idx")))

    def active(t: str, *cols: str) -> F.Column:
        return F.max(F.when(F.col("promotion_type") == t, F.struct("promotion_id", *cols))).alias(t)

    return d.groupBy("platform_id", "day").agg(
        active("threshold", "threshold_amount", "discount_amount"),
        active("percentage", "discount_pct"),
        active("coupon", "threshold_amount", "discount_amount"),
        active("cross_shop", "threshold_amount", "discount_amount"),
        active("presale", "deposit_amount", "deposit_value", "balance_starts_at", "balance_ends_at"),
    )


def day_weights(spark: SparkSession, cal: DataFrame, platforms_df: DataFrame, *, p: WorldParams) -> DataFrame:
    """One row per (platform, day index): demand weight and its cumulative share ``cdf_lo``/``cdf_hi``.

    weight = weekday factor x yearly wave (winter high, summer low) x growth trend x sale boost, where the
    boost ramps up over the presale (or early-deal) days before a sale and peaks on the sale days.
    """
    days = spark.range(p.days).select(F.col("id").alias("day"))
    grid = days.crossJoin(F.broadcast(platforms_df.select("platform_id")))
    lead = F.greatest(F.col("presale_days"), F.lit(C.RAMP_DAYS))
    ev = grid.join(F.broadcast(cal), "platform_id").where(
        (F.col("day") >= F.col("start_idx") - lead) & (F.col("day") <= F.col("end_idx")))
    ramp = (F.col("day") - (F.col("start_idx") - lead) + 1) / lead
    factor = F.when(F.col("day") >= F.col("start_idx"), F.col("boost")).otherwise(
        1 + (F.col("boost") - 1) * 0.35 * ramp)
    boosts = ev.groupBy("platform_id", "day").agg(F.max(factor).alias("boost"))
    date = day_date(p, F.col("day"))
    dow = (F.dayofweek(date) + 5) % 7  # Monday = 0
    doy = F.dayofyear(date)
    weekday = F.element_at(F.array(*[F.lit(x) for x in C.WEEKDAY_FACTOR]), (dow + 1).cast("int"))
    yearly = 1 + 0.15 * F.cos(2 * math.pi * (doy - 355) / 365.25)
    growth = 1 + 0.25 * F.col("day") / 730.0
    w = grid.join(boosts, ["platform_id", "day"], "left").withColumn(
        "weight", weekday * yearly * growth * F.coalesce(F.col("boost"), F.lit(1.0)))
    win = Window.partitionBy("platform_id").orderBy("day")
    total = Window.partitionBy("platform_id")
    return w.select(
        "platform_id", "day", "weight",
        ((F.sum("weight").over(win) - F.col("weight")) / F.sum("weight").over(total)).alias("cdf_lo"),
        (F.sum("weight").over(win) / F.sum("weight").over(total)).alias("cdf_hi"),
    )


def day_bins(weights: DataFrame) -> DataFrame:
    """(platform, bin) → day: ``floor(u * DAY_BINS)`` of a uniform ``u`` maps to a day drawn by weight."""
    lo = F.ceil(F.col("cdf_lo") * DAY_BINS).cast("long")
    hi = (F.ceil(F.col("cdf_hi") * DAY_BINS) - 1).cast("long")
    return weights.where(hi >= lo).select(
        "platform_id", F.explode(F.sequence(lo, hi)).alias("bin"), "day")
