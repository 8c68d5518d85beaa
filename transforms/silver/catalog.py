"""Silver reference data: platforms, brands, products (SKUs), shops, warehouses and inventory snapshots."""

from __future__ import annotations

from brandlake.transforms.money import MONEY
from brandlake.transforms.silver.common import (
    ConformContext,
    Field,
    conform_simple,
    country,
    currency,
    date,
    enum,
    integer,
    is_country_code,
    is_currency_code,
    is_timezone,
    lower,
    money,
    struct_schema,
    text,
    timestamp,
)
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

S, TS, D, INT = T.StringType(), T.TimestampType(), T.DateType(), T.IntegerType()

PLATFORMS_SCHEMA = struct_schema(
    ("platform_id", S, False), ("name", S, True), ("market", S, False), ("country", S, True),
    ("currency", S, False), ("timezone", S, False), ("updated_at", TS, False),
)
"""One row per platform (domestic or cross-border marketplace), as of its latest version."""

BRANDS_SCHEMA = struct_schema(
    ("brand_id", S, False), ("name", S, True), ("home_country", S, True), ("category_focus", S, True),
    ("updated_at", TS, False),
)
"""One row per brand, as of its latest version."""

PRODUCTS_SCHEMA = struct_schema(
    ("sku_id", S, False), ("product_id", S, False), ("brand_id", S, False), ("category", S, True),
    ("subcategory", S, True), ("size", S, True), ("color", S, True), ("list_price_amount", MONEY, True),
    ("currency", S, True), ("launch_date", D, True), ("updated_at", TS, False),
)
"""One row per SKU (size/colour variant of a product), as of its latest version."""

SHOPS_SCHEMA = struct_schema(
    ("shop_id", S, False), ("platform_id", S, False), ("brand_id", S, True), ("shop_name", S, True),
    ("seller_type", S, False), ("country", S, True), ("updated_at", TS, False),
)
"""One row per shop (a brand's or reseller's storefront on one platform), as of its latest version."""

WAREHOUSES_SCHEMA = struct_schema(
    ("warehouse_id", S, False), ("name", S, True), ("country", S, True), ("province", S, True),
    ("city", S, True), ("capacity_units", INT, True), ("updated_at", TS, False),
)
"""One row per warehouse, as of its latest version."""

INVENTORY_SCHEMA = struct_schema(
    ("snapshot_date", D, False), ("warehouse_id", S, False), ("sku_id", S, False), ("on_hand", INT, False),
    ("reserved", INT, True), ("inbound", INT, True), ("available", INT, True), ("updated_at", TS, False),
)
"""One row per SKU per warehouse per snapshot date; ``available = on_hand − reserved``;
``updated_at`` = when the snapshot row was ingested (the export carries no version time)."""

MARKETS = ("domestic", "cross_border")
SELLER_TYPES = ("official", "reseller", "cross_border")
MARKET_SYNONYMS = {"crossborder": "cross_border", "international": "cross_border", "local": "domestic"}
SELLER_TYPE_SYNONYMS = {
    "brand": "official", "brand_official": "official", "flagship": "official", "official_store": "official",
    "self_operated": "official", "authorized_reseller": "reseller", "distributor": "reseller",
    "third_party": "reseller",
}


def conform_platforms(bronze: DataFrame, *, ctx: ConformContext) -> DataFrame:
    fields = [
        Field("platform_id"), Field("name", text),
        Field("market", enum(MARKET_SYNONYMS), allowed=MARKETS),
        Field("country", country, valid=is_country_code),
        Field("currency", currency, valid=is_currency_code),
        Field("timezone", text, valid=is_timezone),
        Field("updated_at", timestamp),
    ]
    return conform_simple(bronze, source="platforms", fields=fields, schema=PLATFORMS_SCHEMA)


def conform_brands(bronze: DataFrame, *, ctx: ConformContext) -> DataFrame:
    fields = [
        Field("brand_id"), Field("name", text),
        Field("home_country", country, valid=is_country_code),
        Field("category_focus", lower),
        Field("updated_at", timestamp),
    ]
    return conform_simple(bronze, source="brands", fields=fields, schema=BRANDS_SCHEMA)


def conform_products(bronze: DataFrame, *, ctx: ConformContext) -> DataFrame:
    fields = [
        Field("sku_id"), Field("product_id"), Field("brand_id"),
        Field("category", lower), Field("subcategory", lower),
        Field("size", lambda c: F.upper(text(c))), Field("color", lower),
        Field("list_price_amount", money, src="list_price"),
        Field("currency", currency, valid=is_currency_code),
        Field("launch_date", date),
        Field("updated_at", timestamp),
    ]
    return conform_simple(bronze, source="products", fields=fields, schema=PRODUCTS_SCHEMA)


def conform_shops(bronze: DataFrame, *, ctx: ConformContext) -> DataFrame:
    fields = [
        Field("shop_id"), Field("platform_id"), Field("brand_id"), Field("shop_name", text),
        Field("seller_type", enum(SELLER_TYPE_SYNONYMS), allowed=SELLER_TYPES),
        Field("country", country, valid=is_country_code),
        Field("updated_at", timestamp),
    ]
    return conform_simple(bronze, source="shops", fields=fields, schema=SHOPS_SCHEMA)


def conform_warehouses(bronze: DataFrame, *, ctx: ConformContext) -> DataFrame:
    fields = [
        Field("warehouse_id"), Field("name", text),
        Field("country", country, valid=is_country_code), Field("province", text), Field("city", text),
        Field("capacity_units", integer),
        Field("updated_at", timestamp),
    ]
    return conform_simple(bronze, source="warehouses", fields=fields, schema=WAREHOUSES_SCHEMA)


def conform_inventory(bronze: DataFrame, *, ctx: ConformContext) -> DataFrame:
    fields = [
        Field("snapshot_date", date), Field("warehouse_id"), Field("sku_id"),
        Field("on_hand", integer), Field("reserved", integer), Field("inbound", integer),
    ]
    derived = {
        "available": F.try_subtract(F.col("on_hand"), F.col("reserved")),
        "updated_at": F.col("_ingested_at"),
    }
    return conform_simple(bronze, source="inventory", fields=fields, schema=INVENTORY_SCHEMA, derived=derived)
