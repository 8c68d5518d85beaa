"""Landing records derived from orders: order, payment, refund and logistics events, returns, reviews,
customer-service chats and clickstream. Each frame has the source's contract fields (text) plus
``_arrival`` (epoch seconds), ``_rid`` (unique record id), ``_event`` (event time) and ``_order_id``."""

from __future__ import annotations

from brandlake.synthetic import constants as C
from brandlake.synthetic.orders import sample_days
from brandlake.synthetic.params import WorldParams
from brandlake.synthetic.rand import fmt_ts, pick, randint, uniform, uuid_like, wpick
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F


def _ts(c: Column) -> Column:
    return F.when(c.isNotNull(), fmt_ts(c))


def _meta(at: Column, rid: Column, order_id: Column) -> list[Column]:
    return [at.alias("_arrival"), at.alias("_event"), rid.alias("_rid"), order_id.alias("_order_id")]


def order_event_records(orders_df: DataFrame, *, p: WorldParams) -> DataFrame:
    """One record per order state change; every event carries the full order payload as of then."""
    def ev(kind: str, status: str, at: Column) -> Column:
        return F.when(at.isNotNull() & (at < p.end), F.struct(F.lit(kind).alias("t"), F.lit(status).alias("st"),
                                                              at.alias("at")))

    events = F.filter(F.array(
        ev("order_created", "created", F.col("at")),
        ev("order_paid", "paid", F.col("paid_at")),
        ev("order_cancelled", "cancelled", F.col("cancelled_at")),
        ev("order_shipped", "shipped", F.col("shipped_at")),
        ev("order_completed", "completed", F.col("completed_at")),
    ), lambda e: e.isNotNull())
    o = orders_df.select("*", F.explode(events).alias("e"))
    eid = uuid_like(p.seed, "order_event", "order_id", F.col("e.t"))
    return o.select(
        eid.alias("event_id"), F.col("e.t").alias("event_type"), fmt_ts(F.col("e.at")).alias("event_at"),
        "platform_id", "order_id", "shop_id", "customer_id", "currency", F.col("e.st").alias("order_status"),
        "lines", "order_discounts", F.col("shipping_fee").cast("string").alias("shipping_fee"),
        F.when(F.col("is_presale"), F.lit("true")).otherwise(F.lit("false")).alias("is_presale"),
        F.col("deposit_amount").cast("string").alias("deposit_amount"),
        F.col("deposit_value").cast("string").alias("deposit_value"),
        _ts(F.col("balance_due_at")).alias("balance_due_at"),
        F.col("country").alias("ship_country"), "ship_province", "ship_city", "ship_address",
        F.col("phone").alias("ship_phone"), F.col("device").alias("device_type"),
        *_meta(F.col("e.at"), eid, F.col("order_id")),
    )


def payment_event_records(orders_df: DataFrame, *, p: WorldParams) -> DataFrame:
    """Payments: one full payment (or a failed attempt), or a presale deposit and balance."""
    def pay(kind: str, suffix: str, amount: Column, status: str, at: Column, cond: Column) -> Column:
        return F.when(cond & at.isNotNull() & (at < p.end), F.struct(
            F.lit(kind).alias("kind"), F.lit(suffix).alias("sfx"), amount.alias("amount"),
            F.lit(status).alias("status"), at.alias("at")))

    pre, unpaid = F.col("is_presale"), F.col("unpaid")
    pays = F.filter(F.array(
        pay("full", "F", F.col("payable"), "success", F.col("paid_at"), ~pre),
        pay("full", "F", F.col("payable"), "failed", F.col("at") + 120, ~pre & unpaid),
        pay("deposit", "D", F.col("deposit_amount"), "success", F.col("deposit_at"), pre),
        pay("balance", "B", F.col("payable") - F.col("deposit_value"), "success", F.col("paid_at"), pre),
    ), lambda x: x.isNotNull())
    o = orders_df.select("*", F.explode(pays).alias("pm"))
    method = F.coalesce(*[F.when(F.col("platform_id") == pid, wpick(w, uniform(p.seed, "pay_method", "order_id")))
                          for pid, w in C.PAYMENT_METHODS.items()])
    pid = F.concat(F.lit("PAY"), F.substring("order_id", 3, 12), F.col("pm.sfx"))
    eid = uuid_like(p.seed, "payment_event", pid, F.col("pm.status"))
    return o.select(
        eid.alias("event_id"), fmt_ts(F.col("pm.at")).alias("event_at"), "platform_id", "order_id",
        pid.alias("payment_id"), F.col("pm.kind").alias("payment_kind"),
        F.col("pm.amount").cast("decimal(18,2)").cast("string").alias("amount"), "currency", method.alias("method"),
        F.col("pm.status").alias("status"), *_meta(F.col("pm.at"), eid, F.col("order_id")),
    )


def refund_event_records(outcomes: DataFrame, *, p: WorldParams) -> DataFrame:
    """Refunds: approved returns (part of the line's settled amount) and small price-protection refunds."""
    ret = outcomes.where(F.col("is_returned") & F.col("refunded_at").isNotNull()).select(
        "*", F.col("refunded_at").alias("_at"), F.col("refund_amount").alias("_amt"),
        F.col("return_reason").alias("_reason"), F.lit("R").alias("_sfx"))
    part = outcomes.where("has_partial_refund").select(
        "*", F.col("partial_at").alias("_at"), F.col("partial_amount").alias("_amt"),
        pick(["price_protection", "damaged_compensation"], uniform(p.seed, "refund_reason", "line_id")).alias("_reason"),
        F.lit("P").alias("_sfx"))
    r = ret.unionByName(part).where(F.col("_at") < p.end)
    rid = F.concat(F.lit("RF"), F.substring("line_id", 3, 20), F.col("_sfx"))
    eid = uuid_like(p.seed, "refund_event", rid)
    return r.select(
        eid.alias("event_id"), fmt_ts(F.col("_at")).alias("event_at"), "platform_id", "order_id",
        rid.alias("refund_id"), "line_id", F.col("_amt").cast("string").alias("amount"), "currency",
        F.col("_reason").alias("reason"), F.lit("success").alias("status"),
        *_meta(F.col("_at"), eid, F.col("order_id")),
    )


def logistics_event_records(orders_df: DataFrame, *, p: WorldParams) -> DataFrame:
    """Carrier scans of each shipment: pickup, hub scans, an exception for some, out for delivery, delivered."""
    s = p.seed
    o = orders_df.where(F.col("shipped_at").isNotNull()).withColumn(
        "shipment_id", F.concat(F.lit("SP"), F.substring("order_id", 3, 12)))
    span = F.col("delivered_at") - F.col("shipped_at")
    hubs = F.coalesce(*[F.when(F.col("country") == c, F.array(*[F.lit(h) for h in v])) for c, v in C.HUBS.items()])
    n_hubs = randint(1, 3, uniform(s, "lg_hubs", "order_id"))

    def scan(kind: str, at: Column, loc: Column, cond: Column | None = None) -> Column:
        cond = F.lit(True) if cond is None else cond
        return F.when(cond, F.struct(F.lit(kind).alias("k"), at.alias("at"), loc.alias("loc")))

    hub_scans = F.transform(F.sequence(F.lit(1), n_hubs), lambda i: F.struct(
        F.lit("hub_scan").alias("k"), (F.col("shipped_at") + (span * i / (n_hubs + 2)).cast("long")).alias("at"),
        F.element_at(hubs, ((i - 1) % F.size(hubs) + 1).cast("int")).alias("loc")))
    scans = F.concat(
        F.array(scan("pickup", F.col("shipped_at"), F.col("warehouse_id"))), hub_scans,
        F.array(
            scan("exception", F.col("shipped_at") + (span * 0.6).cast("long"), F.element_at(hubs, 1),
                 F.col("has_exception")),
            scan("out_for_delivery", F.col("delivered_at") - 5 * 3600, F.col("ship_city")),
            scan("delivered", F.col("delivered_at"), F.col("ship_city")),
        ))
    scans = F.filter(scans, lambda x: x.isNotNull() & (x["at"] < p.end))
    o = o.select("*", F.posexplode(scans).alias("i", "sc"))
    eid = uuid_like(s, "logistics_event", "shipment_id", F.col("i").cast("string"))
    tracking = F.concat(F.upper(F.substring(F.regexp_replace("carrier", "[^A-Za-z0-9]", ""), 1, 3)),
                        F.lpad(F.pmod(F.xxhash64(F.lit(s), F.lit("tracking"), "order_id"), F.lit(10**12))
                               .cast("string"), 12, "0"))
    return o.select(
        eid.alias("event_id"), fmt_ts(F.col("sc.at")).alias("event_at"), "platform_id", "order_id", "shipment_id",
        "carrier", tracking.alias("tracking_no"), "warehouse_id", F.col("sc.k").alias("scan_type"),
        F.col("sc.loc").alias("location"), *_meta(F.col("sc.at"), eid, F.col("order_id")),
    )


def return_records(outcomes: DataFrame, *, p: WorldParams) -> DataFrame:
    """Return request versions: requested, then approved/rejected, then refunded (one row per status change)."""
    r = outcomes.where("is_returned")
    st = F.filter(F.array(
        F.struct(F.lit("requested").alias("st"), F.col("requested_at").alias("at")),
        F.struct(F.when(F.col("is_approved"), F.lit("approved")).otherwise(F.lit("rejected")).alias("st"),
                 F.col("decided_at").alias("at")),
        F.when(F.col("is_approved"), F.struct(F.lit("refunded").alias("st"), F.col("refunded_at").alias("at"))),
    ), lambda x: x.isNotNull() & (x["at"] < p.end))
    r = r.select("*", F.explode(st).alias("v"))
    ret_id = F.concat(F.lit("RT"), F.substring("line_id", 3, 20))
    return r.select(
        ret_id.alias("return_id"), "order_id", "line_id", "platform_id", fmt_ts(F.col("requested_at"))
        .alias("requested_at"), F.col("return_reason").alias("reason"), F.col("v.st").alias("status"),
        F.col("return_qty").cast("string").alias("quantity"), fmt_ts(F.col("v.at")).alias("updated_at"),
        *_meta(F.col("v.at"), F.concat_ws("|", ret_id, F.col("v.st")), F.col("order_id")),
    )


ASPECTS = list(C.REVIEW_ASPECTS["en"])


def _said(lang: Column, aspect: Column, polarity: int, u: Column) -> Column:
    """A sentence about ``aspect`` in ``lang``: praise (``polarity`` 0) or complaint (1)."""
    return F.coalesce(*[F.when((lang == lg) & (aspect == a), pick(list(sentences[polarity]), u))
                        for lg, aspects in C.REVIEW_ASPECTS.items() for a, sentences in aspects.items()])


def review_text(lang: Column, tier: Column, cause: Column, seed: int, key: str) -> Column:
    """A review in ``lang`` written aspect by aspect for its star ``tier`` (good / mid / bad): praise of one or
    two aspects; a complaint about ``cause`` (what went wrong with the line, else any aspect) and maybe another;
    a 3-star review mixes a praise and a complaint of two aspects or says something lukewarm. A few reviews'
    words belong to another tier (``C.REVIEW_TEXT_MISMATCH``)."""
    def u(k: str) -> Column:
        return uniform(seed, f"review_{k}", key)

    flipped = F.when(tier == "good", F.lit("bad")).when(tier == "bad", F.lit("good")).otherwise(
        pick(["good", "bad"], u("flip_to")))
    words = F.when(u("flip") < C.REVIEW_TEXT_MISMATCH, flipped).otherwise(tier)
    first = F.coalesce(F.when(words == "bad", cause), pick(ASPECTS, u("a1")))
    others = F.array_remove(F.array(*[F.lit(a) for a in ASPECTS]), first)
    second = F.element_at(others, (F.floor(u("a2") * (len(ASPECTS) - 1)) + 1).cast("int"))
    sep = F.when(lang.isin("en", "de"), F.lit(" ")).otherwise(F.lit(""))
    two = u("two") < 0.5

    def one_tone(polarity: int) -> Column:   # one or two sentences, all praise (0) or all complaint (1)
        return F.concat(_said(lang, first, polarity, u("s1")),
                        F.when(two, F.concat(sep, _said(lang, second, polarity, u("s2")))).otherwise(""))

    mixed = F.concat(_said(lang, first, 0, u("s1")), sep, _said(lang, second, 1, u("s2")))
    neutral = F.coalesce(*[F.when(lang == lg, pick(txts, u("s1"))) for lg, txts in C.REVIEW_NEUTRAL.items()])
    return (F.when(words == "good", one_tone(0)).when(words == "bad", one_tone(1))
            .otherwise(F.when(u("mixed") < 0.6, mixed).otherwise(neutral)))


def review_records(outcomes: DataFrame, *, p: WorldParams) -> DataFrame:
    """Product reviews: rating 1-5 (low after returns and delays) and a text in the platform's language that
    speaks of what went wrong when something did (``review_text``)."""
    r = outcomes.where(F.col("is_reviewed") & (F.col("reviewed_at") < p.end))
    tier = F.when(F.col("rating") >= 4, F.lit("good")).when(F.col("rating") == 3, F.lit("mid")).otherwise(F.lit("bad"))
    reason = F.col("return_reason")
    cause = (F.when(F.col("is_returned") & reason.isin("size_too_small", "size_too_large"), F.lit("sizing"))
             .when(F.col("is_returned") & reason.isin("defective", "not_as_described"), F.lit("quality"))
             .when(F.col("is_returned") & (reason == "late_delivery"), F.lit("delivery"))
             .when(F.col("delay_days") > 2, F.lit("delivery")))
    rid = F.concat(F.lit("RV"), F.substring("line_id", 3, 20))
    return r.select(
        rid.alias("review_id"), "platform_id", "order_id", "line_id", "product_id", "customer_id",
        F.col("rating").cast("string").alias("rating"),
        review_text(F.col("language"), tier, cause, p.seed, "line_id").alias("review_text"),
        "language", fmt_ts(F.col("reviewed_at")).alias("created_at"),
        *_meta(F.col("reviewed_at"), rid, F.col("order_id")),
    )


def cs_chat_records(orders_df: DataFrame, outcomes: DataFrame, browse: DataFrame, *, p: WorldParams) -> DataFrame:
    """Customer-service chats: about late/exception shipments, returns, presale balances, invoices, and
    pre-sales size questions from browsing sessions (no order)."""
    s = p.seed
    ret = outcomes.where("is_returned").groupBy("order_id").agg(F.min("requested_at").alias("ret_at"))
    o = orders_df.join(ret, "order_id", "left")
    oid = F.col("order_id")
    intent = (
        F.when(F.col("ret_at").isNotNull() & (uniform(s, "chat_ret", oid) < 0.5), F.lit("return_request"))
        .when((F.col("has_exception") | (F.col("delay_days") > 1)) & F.col("shipped_at").isNotNull()
              & (uniform(s, "chat_late", oid) < 0.5), F.lit("where_is_my_order"))
        .when(F.col("is_presale") & (uniform(s, "chat_pre", oid) < 0.3), F.lit("presale_balance"))
        .when(uniform(s, "chat_inv", oid) < 0.02, F.lit("invoice"))
    )
    at = (F.when(intent == "return_request", F.col("ret_at") - 3600)
          .when(intent == "where_is_my_order", F.col("shipped_at") + (F.col("delivered_at") - F.col("shipped_at")) / 2)
          .when(intent == "presale_balance", F.col("at") + 7200)
          .otherwise(F.col("at") + 86400)).cast("long")
    oc = o.select("platform_id", "customer_id", "order_id", "language", intent.alias("intent"), at.alias("_at"))
    pre_sales = browse.where(uniform(s, "chat_browse", "session_id") < 0.03).select(
        "platform_id", "customer_id", F.lit(None).cast("string").alias("order_id"), "language",
        F.lit("size_advice").alias("intent"), (F.col("at") + 120).alias("_at"))
    c = oc.where(F.col("intent").isNotNull()).unionByName(pre_sales).where(F.col("_at") < p.end)
    key = F.concat_ws("|", "platform_id", "customer_id", F.coalesce("order_id", F.lit("")), "intent",
                      F.col("_at").cast("string"))
    chat_id = F.concat(F.lit("CH"), F.substring(F.sha2(key, 256), 1, 16))
    u = {k: uniform(s, f"chat_{k}", key) for k in ("open", "core", "close", "style", "greet")}

    def say(lg: str, phrasings: list[str], answers: tuple[str, str]) -> Column:
        house = u["style"] < C.HOUSE_ANSWER_SHARE
        return F.struct(
            F.concat(pick(C.CHAT_OPENERS[lg], u["open"]), pick(phrasings, u["core"]),
                     pick(C.CHAT_CLOSERS[lg], u["close"])).alias("q"),
            F.concat(pick(C.AGENT_GREETINGS[lg], u["greet"]),
                     F.when(house, F.lit(answers[0])).otherwise(F.lit(answers[1]))).alias("a"))

    qa = F.coalesce(*[F.when((F.col("intent") == it) & (F.col("language") == lg), say(lg, qs, ans))
                      for it, langs in C.CHAT_TEXT.items() for lg, (qs, ans) in langs.items()])
    c = c.withColumn("qa", qa)
    return c.select(
        chat_id.alias("chat_id"), "platform_id", "customer_id", "order_id", fmt_ts(F.col("_at")).alias("started_at"),
        pick(["app", "web", "phone"], uniform(s, "chat_channel", key)).alias("channel"),
        F.col("qa.q").alias("question"), F.col("qa.a").alias("answer"), "intent", "language",
        *_meta(F.col("_at"), chat_id, F.col("order_id")),
    )


def browse_sessions(accts: DataFrame, weights: DataFrame, bins: DataFrame, *, p: WorldParams) -> DataFrame:
    """One row per browsing session without purchase (10 % by guests, no customer_id)."""
    b = sample_days(accts, weights, bins, p=p, purpose="browse", per_account=2.5)
    sid = uuid_like(p.seed, "session", "okey")
    return b.select(
        sid.alias("session_id"), "platform_id", "market", "language", "age_band", "fav_category", "at", "day",
        F.when(uniform(p.seed, "guest", "okey") < 0.1, F.lit(None)).otherwise(F.col("customer_id"))
        .alias("customer_id"))


def clickstream_records(orders_df: DataFrame, browse: DataFrame, cat_n: DataFrame, listings_df: DataFrame,
                        *, p: WorldParams) -> DataFrame:
    """Clickstream: purchase sessions (views and carts of the ordered products, then purchase) and browse
    sessions (1-5 product views of one category, sometimes a cart)."""
    s = p.seed
    prod = F.transform("lines", lambda x: x["product_id"])
    o = orders_df.select(
        uuid_like(s, "session", "order_id").alias("session_id"), "platform_id", "customer_id", "market",
        "device", "at", prod.alias("products"))
    evs = F.concat(
        F.transform("products", lambda x, i: F.struct(F.lit("view").alias("t"), x.alias("pid"),
                                                      (F.col("at") - 900 + i * 60).alias("at"))),
        F.transform("products", lambda x, i: F.struct(F.lit("cart").alias("t"), x.alias("pid"),
                                                      (F.col("at") - 300 + i * 30).alias("at"))),
        F.array(F.struct(F.lit("purchase").alias("t"), F.element_at("products", 1).alias("pid"),
                         F.col("at").alias("at"))),
    )
    purchase = o.select("*", F.posexplode(evs).alias("i", "e")).where(F.col("e.at") >= p.t0)
    purchase = purchase.select("session_id", "platform_id", "customer_id", "market", "device",
                               F.col("e.t").alias("t"), F.col("e.pid").alias("product_id"),
                               F.col("e.at").alias("at"), "i")
    # browse: views of listings of one category
    b = browse.withColumn("category", F.when(uniform(s, "br_fav", "session_id") < 0.6, F.col("fav_category"))
                          .otherwise(pick(C.CATEGORIES, uniform(s, "br_cat", "session_id"))))
    b = b.join(F.broadcast(cat_n), ["platform_id", "category"])
    b = b.withColumn("i", F.explode(F.sequence(F.lit(0), randint(0, 4, uniform(s, "br_n", "session_id")).cast("int"))))
    bkey = F.concat_ws("|", "session_id", F.col("i").cast("string"))
    b = b.withColumn("cat_idx", F.floor(F.col("cat_n") * F.pow(uniform(s, "br_pick", bkey), 1.5)).cast("long"))
    b = b.join(listings_df.select("platform_id", "category", "cat_idx", "product_id", "launch_day"),
               ["platform_id", "category", "cat_idx"]).where(F.col("launch_day") <= F.col("day"))
    b = b.withColumn("device", F.when(F.col("age_band") == "young",
                                      wpick(C.DEVICES["young"], uniform(s, "br_dev", "session_id")))
                     .otherwise(wpick(C.DEVICES["mid"], uniform(s, "br_dev", "session_id"))))
    carted = (F.col("i") == 0) & (uniform(s, "br_cart", "session_id") < 0.2)
    views = b.select("session_id", "platform_id", "customer_id", "market", "device", F.lit("view").alias("t"),
                     "product_id", (F.col("at") + F.col("i") * 75).alias("at"), "i")
    carts = b.where(carted).select("session_id", "platform_id", "customer_id", "market", "device",
                                   F.lit("cart").alias("t"), "product_id", (F.col("at") + 40).alias("at"),
                                   F.lit(99).alias("i"))
    ev = purchase.unionByName(views).unionByName(carts).where(F.col("at") < p.end)
    channel = F.when(F.col("market") == "domestic", wpick(C.CHANNELS["domestic"], uniform(s, "channel", "session_id")))\
        .otherwise(wpick(C.CHANNELS["cross_border"], uniform(s, "channel", "session_id")))
    eid = uuid_like(s, "click", "session_id", "t", F.col("i").cast("string"))
    return ev.select(
        eid.alias("event_id"), "session_id", "platform_id", "customer_id", "product_id", F.col("t").alias("event_type"),
        fmt_ts(F.col("at")).alias("event_at"), channel.alias("channel"), "device",
        *_meta(F.col("at"), eid, F.lit(None).cast("string")),
    )
