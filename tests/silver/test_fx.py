"""Conversion into the reporting currency with silver fx_rates (transforms/fx.py)."""

from __future__ import annotations

from brandlake.transforms.fx import with_reporting_amounts
from brandlake.transforms.schemas import SILVER_FX_RATES
from chispa import assert_df_equality

from tests.silver.bronze import d, m

RATES = [
    (d("2024-01-05"), "CNY", m("7.10000000")),   # a Friday
    (d("2024-01-08"), "CNY", m("7.20000000")),   # Monday; the weekend carries Friday's rate
    (d("2024-01-05"), "EUR", m("0.91000000")),
    (d("2024-01-08"), "EUR", m("0.90000000")),
]


def test_amounts_convert_half_up_with_weekend_rates_carried_forward_and_missing_rates_tagged(spark):
    fx = spark.createDataFrame(RATES, SILVER_FX_RATES)
    schema = "id string, amount decimal(18,2), currency string, sale_date date, _errors array<string>"
    df = spark.createDataFrame([
        ("a", m("100.00"), "USD", d("2024-01-05"), []),     # 100 × 7.10
        ("b", m("10.01"), "EUR", d("2024-01-06"), []),      # Saturday: 10.01 × 7.10 / 0.91 = 78.1021… → 78.10
        ("c", m("0.13"), "EUR", d("2024-01-08"), []),       # 0.13 × 7.2 / 0.9 = 1.04 exactly
        ("d", m("55.55"), "cny", d("2024-02-01"), []),      # already reporting currency: no rate needed
        ("e", m("5.00"), "JPY", d("2024-01-05"), ["x"]),    # no JPY rate
        ("f", None, "EUR", d("2024-01-05"), []),
    ], schema)
    actual = with_reporting_amounts(df, fx, columns=["amount"], currency_col="currency", date_col="sale_date",
                                    reporting_currency="CNY", suffix="_cny", flag_missing=True)
    exp = spark.createDataFrame([
        ("a", m("100.00"), "USD", d("2024-01-05"), [], m("710.00")),
        ("b", m("10.01"), "EUR", d("2024-01-06"), [], m("78.10")),
        ("c", m("0.13"), "EUR", d("2024-01-08"), [], m("1.04")),
        ("d", m("55.55"), "cny", d("2024-02-01"), [], m("55.55")),
        ("e", m("5.00"), "JPY", d("2024-01-05"), ["x", "missing_fx_rate:amount_cny"], None),
        ("f", None, "EUR", d("2024-01-05"), [], None),
    ], schema + ", amount_cny decimal(18,2)")
    assert_df_equality(actual, exp, ignore_nullable=True, ignore_row_order=True)


def test_half_cent_rounds_up_when_converting_to_usd(spark):
    fx = spark.createDataFrame([(d("2024-01-05"), "CNY", m("8.00000000"))], SILVER_FX_RATES)
    df = spark.createDataFrame([("a", m("0.20")), ("b", m("0.12"))], "id string, amount decimal(18,2)")
    df = df.selectExpr("id", "amount", "'CNY' AS currency", "DATE'2024-01-05' AS sale_date")
    actual = with_reporting_amounts(df, fx, columns=["amount"], currency_col="currency", date_col="sale_date",
                                    reporting_currency="USD", suffix="_usd")
    exp = spark.createDataFrame([("a", m("0.20"), "CNY", d("2024-01-05"), m("0.03")),    # 0.025 → 0.03
                                 ("b", m("0.12"), "CNY", d("2024-01-05"), m("0.02"))],   # 0.015 → 0.02
                                "id string, amount decimal(18,2), currency string, sale_date date, "
                                "amount_usd decimal(18,2)")
    assert_df_equality(actual, exp, ignore_nullable=True, ignore_row_order=True)
