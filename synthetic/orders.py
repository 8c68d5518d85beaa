"""Orders of the synthetic world: who buys what, when, at which price and discounts, and what happens next
(payment, presale balance, shipping, delivery, returns, refunds, reviews). One row per order / per line."""

from __future__ import annotations

from brandlake.synthetic import constants as C
from brandlake.synthetic.catalog import day_date
from brandlake.synthetic.params import DAY_BINS, ORDERS_PER_ACCOUNT, WorldParams
from brandlake.synthetic.rand import (
    floor_cents,
    lit_map,
    local_to_epoch,
    money,
    pick,
    randint,
    scrambled,
    uniform,
    wpick,
)
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F


def _zero() -> Column:
    return F.lit(0).cast("decimal(18,2)")


def sample_days(accts: DataFrame, weights: DataFrame, bins: DataFrame, *, p: WorldParams, purpose: str,
                per_account: float) -> DataFrame:
    """Explode accounts into dated occurrences (orders, browse sessions) drawn from the seasonal weights.

    An account expects ``per_account x activity x`` (share of demand after it registered) occurrences; each
    day is drawn by inverse CDF restricted to days on or after registration. Adds ``seq``, ``okey``, ``day``,
    ``at`` (epoch seconds, local hour profile)."""
    s = p.seed
    w = weights.select("platform_id", F.col("day").alias("day0"), "cdf_lo")
    a = accts.withColumn("day0", F.greatest(F.col("reg_day"), F.lit(0))).join(F.broadcast(w), ["platform_id", "day0"])
    expected = F.lit(per_account) * F.col("activity") * (1 - F.col("cdf_lo"))
    k = F.least(F.floor(expected + uniform(s, purpose + "_n", "customer_id")), F.lit(300)).cast("int")
    a = a.withColumn("_k", k).where(F.col("_k") > 0).withColumn("seq", F.explode(F.sequence(F.lit(1), F.col("_k"))))
    okey = F.concat_ws("|", F.lit(purpose), "customer_id", F.col("seq").cast("string"))
    a = a.withColumn("okey", okey)
    u = F.col("cdf_lo") + uniform(s, purpose + "_day", "okey") * (1 - F.col("cdf_lo"))
    a = a.withColumn("bin", F.floor(u * DAY_BINS).cast("long")).join(F.broadcast(bins), ["platform_id", "bin"])
    hour = wpick([(h, w_) for h, w_ in enumerate(C.HOUR_WEIGHTS)], uniform(s, purpose + "_hour", "okey"))
    sod = hour * 3600 + randint(0, 3599, uniform(s, purpose + "_sec", "okey"))
    at = local_to_epoch(day_date(p, F.col("day")), sod, F.col("timezone"))
    return (a.withColumn("at", F.greatest(at, F.col("registered_at") + 600))
            .where(F.col("at") < p.end).drop("day0", "_k", "bin", "cdf_lo"))


def order_lines(accts: DataFrame, weights: DataFrame, bins: DataFrame, cat_n: DataFrame, listings_df: DataFrame,
                promo_days_df: DataFrame, *, p: WorldParams) -> DataFrame:
    """One row per order line with its order's header attributes (customer, shop, active promotions)."""
    s = p.seed
    o = sample_days(accts, weights, bins, p=p, purpose="order", per_account=ORDERS_PER_ACCOUNT)
    x = (F.col("person_id") * 8 + F.col("p_idx")) * 512 + F.col("seq")
    o = o.withColumn("order_id", F.concat(
        F.upper(F.substring("customer_id", 1, 2)),
        scrambled(x, modulus=10**12, multiplier=999_983, offset=271_828_182, width=12)))
    oid = F.col("order_id")
    loyal = uniform(s, "o_loyal", oid) < 0.35
    cat = F.when(loyal | (uniform(s, "o_fav", oid) < 0.6), F.col("fav_category")).otherwise(
        pick(C.CATEGORIES, uniform(s, "o_cat", oid)))
    pick_u = F.when(loyal, F.col("loyal_u")).otherwise(uniform(s, "o_pick", oid))
    o = o.withColumn("category", cat).withColumn("_pu", pick_u).join(F.broadcast(cat_n), ["platform_id", "category"])
    o = o.withColumn("cat_idx", F.floor(F.col("cat_n") * F.pow(F.col("_pu"), 1.7)).cast("long"))
    hero = listings_df.select("platform_id", "category", "cat_idx", "shop_id", F.col("shop_idx").alias("hero_idx"),
                              "shop_n", "seller_type", F.col("country").alias("shop_country"))
    o = o.join(hero, ["platform_id", "category", "cat_idx"]).drop("cat_idx", "cat_n", "_pu", "category")
    o = o.join(F.broadcast(promo_days_df), ["platform_id", "day"], "left")
    n_lines = (1 + (uniform(s, "o_n1", oid) < 0.35).cast("int") + (uniform(s, "o_n2", oid) < 0.12).cast("int")
               + (uniform(s, "o_n3", oid) < 0.05).cast("int"))
    ln = o.withColumn("line_no", F.explode(F.sequence(F.lit(1), n_lines)))
    lkey = F.concat_ws("-", oid, F.col("line_no").cast("string"))
    ln = ln.withColumn("shop_idx", F.when(F.col("line_no") == 1, F.col("hero_idx")).otherwise(
        F.floor(F.col("shop_n") * F.pow(uniform(s, "l_pick", lkey), 1.3)).cast("long")))
    item = listings_df.select("shop_id", "shop_idx", "product_id", "sku_id", "category", "size", "is_extreme_size",
                              "price_v1", "price_v2", "launch_day", "price_update_day")
    ln = ln.join(item, ["shop_id", "shop_idx"]).where(F.col("launch_day") <= F.col("day"))
    ln = ln.withColumn("line_id", F.concat(oid, F.lit("-"), F.lpad(F.col("line_no").cast("string"), 2, "0")))
    lid = F.col("line_id")
    qty = (1 + (uniform(s, "l_q1", lid) < 0.15).cast("int") + (uniform(s, "l_q2", lid) < 0.04).cast("int")
           + ((F.col("category") == "beauty") & (uniform(s, "l_q3", lid) < 0.2)).cast("int"))
    unit = F.when(F.col("price_update_day") <= F.col("day"), F.col("price_v2")).otherwise(F.col("price_v1"))
    ln = ln.withColumn("quantity", qty).withColumn("unit_price", unit)
    pct = F.col("percentage.discount_pct")
    eligible = pct.isNotNull() & (uniform(s, "l_pct", lid) < 0.5)
    gross = money(F.col("unit_price") * F.col("quantity"))
    item_disc = F.when(eligible, money(F.round(gross * pct / 100, 2))).otherwise(_zero())
    return (ln.withColumn("gross_amount", gross).withColumn("item_discount", item_disc)
            .withColumn("line_amount", money(F.col("gross_amount") - F.col("item_discount")))
            .drop("shop_idx", "hero_idx", "shop_n", "price_v1", "price_v2", "launch_day", "price_update_day"))


_HEADER = [
    "order_id", "platform_id", "customer_id", "person_id", "shop_id", "seller_type", "shop_country", "currency",
    "timezone", "market", "language", "country", "province", "city", "province2", "city2", "address", "address2",
    "phone", "move_day", "age_band", "return_propensity", "day", "at", "threshold", "coupon", "cross_shop",
    "presale", "percentage",
]


def orders(lines: DataFrame, *, p: WorldParams, grace_days: int) -> DataFrame:
    """One row per order: payload (lines, discounts, shipping, presale terms) and its whole timeline."""
    s = p.seed
    line_struct = F.struct(
        "line_id", "product_id", "sku_id", F.col("quantity").cast("string").alias("quantity"),
        F.col("unit_price").cast("string").alias("unit_price"),
        F.col("item_discount").cast("string").alias("item_discount"))
    o = lines.groupBy("order_id").agg(
        F.first(F.struct(*_HEADER)).alias("h"),
        money(F.sum("line_amount")).alias("subtotal"),
        money(F.sum("item_discount")).alias("item_discount_total"),
        F.array_sort(F.collect_list(line_struct)).alias("lines"),
        F.array_sort(F.collect_list("line_id")).alias("line_ids"),
        F.min(F.struct("line_id", "line_amount")).alias("first_line"),
        F.max(F.col("category").isin("apparel", "shoes").cast("int")).alias("has_fashion"),
    ).select("h.*", "subtotal", "item_discount_total", "lines", "line_ids", "first_line", "has_fashion")
    oid, sub = F.col("order_id"), F.col("subtotal")
    thr = F.col("threshold")
    thr_amt = F.when(thr.isNotNull() & (sub >= thr["threshold_amount"]), money(
        F.least(F.floor(sub / thr["threshold_amount"]), F.lit(3)) * thr["discount_amount"]))
    cpn = F.col("coupon")
    cpn_amt = F.when(cpn.isNotNull() & (uniform(s, "o_coupon", oid) < 0.5)
                     & (F.col("first_line.line_amount") >= cpn["threshold_amount"]), cpn["discount_amount"])
    xs = F.col("cross_shop")
    xs_amt = F.when(xs.isNotNull() & (sub >= xs["threshold_amount"]), money(
        F.least(F.floor(sub / xs["threshold_amount"]), F.lit(2)) * xs["discount_amount"]))
    o = o.withColumn("thr_amt", thr_amt).withColumn("cpn_amt", cpn_amt).withColumn("xs_amt", xs_amt)

    def disc(kind: str, promo: Column, amt: str, line_ids: Column) -> Column:
        return F.when(F.col(amt).isNotNull(), F.struct(
            promo["promotion_id"].alias("promotion_id"), F.lit(kind).alias("discount_type"),
            F.col(amt).cast("string").alias("amount"), line_ids.alias("line_ids")))

    discounts = F.filter(F.array(
        disc("threshold", thr, "thr_amt", F.col("line_ids")),
        disc("coupon", cpn, "cpn_amt", F.array(F.col("first_line.line_id"))),
        disc("cross_shop", xs, "xs_amt", F.col("line_ids")),
    ), lambda d: d.isNotNull())
    disc_total = money(F.coalesce("thr_amt", _zero()) + F.coalesce("cpn_amt", _zero()) + F.coalesce("xs_amt", _zero()))
    o = o.withColumn("order_discounts", discounts).withColumn("discount_total", disc_total)
    net = sub - F.col("discount_total")
    fee = F.when(net >= lit_map(C.FREE_SHIPPING_FROM)[F.col("currency")].cast("decimal(18,2)"), _zero()).otherwise(
        lit_map(C.SHIPPING_FEE)[F.col("currency")].cast("decimal(18,2)"))
    o = o.withColumn("shipping_fee", fee).withColumn("payable", money(net + F.col("shipping_fee")))
    pre = F.col("presale")
    is_pre = pre.isNotNull() & (uniform(s, "o_presale", oid) < 0.7) & (
        F.col("payable") >= pre["deposit_value"] * 2)
    o = o.withColumn("is_presale", F.coalesce(is_pre, F.lit(False)))
    o = o.withColumn("deposit_amount", F.when(F.col("is_presale"), pre["deposit_amount"]))
    o = o.withColumn("deposit_value", F.when(F.col("is_presale"), pre["deposit_value"]))
    o = o.withColumn("balance_due_at", F.when(F.col("is_presale"), pre["balance_ends_at"]))
    o = o.withColumn("inflation", F.coalesce(F.col("deposit_value") - F.col("deposit_amount"), _zero()))
    # ---- timeline (epoch seconds) ----
    t0 = F.col("at")
    unpaid = ~F.col("is_presale") & (uniform(s, "o_unpaid", oid) < 0.03)
    bal_paid = uniform(s, "o_balance", oid) < 0.72
    o = o.withColumn("unpaid", unpaid).withColumn("balance_paid", F.when(F.col("is_presale"), bal_paid))
    o = o.withColumn("deposit_at", F.when(F.col("is_presale"), t0 + randint(20, 300, uniform(s, "o_dep", oid))))
    paid_at = (F.when(F.col("is_presale") & F.col("balance_paid"),
                      pre["balance_starts_at"] + randint(600, 144000, uniform(s, "o_bal_at", oid)))
               .when(~F.col("is_presale") & ~F.col("unpaid"), t0 + randint(30, 900, uniform(s, "o_pay_at", oid))))
    o = o.withColumn("paid_at", paid_at)
    cancelled = (F.when(F.col("unpaid"), t0 + 1800)
                 .when(F.col("is_presale") & ~F.col("balance_paid"),
                       F.col("balance_due_at") + grace_days * 86400 + 3600))
    o = o.withColumn("cancelled_at", cancelled)
    cross = (F.col("seller_type") == "cross_border") | (F.col("shop_country") != F.col("country"))
    o = o.withColumn("is_cross_border", cross)
    handling = randint(4 * 3600, 60 * 3600, uniform(s, "o_handling", oid)) + F.when(cross, 86400).otherwise(0)
    o = o.withColumn("shipped_at", F.col("paid_at") + handling)
    transit = (F.when(cross, F.lit(6.0) + uniform(s, "o_transit", oid) * 9)
               .when(F.col("country") == "CN", F.lit(1.0) + uniform(s, "o_transit", oid) * 2)
               .otherwise(F.lit(2.0) + uniform(s, "o_transit", oid) * 3))
    promised = F.when(cross, 15).when(F.col("country") == "CN", 3).otherwise(5)
    exception = uniform(s, "o_exception", oid) < 0.04
    extra = F.when(exception, randint(2, 5, uniform(s, "o_exc_days", oid))).otherwise(0)
    o = o.withColumn("has_exception", exception)
    o = o.withColumn("transit_days", transit + extra)
    o = o.withColumn("delay_days", F.greatest(F.col("transit_days") - promised, F.lit(0.0)))
    o = o.withColumn("delivered_at", F.col("shipped_at") + (F.col("transit_days") * 86400).cast("long"))
    o = o.withColumn("completed_at", F.col("delivered_at") + 7 * 86400)
    carrier = F.when(cross, pick(C.CROSS_BORDER_CARRIERS, uniform(s, "o_carrier", oid))).otherwise(F.coalesce(*[
        F.when(F.col("country") == c, pick(v, uniform(s, "o_carrier", oid))) for c, v in C.CARRIERS.items()]))
    o = o.withColumn("carrier", carrier)
    wh = F.coalesce(*[F.when(F.col("shop_country") == c, pick(ids, uniform(s, "o_wh", oid))) for c, ids in {
        "CN": ["WH-CN-SH", "WH-CN-GZ", "WH-CN-BJ"], "US": ["WH-US-NJ"], "DE": ["WH-DE-LE"], "GB": ["WH-GB-MK"],
        "JP": ["WH-JP-CB"]}.items()], F.lit("WH-CN-SH"))
    o = o.withColumn("warehouse_id", wh)
    moved = F.col("move_day").isNotNull() & (F.col("day") >= F.col("move_day"))
    o = (o.withColumn("ship_province", F.when(moved, F.col("province2")).otherwise(F.col("province")))
         .withColumn("ship_city", F.when(moved, F.col("city2")).otherwise(F.col("city")))
         .withColumn("ship_address", F.when(moved, F.col("address2")).otherwise(F.col("address"))))
    o = o.withColumn("device", F.when(F.col("age_band") == "young", wpick(C.DEVICES["young"], uniform(s, "o_dev", oid)))
                     .otherwise(wpick(C.DEVICES["mid"], uniform(s, "o_dev", oid))))
    return o.drop("province2", "city2", "address2", "province", "city", "address", "move_day")


def line_outcomes(lines: DataFrame, orders_df: DataFrame, *, p: WorldParams) -> DataFrame:
    """One row per order line with its true return probability and what happened to it after delivery.

    Return probability = (category base + extreme size + discount depth + delivery delay) x the person's
    return propensity, capped at 0.85; returns, refunds and reviews are drawn from it."""
    s = p.seed
    o = orders_df.select("order_id", "subtotal", "discount_total", "inflation", "is_presale", "delivered_at",
                         "delay_days", "paid_at", "cancelled_at", "language")
    ln = lines.select("order_id", "line_id", "line_no", "platform_id", "person_id", "customer_id", "shop_id",
                      "product_id", "sku_id", "category", "size", "is_extreme_size", "quantity", "unit_price",
                      "gross_amount", "item_discount", "line_amount", "currency", "return_propensity").join(o, "order_id")
    lid = F.col("line_id")
    depth = (F.col("item_discount") / F.col("gross_amount")).cast("double") + (
        F.col("discount_total") / F.col("subtotal")).cast("double")
    prob = F.least(
        (lit_map(C.CATEGORY_RETURN)[F.col("category")] + F.col("is_extreme_size").cast("int") * 0.06
         + depth * 0.25 + F.least(F.col("delay_days") * 0.03, F.lit(0.15))) * F.col("return_propensity"),
        F.lit(0.85))
    ln = ln.withColumn("discount_depth", depth).withColumn("return_probability", prob)
    delivered = F.col("delivered_at").isNotNull() & (F.col("delivered_at") < p.end)
    ln = ln.withColumn("is_delivered", F.coalesce(delivered, F.lit(False)))
    ln = ln.withColumn("is_returned", F.col("is_delivered") & (uniform(s, "l_return", lid) < F.col("return_probability")))
    ln = ln.withColumn("requested_at", F.when(F.col("is_returned"), F.col("delivered_at") + randint(
        86400, 10 * 86400, uniform(s, "l_req", lid))))
    ln = ln.withColumn("is_approved", uniform(s, "l_approve", lid) < 0.9)
    ln = ln.withColumn("decided_at", F.col("requested_at") + randint(86400, 2 * 86400, uniform(s, "l_dec", lid)))
    ln = ln.withColumn("refunded_at", F.when(F.col("is_approved"), F.col("decided_at") + randint(
        2 * 86400, 5 * 86400, uniform(s, "l_ref", lid))))
    ln = ln.withColumn("return_qty", F.when((F.col("quantity") > 1) & (uniform(s, "l_rqty", lid) < 0.4), 1)
                       .otherwise(F.col("quantity")))
    fashion = F.col("category").isin("apparel", "shoes", "sports")
    reason = (
        F.when((F.col("delay_days") > 1) & (uniform(s, "l_reason_late", lid) < 0.5), F.lit("late_delivery"))
        .when(fashion & F.col("size").isin("XS", "36"), F.lit("size_too_small"))
        .when(fashion & F.col("size").isin("XL", "44"), F.lit("size_too_large"))
        .when(fashion, pick(["size_too_small", "size_too_large", "not_as_described", "changed_mind"],
                            uniform(s, "l_reason", lid)))
        .when(F.col("category").isin("electronics", "home"),
              pick(["defective", "not_as_described", "changed_mind"], uniform(s, "l_reason", lid)))
        .otherwise(pick(["changed_mind", "not_as_described"], uniform(s, "l_reason", lid)))
    )
    ln = ln.withColumn("return_reason", reason)
    # a safe lower bound of the line's settled amount (exact shares differ by < 1 cent)
    settled_lb = floor_cents(F.col("line_amount") * (F.col("subtotal") - F.col("discount_total") - F.col("inflation"))
                             / F.col("subtotal")) - F.lit(0.01).cast("decimal(18,2)")
    ln = ln.withColumn("settled_lb", money(settled_lb))
    ln = ln.withColumn("refund_amount", F.greatest(
        floor_cents(F.col("settled_lb") * F.col("return_qty") / F.col("quantity")), F.lit(0.01).cast("decimal(18,2)")))
    partial = F.col("is_delivered") & ~F.col("is_returned") & (uniform(s, "l_partial", lid) < 0.02)
    ln = ln.withColumn("has_partial_refund", partial)
    ln = ln.withColumn("partial_amount", F.greatest(floor_cents(F.col("settled_lb") * 0.2),
                                                    F.lit(0.01).cast("decimal(18,2)")))
    ln = ln.withColumn("partial_at", F.col("delivered_at") + 3 * 86400 + randint(0, 86399, uniform(s, "l_pat", lid)))
    reviewed = F.col("is_delivered") & ((uniform(s, "l_review", lid) < 0.2)
                                        | (F.col("is_returned") & (uniform(s, "l_review_r", lid) < 0.5)))
    rating = (F.when(F.col("is_returned"), randint(1, 2, uniform(s, "l_rating", lid)))
              .when(F.col("delay_days") > 2, randint(2, 4, uniform(s, "l_rating", lid)))
              .otherwise(wpick([(5, 60), (4, 30), (3, 10)], uniform(s, "l_rating", lid))))
    ln = ln.withColumn("is_reviewed", reviewed).withColumn("rating", rating)
    ln = ln.withColumn("reviewed_at", F.greatest(F.col("delivered_at"), F.coalesce("requested_at", F.lit(0)))
                       + randint(2 * 86400, 20 * 86400, uniform(s, "l_rev_at", lid)))
    return ln
