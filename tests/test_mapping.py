"""Source mappings: validation before any data is read, and the pure transforms that parse and classify rows."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from brandlake.transforms import mapping as tm
from chispa import assert_df_equality
from pyspark.sql import types as T

from brandlake.mappings import MappingError, load_mapping, parse_mapping

ROOT = Path(__file__).resolve().parents[1]
SHOP = ROOT / "tests" / "data" / "mappings" / "shop_export.yaml"
ONLINE_RETAIL = ROOT / "conf" / "sources" / "online_retail_ii.yaml"

MINIMAL = """
name: tiny
description: minimal valid mapping
file: {format: csv}
columns: {order_id: o, sku_id: s, quantity: q, unit_price: p, ordered_at: t}
values: {timestamp_format: "yyyy-MM-dd", time_zone: UTC}
constants:
  currency: EUR
  platform: {platform_id: p, name: P, market: domestic, country: DE}
  brand: {brand_id: b, name: B, home_country: DE}
  shop: {shop_id: s, shop_name: S, seller_type: brand, country: DE}
returns: {marked_by: negative_quantity, match_on: [order_id, sku_id]}
"""


def test_minimal_mapping_is_valid_and_fills_defaults():
    m = parse_mapping(MINIMAL)
    assert (m.file.delimiter, m.file.header, m.rules.duplicates, m.non_product_codes.shipping) == (",", True, "keep", ())


def test_unknown_key_is_rejected_naming_the_key():
    text = MINIMAL.replace("file: {format: csv}", "file: {format: csv, seperator: ';'}")
    with pytest.raises(MappingError) as e:
        parse_mapping(text, origin="tiny.yaml")
    assert str(e.value) == (
        "mapping tiny.yaml: unknown key(s) 'file.seperator'; expected some of "
        "['delimiter', 'encoding', 'escape', 'format', 'header', 'quote']"
    )


def test_missing_required_target_fields_are_all_named():
    text = MINIMAL.replace("columns: {order_id: o, sku_id: s,", "columns: {colour: c,")
    with pytest.raises(MappingError) as e:
        parse_mapping(text, origin="tiny.yaml")
    assert str(e.value) == (
        "mapping tiny.yaml: unknown target field(s) 'columns.colour'; expected some of ['order_id', 'sku_id', "
        "'quantity', 'unit_price', 'ordered_at', 'customer_id', 'currency', 'status', 'product_id', "
        "'ship_country', 'ship_province', 'ship_city']; "
        "missing required target field(s) 'columns.order_id', 'columns.sku_id'"
    )


def test_bad_enum_value_is_rejected_with_the_allowed_values():
    text = MINIMAL.replace("marked_by: negative_quantity", "marked_by: minus_sign")
    with pytest.raises(MappingError) as e:
        parse_mapping(text, origin="tiny.yaml")
    assert str(e.value) == (
        "mapping tiny.yaml: key 'returns.marked_by' must be one of "
        "['negative_quantity', 'order_id_prefix', 'status_value'], found 'minus_sign'"
    )


def test_inconsistent_rules_are_all_reported_before_reading_data():
    text = (MINIMAL.replace("marked_by: negative_quantity", "marked_by: status_value")
            .replace("time_zone: UTC", "time_zone: Mars/Olympus"))
    with pytest.raises(MappingError) as e:
        parse_mapping(text, origin="tiny.yaml")
    assert str(e.value) == (
        "mapping tiny.yaml: key 'values.time_zone' must be an IANA time zone (e.g. Europe/London), found "
        "'Mars/Olympus'; key 'columns.status' is required when returns.marked_by is status_value; "
        "key 'returns.status_values' is required when returns.marked_by is status_value"
    )


def test_currency_and_countries_must_be_iso_codes_and_country_maps_must_resolve():
    text = (MINIMAL.replace("currency: EUR", "currency: EUX").replace("home_country: DE", "home_country: XX")
            + 'value_maps:\n  ship_country: {EIRE: IE, Holland: Netherlands, Utopia: Nowhere, Unknown: ""}\n')
    with pytest.raises(MappingError) as e:
        parse_mapping(text, origin="tiny.yaml")
    assert str(e.value) == (
        "mapping tiny.yaml: key 'constants.currency' must be an ISO 4217 currency code (e.g. GBP) when "
        "'columns.currency' is not mapped, found 'EUX'; key 'constants.brand.home_country' must be an ISO 3166 "
        "alpha-2 country code (e.g. GB), found 'XX'; key 'value_maps.ship_country' maps 'Utopia' to 'Nowhere', "
        'which is no ISO 3166 country; map it to a country code (e.g. IE) or to "" for unknown'
    )


def test_shipped_mappings_are_valid():
    assert load_mapping(ONLINE_RETAIL).name == "online_retail_ii"
    assert load_mapping(SHOP).file.encoding == "ISO-8859-1"


# ---------------------------------------------------------------------------------------------------
# Transforms

SHOP_COLUMNS = ["Bestellnr", "Artikel", "Menge", "Einzelpreis", "Datum", "Kunde", "Land", "Währung", "Status"]


def _raw(spark, columns, rows):
    schema = T.StructType([T.StructField(c, T.StringType(), True) for c in columns] + [
        T.StructField("_corrupt_record", T.StringType(), True), T.StructField("_source_file", T.StringType(), True),
        T.StructField("_row_number", T.LongType(), True)])
    return spark.createDataFrame([(*r, None, "f.csv", i) for i, r in enumerate(rows, start=1)], schema)


def test_values_parse_in_the_exports_notation_and_bad_ones_are_named(spark):
    raw = _raw(spark, SHOP_COLUMNS, [
        ("A-1", "SKU-1", "2", "1.234,50", "15/03/2024 10:30", "K1", "Deutschland", "eur", "bezahlt"),
        ("A-2", "SKU-1", "1", "0,125", "01/04/2024 00:30", "N/A", "Schweiz", "CHF", "ERSTATTET"),
        ("A-3", "SKU-2", "zwei", "3,5x", "31/02/2024 08:00", " ", None, "Euro", "BEZAHLT"),
        ("A-4", "SKU-2", "1", "3,50", "17/03/2024 08:00", "K2", "Unbekannt", "CHF", "BEZAHLT"),  # mapped to ""
        # an English name resolves through ISO 3166 without a value map; 3 letters are no ISO 4217 currency
        ("A-5", "SKU-2", "1", "3,50", "17/03/2024 08:00", "K2", " austria ", "XYZ", "BEZAHLT"),
        ("A-6", "SKU-2", "1", "3,50", "17/03/2024 08:00", "K2", "Atlantis", "CHF", "BEZAHLT"),  # kept as given
    ])
    out = raw.transform(tm.with_parsed_fields, mapping=load_mapping(SHOP)).select(
        "order_id", "quantity", "unit_price", "_price_rounded", "ordered_at", "customer_id", "ship_country",
        "currency", "status", "_problem")
    schema = T.StructType([
        T.StructField("order_id", T.StringType()), T.StructField("quantity", T.IntegerType()),
        T.StructField("unit_price", tm.MONEY), T.StructField("_price_rounded", T.BooleanType()),
        T.StructField("ordered_at", T.TimestampType()), T.StructField("customer_id", T.StringType()),
        T.StructField("ship_country", T.StringType()), T.StructField("currency", T.StringType()),
        T.StructField("status", T.StringType()), T.StructField("_problem", T.StringType())])
    expected = spark.createDataFrame([
        # Berlin is UTC+1 in March and UTC+2 from 31 March: 00:30 on 1 April is 22:30 UTC on 31 March
        ("A-1", 2, Decimal("1234.50"), False, dt.datetime(2024, 3, 15, 9, 30), "K1", "DE", "EUR", "BEZAHLT", None),
        ("A-2", 1, Decimal("0.13"), True, dt.datetime(2024, 3, 31, 22, 30), None, "CH", "CHF", "ERSTATTET", None),
        ("A-3", None, None, None, None, None, None, "EURO", "BEZAHLT",
         "quantity: 'zwei' in column 'Menge' is not a whole number; "
         "unit_price: '3,5x' in column 'Einzelpreis' is not a number; "
         "ordered_at: '31/02/2024 08:00' in column 'Datum' does not match 'dd/MM/yyyy HH:mm'; "
         "currency: 'Euro' in column 'Währung' is not an ISO 4217 currency code"),
        ("A-4", 1, Decimal("3.50"), False, dt.datetime(2024, 3, 17, 7, 0), "K2", None, "CHF", "BEZAHLT", None),
        ("A-5", 1, Decimal("3.50"), False, dt.datetime(2024, 3, 17, 7, 0), "K2", "AT", "XYZ", "BEZAHLT",
         "currency: 'XYZ' in column 'Währung' is not an ISO 4217 currency code"),
        ("A-6", 1, Decimal("3.50"), False, dt.datetime(2024, 3, 17, 7, 0), "K2", "Atlantis", "CHF", "BEZAHLT", None),
    ], schema)
    assert_df_equality(out, expected, ignore_row_order=True, ignore_nullable=True)


OR_COLUMNS = ["Invoice", "StockCode", "Description", "Quantity", "InvoiceDate", "Price", "Customer ID", "Country"]


def test_every_row_gets_one_outcome_and_returns_match_the_latest_earlier_line(spark):
    raw = _raw(spark, OR_COLUMNS, [
        ("100", "85048", "LIGHTS", "12", "2009-12-01 07:45:00", "6.95", "13085.0", "United Kingdom"),
        ("100", "85048", "LIGHTS", "12", "2009-12-01 07:45:00", "6.95", "13085.0", "United Kingdom"),
        ("100", "POST", "POSTAGE", "1", "2009-12-01 07:45:00", "18.0", "13085.0", "United Kingdom"),
        ("101", "85048", "LIGHTS", "2", "2009-12-02 09:00:00", "6.95", "13085.0", "United Kingdom"),
        ("C102", "85048", "LIGHTS", "-1", "2009-12-03 10:00:00", "6.95", "13085.0", "United Kingdom"),
        ("C103", "22041", "FRAME", "-4", "2009-12-03 11:00:00", "2.10", "", "United Kingdom"),
        ("104", "21232", "", "-50", "2009-12-04 12:00:00", "0.0", "", "United Kingdom"),
        ("105", "AMAZONFEE", "AMAZON FEE", "1", "2009-12-05 12:00:00", "6706.71", "", "United Kingdom"),
    ])
    m = load_mapping(ONLINE_RETAIL)
    out = (raw.transform(tm.with_parsed_fields, mapping=m).transform(tm.with_row_outcomes, mapping=m)
           .select("_row_number", "_outcome", "_reason_code", "_reason", "line_id", "charge_amount", "refund_id",
                   "refund_order_id", "refund_line_id", "refund_amount"))
    schema = T.StructType([
        T.StructField("_row_number", T.LongType()), T.StructField("_outcome", T.StringType()),
        T.StructField("_reason_code", T.StringType()), T.StructField("_reason", T.StringType()),
        T.StructField("line_id", T.StringType()), T.StructField("charge_amount", tm.MONEY),
        T.StructField("refund_id", T.StringType()), T.StructField("refund_order_id", T.StringType()),
        T.StructField("refund_line_id", T.StringType()), T.StructField("refund_amount", tm.MONEY)])
    expected = spark.createDataFrame([
        (1, "order_line", "line", None, "100-1", None, None, None, None, None),
        (2, "excluded", "exact_duplicate", "exact duplicate of row 1 of f.csv", None, None, None, None, None, None),
        (3, "shipping_fee", "shipping", None, None, Decimal("18.00"), None, None, None, None),
        (4, "order_line", "line", None, "101-1", None, None, None, None, None),
        (5, "refund", "return", None, None, None, "C102-R1", "101", "101-1", Decimal("6.95")),
        (6, "quarantined", "unmatched_return", "return of 22041 on C103: no earlier sale line in this import with "
         "the same customer_id, sku_id (guest return)", None, None, None, None, None, None),
        (7, "excluded", "other_negative_quantity", "negative quantity on a row that is not a return "
         "(stock adjustment)", None, None, None, None, None, None),
        (8, "excluded", "non_product_code:AMAZONFEE", "non-product code AMAZONFEE: marketplace fee charged to "
         "the seller, not a customer sale", None, None, None, None, None, None),
    ], schema)
    assert_df_equality(out, expected, ignore_row_order=True, ignore_nullable=True)


def test_import_output_counts_are_the_grains_of_each_bronze_table(spark):
    # orders o1 (two lines, one sku twice), o2 (shipping only) by c1/c2; o3 only quarantined; a refund row
    rows = spark.createDataFrame([
        ("order_line", "o1", "c1", "s1"), ("order_line", "o1", "c1", "s1"), ("order_discount", "o1", "c1", None),
        ("shipping_fee", "o2", "c2", None), ("quarantined", "o3", "c3", "s9"), ("refund", "o1", "c1", "s1"),
        ("order_line", "o4", None, "s2"),   # a guest line: an order and a product, no customer
    ], "_outcome string, order_id string, customer_id string, sku_id string")
    tallies = tm.to_output_tallies(rows)
    assert_df_equality(tallies, spark.createDataFrame([(3, 2, 2)], "orders long, customers long, products long"),
                       ignore_nullable=True)
    assert tm.output_counts(tallies.first().asDict(), refunds=1) == {
        "order_events": 3, "payment_events": 3, "refund_events": 1, "customers": 2, "products": 2,
        "platforms": 1, "brands": 1, "shops": 1}
    assert tm.output_counts({"orders": 0, "customers": 0, "products": 0}, refunds=0) == {
        "order_events": 0, "payment_events": 0, "refund_events": 0, "customers": 0, "products": 0,
        "platforms": 0, "brands": 0, "shops": 0}
