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
        ("杭州市 西湖区 文三路88号", "杭州西湖区文三路88号"),      # 市 dropped, no spaces between CJK
        ("Hauptstr. 12, Whg. 5", "hauptstrasse 12 wohnung 5"),
        ("HAUPTSTRASSE 12 WOHNUNG 5", "hauptstrasse 12 wohnung 5"),
        ("3 rue Pasteur, appt 7", "3 rue pasteur appartement 7"),
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


def test_every_generator_spelling_style_of_a_phone_and_an_address_normalizes_to_one_value(spark):
    """The generator writes one phone and one address in 5 styles each (docs/generator.md); silver's
    normalization must map all 5 to one value, or matching on the keyed hashes misses the person."""
    from brandlake.synthetic.people import format_address, format_phone

    people = [  # country, phone digits, region (province, city, prefix), street, district
        ("CN", "13800138000", ("Zhejiang", "Hangzhou", "浙江省杭州市"), "文三路", "西湖区"),
        ("US", "2125550100", ("California", "Los Angeles", ""), "Main", ""),
        ("DE", "3012345678", ("Bayern", "München", ""), "Haupt", ""),
        ("GB", "2071234567", ("England", "London", ""), "High", ""),
        ("JP", "3123456789", ("Osaka", "Osaka", "大阪府大阪市"), "北区梅田", ""),
        ("FR", "6123456789", ("", "Paris", ""), "Pasteur", ""),
    ]
    expected_by_country = {
        "CN": ("+8613800138000", "浙江杭州西湖区文三路12号3栋1501室"),
        "US": ("+12125550100", "12 main street apartment 1501 los angeles california"),
        "DE": ("+493012345678", "hauptstrasse 12 wohnung 1501 münchen"),
        "GB": ("+442071234567", "flat 1501 12 high road london"),
        "JP": ("+813123456789", "大阪府大阪北区梅田12 3 1501"),
        "FR": ("+336123456789", "12 rue pasteur appartement 1501 paris"),
    }
    rows = [(c, d, r, st, di, v) for c, d, r, st, di in people for v in range(5)]
    df = spark.createDataFrame(rows, "country string, digits string, "
                               "region struct<province:string, city:string, prefix:string>, street string, "
                               "district string, variant int")
    c = F.col("country")
    styled = df.select(
        "country", "variant",
        format_phone(F.col("digits"), c, F.col("variant")).alias("phone"),
        format_address(c, F.col("region"), F.col("street"), F.col("district"), F.lit(12), F.lit(3), F.lit(1501),
                       F.col("variant")).alias("address"),
    )
    actual = styled.select("country", "variant", normalize_phone(F.col("phone"), c).alias("phone"),
                           normalize_address(F.col("address")).alias("address"))
    expected = spark.createDataFrame(
        [(c, v, *expected_by_country[c]) for c, *_ in people for v in range(5)],
        "country string, variant int, phone string, address string")
    assert_df_equality(actual, expected, ignore_nullable=True, ignore_row_order=True)
