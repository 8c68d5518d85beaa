"""PII normalization and keyed hashing (transforms/pii.py)."""

from __future__ import annotations

import hashlib
import hmac

from brandlake.transforms.pii import keyed_hash, normalize_address, normalize_phone
from chispa import assert_df_equality
from pyspark.sql import functions as F

KEY = "k3y"


def test_normalize_phone_handles_prefixes_separators_full_width_and_missing_country_code(spark):
    rows = [
        ("+86 138-0013-8000", "CN", "+8613800138000"),
        ("0086 (138) 0013.8000", "CN", "+8613800138000"),
        ("86 138 0013 8000", "CN", "+8613800138000"),
        ("１３８００１３８０００", "CN", "+8613800138000"),   # full-width digits, national number
        ("(010) 6552-1234", "CN", "+861065521234"),          # trunk 0 dropped
        ("212.555.0100", "US", "+12125550100"),
        ("1-212-555-0100", "1", "+12125550100"),             # default given as calling-code digits
        ("138 0013 8000", None, None),                       # no country known: cannot be made E.164
        ("12", "CN", None),
        (None, "CN", None),
    ]
    df = spark.createDataFrame(rows, "phone string, country string, expected string")
    actual = df.select("phone", "country", normalize_phone(F.col("phone"), F.col("country")).alias("expected"))
    assert_df_equality(actual, df, ignore_nullable=True)


def test_normalize_address_lowercases_half_widths_expands_abbreviations_and_collapses_punctuation(spark):
    rows = [
        ("88 Wensan Rd., Apt. 5", "88 wensan road apartment 5"),
        ("８８　ＷＥＮＳＡＮ　ＲＤ，ａｐｔ ５", "88 wensan road apartment 5"),
        ("No.12 Main St #3", "number 12 main street number 3"),
        ("5th Ave,  Bldg-2, Fl 3", "5th avenue building 2 floor 3"),
        ("杭州市 西湖区 文三路88号", "杭州市 西湖区 文三路88号"),
        (" ,. ", None),
    ]
    df = spark.createDataFrame(rows, "address string, expected string")
    actual = df.select("address", normalize_address(F.col("address")).alias("expected"))
    assert_df_equality(actual, df, ignore_nullable=True)


def test_keyed_hash_is_hmac_sha256_and_null_safe(spark):
    values = ["+8613800138000", "杭州", "", None]
    ref = [(v, hmac.new(KEY.encode(), v.encode(), hashlib.sha256).hexdigest() if v is not None else None)
           for v in values]
    df = spark.createDataFrame(ref, "value string, expected string")
    actual = df.select("value", keyed_hash(F.col("value"), KEY).alias("expected"))
    assert_df_equality(actual, df, ignore_nullable=True)


def test_same_person_formatted_differently_hashes_equal(spark):
    person = hmac.new(KEY.encode(), b"+8613800138000", hashlib.sha256).hexdigest()
    other = hmac.new(KEY.encode(), b"+8613800138001", hashlib.sha256).hexdigest()
    rows = [("+86 138 0013 8000", "CN", person), ("13800138000", "CN", person),
            ("008613800138000", "CN", person), ("８６－１３８－００１３－８０００", "CN", person),
            ("13800138001", "CN", other)]
    df = spark.createDataFrame(rows, "phone string, country string, expected string")
    actual = df.select("phone", "country",
                       keyed_hash(normalize_phone(F.col("phone"), F.col("country")), KEY).alias("expected"))
    assert_df_equality(actual, df, ignore_nullable=True)
