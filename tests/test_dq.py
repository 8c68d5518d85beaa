"""The data-quality gate: GX suites turned into one-pass Spark rules, severities declared beside each rule and
overridden by config, Data Docs."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from brandlake.expectations import suites as S
from brandlake.expectations.gate import (
    DQ_RESULTS,
    DataQualityError,
    RuleResult,
    gate,
    results_frame,
    severities_for,
    with_failed_rules,
)
from brandlake.expectations.rules import UnsupportedExpectationError, rules_from_suite
from brandlake.transforms.dedupe import with_dedupe_flags
from brandlake.transforms.money import MONEY
from chispa import assert_df_equality
from pyspark.sql import functions as F
from pyspark.sql import types as T

from brandlake.config import ConfigError, DqConfig, load_config

LINES = T.StructType([
    T.StructField("order_id", T.StringType()),
    T.StructField("line_id", T.StringType()),
    T.StructField("quantity", T.IntegerType()),
    T.StructField("amount", MONEY),
    T.StructField("list_amount", MONEY),
    T.StructField("status", T.StringType()),
    T.StructField("currency", T.StringType()),
    T.StructField("_errors", T.ArrayType(T.StringType())),
    T.StructField("_raw", T.StringType()),
])
ORDERS = T.StructType([T.StructField("order_id", T.StringType())])
RESULT = T.StructType([T.StructField("line_id", T.StringType()), T.StructField("_failed_rules", T.ArrayType(T.StringType()))])


def lines_suite():
    return S._suite(
        "lines",
        S.unique("order_id", "line_id"),
        S.not_null("order_id", "quantity"),
        S.at_least("quantity", 1, severity="warn"),
        S.pair_at_least("list_amount", "amount", severity="warn"),
        S.in_set("status", ["ok", "void"]),
        S.matches("currency", S.CURRENCY_CODE, severity="warn"),
        S.references("orders", {"order_id": "order_id"}),
    )


def lines_df(spark):
    d = Decimal
    return spark.createDataFrame([
        ("o1", "l1", 1, d("5.00"), d("6.00"), "ok", "CNY", [], "r1"),        # clean
        ("o1", "l2", 0, d("7.00"), d("6.00"), "bad", "cny", [], "r2"),       # range, pair, set, regex
        ("o1", "l2", 2, d("1.00"), None, "ok", "CNY", [], "r3"),             # same grain as r2
        (None, "l4", None, None, None, None, None, ["cast:quantity"], "r4"),  # nulls + conform error
        ("o9", "l5", 1, d("1.00"), d("1.00"), "void", "USD", [], "r5"),      # unknown order
    ], LINES)


def test_failed_rules_name_every_broken_rule_in_suite_order(spark):
    rules = rules_from_suite(lines_suite())
    orders = spark.createDataFrame([("o1",), ("o2",)], ORDERS)
    actual = with_failed_rules(lines_df(spark), rules=rules, parents={"orders": orders}).select("line_id", "_failed_rules")
    expected = spark.createDataFrame([
        ("l1", []),
        ("l2", ["unique_grain", "range_quantity", "range_list_amount_ge_amount", "in_set_status", "regex_currency"]),
        ("l2", ["unique_grain"]),
        ("l4", ["not_null_order_id", "not_null_quantity", "conform"]),
        ("l5", ["ref_orders"]),
    ], RESULT)
    assert_df_equality(actual, expected, ignore_row_order=True, ignore_nullable=True)


def test_rule_names_and_order_follow_the_contract():
    assert S.rule_names(lines_suite()) == [
        "unique_grain", "not_null_order_id", "not_null_quantity", "range_quantity", "range_list_amount_ge_amount",
        "in_set_status", "regex_currency", "ref_orders", "conform",
    ]


def test_expectation_without_spark_translation_is_rejected():
    import great_expectations as gx

    suite = S._suite("x", gx.expectations.ExpectColumnMeanToBeBetween(column="a", min_value=0, meta={"rule": "mean_a"}))
    with pytest.raises(UnsupportedExpectationError, match="mean_a"):
        rules_from_suite(suite)


SEVERITIES = {
    "unique_grain": "quarantine", "not_null_order_id": "quarantine", "not_null_quantity": "quarantine",
    "range_quantity": "warn", "range_list_amount_ge_amount": "warn", "in_set_status": "quarantine",
    "regex_currency": "warn", "ref_orders": "warn", "conform": "quarantine",
}


def run_gate(spark, severities, df=None):
    rules = rules_from_suite(lines_suite())
    orders = spark.createDataFrame([("o1",)], ORDERS)
    return gate(lines_df(spark) if df is None else df, table="lines", rules=rules, severities=severities,
                parents={"orders": orders})


def test_warn_keeps_rows_and_quarantine_moves_them_with_rule_names_and_raw_record(spark):
    """r2 breaks a quarantine rule (in_set_status): quarantined for it, it does not take r3, the one valid row
    of its grain, with it. r6 and r1 are two valid rows of one grain: both quarantined as unique_grain."""
    r6 = spark.createDataFrame([("o1", "l1", 3, Decimal("2.00"), None, "ok", "CNY", [], "r6")], LINES)
    result = run_gate(spark, SEVERITIES, lines_df(spark).unionByName(r6))
    try:
        kept = result.publishable(["line_id", "_raw"])
        assert_df_equality(kept, spark.createDataFrame([("l2", "r3"), ("l5", "r5")], "line_id string, _raw string"),
                           ignore_row_order=True, ignore_nullable=True)
        at = dt.datetime(2024, 1, 2, 3, 4, 5)
        q = result.quarantined(keys=["order_id", "line_id"], run_id="run-1", at=at).drop("record_hash")
        expected = spark.createDataFrame([
            ("o1", "l2", ["range_quantity", "range_list_amount_ge_amount", "in_set_status", "regex_currency"],
             ["range_quantity", "range_list_amount_ge_amount", "in_set_status", "regex_currency"], "run-1", at, "r2"),
            ("o1", "l1", ["unique_grain"], ["unique_grain"], "run-1", at, "r1"),
            ("o1", "l1", ["unique_grain"], ["unique_grain"], "run-1", at, "r6"),
            # reasons: the conform error first (no value: this raw record is no JSON), then the other rules
            (None, "l4", ["not_null_order_id", "not_null_quantity", "conform"],
             ["cast:quantity", "not_null_order_id", "not_null_quantity"], "run-1", at, "r4"),
        ], "order_id string, line_id string, failed_rules array<string>, reasons array<string>, run_id string, "
           "quarantined_at timestamp, raw_record string")
        assert_df_equality(q, expected, ignore_row_order=True, ignore_nullable=True)
        by_rule = {r.rule: (r.checked_count, r.unexpected_count) for r in result.results}
        assert by_rule == {
            "unique_grain": (6, 2), "not_null_order_id": (6, 1), "not_null_quantity": (6, 1), "range_quantity": (6, 1),
            "range_list_amount_ge_amount": (6, 1), "in_set_status": (6, 1), "regex_currency": (6, 1),
            "ref_orders": (6, 1), "conform": (6, 1),
        }
    finally:
        result.release()


def test_fail_severity_raises_naming_table_rule_and_counts(spark):
    result = run_gate(spark, {**SEVERITIES, "regex_currency": "fail"})
    try:
        with pytest.raises(DataQualityError, match=r"lines .*rule regex_currency: 1 of 5 rows"):
            result.raise_if_failed()
    finally:
        result.release()


def test_results_frame_has_one_row_per_rule(spark):
    at = dt.datetime(2024, 5, 6, 7, 8, 9)
    actual = results_frame(spark, [RuleResult("lines", "conform", "quarantine", 5, 1),
                                   RuleResult("lines", "unique_grain", "fail", 5, 0)], run_id="r", evaluated_at=at)
    expected = spark.createDataFrame([("r", "lines", "conform", "quarantine", 5, 1, False, at),
                                      ("r", "lines", "unique_grain", "fail", 5, 0, True, at)], DQ_RESULTS)
    assert_df_equality(actual, expected, ignore_row_order=True)


def test_severities_are_the_contracts_defaults_unless_config_overrides_them():
    rules = rules_from_suite(lines_suite())
    keys = ["order_id", "line_id"]
    assert severities_for(DqConfig(False, {}), "lines", rules, keys=keys) == SEVERITIES
    overridden = severities_for(DqConfig(False, {"lines": {"in_set_status": "fail", "ref_orders": "quarantine"}}),
                                "lines", rules, keys=keys)
    assert overridden == {**SEVERITIES, "in_set_status": "fail", "ref_orders": "quarantine"}
    # another table's overrides do not apply here
    assert severities_for(DqConfig(False, {"orders": {"in_set_status": "fail"}}), "lines", rules, keys=keys) == SEVERITIES


def test_override_of_an_unknown_rule_is_a_config_error_naming_table_and_rule():
    rules = rules_from_suite(lines_suite())
    with pytest.raises(ConfigError, match=r"dq\.severities\.lines names rule\(s\) \['typo_rule'\]"):
        severities_for(DqConfig(False, {"lines": {"in_set_status": "warn", "typo_rule": "warn"}}), "lines", rules,
                       keys=["order_id"])


def test_grain_rules_cannot_be_warn_by_override_or_by_declaration():
    rules = rules_from_suite(lines_suite())
    with pytest.raises(ConfigError, match=r"\['not_null_order_id'\] guard the table's grain"):
        severities_for(DqConfig(False, {"lines": {"not_null_order_id": "warn"}}), "lines", rules,
                       keys=["order_id", "line_id"])
    declared_warn = rules_from_suite(S._suite("u", S.unique("id", severity="warn")))
    with pytest.raises(ConfigError, match=r"\['unique_grain'\] guard the table's grain"):
        severities_for(DqConfig(False, {}), "u", declared_warn, keys=["id"])


def test_a_rule_must_declare_a_known_severity():
    import great_expectations as gx

    with pytest.raises(S.InvalidSeverityError, match=r"in_set_s.*'block'"):
        S.in_set("s", ["a"], severity="block")
    bare = S._suite("x", gx.expectations.ExpectColumnValuesToNotBeNull(column="a", meta={"rule": "not_null_a"}))
    with pytest.raises(UnsupportedExpectationError, match=r"not_null_a.*declares no severity"):
        rules_from_suite(bare)


# The defaults as conf/base.yaml listed them before they moved beside the rules: warn for references (a child
# may land before its parent) and for the reporting-currency amounts (no FX rate yet); quarantine otherwise.
NOT_QUARANTINE = {
    ("shops", "ref_brands", "warn"), ("products", "ref_brands", "warn"),
    ("orders", "not_null_shipping_fee_amount_rpt", "warn"), ("orders", "ref_customers", "warn"),
    ("order_lines", "ref_orders", "warn"), ("order_discounts", "ref_orders", "warn"),
    ("payments", "not_null_amount_rpt", "warn"), ("payments", "ref_orders", "warn"),
    ("refunds", "not_null_amount_rpt", "warn"), ("refunds", "ref_orders", "warn"),
}


def test_every_contract_declares_the_former_base_config_severities_and_base_config_overrides_none():
    effective = {}
    for table in S.SUITE_BUILDERS:
        suite = S.suite_for(table)
        rules = rules_from_suite(suite)
        keys = next(r.columns for r in rules if r.kind == "unique")
        effective[table] = severities_for(load_config("test").dq, table, rules, keys=keys)
        assert list(effective[table]) == S.rule_names(suite)
        assert effective[table] == S.declared_severities(suite)
    assert load_config("test").dq.severities == {}
    assert {(t, r, s) for t, rs in effective.items() for r, s in rs.items() if s != "quarantine"} == NOT_QUARANTINE
    assert sum(len(rs) for rs in effective.values()) == 155


def test_dedupe_flags_exact_duplicates_and_superseded_versions_but_never_bad_rows(spark):
    schema = ("id string, v int, x string, _errors array<string>, _raw string, _ingested_at timestamp")
    t0, t1 = dt.datetime(2024, 1, 1), dt.datetime(2024, 1, 2)
    df = spark.createDataFrame([
        ("a", 1, "old", [], "a1", t0),
        ("a", 2, "new", [], "a2", t0),
        ("a", 2, "new", [], "a2-again", t1),   # same record delivered twice
        ("a", 3, None, ["cast:x"], "a3", t0),  # newer but broken: kept for the gate, supersedes nothing
        ("b", None, "nv", [], "b?", t0),       # no version: kept for the gate
        ("b", 1, "b", [], "b1", t0),
    ], schema)
    actual = df.transform(with_dedupe_flags, keys=["id"], version_col="v", columns=["id", "v", "x"]).select(
        "_raw", "_is_exact_dup", "_is_superseded")
    expected = spark.createDataFrame([
        ("a1", False, True), ("a2", False, False), ("a2-again", True, False), ("a3", False, False),
        ("b?", False, False), ("b1", False, False),
    ], "_raw string, _is_exact_dup boolean, _is_superseded boolean")
    assert_df_equality(actual, expected, ignore_row_order=True, ignore_nullable=True)


def test_data_docs_are_rendered_by_great_expectations(tmp_path, monkeypatch):
    from brandlake.expectations.docs import build_data_docs, validation_result

    monkeypatch.chdir(tmp_path)  # the default lake is the relative ./lake

    suite = lines_suite()
    results = [RuleResult("lines", r, s, 5, 1 if r == "conform" else 0) for r, s in SEVERITIES.items()]
    vr = validation_result(suite, results, run_name="run-7", evaluated_at=dt.datetime(2024, 1, 1, tzinfo=dt.UTC))
    assert (vr.success, vr.statistics["unsuccessful_expectations"]) == (False, 1)
    index = build_data_docs([(suite, vr)], "docs")
    pages = list((tmp_path / "docs" / "validations" / "silver" / "lines" / "run-7").rglob("*.html"))
    assert index == (tmp_path / "docs" / "index.html").as_uri() and len(pages) == 1
    assert "1 unexpected values found. 20% of 5 total rows." in pages[0].read_text(encoding="utf-8")


def test_spark_predicates_treat_null_as_not_checked(spark):
    rules = rules_from_suite(S._suite("n", S.at_least("q", 1), S.in_set("s", ["a"])))
    df = spark.createDataFrame([(None, None, [])], "q int, s string, _errors array<string>")
    actual = with_failed_rules(df, rules=rules, parents={}).select(F.col("_failed_rules"))
    assert_df_equality(actual, spark.createDataFrame([([],)], "_failed_rules array<string>"), ignore_nullable=True)


def test_every_value_set_in_a_contract_is_the_one_conform_checks():
    from brandlake.transforms.silver.registry import ENUMS

    in_sets = {(table, e.configuration.kwargs["column"]): list(e.configuration.kwargs["value_set"])
               for table in S.SUITE_BUILDERS for e in S.suite_for(table).expectations
               if e.expectation_type == "expect_column_values_to_be_in_set"}
    assert in_sets == {(table, column): list(ENUMS[table][column]) for table, column in in_sets}
    assert sorted(in_sets) == [("clickstream", "event_type"), ("order_discounts", "discount_type"),
                               ("orders", "order_status"), ("payments", "payment_kind"),
                               ("promotions", "promotion_type")]
