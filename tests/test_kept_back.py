"""What a run keeps back is said in one line, crosses configured limits loudly (exit 3), carries a reason
per column, and never loses a corrupt record to deduplication."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from brandlake.expectations.gate import FAILED_RULES, with_reasons
from brandlake.transforms.dedupe import IS_EXACT_DUP, with_dedupe_flags
from brandlake.transforms.mapping import ship_country
from chispa import assert_df_equality
from pyspark.sql import functions as F
from pyspark.sql import types as T

from brandlake.cli import failure_line
from brandlake.config import HoldBackConfig, HoldBackLimits
from brandlake.errors import DataHeldBackError, exit_code_of
from brandlake.keptback import add_reasons, breaches, kept_back_line, raise_if_held_back
from brandlake.summary import RunSummary


def summary_with(tables: dict, reasons: dict | None = None, mismatches: int = 0) -> RunSummary:
    s = RunSummary(run_id="r", command="x", env="test")
    for table, counts in tables.items():
        s.add_counts(table, **counts)
    for table, r in (reasons or {}).items():
        add_reasons(s, table, r)
    if mismatches:
        s.details["gold"] = {"reconciliation_mismatches": mismatches}
    return s


def test_kept_back_line_names_each_table_its_figures_and_top_reasons():
    s = summary_with(
        {"bronze.payment_events": {"rows_read": 10, "rows_written": 10, "rows_corrupt": 2, "files_quarantined": 1},
         "silver.orders": {"rows_read": 50, "rows_written": 45, "rows_quarantined": 5},
         "silver.brands": {"rows_read": 3, "rows_written": 3, "rows_quarantined": 0}},
        {"bronze.payment_events": {"corrupt_record": 2, "not_text": 1},
         "silver.orders": {"invalid:ship_country": 3, "cast:amount": 1, "missing:order_id": 1, "unique_grain": 1}},
        mismatches=2,
    )
    assert kept_back_line(s) == (
        "kept back: bronze.payment_events: 1 file(s) quarantined, 2 corrupt row(s) (corrupt_record 2, not_text 1); "
        "silver.orders: 5 of 50 row(s) quarantined (invalid:ship_country 3, cast:amount 1, missing:order_id 1, "
        "+1 more); gold: 2 reconciliation mismatch(es)"
    )
    assert kept_back_line(summary_with({"silver.brands": {"rows_read": 3, "rows_written": 3}})) == "kept back: nothing"


def test_import_file_mostly_quarantined_crosses_the_default_limit_and_exits_3():
    s = summary_with({
        "import.shop[good.csv]": {"rows_read": 100, "rows_quarantined": 1},
        "import.shop[bad_timestamps.csv]": {"rows_read": 2000, "rows_quarantined": 2000},
        "import.shop": {"rows_read": 2100, "rows_quarantined": 2001},
    })
    assert breaches(s, HoldBackConfig()) == [
        "import.shop: 2001 of 2100 row(s) kept back (95%, limit 50%)",
        "import.shop[bad_timestamps.csv]: 2000 of 2000 row(s) kept back (100%, limit 50%)",
    ]
    # a table's own limit wins over the default
    own = HoldBackConfig(tables={"import.shop[good.csv]": HoldBackLimits(max_quarantined_share=0.0)})
    assert "import.shop[good.csv]: 1 of 100 row(s) kept back (1%, limit 0%)" in breaches(s, own)
    with pytest.raises(DataHeldBackError, match=r"run kept back more than configured: import.shop: 2001") as e:
        raise_if_held_back(s, HoldBackConfig())
    assert exit_code_of(e.value) == 3
    # the terminal line says the data was held back, not that the run failed: its tables are written
    e.value.brandlake_log = "/lake/_runs/r1.log"
    assert failure_line("import", e.value) == (
        "brandlake import held data back (tables written, exit 3): " + str(e.value)
        + " (details in /lake/_runs/r1.log)")


def test_quarantined_files_and_mismatches_cross_their_limits():
    s = summary_with({"bronze.fx_rates": {"rows_read": 4, "files_quarantined": 1}}, mismatches=3)
    assert breaches(s, HoldBackConfig(max_files_quarantined=1, max_mismatches=5)) == []
    # by default mismatches are reported but never fail a run; a configured number does
    assert breaches(s, HoldBackConfig()) == [
        "1 landing file(s) quarantined (limit hold_back.max_files_quarantined=0); see _landing_quarantine and "
        "`brandlake replay-landing`",
    ]
    assert breaches(s, HoldBackConfig(max_files_quarantined=1, max_mismatches=0)) == [
        "gold: 3 reconciliation mismatch(es) (limit 0); see gold settlement_mismatches",
    ]


def test_reasons_name_the_column_and_the_delivered_value(spark):
    schema = f"_errors array<string>, {FAILED_RULES} array<string>, _raw string"
    cases = [
        (["invalid:ship_country"], ["conform"], '{"order_id":"o1","ship_country":"European Community"}',
         ["invalid:ship_country 'European Community'"]),
        (["missing:order_id", "cast:amount"], ["conform", "not_null_order_id"], '{"amount":"12,5"}',
         ["missing:order_id", "cast:amount '12,5'", "not_null_order_id"]),
        (["corrupt_record"], ["conform"], '{"_corrupt_record":"{oops"}', ["corrupt_record"]),
        ([], ["unique_grain"], '{"order_id":"o2"}', ["unique_grain"]),
    ]
    rows = spark.createDataFrame([c[:3] for c in cases], schema)
    expected = spark.createDataFrame(cases, f"{schema}, _reasons array<string>")
    assert_df_equality(rows.transform(with_reasons), expected, ignore_row_order=True, ignore_nullable=True)


def test_identical_corrupt_lines_are_each_kept_for_the_quarantine(spark):
    t = dt.datetime(2024, 1, 1)
    rows = spark.createDataFrame([
        (None, None, ["corrupt_record"], '{"_corrupt_record":"junk"}', t),
        (None, None, ["corrupt_record"], '{"_corrupt_record":"junk"}', t),   # the same junk line twice
        ("k1", t, [], '{"k":"k1"}', t),
        ("k1", t, [], '{"k":"k1"}', t),                                     # a real duplicate delivery
    ], "k string, v timestamp, _errors array<string>, _raw string, _ingested_at timestamp")
    flagged = rows.transform(with_dedupe_flags, keys=["k"], version_col="v", columns=["k", "v"])
    actual = flagged.groupBy("k", IS_EXACT_DUP).count()
    expected = spark.createDataFrame([(None, False, 2), ("k1", False, 1), ("k1", True, 1)], actual.schema)
    assert_df_equality(actual, expected, ignore_row_order=True, ignore_nullable=True)


def test_region_that_is_no_country_is_kept_as_delivered_for_silver_to_leave_unknown_and_flag(spark):
    values = spark.createDataFrame([("European Community",), ("  channel   islands",), ("United Kingdom",),
                                    ("EU",), ("Utopia",), (None,)], "v string")
    actual = values.select("v", ship_country(F.col("v")).alias("ship_country"))
    expected = spark.createDataFrame([("European Community", "European Community"),
                                      ("  channel   islands", "  channel   islands"), ("United Kingdom", "GB"),
                                      ("EU", "EU"), ("Utopia", "Utopia"), (None, None)], actual.schema)
    assert_df_equality(actual, expected, ignore_row_order=True, ignore_nullable=True)


def test_descriptive_attribute_left_unknown_is_a_warning_and_the_row_is_published(spark):
    from brandlake.expectations import suites as S
    from brandlake.expectations.gate import gate
    from brandlake.expectations.rules import rules_from_suite

    rules = rules_from_suite(S._suite("t", S.not_null("k")))
    rows = spark.createDataFrame([
        ("k1", ["unknown:ship_country 'European Community'"], '{"ship_country":"European Community"}'),  # kept
        ("k2", ["invalid:currency", "unknown:city"], '{"currency":"$$","city":"?"}'),  # untrusted currency
        ("k3", [], "{}"),
    ], "k string, _errors array<string>, _raw string")
    result = gate(rows, table="t", rules=rules, severities={r.name: "quarantine" for r in rules}, parents={})
    try:
        assert_df_equality(result.publishable(["k"]), spark.createDataFrame([("k1",), ("k3",)], "k string"),
                           ignore_row_order=True, ignore_nullable=True)
        assert result.reason_counts() == {"quarantine": {"invalid:currency": 1, "unknown:city": 1},
                                          "warn": {"unknown:ship_country": 1}}
    finally:
        result.release()


def test_unconformable_country_is_unknown_and_flagged_while_a_bad_amount_is_quarantined_both_with_values(spark):
    from brandlake.transforms.silver.common import (
        Field,
        country,
        is_country_code,
        money,
        struct_schema,
        with_fields,
        with_unknown_attributes,
    )

    # the delivered fields are named otherwise than the silver columns (an import's or a platform's names)
    schema = struct_schema(("ship_country", T.StringType(), True), ("amount", T.DecimalType(18, 2), True))
    df = spark.createDataFrame([("European Community", "10.00"), ("CN", "abc"), ("Atlantis", None), ("DE", "1")],
                               "land string, betrag string").withColumn("_errors", F.array().cast("array<string>"))
    fields = [Field("ship_country", country, src="land", valid=is_country_code), Field("amount", money, src="betrag")]
    actual = with_fields(df, fields, schema=schema).transform(with_unknown_attributes).drop("land", "betrag")
    expected = spark.createDataFrame([
        (None, Decimal("10.00"), ["unknown:ship_country 'European Community'"],
         [("ship_country", "European Community")]),
        ("CN", None, ["cast:amount 'abc'"], None),
        (None, None, ["unknown:ship_country 'Atlantis'"], [("ship_country", "Atlantis")]),
        ("DE", Decimal("1.00"), [], None),
    ], "ship_country string, amount decimal(18,2), _errors array<string>, "
       "unknown_attributes array<struct<attribute:string,delivered_value:string>>")
    assert_df_equality(actual, expected, ignore_row_order=True, ignore_nullable=True)


def test_quarantine_reasons_quote_the_delivered_value_of_a_renamed_field(spark):
    from brandlake.expectations import suites as S
    from brandlake.expectations.gate import gate
    from brandlake.expectations.rules import rules_from_suite
    from brandlake.transforms.silver.commerce import conform_payments

    from tests.silver.bronze import CTX, bronze

    base = {"event_id": "E1", "event_at": "2024-01-02T00:00:00Z", "platform_id": "tmall", "order_id": "O1",
            "payment_id": "P1", "payment_kind": "full", "amount": "5.00", "currency": "CNY", "status": "success"}
    rows = [base, {**base, "payment_id": "P2", "event_at": "yesterday"},  # silver paid_at <- bronze event_at
            {**base, "payment_id": "P3", "amount": "12,50", "currency": "US Dollar"}]
    conformed = conform_payments(bronze(spark, "payment_events", rows), ctx=CTX)
    rules = rules_from_suite(S._suite("payments", S.not_null("payment_id")))
    result = gate(conformed, table="payments", rules=rules, severities={r.name: "quarantine" for r in rules},
                  parents={})
    at = dt.datetime(2024, 3, 2)
    try:
        actual = result.quarantined(keys=["payment_id"], run_id="run-1", at=at).select(
            "payment_id", "failed_rules", "reasons", "run_id", "quarantined_at",
            F.get_json_object("raw_record", "$.event_at").alias("raw_event_at"))
        counts = result.reason_counts()
    finally:
        result.release()
    expected = spark.createDataFrame([
        ("P2", ["conform"], ["cast:paid_at 'yesterday'"], "run-1", at, "yesterday"),
        ("P3", ["conform"], ["cast:amount '12,50'", "invalid:currency 'US Dollar'"], "run-1", at,
         "2024-01-02T00:00:00Z"),
    ], actual.schema)
    assert_df_equality(actual, expected, ignore_row_order=True, ignore_nullable=True)
    assert counts == {"quarantine": {"cast:paid_at": 1, "cast:amount": 1, "invalid:currency": 1}, "warn": {}}



def test_order_with_an_unknown_ship_to_country_keeps_its_money_in_gold_and_is_flagged_in_silver(spark, tmp_path,
                                                                                               monkeypatch):
    """§4 end to end: an unknown country name and a supranational region ("European Community", as an import
    now delivers it) cost only the attribute: the orders settle in gold, the silver rows carry the flag with
    the delivered value, and the warning is counted in dq_reasons and the run summary."""
    import json

    from brandlake import tables
    from brandlake.cli import main
    from tests.silver.bronze import bronze

    monkeypatch.setenv("BRANDLAKE_PII_KEY", "test-only-pii-key")
    root = tmp_path / "lake"

    def order(oid: str, country: str, qty: int, price: str) -> dict:
        line = {"line_id": f"{oid}-1", "product_id": "SKU-1", "sku_id": "SKU-1", "quantity": str(qty),
                "unit_price": price, "item_discount": "0.00"}
        return {"event_id": f"{oid}:c", "event_type": "order_completed", "event_at": "2024-03-15T10:00:00Z",
                "platform_id": "shop_de", "order_id": oid, "shop_id": "s1", "customer_id": "K1", "currency": "EUR",
                "order_status": "completed", "lines": json.dumps([line]), "order_discounts": "[]",
                "shipping_fee": "0", "is_presale": "false", "ship_country": country}

    def payment(oid: str, amount: str) -> dict:
        return {"event_id": f"{oid}:p", "event_at": "2024-03-15T10:00:00Z", "platform_id": "shop_de",
                "order_id": oid, "payment_id": f"{oid}-P1", "payment_kind": "full", "amount": amount,
                "currency": "EUR", "status": "success"}

    orders = [order("B-1", "Atlantis", 2, "10.00"), order("B-2", "European Community", 1, "10.00"),
              order("B-3", "Germany", 1, "5.50")]
    payments = [payment("B-1", "20.00"), payment("B-2", "10.00"), payment("B-3", "5.50")]
    for source, rows in (("order_events", orders), ("payment_events", payments)):
        bronze(spark, source, rows).write.format("delta").save(f"{root}/bronze/{source}")
    common = ["--env", "test", "--lake-root", str(root), "--set", "silver.reporting_currency=EUR",
              "--set", "dq.build_data_docs=false", "-q"]
    assert main(["silver", "--tables", "orders,order_lines,order_discounts,payments,refunds,fx_rates,products",
                 *common]) == 0
    silver_run = json.loads((root / "_runs" / "latest.json").read_text())
    assert main(["gold", *common]) == 0
    gold_run = json.loads((root / "_runs" / "latest.json").read_text())

    silver_orders = tables.read(spark, f"{root}/silver/orders").select("order_id", "ship_country", "unknown_attributes")
    flag = "array<struct<attribute:string,delivered_value:string>>"
    assert_df_equality(silver_orders, spark.createDataFrame([
        ("B-1", None, [("ship_country", "Atlantis")]),
        ("B-2", None, [("ship_country", "European Community")]),
        ("B-3", "DE", None),
    ], f"order_id string, ship_country string, unknown_attributes {flag}"), ignore_row_order=True, ignore_nullable=True)
    assert not tables.exists(spark, f"{root}/silver/orders_quarantine")

    settlement = tables.read(spark, f"{root}/gold/order_line_settlement").select(
        "order_id", "line_id", "ship_country", "settled_amount", "settled_amount_rpt")
    assert_df_equality(settlement, spark.createDataFrame([
        ("B-1", "B-1-1", None, Decimal("20.00"), Decimal("20.00")),
        ("B-2", "B-2-1", None, Decimal("10.00"), Decimal("10.00")),
        ("B-3", "B-3-1", "DE", Decimal("5.50"), Decimal("5.50")),
    ], settlement.schema), ignore_row_order=True, ignore_nullable=True)
    sales = tables.read(spark, f"{root}/gold/sales_daily").select(
        "product_id", "ship_country", "order_date", "units", "settled_amount", "orders")
    assert_df_equality(sales, spark.createDataFrame([
        ("SKU-1", None, dt.date(2024, 3, 15), 3, Decimal("30.00"), 2),
        ("SKU-1", "DE", dt.date(2024, 3, 15), 1, Decimal("5.50"), 1),
    ], sales.schema), ignore_row_order=True, ignore_nullable=True)
    assert gold_run["details"]["gold"]["reconciliation_mismatches"] == 0

    reasons = tables.read(spark, f"{root}/silver/dq_reasons").where("table_name = 'orders'").drop("run_id")
    # (no silver customers in this lake: every order's customer reference is a warning too)
    assert_df_equality(reasons, spark.createDataFrame([("orders", "warn", "unknown:ship_country", 2),
                                                       ("orders", "warn", "ref_customers", 3)], reasons.schema),
                       ignore_row_order=True, ignore_nullable=True)
    assert silver_run["details"]["warnings"] == {"silver.orders": {"ref_customers": 3, "unknown:ship_country": 2}}
    assert silver_run["details"]["kept_back"] == (
        "kept back: silver.orders: kept with warnings (ref_customers 3, unknown:ship_country 2)")


def test_import_whose_timestamp_format_matches_no_row_writes_its_quarantine_and_exits_3(spark, tmp_path):
    """§5 end to end: every row of the file is quarantined (the mapping's timestamp format is wrong), the run
    says so in its kept-back line and exits 3, the quarantine is written once, and a rerun adds nothing."""
    import json
    from pathlib import Path

    from brandlake import tables
    from brandlake.cli import main

    mapping = tmp_path / "wrong_time.yaml"
    mapping.write_text((Path(__file__).parent / "data" / "mappings" / "shop_export.yaml").read_text(
        encoding="utf-8").replace('timestamp_format: "dd/MM/yyyy HH:mm"', 'timestamp_format: "yyyy-MM-dd HH:mm"'),
        encoding="utf-8")
    export = tmp_path / "bad.csv"
    export.write_bytes(("Bestellnr;Artikel;Bezeichnung;Menge;Einzelpreis;Datum;Kunde;Land;Währung;Status\n"
                        "C-1;SKU-1;Tasse;1;2,00;15/03/2024 10:30;K1;Deutschland;EUR;BEZAHLT\n"
                        "C-2;SKU-1;Tasse;1;2,00;16/03/2024 10:30;K1;Deutschland;EUR;BEZAHLT\n").encode("iso-8859-1"))
    root = tmp_path / "lake"
    args = ["import", "--mapping", str(mapping), "--path", str(export), "--env", "test", "--lake-root", str(root),
            "-q"]
    assert main(args) == 3
    run = json.loads((root / "_runs" / "latest.json").read_text())
    assert run["status"] == "held_back"
    assert run["details"]["held_back"] == [
        "import.shop_export: 2 of 2 row(s) kept back (100%, limit 50%)",
        "import.shop_export[bad.csv]: 2 of 2 row(s) kept back (100%, limit 50%)"]
    assert run["details"]["kept_back"] == (
        "kept back: import.shop_export: 2 of 2 row(s) quarantined (unparseable 2); "
        "import.shop_export[bad.csv]: 2 of 2 row(s) quarantined")
    quarantine = tables.read(spark, f"{root}/bronze/_import_quarantine").select(
        "source_file", "row_number", "disposition", "reason_code", "reason")
    why = "ordered_at: '{}' in column 'Datum' does not match 'yyyy-MM-dd HH:mm'"
    expected = spark.createDataFrame([
        (f"file:{export}", 1, "quarantined", "unparseable", why.format("15/03/2024 10:30")),
        (f"file:{export}", 2, "quarantined", "unparseable", why.format("16/03/2024 10:30")),
    ], quarantine.schema)
    assert_df_equality(quarantine, expected, ignore_row_order=True, ignore_nullable=True)
    assert main(args) == 3  # the same import again: still said loudly, nothing written twice
    assert_df_equality(tables.read(spark, f"{root}/bronze/_import_quarantine").select(*quarantine.columns),
                       expected, ignore_row_order=True, ignore_nullable=True)


def test_a_lake_built_before_the_flag_gains_it_on_the_next_merge_and_identical_rows_stay_untouched(spark, tmp_path):
    from brandlake import tables

    path = str(tmp_path / "orders")
    flag = "array<struct<attribute:string,delivered_value:string>>"
    tables.overwrite(spark.createDataFrame([("o1", "DE", 1), ("o2", None, 1)], "order_id string, ship_country "
                                           "string, v int"), path)  # as silver wrote it before the flag
    rows = spark.createDataFrame([("o2", None, 2, [("ship_country", "Atlantis")]), ("o3", "FR", 1, None)],
                                 f"order_id string, ship_country string, v int, unknown_attributes {flag}")
    first = tables.merge_upsert(rows, path, keys=["order_id"], newer_than="v")
    again = tables.merge_upsert(rows, path, keys=["order_id"], newer_than="v")
    expected = spark.createDataFrame([("o1", "DE", 1, None), ("o2", None, 2, [("ship_country", "Atlantis")]),
                                      ("o3", "FR", 1, None)], rows.schema)
    assert_df_equality(tables.read(spark, path), expected, ignore_row_order=True, ignore_nullable=True)
    assert (first.written, first.unchanged, again.written, again.unchanged) == (2, 0, 0, 2)
