"""Silver customers (PII-safe) and reference data conformed from bronze snapshots."""

from __future__ import annotations

import hashlib
import hmac
import json

from brandlake.transforms.silver.catalog import (
    INVENTORY_SCHEMA,
    PLATFORMS_SCHEMA,
    conform_inventory,
    conform_platforms,
)
from brandlake.transforms.silver.customers import CUSTOMERS_SCHEMA, conform_customers
from brandlake.transforms.silver.registry import SILVER_TABLES
from chispa import assert_df_equality

from tests.silver.bronze import CTX, PII_KEY, bronze, d, expected, ts


def h(text: str) -> str:
    return hmac.new(PII_KEY.encode(), text.encode(), hashlib.sha256).hexdigest()


def test_customers_keep_hashes_and_coarse_location_but_no_raw_phone_or_address(spark):
    rows = [
        {"platform_id": "tmall", "customer_id": "C1", "gender": "女", "birth_year": "1990", "country": "CN",
         "province": "Zhejiang", "city": "Hangzhou", "phone": "138 0013 8000", "address": "88 Wensan Rd.",
         "registered_at": "2023-05-01T08:00:00+08:00", "updated_at": "2024-01-01T00:00:00Z"},
        {"platform_id": "jd", "customer_id": "C9", "gender": "F", "birth_year": "1990.0", "country": "china",
         "phone": "+86-138-0013-8000", "address": "８８ ＷＥＮＳＡＮ ＲＯＡＤ", "updated_at": "2024-01-02T00:00:00Z"},
        {"platform_id": "amazon_us", "customer_id": "C2", "gender": "nonbinary", "birth_year": "19x0",
         "country": "US", "phone": "555", "updated_at": "2024-01-03T00:00:00Z"},
        {"_corrupt_record": "not json"},
    ]
    actual = conform_customers(bronze(spark, "customers", rows), ctx=CTX)
    exp = expected(spark, CUSTOMERS_SCHEMA, [
        ("tmall", "C1", "female", 1990, "CN", "Zhejiang", "Hangzhou", h("+8613800138000"),
         h("88 wensan road"), ts("2023-05-01T00:00:00"), ts("2024-01-01T00:00:00"), []),
        ("jd", "C9", "female", 1990, "CN", None, None, h("+8613800138000"), h("88 wensan road"), None,
         ts("2024-01-02T00:00:00"), []),
        ("amazon_us", "C2", None, None, "US", None, None, None, None, None, ts("2024-01-03T00:00:00"),
         ["unknown:gender 'nonbinary'", "cast:birth_year '19x0'", "cast:phone_hash"]),  # PII: no value
        (None, None, None, None, None, None, None, None, None, None, None, ["corrupt_record"]),
    ])
    assert_df_equality(actual.drop("_raw"), exp, ignore_nullable=True, ignore_row_order=True)
    raws = [json.loads(r["_raw"]) for r in actual.where("customer_id = 'C1'").select("_raw").collect()]
    assert raws == [{**raws[0], "phone": h("+8613800138000"), "address": h("88 wensan road"), "city": "Hangzhou"}]


def test_platforms_tag_unknown_time_zone_and_market_synonyms(spark):
    rows = [
        {"platform_id": "tmall", "name": "Tmall", "market": "Domestic", "country": "CN", "currency": "CNY",
         "timezone": "Asia/Shanghai", "updated_at": "2024-01-01T00:00:00Z"},
        {"platform_id": "lazada", "name": "Lazada", "market": "Cross-Border", "country": "SG", "currency": "SGD",
         "timezone": "Mars/Olympus", "updated_at": "2024-01-01T00:00:00Z"},
    ]
    actual = conform_platforms(bronze(spark, "platforms", rows), ctx=CTX)
    exp = expected(spark, PLATFORMS_SCHEMA, [
        ("tmall", "Tmall", "domestic", "CN", "CNY", "Asia/Shanghai", ts("2024-01-01T00:00:00"), []),
        ("lazada", "Lazada", "cross_border", "SG", "SGD", "Mars/Olympus", ts("2024-01-01T00:00:00"),
         ["invalid:timezone 'Mars/Olympus'"]),
    ])
    assert_df_equality(actual.drop("_raw"), exp, ignore_nullable=True, ignore_row_order=True)


def test_inventory_types_counts_and_versions_by_ingestion_time(spark):
    rows = [
        {"snapshot_date": "2024-01-31", "warehouse_id": "W1", "sku_id": "S1", "on_hand": "10", "reserved": "3",
         "inbound": ""},
        {"snapshot_date": "31/01/2024", "warehouse_id": "W1", "sku_id": "S2", "on_hand": "2.5", "reserved": "0",
         "inbound": "4"},
    ]
    actual = conform_inventory(bronze(spark, "inventory", rows), ctx=CTX)
    exp = expected(spark, INVENTORY_SCHEMA, [
        (d("2024-01-31"), "W1", "S1", 10, 3, None, 7, ts("2024-03-01T00:00:00"), []),
        (None, "W1", "S2", None, 0, 4, None, ts("2024-03-01T00:00:00"), ["cast:snapshot_date '31/01/2024'", "cast:on_hand '2.5'"]),
    ])
    assert_df_equality(actual.drop("_raw"), exp, ignore_nullable=True, ignore_row_order=True)


def test_every_silver_table_conforms_to_its_schema_plus_technical_columns(spark):
    problems = []
    for t in SILVER_TABLES.values():
        out = t.conform(bronze(spark, t.bronze, []), ctx=CTX)
        want = [(f.name, f.dataType) for f in t.schema.fields] + [
            ("_errors", out.schema["_errors"].dataType), ("_raw", out.schema["_raw"].dataType),
            ("_ingested_at", out.schema["_ingested_at"].dataType)]
        got = [(f.name, f.dataType) for f in out.schema.fields]
        if got != want or str(out.schema["_errors"].dataType) != "ArrayType(StringType(), True)":
            problems.append((t.name, "columns", got))
        if not set(t.keys) <= set(t.schema.fieldNames()):
            problems.append((t.name, "keys", t.keys))
        if str(t.schema[t.version_col].dataType) != "TimestampType()":
            problems.append((t.name, "version_col", t.version_col))
    assert problems == []
