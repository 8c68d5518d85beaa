"""Country and currency codes against ISO 3166 / ISO 4217 (pycountry), as literal lookups in the plan."""

from __future__ import annotations

from brandlake.transforms import iso
from brandlake.transforms.silver.common import country, currency, is_country_code, is_currency_code
from chispa import assert_df_equality
from pyspark.sql import functions as F


def test_names_codes_and_aliases_resolve_to_iso_alpha_2_and_only_real_codes_pass(spark):
    df = spark.createDataFrame([
        ("china", "rmb"), (" Viet  Nam ", "usd"), ("KOR", "EUR"), ("South Korea", "XYZ"), ("UK", "¥"),
        ("EIRE", "GBP"), ("XX", "US Dollar"), ("Atlantis", None), (None, " "),
    ], "raw_country string, raw_currency string")
    actual = df.select(
        "raw_country", country(F.col("raw_country")).alias("country"),
        is_country_code(country(F.col("raw_country"))).alias("is_country"),
        "raw_currency", currency(F.col("raw_currency")).alias("currency"),
        is_currency_code(currency(F.col("raw_currency"))).alias("is_currency"),
    )
    expected = spark.createDataFrame([
        ("china", "CN", True, "rmb", "CNY", True),
        (" Viet  Nam ", "VN", True, "usd", "USD", True),
        ("KOR", "KR", True, "EUR", "EUR", True),
        ("South Korea", "KR", True, "XYZ", "XYZ", False),       # three capital letters are not enough
        ("UK", "GB", True, "¥", "CNY", True),                   # spellings no standard knows: aliases
        ("EIRE", "IE", True, "GBP", "GBP", True),
        ("XX", "XX", False, "US Dollar", "US DOLLAR", False),   # two capital letters are not enough either
        ("Atlantis", "ATLANTIS", False, None, None, None),
        (None, None, None, " ", None, None),
    ], "raw_country string, country string, is_country boolean, raw_currency string, currency string, "
       "is_currency boolean")
    assert_df_equality(actual, expected, ignore_row_order=True, ignore_nullable=True)


def test_python_lookup_matches_the_column_lookup_and_uses_aliases_only_when_given():
    assert [iso.lookup_country(n) for n in ("United Kingdom", "usa", "Czech Republic", "EIRE", "XX")] == [
        "GB", "US", "CZ", None, None]
    assert iso.lookup_country("EIRE", aliases={"Eire": "IE"}) == "IE"
    assert {"GBP", "CNY", "XAU"} <= iso.CURRENCY_CODES and "XYZ" not in iso.CURRENCY_CODES
    assert len(iso.COUNTRY_CODES) == 249
