"""Bring-your-own-data imports: the source-mapping model and the pure transforms that turn a foreign,
line-level sales export (one row per invoice/order line) into brandlake's bronze event and snapshot
tables. The loader that validates a mapping file lives in ``brandlake.mappings``; see docs/import.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from brandlake.transforms import iso
from brandlake.transforms.landing import SOURCES
from brandlake.transforms.money import MONEY
from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

# Wide enough for any price in a foreign export; rounded to MONEY after parsing.
_PARSE_DECIMAL = T.DecimalType(28, 6)
UTC_FORMAT = "yyyy-MM-dd'T'HH:mm:ss'Z'"

PAYMENT_STATUS = "succeeded"
REFUND_STATUS = "succeeded"

# ---------------------------------------------------------------------------------------------------
# The mapping model (built from YAML by brandlake.mappings.load_mapping, validated there).

REQUIRED_TARGETS = ("order_id", "sku_id", "quantity", "unit_price", "ordered_at")
OPTIONAL_TARGETS = (
    "customer_id", "currency", "status", "product_id", "ship_country", "ship_province", "ship_city",
)
TARGET_FIELDS = REQUIRED_TARGETS + OPTIONAL_TARGETS
MATCH_KEYS = ("order_id", "customer_id", "sku_id")

# Outcomes: every source row gets exactly one.
LINE, SHIPPING, DISCOUNT, REFUND = "order_line", "shipping_fee", "order_discount", "refund"
QUARANTINED, EXCLUDED = "quarantined", "excluded"
IMPORTED_OUTCOMES = (LINE, SHIPPING, DISCOUNT, REFUND)


@dataclass(frozen=True)
class FileFormat:
    format: Literal["csv", "json", "parquet"]
    delimiter: str = ","
    encoding: str = "UTF-8"
    header: bool = True
    quote: str = '"'
    escape: str = '"'


@dataclass(frozen=True)
class ValueFormats:
    timestamp_format: str
    time_zone: str
    decimal_separator: Literal[".", ","] = "."
    thousands_separator: str = ""
    # Values of the customer column that mean "no customer" (a guest); compared after trimming.
    missing_customer_values: tuple[str, ...] = ("",)
    # "13085.0" -> "13085": ids exported as floats.
    strip_decimal_zero_from_ids: bool = False


@dataclass(frozen=True)
class Platform:
    platform_id: str
    name: str
    market: str
    country: str
    timezone: str = ""


@dataclass(frozen=True)
class Brand:
    brand_id: str
    name: str
    home_country: str
    category_focus: str = ""


@dataclass(frozen=True)
class Shop:
    shop_id: str
    shop_name: str
    seller_type: str
    country: str


@dataclass(frozen=True)
class Constants:
    platform: Platform
    brand: Brand
    shop: Shop
    currency: str = ""                 # fixed currency; empty when columns.currency is mapped
    payment_method: str = ""
    product_category: str = ""


@dataclass(frozen=True)
class Returns:
    marked_by: Literal["negative_quantity", "order_id_prefix", "status_value"]
    order_id_prefix: str = ""
    status_values: tuple[str, ...] = ()
    # The sign a returned quantity carries in the file; a return row with the other sign is quarantined.
    quantity_sign: Literal["negative", "positive"] = "negative"
    # A return is refunded against the latest earlier sale line with equal values of these fields.
    match_on: tuple[str, ...] = ("customer_id", "sku_id")


@dataclass(frozen=True)
class NonProductCodes:
    """sku_id values that are not products: order-level charges, discounts, or rows to exclude."""

    shipping: tuple[str, ...] = ()
    discount: tuple[str, ...] = ()
    excluded: dict[str, str] = field(default_factory=dict)   # code -> why it is not a customer sale


@dataclass(frozen=True)
class Rules:
    duplicates: Literal["keep", "exclude"] = "keep"
    zero_price: Literal["keep", "exclude"] = "keep"
    # A negative quantity on a row that is not a return (e.g. a stock adjustment).
    other_negative_quantity: Literal["exclude", "quarantine"] = "quarantine"
    # Optional regex whose first group, found in sku_id, is the product_id (else product_id = sku_id).
    product_id_pattern: str = ""


@dataclass(frozen=True)
class SourceMapping:
    """One foreign export format. ``columns`` maps brandlake target fields to the file's column names."""

    name: str
    description: str
    file: FileFormat
    columns: dict[str, str]
    values: ValueFormats
    constants: Constants
    returns: Returns
    non_product_codes: NonProductCodes = field(default_factory=NonProductCodes)
    rules: Rules = field(default_factory=Rules)
    # target field -> {file value: bronze value}; a value mapped to "" becomes null (unknown)
    value_maps: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def source_columns(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(self.columns.values()))


# ---------------------------------------------------------------------------------------------------
# Column helpers


RAW_META = ("_source_file", "_row_number", "_corrupt_record")
SRC_PREFIX = "_src_"


def _q(name: str) -> Column:
    """A file column, as renamed by ``with_parsed_fields``."""
    return F.col(f"`{SRC_PREFIX}{name}`")


def blank_to_null(col: Column) -> Column:
    t = F.trim(col)
    return F.when(t == "", F.lit(None).cast("string")).otherwise(t)


def normalize_number(col: Column, *, decimal_separator: str, thousands_separator: str) -> Column:
    """Text of a number in the export's notation -> text in Spark's notation ("1.234,5" -> "1234.5")."""
    out = F.regexp_replace(F.trim(col), r"\s", "")
    if thousands_separator:
        out = F.replace(out, F.lit(thousands_separator), F.lit(""))
    if decimal_separator != ".":
        out = F.replace(out, F.lit(decimal_separator), F.lit("."))
    return out


def utc_text(ts: Column) -> Column:
    return F.date_format(ts, UTC_FORMAT)


def _money_text(col: Column) -> Column:
    return col.cast(MONEY).cast("string")


def _problem(cond: Column, message: Column) -> Column:
    return F.when(cond, message)


# ---------------------------------------------------------------------------------------------------
# Step 1: parse the raw text columns into typed target fields, noting every problem per row.


# Real places that are no single ISO 3166 country (supranational bodies, regions, "unspecified"): by
# default the label is kept as delivered and never resolved to a country, so silver leaves the order's
# country unknown (null), flags the row (``unknown_attributes``) and counts a warning, and the sale is kept;
# a mapping's value_maps can still name a country for one of them.
NO_COUNTRY_LABELS = (
    "european community", "european union", "eu", "channel islands", "west indies", "unspecified", "unknown",
    "other", "europe", "asia", "africa", "middle east", "latin america", "south america", "north america",
    "oceania", "caribbean", "scandinavia", "international", "worldwide", "rest of world",
)


def ship_country(value: Column) -> Column:
    """The ISO 3166 alpha-2 code a country name or code resolves to; a label that is no country
    (``NO_COUNTRY_LABELS``, e.g. "European Community") or a name that resolves to none is kept as delivered,
    for silver to leave unknown and flag (``unknown:ship_country 'European Community'``, a warning). Runs after
    the mapping's ``value_maps``, which name what no standard knows ("EIRE")."""
    label = F.lower(F.regexp_replace(F.trim(value), r"\s+", " "))
    return F.when(label.isin(*NO_COUNTRY_LABELS), value).otherwise(F.coalesce(iso.country_code(value), value))


def with_parsed_fields(raw: DataFrame, *, mapping: SourceMapping) -> DataFrame:
    """Add the typed target fields and ``_problem`` (why the row is unparseable, else null).

    ``raw`` holds the file's columns as text plus ``_source_file``, ``_row_number`` (1-based within
    the file) and ``_corrupt_record``; the file's columns are kept, renamed ``_src_<column>``. ``unit_price`` is rounded half-up to cents (``_price_rounded`` flags it).
    """
    v, cols = mapping.values, mapping.columns

    def src(target: str) -> Column:
        value = blank_to_null(_q(cols[target])) if target in cols else F.lit(None).cast("string")
        vmap = mapping.value_maps.get(target)
        if vmap:
            lookup = F.create_map(*[F.lit(x) for kv in vmap.items() for x in kv])
            value = blank_to_null(F.coalesce(F.element_at(lookup, value), value))  # mapped to "": unknown
        return value

    def num(target: str) -> Column:
        return normalize_number(src(target), decimal_separator=v.decimal_separator,
                                thousands_separator=v.thousands_separator)

    def raw_text(target: str) -> Column:
        return F.concat(F.lit(f"{target}: "), F.coalesce(F.concat(F.lit("'"), _q(cols[target]), F.lit("'")),
                                                        F.lit("empty")),
                        F.lit(f" in column '{cols[target]}'"))

    customer = src("customer_id")
    if v.strip_decimal_zero_from_ids:
        customer = F.regexp_replace(customer, r"^(-?\d+)\.0+$", "$1")
    missing = [m.strip() for m in v.missing_customer_values]
    customer = F.when(customer.isNull() | customer.isin(*missing), F.lit(None).cast("string")).otherwise(customer)

    price_exact = num("unit_price").try_cast(_PARSE_DECIMAL)
    local_ts = F.try_to_timestamp(src("ordered_at"), F.lit(v.timestamp_format))
    currency = F.upper(src("currency")) if "currency" in cols else F.lit(mapping.constants.currency)
    sku = src("sku_id")
    product_id = src("product_id") if "product_id" in cols else (
        F.coalesce(F.nullif(F.regexp_extract(sku, mapping.rules.product_id_pattern, 1), F.lit("")), sku)
        if mapping.rules.product_id_pattern else sku
    )
    raw = raw.select(*RAW_META, *[F.col(f"`{c}`").alias(SRC_PREFIX + c) for c in raw.columns if c not in RAW_META])
    out = raw.select(
        "*",
        src("order_id").alias("order_id"),
        sku.alias("sku_id"),
        product_id.alias("product_id"),
        num("quantity").try_cast("int").alias("quantity"),
        F.round(price_exact, 2).cast(MONEY).alias("unit_price"),
        (price_exact != F.round(price_exact, 2)).alias("_price_rounded"),
        F.to_utc_timestamp(local_ts, v.time_zone).alias("ordered_at"),
        customer.alias("customer_id"),
        currency.alias("currency"),
        F.upper(src("status")).alias("status"),
        ship_country(src("ship_country")).alias("ship_country"),
        src("ship_province").alias("ship_province"),
        src("ship_city").alias("ship_city"),
    )
    problems = [
        _problem(F.col("_corrupt_record").isNotNull(), F.lit(f"malformed row: not parseable as {mapping.file.format}")),
        _problem(F.col("order_id").isNull(), F.lit(f"order_id: empty in column '{cols['order_id']}'")),
        _problem(F.col("sku_id").isNull(), F.lit(f"sku_id: empty in column '{cols['sku_id']}'")),
        _problem(F.col("quantity").isNull(), F.concat(raw_text("quantity"), F.lit(" is not a whole number"))),
        _problem(F.col("unit_price").isNull(), F.concat(raw_text("unit_price"), F.lit(" is not a number"))),
        _problem(F.col("ordered_at").isNull(), F.concat(
            raw_text("ordered_at"), F.lit(f" does not match '{v.timestamp_format}'"))),
        _problem(~F.coalesce(iso.is_currency_code(F.col("currency")), F.lit(False)),
                 F.concat(raw_text("currency"), F.lit(" is not an ISO 4217 currency code"))
                 if "currency" in cols else F.lit("currency: constant is not an ISO 4217 currency code")),
    ]
    if mapping.returns.marked_by == "status_value":
        problems.append(_problem(F.col("status").isNull(), F.lit(f"status: empty in column '{cols['status']}'")))
    return out.withColumn("_problem", F.nullif(F.concat_ws("; ", *problems), F.lit("")))


# ---------------------------------------------------------------------------------------------------
# Step 2: give every row one outcome (an order line, an order-level charge or discount, a refund,
# excluded on purpose, or quarantined) with a reason code and a readable reason.


def _is_return(mapping: SourceMapping) -> Column:
    r = mapping.returns
    if r.marked_by == "order_id_prefix":
        return F.startswith(F.col("order_id"), F.lit(r.order_id_prefix))
    if r.marked_by == "status_value":
        return F.col("status").isin(*[s.upper() for s in r.status_values])
    return F.col("quantity") < 0


def _category(mapping: SourceMapping) -> Column:
    codes = mapping.non_product_codes
    out = F.when(F.lit(False), F.lit(None).cast("string"))
    for name, values in (("shipping", codes.shipping), ("discount", codes.discount), ("excluded", tuple(codes.excluded))):
        if values:
            out = out.when(F.col("sku_id").isin(*values), F.lit(name))
    return out.otherwise(F.lit("product"))


def _set(outcome: str, code: str, reason: Column | str) -> Column:
    return F.struct(F.lit(outcome).alias("outcome"), F.lit(code).alias("code"),
                    (reason if isinstance(reason, Column) else F.lit(reason)).alias("reason"))


def with_row_outcomes(parsed: DataFrame, *, mapping: SourceMapping) -> DataFrame:
    """Add ``_outcome``, ``_reason_code``, ``_reason`` and, per outcome, the ids the bronze rows need:
    ``line_no``/``line_id``/``line_amount`` for order lines, ``charge_amount`` for shipping and discount
    rows, ``refund_id``/``refund_amount``/``refund_order_id``/``refund_line_id`` for refunds.
    One row per source row (nothing is dropped)."""
    rules, returns, codes = mapping.rules, mapping.returns, mapping.non_product_codes
    sign_ok = (F.col("quantity") < 0) if returns.quantity_sign == "negative" else (F.col("quantity") > 0)
    if returns.marked_by == "negative_quantity":
        sign_ok = F.lit(True)
    # An exact duplicate is equal in every column of the file (mapped or not) to an earlier row.
    dup_window = Window.partitionBy(*[F.col(f"`{c}`") for c in parsed.columns if c.startswith(SRC_PREFIX)])
    first_copy = F.col("_first_copy")
    excluded_reason = F.create_map(*[F.lit(x) for kv in codes.excluded.items() for x in kv]) if codes.excluded \
        else F.create_map().cast("map<string,string>")
    amount = F.abs(F.col("quantity")).cast("decimal(12,0)") * F.col("unit_price")

    df = parsed.withColumn("_category", _category(mapping)).withColumn("_is_return", _is_return(mapping))
    df = df.withColumn("_first_copy", F.min(F.struct("_source_file", "_row_number")).over(dup_window)
                       if rules.duplicates == "exclude" else F.struct("_source_file", "_row_number"))
    is_dup = F.struct("_source_file", "_row_number") != first_copy
    kind = (
        F.when(F.col("_problem").isNotNull(), _set(QUARANTINED, "unparseable", F.col("_problem")))
        .when(F.lit(rules.duplicates == "exclude") & is_dup,
              _set(EXCLUDED, "exact_duplicate", F.concat(
                  F.lit("exact duplicate of row "), first_copy["_row_number"].cast("string"),
                  F.lit(" of "), first_copy["_source_file"])))
        .when(F.col("_category") == "excluded",
              _set(EXCLUDED, F.concat(F.lit("non_product_code:"), F.col("sku_id")).cast("string"),
                   F.concat(F.lit("non-product code "), F.col("sku_id"), F.lit(": "),
                            F.element_at(excluded_reason, F.col("sku_id")))))
        .when(F.col("quantity") == 0, _set(QUARANTINED, "zero_quantity", "quantity is zero"))
        .when(F.col("unit_price") < 0, _set(QUARANTINED, "negative_price", F.concat(
            F.lit("unit_price "), F.col("unit_price").cast("string"), F.lit(" is negative"))))
        .when(F.col("_is_return") & ~sign_ok, _set(QUARANTINED, "return_quantity_sign", F.concat(
            F.lit("return row with quantity "), F.col("quantity").cast("string"),
            F.lit(f"; returned quantities are {returns.quantity_sign} in this file"))))
        .when(F.col("_is_return") & (F.col("unit_price") == 0),
              _set(EXCLUDED, "zero_value_return", "return of a zero-price line: nothing to refund"))
        .when(F.col("_is_return") & (F.col("_category") != "product"), _set(
            QUARANTINED, "return_of_charge", F.concat(
                F.lit("return of a "), F.col("_category"), F.lit(" row ("), F.col("sku_id"),
                F.lit("): a refund must name an order line, and charges are not lines"))))
        .when(F.col("_is_return"), _set(REFUND, "return", "pending match"))
        .when(F.col("quantity") < 0, _set(
            EXCLUDED if rules.other_negative_quantity == "exclude" else QUARANTINED, "other_negative_quantity",
            "negative quantity on a row that is not a return (stock adjustment)"))
        .when(F.lit(rules.zero_price == "exclude") & (F.col("unit_price") == 0),
              _set(EXCLUDED, "zero_price", "zero unit price (excluded by the mapping's rules.zero_price)"))
        .when(F.col("_category") == "shipping", _set(SHIPPING, "shipping", ""))
        .when(F.col("_category") == "discount", _set(DISCOUNT, "discount", ""))
        .otherwise(_set(LINE, "line", ""))
    )
    df = (
        df.withColumn("_k", kind)
        .withColumn("_outcome", F.col("_k.outcome")).withColumn("_reason_code", F.col("_k.code"))
        .withColumn("_reason", F.nullif(F.col("_k.reason"), F.lit(""))).drop("_k", "_first_copy")
        .withColumn("_amount", amount)
    )
    df = _with_order_checks(df)
    df = _with_line_ids(df)
    return _with_refund_matches(df, mapping=mapping)


def _with_order_checks(df: DataFrame) -> DataFrame:
    """Order-level checks on sale rows: one currency per order; charges need an order line to share into;
    discounts may not exceed goods plus shipping (so every payable is >= 0)."""
    sale = F.col("_outcome").isin(LINE, SHIPPING, DISCOUNT)
    order = Window.partitionBy("order_id")

    def order_sum(outcome: str) -> Column:
        return F.sum(F.when(sale & (F.col("_outcome") == outcome), F.col("_amount"))).over(order)

    currencies = F.size(F.collect_set(F.when(sale, F.col("currency"))).over(order))
    has_lines = F.max(sale & (F.col("_outcome") == LINE)).over(order)
    goods, shipping, discount = order_sum(LINE), order_sum(SHIPPING), order_sum(DISCOUNT)
    reason = (
        F.when(sale & (currencies > 1), F.struct(F.lit("mixed_currency").alias("c"), F.concat(
            F.lit("order "), F.col("order_id"), F.lit(" has rows in more than one currency")).alias("r")))
        .when(sale & (F.col("_outcome") != LINE) & ~has_lines, F.struct(
            F.lit("charge_without_lines").alias("c"), F.concat(
                F.lit("order "), F.col("order_id"), F.lit(" has a "), F.col("_category"), F.lit(" row ("),
                F.col("sku_id"), F.lit(") but no product lines to share it")).alias("r")))
        .when(sale & (F.col("_outcome") == DISCOUNT) & (discount > F.coalesce(goods, F.lit(0)) + F.coalesce(
            shipping, F.lit(0))), F.struct(F.lit("discount_exceeds_order").alias("c"), F.concat(
                F.lit("order "), F.col("order_id"), F.lit(" discounts "), discount.cast("string"),
                F.lit(" exceed its goods and shipping")).alias("r")))
    )
    return (
        df.withColumn("_chk", reason)
        .withColumn("_outcome", F.when(F.col("_chk").isNotNull(), F.lit(QUARANTINED)).otherwise(F.col("_outcome")))
        .withColumn("_reason_code", F.coalesce(F.col("_chk.c"), F.col("_reason_code")))
        .withColumn("_reason", F.coalesce(F.col("_chk.r"), F.col("_reason")))
        .drop("_chk")
    )


def _with_line_ids(df: DataFrame) -> DataFrame:
    """Number order lines in file order within their order: line_id = ``<order_id>-<n>``; same for the
    return rows of one return document (refund_id = ``<order_id>-R<n>``)."""
    by_file = ("_source_file", "_row_number")
    order = Window.partitionBy("order_id", "_outcome").orderBy(*by_file)
    n = F.row_number().over(order).cast("string")
    return (
        df.withColumn("_n", F.when(F.col("_outcome").isin(LINE, REFUND), n))
        .withColumn("line_id", F.when(F.col("_outcome") == LINE, F.concat_ws("-", "order_id", "_n")))
        .withColumn("refund_id", F.when(F.col("_outcome") == REFUND, F.concat(F.col("order_id"), F.lit("-R"), "_n")))
        .withColumn("line_no", F.when(F.col("_outcome") == LINE, F.col("_n").cast("int")))
        .withColumn("line_amount", F.when(F.col("_outcome") == LINE, F.col("_amount").cast(MONEY)))
        .withColumn("charge_amount", F.when(F.col("_outcome").isin(SHIPPING, DISCOUNT), F.col("_amount").cast(MONEY)))
        .drop("_n")
    )


def _with_refund_matches(df: DataFrame, *, mapping: SourceMapping) -> DataFrame:
    """Refund each return against the latest earlier (or same-time) sale line with equal ``match_on``
    fields and currency. A return with no such line, or that would refund more than what is left of
    the line it matches, is quarantined with the reason."""
    keys = mapping.returns.match_on
    lines = df.where(F.col("_outcome") == LINE).select(
        *[F.col(k).alias(f"_key_{k}") for k in keys], F.col("currency").alias("_m_currency"),
        F.col("order_id").alias("_m_order_id"), F.col("line_id").alias("_m_line_id"),
        F.col("line_no").alias("_m_line_no"), F.col("ordered_at").alias("_m_at"),
        F.col("line_amount").alias("_m_line_amount"),
    )
    returns = df.where(F.col("_outcome") == REFUND)
    others = df.where(F.col("_outcome") != REFUND)
    cond = [F.col(k) == F.col(f"_key_{k}") for k in keys] + [
        F.col("currency") == F.col("_m_currency"), F.col("_m_at") <= F.col("ordered_at")]
    ret_key = ("_source_file", "_row_number")
    best = Window.partitionBy(*ret_key).orderBy(F.col("_m_at").desc(), F.col("_m_order_id").desc(),
                                               F.col("_m_line_no").desc())
    matched = (
        returns.join(lines, on=cond, how="left")
        .withColumn("_rank", F.row_number().over(best)).where(F.col("_rank") == 1).drop("_rank")
    )
    cumulative = F.sum("_amount").over(
        Window.partitionBy("_m_line_id").orderBy("ordered_at", *ret_key)
        .rowsBetween(Window.unboundedPreceding, Window.currentRow))
    key_text = ", ".join(keys)
    no_match = F.concat(
        F.lit("return of "), F.col("sku_id"), F.lit(" on "), F.col("order_id"),
        F.lit(f": no earlier sale line in this import with the same {key_text}"),
        F.when(F.col("customer_id").isNull() & F.lit("customer_id" in keys), F.lit(" (guest return)"))
        .otherwise(F.lit("")))
    too_much = F.concat(
        F.lit("refund "), F.col("_amount").cast(MONEY).cast("string"), F.lit(" would bring the refunds of line "),
        F.col("_m_line_id"), F.lit(" above its amount "), F.col("_m_line_amount").cast("string"))
    matched = (
        matched.withColumn("_cum", F.when(F.col("_m_line_id").isNotNull(), cumulative))
        .withColumn("_fail", F.when(F.col("_m_line_id").isNull(), F.struct(F.lit("unmatched_return").alias("c"),
                                                                           no_match.alias("r")))
                    .when(F.col("_cum") > F.col("_m_line_amount"), F.struct(F.lit("refund_exceeds_line").alias("c"),
                                                                           too_much.alias("r"))))
        .withColumn("_outcome", F.when(F.col("_fail").isNotNull(), F.lit(QUARANTINED)).otherwise(F.lit(REFUND)))
        .withColumn("_reason_code", F.coalesce(F.col("_fail.c"), F.col("_reason_code")))
        .withColumn("_reason", F.col("_fail.r"))
        .withColumn("refund_id", F.when(F.col("_fail").isNull(), F.col("refund_id")))
        .withColumn("refund_amount", F.when(F.col("_fail").isNull(), F.col("_amount").cast(MONEY)))
        .withColumn("refund_order_id", F.when(F.col("_fail").isNull(), F.col("_m_order_id")))
        .withColumn("refund_line_id", F.when(F.col("_fail").isNull(), F.col("_m_line_id")))
        .select(*df.columns, "refund_amount", "refund_order_id", "refund_line_id")
    )
    nulls = [F.lit(None).cast(MONEY).alias("refund_amount"), F.lit(None).cast("string").alias("refund_order_id"),
             F.lit(None).cast("string").alias("refund_line_id")]
    return others.select("*", *nulls).unionByName(matched)


# ---------------------------------------------------------------------------------------------------
# Step 3: bronze tables (every field as text, in the landing contract's field order).


def _bronze(df: DataFrame, source: str) -> DataFrame:
    """Select ``source``'s landing fields as STRING (absent ones null) plus ``_source_file``."""
    cols = [(F.col(f) if f in df.columns else F.lit(None)).cast("string").alias(f) for f in SOURCES[source].fields]
    return df.select(*cols, F.lit(None).cast("string").alias("_corrupt_record"), "_source_file")


def to_order_events(rows: DataFrame, *, mapping: SourceMapping) -> DataFrame:
    """One order_completed event per order (sale rows grouped by order_id) with the full payload:
    product lines, discounts (one coupon per discount code, on all lines), shipping fee."""
    sale = rows.where(F.col("_outcome").isin(LINE, SHIPPING, DISCOUNT))
    first = F.min(F.struct("_source_file", "_row_number", "customer_id", "currency", "ship_country",
                           "ship_province", "ship_city"))
    line = F.when(F.col("_outcome") == LINE, F.struct(
        F.col("line_no"), F.col("line_id"), F.col("product_id"), F.col("sku_id"), F.col("quantity"),
        F.col("unit_price"), F.lit(0).cast(MONEY).alias("item_discount")))
    orders = sale.groupBy("order_id").agg(
        first.alias("_f"),
        F.min("ordered_at").alias("_at"),
        F.sort_array(F.collect_list(line)).alias("_lines"),
        F.coalesce(F.sum(F.when(F.col("_outcome") == SHIPPING, F.col("charge_amount"))), F.lit(0)).cast(MONEY)
        .alias("_shipping"),
        F.coalesce(F.sum("line_amount"), F.lit(0)).cast(MONEY).alias("_goods"),
    )
    discounts = (
        sale.where(F.col("_outcome") == DISCOUNT)
        .groupBy("order_id", "sku_id").agg(F.sum("charge_amount").cast(MONEY).alias("amount"))
        .groupBy("order_id").agg(F.sort_array(F.collect_list(F.struct(
            F.concat(F.lit(f"{mapping.name}:"), F.col("sku_id")).alias("promotion_id"),
            F.lit("coupon").alias("discount_type"), F.col("amount")))).alias("_discounts"))
    )
    p = mapping.constants.platform
    orders = orders.join(discounts, "order_id", "left").select(
        F.concat(F.lit(f"{p.platform_id}:"), F.col("order_id"), F.lit(":order_completed")).alias("event_id"),
        F.lit("order_completed").alias("event_type"),
        utc_text(F.col("_at")).alias("event_at"),
        F.lit(p.platform_id).alias("platform_id"),
        "order_id",
        F.lit(mapping.constants.shop.shop_id).alias("shop_id"),
        F.col("_f.customer_id").alias("customer_id"),
        F.col("_f.currency").alias("currency"),
        F.lit("completed").alias("order_status"),
        F.to_json(F.transform("_lines", lambda x: x.dropFields("line_no"))).alias("lines"),
        F.to_json(F.transform(F.coalesce("_discounts", F.array().cast(
            "array<struct<promotion_id:string,discount_type:string,amount:decimal(18,2)>>")),
            lambda d: d.withField("line_ids", F.transform("_lines", lambda x: x["line_id"])))).alias("order_discounts"),
        _money_text(F.col("_shipping")).alias("shipping_fee"),
        F.lit("false").alias("is_presale"),
        F.col("_f.ship_country").alias("ship_country"),
        F.col("_f.ship_province").alias("ship_province"),
        F.col("_f.ship_city").alias("ship_city"),
        F.col("_f._source_file").alias("_source_file"),
        (F.col("_goods") + F.col("_shipping") - F.coalesce(
            F.aggregate("_discounts", F.lit(0).cast(MONEY), lambda acc, d: (acc + d["amount"]).cast(MONEY)),
            F.lit(0).cast(MONEY))).cast(MONEY).alias("_payable"),
    )
    return orders


def to_payment_events(order_events: DataFrame, *, mapping: SourceMapping) -> DataFrame:
    """One full payment of each order's payable, at the order's time (the invoice was paid)."""
    c = mapping.constants
    return _bronze(order_events.select(
        F.concat_ws(":", "platform_id", "order_id", F.lit("payment")).alias("event_id"), "event_at", "platform_id", "order_id",
        F.concat(F.col("order_id"), F.lit("-P1")).alias("payment_id"), F.lit("full").alias("payment_kind"),
        _money_text(F.col("_payable")).alias("amount"), "currency",
        (F.lit(c.payment_method) if c.payment_method else F.lit(None)).alias("method"),
        F.lit(PAYMENT_STATUS).alias("status"), "_source_file",
    ), "payment_events")


def to_refund_events(rows: DataFrame, *, mapping: SourceMapping) -> DataFrame:
    """One refund event per return row, against the order line it was matched to."""
    p = mapping.constants.platform
    return _bronze(rows.where(F.col("_outcome") == REFUND).select(
        F.concat(F.lit(f"{p.platform_id}:"), F.col("refund_id"), F.lit(":refund")).alias("event_id"),
        utc_text(F.col("ordered_at")).alias("event_at"), F.lit(p.platform_id).alias("platform_id"),
        F.col("refund_order_id").alias("order_id"), "refund_id", F.col("refund_line_id").alias("line_id"),
        _money_text(F.col("refund_amount")).alias("amount"), "currency",
        F.concat(F.lit("return on "), F.col("order_id")).alias("reason"),
        F.lit(REFUND_STATUS).alias("status"), "_source_file",
    ), "refund_events")


def to_products(rows: DataFrame, *, mapping: SourceMapping) -> DataFrame:
    """One row per sku_id sold: list_price is the unit price of its latest non-zero-price sale line."""
    c = mapping.constants
    lines = rows.where(F.col("_outcome") == LINE)
    latest = F.max_by(F.struct("unit_price", "currency"), F.struct(
        (F.col("unit_price") > 0), "ordered_at", "_source_file", "_row_number"))
    return _bronze(lines.groupBy("sku_id").agg(
        F.min("product_id").alias("product_id"), latest.alias("_p"),
        F.min("ordered_at").alias("_first"), F.max("ordered_at").alias("_last"),
        F.min("_source_file").alias("_source_file"),
    ).select(
        "product_id", "sku_id", F.lit(c.brand.brand_id).alias("brand_id"),
        (F.lit(c.product_category) if c.product_category else F.lit(None)).alias("category"),
        F.when(F.col("_p.unit_price") > 0, _money_text(F.col("_p.unit_price"))).alias("list_price"),
        F.col("_p.currency").alias("currency"),
        F.date_format("_first", "yyyy-MM-dd").alias("launch_date"), utc_text(F.col("_last")).alias("updated_at"),
        "_source_file",
    ), "products")


def to_customers(rows: DataFrame, *, mapping: SourceMapping) -> DataFrame:
    """One row per known customer: country of their latest order; registered_at = first order."""
    sale = rows.where(F.col("_outcome").isin(LINE, SHIPPING, DISCOUNT) & F.col("customer_id").isNotNull())
    return _bronze(sale.groupBy("customer_id").agg(
        F.max_by("ship_country", F.struct("ordered_at", "_source_file", "_row_number")).alias("country"),
        F.max_by("ship_province", F.struct("ordered_at", "_source_file", "_row_number")).alias("province"),
        F.max_by("ship_city", F.struct("ordered_at", "_source_file", "_row_number")).alias("city"),
        utc_text(F.min("ordered_at")).alias("registered_at"), utc_text(F.max("ordered_at")).alias("updated_at"),
        F.min("_source_file").alias("_source_file"),
    ).withColumn("platform_id", F.lit(mapping.constants.platform.platform_id)), "customers")


def to_reference_rows(order_events: DataFrame, *, mapping: SourceMapping) -> dict[str, DataFrame]:
    """The platform, brand and shop rows the mapping's constants define (one each), versioned at the
    first order time of the import so that they exist as of every imported event."""
    c, v = mapping.constants, mapping.values
    first = order_events.agg(F.min("event_at").alias("updated_at"), F.min("_source_file").alias("_source_file"))
    const = {
        "platforms": {"platform_id": c.platform.platform_id, "name": c.platform.name, "market": c.platform.market,
                      "country": c.platform.country, "currency": c.currency or None,
                      "timezone": c.platform.timezone or v.time_zone},
        "brands": {"brand_id": c.brand.brand_id, "name": c.brand.name, "home_country": c.brand.home_country,
                   "category_focus": c.brand.category_focus or None},
        "shops": {"shop_id": c.shop.shop_id, "platform_id": c.platform.platform_id, "brand_id": c.brand.brand_id,
                  "shop_name": c.shop.shop_name, "seller_type": c.shop.seller_type, "country": c.shop.country},
    }
    out = {}
    for source, values in const.items():
        lits = [F.lit(val).cast("string").alias(k) for k, val in values.items()]
        out[source] = _bronze(first.where(F.col("updated_at").isNotNull()).select(*lits, "updated_at", "_source_file"),
                              source)
    return out


def to_order_events_bronze(order_events: DataFrame) -> DataFrame:
    return _bronze(order_events, "order_events")


IMPORT_QUARANTINE = T.StructType([T.StructField(n, t, True) for n, t in [
    ("mapping", T.StringType()), ("import_id", T.StringType()), ("source_file", T.StringType()),
    ("row_number", T.LongType()), ("raw_row", T.StringType()), ("disposition", T.StringType()),
    ("reason_code", T.StringType()), ("reason", T.StringType()),
]]
)
"""One row per source row that was not imported: quarantined (a problem) or excluded (on purpose)."""


def to_import_quarantine(rows: DataFrame, *, mapping_name: str, import_id: str) -> DataFrame:
    src_cols = [c for c in rows.columns if c.startswith("_src_")]
    raw = F.coalesce(F.col("_corrupt_record"), F.to_json(F.struct(*[
        F.col(c).alias(c[len("_src_"):]) for c in src_cols])))
    return rows.where(F.col("_outcome").isin(QUARANTINED, EXCLUDED)).select(
        F.lit(mapping_name).alias("mapping"), F.lit(import_id).alias("import_id"),
        F.col("_source_file").alias("source_file"), F.col("_row_number").cast("long").alias("row_number"),
        raw.alias("raw_row"), F.col("_outcome").alias("disposition"),
        F.col("_reason_code").alias("reason_code"), F.col("_reason").alias("reason"),
    )


def with_bronze_metadata(df: DataFrame, *, ingested_at: Column, run_id: str) -> DataFrame:
    """Add the bronze bookkeeping columns; imports do not arrive in landing batches (``_landing_batch`` null)."""
    return df.select("*", F.lit(None).cast("int").alias("_landing_batch"),
                     ingested_at.cast("timestamp").alias("_ingested_at"), F.lit(run_id).alias("_run_id"))


def to_output_tallies(rows: DataFrame) -> DataFrame:
    """One row from the classified rows (column ``_outcome``): distinct ``orders`` and ``customers`` with a
    sale row (line, shipping or discount) and distinct ``products`` (skus) on lines: the grains the bronze
    tables get, in one pass."""
    sale = F.col("_outcome").isin(LINE, SHIPPING, DISCOUNT)
    return rows.agg(
        F.count_distinct(F.when(sale, F.col("order_id"))).alias("orders"),
        F.count_distinct(F.when(sale, F.col("customer_id"))).alias("customers"),
        F.count_distinct(F.when(F.col("_outcome") == LINE, F.col("sku_id"))).alias("products"),
    )


def output_counts(tallies: Mapping[str, int], *, refunds: int) -> dict[str, int]:
    """Rows each bronze table of an import gets, from ``to_output_tallies``' row and the refund rows: an
    order and a payment event per order; one platform, brand and shop when anything was imported."""
    orders = int(tallies["orders"])
    one = 1 if orders else 0
    return {"order_events": orders, "payment_events": orders, "refund_events": refunds,
            "customers": int(tallies["customers"]), "products": int(tallies["products"]),
            "platforms": one, "brands": one, "shops": one}
