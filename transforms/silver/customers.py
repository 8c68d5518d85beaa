"""Silver customers: one account per platform, PII replaced by keyed hashes plus coarse location."""

from __future__ import annotations

from brandlake.transforms.pii import address_hash, phone_hash
from brandlake.transforms.silver.common import (
    ConformContext,
    Field,
    conform_simple,
    country,
    enum,
    integer,
    is_country_code,
    redacted,
    text,
    timestamp,
)
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

S, TS, INT = T.StringType(), T.TimestampType(), T.IntegerType()

CUSTOMERS_SCHEMA = T.StructType([T.StructField(n, t, nullable) for n, t, nullable in (
    ("platform_id", S, False), ("customer_id", S, False), ("gender", S, True), ("birth_year", INT, True),
    ("country", S, True), ("province", S, True), ("city", S, True), ("phone_hash", S, True),
    ("address_hash", S, True), ("registered_at", TS, True), ("updated_at", TS, False),
)])
"""One row per platform customer account, as of its latest version. No raw phone or address:
``phone_hash``/``address_hash`` are keyed hashes (transforms.pii) of the normalized values."""

GENDERS = ("female", "male", "unknown")
GENDER_SYNONYMS = {
    "f": "female", "woman": "female", "w": "female", "女": "female", "m": "male", "man": "male",
    "男": "male", "u": "unknown", "other": "unknown", "n/a": "unknown", "未知": "unknown",
}


def conform_customers(bronze: DataFrame, *, ctx: ConformContext) -> DataFrame:
    """A phone without a country code gets the customer's country calling code before hashing; a
    phone or address that cannot be normalized is tagged ``cast:phone_hash`` / ``cast:address_hash``."""
    raw_country = country(F.col("country"))
    fields = [
        Field("platform_id"), Field("customer_id"),
        Field("gender", enum(GENDER_SYNONYMS), allowed=GENDERS),
        Field("birth_year", integer),
        Field("country", country, valid=is_country_code),
        Field("province", text), Field("city", text),
        # the keyed hashes that replaced the raw values in _raw (``redact`` below), computed once
        Field("phone_hash", lambda _: redacted("phone"), src="phone", pii=True),
        Field("address_hash", lambda _: redacted("address"), src="address", pii=True),
        Field("registered_at", timestamp),
        Field("updated_at", timestamp),
    ]
    redact = {
        "phone": lambda c: phone_hash(c, raw_country, ctx.pii_key),
        "address": lambda c: address_hash(c, ctx.pii_key),
    }
    return conform_simple(bronze, source="customers", fields=fields, schema=CUSTOMERS_SCHEMA, redact=redact)
