"""People and their platform accounts: one person may hold accounts on several platforms, each with its own
customer_id and differently formatted phone number and address (the identity-resolution ground truth)."""

from __future__ import annotations

from brandlake.synthetic import constants as C
from brandlake.synthetic.catalog import day_date
from brandlake.synthetic.params import WorldParams
from brandlake.synthetic.rand import (
    fmt_ts,
    lit_map,
    local_to_epoch,
    pick,
    randint,
    scrambled,
    uniform,
    wpick,
)
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

_FULL_WIDTH = "０１２３４５６７８９－"


def _region_array(country: Column, u: Column) -> Column:
    """A random region struct (province, city, prefix, fav) of ``country``."""
    regions = F.create_map(*[
        x for c, regs in C.REGIONS.items()
        for x in (F.lit(c), F.array(*[
            F.struct(F.lit(a).alias("province"), F.lit(b).alias("city"), F.lit(pre).alias("prefix"),
                     F.lit(fav).alias("fav")) for a, b, pre, fav in regs]))
    ])
    arr = regions[country]
    return F.element_at(arr, (F.floor(u * F.size(arr)) + 1).cast("int"))


def _street(country: Column, u: Column) -> Column:
    return F.coalesce(*[F.when(country == c, pick(v, u)) for c, v in C.STREETS.items()])


def persons(spark: SparkSession, *, p: WorldParams) -> DataFrame:
    """One row per real person: home region, demographics, canonical phone and address parts, behaviour."""
    s = p.seed
    k = F.col("person_id")
    df = spark.range(p.n_persons).withColumnRenamed("id", "person_id")
    df = df.withColumn("country", wpick(C.COUNTRY_WEIGHTS, uniform(s, "p_country", k)))
    df = df.withColumn("region", _region_array(F.col("country"), uniform(s, "p_region", k)))
    df = df.withColumn("gender", wpick([("F", 52), ("M", 44), (None, 4)], uniform(s, "p_gender", k)))
    df = df.withColumn("birth_year", (F.lit(1962) + F.floor(F.pow(uniform(s, "p_birth", k), 0.8) * 45)).cast("int"))
    band = F.when(F.col("birth_year") >= 1990, F.lit("young")).otherwise(F.lit("mid"))
    fav_by_demo = F.coalesce(*[
        F.when(F.concat(F.coalesce("gender", F.lit("F")), F.lit("_"), band) == key, wpick(w, uniform(s, "p_fav", k)))
        for key, w in C.FAV_CATEGORY.items()])
    fav = F.when(uniform(s, "p_fav_region", k) < 0.3, F.col("region.fav")).otherwise(fav_by_demo)
    cn_mobile = F.concat(F.lit("1"), pick(["38", "39", "86", "58", "88", "35", "77"], uniform(s, "p_ph1", k)),
                         F.lpad(F.pmod(F.xxhash64(F.lit(s), F.lit("p_ph2"), k), F.lit(10**8)).cast("string"), 8, "0"))
    other = F.concat(randint(2, 9, uniform(s, "p_ph3", k)).cast("string"),
                     F.lpad(F.pmod(F.xxhash64(F.lit(s), F.lit("p_ph4"), k), F.lit(10**9)).cast("string"), 9, "0"))
    heavy = F.least(-F.log(1 - uniform(s, "p_activity", k)), F.lit(8.0))
    return df.select(
        "person_id", "country", "region", "gender", "birth_year", band.alias("age_band"), fav.alias("fav_category"),
        F.when(F.col("country") == "CN", cn_mobile).otherwise(other).alias("phone_digits"),
        _street(F.col("country"), uniform(s, "p_street", k)).alias("street"),
        pick(C.DISTRICTS_CN, uniform(s, "p_district", k)).alias("district"),
        randint(1, 299, uniform(s, "p_no", k)).alias("house_no"),
        randint(1, 20, uniform(s, "p_bld", k)).alias("building"),
        randint(101, 2808, uniform(s, "p_room", k)).alias("room"),
        heavy.alias("activity"),
        # latent habit of returning things: most people 0.6-1.4, 5 % serial returners x2.5
        ((F.lit(0.6) + uniform(s, "p_ret", k) * 0.8)
         * F.when(uniform(s, "p_serial", k) < 0.05, F.lit(2.5)).otherwise(F.lit(1.0))).alias("return_propensity"),
    )


def format_phone(digits: Column, country: Column, variant: Column) -> Column:
    """A phone number in one of five export styles: +CC groups, 00CC digits, national groups, digits, full-width."""
    cc = lit_map(C.COUNTRY_CODE)[country]
    g2 = F.when(country == "CN", F.lit(4)).otherwise(F.lit(3))
    a, b = F.substring(digits, 1, 3), digits.substr(F.lit(4), g2)
    c = digits.substr(g2 + 4, F.lit(4))
    grouped = F.concat_ws(" ", a, b, c)
    return (
        F.when(variant == 0, F.concat(F.lit("+"), cc, F.lit(" "), F.concat_ws("-", a, b, c)))
        .when(variant == 1, F.concat(F.lit("00"), cc, F.lit(" "), digits))
        .when(variant == 2, grouped)
        .when(variant == 3, digits)
        .otherwise(F.translate(grouped, "0123456789-", _FULL_WIDTH))
    )


def format_address(country: Column, region: Column, street: Column, district: Column, house_no: Column,
                   building: Column, room: Column, variant: Column) -> Column:
    """A street address in the country's style, in one of five spellings (abbreviated, separators, full-width)."""
    n, b, r = house_no.cast("string"), building.cast("string"), room.cast("string")
    city, prov, prefix = region["city"], region["province"], region["prefix"]
    canonical = (
        F.when(country == "CN", F.concat(prefix, district, street, n, F.lit("号"), b, F.lit("栋"), r, F.lit("室")))
        .when(country == "JP", F.concat(prefix, street, n, F.lit("-"), b, F.lit("-"), r))
        .when(country == "US", F.concat(n, F.lit(" "), street, F.lit(" Street, Apartment "), r, F.lit(", "), city,
                                        F.lit(", "), prov))
        .when(country == "GB", F.concat(F.lit("Flat "), r, F.lit(", "), n, F.lit(" "), street, F.lit(" Road, "), city))
        .when(country == "DE", F.concat(street, F.lit("straße "), n, F.lit(", Wohnung "), r, F.lit(", "), city))
        .otherwise(F.concat(n, F.lit(" rue "), street, F.lit(", appartement "), r, F.lit(", "), city))
    )
    abbrev = canonical
    for pat, rep in [(" Street", " St."), ("Apartment", "Apt"), (" Road", " Rd"), ("straße", "str."),
                     ("Wohnung", "Whg."), ("appartement", "appt"), ("省", ""), ("(?<=.)市", "")]:
        abbrev = F.regexp_replace(abbrev, pat, rep)
    spaced = F.when(country.isin("CN", "JP"), F.regexp_replace(canonical, "(区|路|号|栋|都|府|県)", "$1 ")).otherwise(
        F.upper(F.regexp_replace(canonical, ", ", " ")))
    return (
        F.when(variant == 0, canonical).when(variant == 1, abbrev).when(variant == 2, spaced)
        .when(variant == 3, F.translate(canonical, "0123456789-", _FULL_WIDTH))
        .otherwise(F.translate(abbrev, "0123456789-", _FULL_WIDTH))
    )


def accounts(persons_df: DataFrame, platforms_df: DataFrame, *, p: WorldParams) -> DataFrame:
    """One row per platform customer account of a person (internal attributes included).

    70 % of primary accounts exist before the start; others register during the period. 8 % of accounts
    move once (``move_day``): a new address version, and later orders ship to it.
    """
    s = p.seed
    probs = {f"{c}|{pid}": pr for c, lst in C.ACCOUNT_PROB.items() for pid, pr in lst}
    primary = {f"{c}|{lst[0][0]}": True for c, lst in C.ACCOUNT_PROB.items()}
    key = F.concat_ws("|", "country", "platform_id")
    plat = platforms_df.select("platform_id", "p_idx", "prefix", "timezone", "currency", "market", "language")
    df = persons_df.crossJoin(F.broadcast(plat)).withColumn("acct_prob", lit_map(probs)[key])
    ak = F.concat_ws("|", F.col("person_id").cast("string"), "platform_id")
    df = df.where(F.col("acct_prob").isNotNull() & (uniform(s, "acct_exists", ak) < F.col("acct_prob")))
    is_primary = F.coalesce(lit_map(primary)[key], F.lit(False))
    reg_day = F.when(is_primary & (uniform(s, "acct_old", ak) < 0.7), -randint(1, 900, uniform(s, "acct_old_day", ak)))\
        .otherwise(randint(0, p.days - 1, uniform(s, "acct_new_day", ak)))
    df = df.withColumn("reg_day", reg_day)
    df = df.withColumn("registered_at", local_to_epoch(day_date(p, F.col("reg_day")),
                                                       randint(0, 86399, uniform(s, "acct_reg_sec", ak)),
                                                       F.col("timezone")))
    move = F.greatest(F.col("reg_day"), F.lit(0)) + randint(5, max(p.days, 5), uniform(s, "acct_move_day", ak))
    df = df.withColumn("move_day", F.when((uniform(s, "acct_move", ak) < 0.08) & (move < p.days), move).cast("long"))
    df = df.withColumn("region2", _region_array(F.col("country"), uniform(s, "acct_region2", ak)))
    df = df.withColumn("street2", _street(F.col("country"), uniform(s, "acct_street2", ak)))
    phone_v = randint(0, 4, uniform(s, "acct_phone_fmt", ak))
    addr_v = randint(0, 4, uniform(s, "acct_addr_fmt", ak))
    return df.select(
        "person_id", "platform_id", "p_idx", "timezone", "currency", "market", "language",
        F.concat(F.lower("prefix"), scrambled(F.col("person_id"), modulus=10**10, multiplier=7919,
                                              offset=1_000_003, width=10)).alias("customer_id"),
        F.when(uniform(s, "acct_gender_null", ak) < 0.04, F.lit(None)).otherwise(F.col("gender")).alias("gender"),
        F.when(uniform(s, "acct_birth_null", ak) < 0.08, F.lit(None)).otherwise(F.col("birth_year"))
        .alias("birth_year"),
        "age_band", "fav_category", "activity", "return_propensity", "country",
        F.col("region.province").alias("province"), F.col("region.city").alias("city"),
        F.col("region2.province").alias("province2"), F.col("region2.city").alias("city2"),
        format_phone(F.col("phone_digits"), F.col("country"), phone_v).alias("phone"),
        format_address(F.col("country"), F.col("region"), F.col("street"), F.col("district"), F.col("house_no"),
                       F.col("building"), F.col("room"), addr_v).alias("address"),
        format_address(F.col("country"), F.col("region2"), F.col("street2"), F.col("district"),
                       F.col("house_no") + 7, F.col("building"), F.col("room"), addr_v).alias("address2"),
        "reg_day", "registered_at", "move_day",
        uniform(s, "acct_loyal", ak).alias("loyal_u"),
    )


def customer_records(accts: DataFrame, *, p: WorldParams) -> DataFrame:
    """Customer account versions as landing records: registration (or the start export), and moves."""
    cols = ["platform_id", "customer_id", "gender", "birth_year", "country"]
    first = F.greatest(F.col("registered_at"), F.lit(p.t0))
    v1 = accts.select(*cols, "province", "city", "phone", "address", "registered_at",
                      F.col("registered_at").alias("_upd"), first.alias("_at"), F.lit(0).alias("_v"))
    moved_at = F.lit(p.t0) + F.col("move_day") * 86400 + 43200
    v2 = accts.where(F.col("move_day").isNotNull()).select(
        *cols, F.col("province2").alias("province"), F.col("city2").alias("city"), "phone",
        F.col("address2").alias("address"), "registered_at", moved_at.alias("_upd"), moved_at.alias("_at"),
        F.lit(1).alias("_v"))
    return v1.unionByName(v2).select(
        "platform_id", "customer_id", "gender", F.col("birth_year").cast("string").alias("birth_year"),
        "country", "province", "city", "phone", "address", fmt_ts(F.col("registered_at")).alias("registered_at"),
        fmt_ts(F.col("_upd")).alias("updated_at"), F.col("_at").alias("_arrival"),
        F.concat_ws("|", "platform_id", "customer_id", "_v").alias("_rid"),
    )


def person_map(accts: DataFrame) -> DataFrame:
    """Ground truth: one row per platform account with the person it belongs to."""
    return accts.select("person_id", "platform_id", "customer_id", "country")
