"""Data contracts: one Great Expectations ExpectationSuite per silver table, built in code.

Every expectation carries ``meta={"rule": name, "severity": ...}``: a rule's default severity (warn |
quarantine | fail) is declared here, beside the rule, the way dbt keeps ``severity`` on the test; config
holds overrides only (``dq.severities.<table>.<rule>``). Defaults: ``quarantine``, except references
(``warn``: a child, a payment, may land before its parent, the order) and the reporting-currency amounts
(``not_null_*_rpt``: ``warn``, no FX rate for the currency and day yet). Order inside a suite: grain
uniqueness, not-null, ranges, value sets, referential checks; the ``conform`` rule (rows whose conform
step reported ``_errors``) closes every suite.
"""

from __future__ import annotations

import typing
from collections.abc import Callable, Sequence

import great_expectations as gx
from brandlake.transforms.enums import (
    CLICK_EVENT_TYPES,
    DISCOUNT_TYPES,
    ORDER_STATUSES,
    PAYMENT_KINDS,
    PROMOTION_TYPES,
)
from great_expectations.core import ExpectationSuite
from great_expectations.expectations import Expectation

from brandlake.config import Severity

SEVERITIES: tuple[str, ...] = typing.get_args(Severity)
# shape of a currency code; membership in ISO 4217 is checked by conform (invalid:currency)
CURRENCY_CODE = r"^[A-Z]{3}$"

# meta["check"] marks the two rule kinds that GX expresses as UnexpectedRowsExpectation
CHECK_CONFORM = "conform"
CHECK_REFERENCE = "reference"
CONFORM_RULE = "conform"
UNIQUE_RULE = "unique_grain"


class InvalidSeverityError(ValueError):
    """A contract declares a severity that is none of warn, quarantine, fail."""


def _meta(rule: str, severity: str, **extra: object) -> dict[str, object]:
    if severity not in SEVERITIES:
        raise InvalidSeverityError(f"rule {rule!r}: severity must be one of {list(SEVERITIES)}, found {severity!r}")
    return {"rule": rule, "severity": severity, **extra}


# --------------------------------------------------------------------------------------------------
# Expectation builders: one rule each, named by what they check, with its default severity.


def unique(*columns: str, severity: Severity = "quarantine") -> Expectation:
    """The table's grain: one row per value of ``columns`` (GX wants one column or a compound list)."""
    meta = _meta(UNIQUE_RULE, severity)
    if len(columns) == 1:
        return gx.expectations.ExpectColumnValuesToBeUnique(column=columns[0], meta=meta)
    return gx.expectations.ExpectCompoundColumnsToBeUnique(column_list=list(columns), meta=meta)


def not_null(*columns: str, severity: Severity = "quarantine") -> list[Expectation]:
    return [
        gx.expectations.ExpectColumnValuesToNotBeNull(column=c, meta=_meta(f"not_null_{c}", severity))
        for c in columns
    ]


def at_least(column: str, minimum: float, *, strict: bool = False, severity: Severity = "quarantine") -> Expectation:
    return gx.expectations.ExpectColumnValuesToBeBetween(
        column=column, min_value=minimum, strict_min=strict, meta=_meta(f"range_{column}", severity)
    )


def between(column: str, minimum: float, maximum: float, *, severity: Severity = "quarantine") -> Expectation:
    return gx.expectations.ExpectColumnValuesToBeBetween(
        column=column, min_value=minimum, max_value=maximum, meta=_meta(f"range_{column}", severity)
    )


def pair_at_least(column_a: str, column_b: str, *, severity: Severity = "quarantine") -> Expectation:
    """``column_a >= column_b`` where both are present."""
    return gx.expectations.ExpectColumnPairValuesAToBeGreaterThanB(
        column_A=column_a, column_B=column_b, or_equal=True, ignore_row_if="either_value_is_missing",
        meta=_meta(f"range_{column_a}_ge_{column_b}", severity),
    )


def in_set(column: str, values: Sequence[str], *, severity: Severity = "quarantine") -> Expectation:
    return gx.expectations.ExpectColumnValuesToBeInSet(
        column=column, value_set=list(values), meta=_meta(f"in_set_{column}", severity)
    )


def matches(column: str, regex: str, *, severity: Severity = "quarantine") -> Expectation:
    return gx.expectations.ExpectColumnValuesToMatchRegex(
        column=column, regex=regex, meta=_meta(f"regex_{column}", severity)
    )


def references(
    table: str, columns: dict[str, str], *, rule: str | None = None, severity: Severity = "warn"
) -> Expectation:
    """Every non-null ``columns`` (child -> parent column) value exists in silver ``table``.

    ``warn`` by default: a child may land before its parent does, and is kept and counted meanwhile.
    """
    on = " AND ".join(f"b.{c} = p.{p}" for c, p in columns.items())
    return gx.expectations.UnexpectedRowsExpectation(
        unexpected_rows_query=f"SELECT b.* FROM {{batch}} b LEFT ANTI JOIN silver.{table} p ON {on}",
        description=f"every {', '.join(columns)} exists in silver {table}",
        meta=_meta(rule or f"ref_{table}", severity, check=CHECK_REFERENCE, ref_table=table,
                   ref_columns=dict(columns)),
    )


def conform_clean(*, severity: Severity = "quarantine") -> Expectation:
    return gx.expectations.UnexpectedRowsExpectation(
        unexpected_rows_query="SELECT * FROM {batch} WHERE size(_errors) > 0",
        description="the conform step could parse, cast and map every field",
        meta=_meta(CONFORM_RULE, severity, check=CHECK_CONFORM),
    )


def _suite(name: str, *parts: Expectation | list[Expectation]) -> ExpectationSuite:
    expectations: list[Expectation] = []
    for p in parts:
        expectations.extend(p if isinstance(p, list) else [p])
    expectations.append(conform_clean())
    return ExpectationSuite(name=f"silver.{name}", expectations=expectations)


# --------------------------------------------------------------------------------------------------
# The contracts. Columns follow docs/contracts.md (orders ... fx_rates) and the landing field names.


def _orders() -> ExpectationSuite:
    return _suite(
        "orders",
        unique("order_id"),
        not_null("order_id", "platform_id", "currency", "order_status", "ordered_at", "order_date",
                 "updated_at", "is_presale", "shipping_fee_amount"),
        not_null("shipping_fee_amount_rpt", severity="warn"),  # no FX rate for the currency/day: kept, counted
        at_least("shipping_fee_amount", 0), at_least("deposit_amount", 0),
        pair_at_least("deposit_value", "deposit_amount"),
        in_set("order_status", ORDER_STATUSES), matches("currency", CURRENCY_CODE),
        references("customers", {"platform_id": "platform_id", "customer_id": "customer_id"}),
    )


def _order_lines() -> ExpectationSuite:
    return _suite(
        "order_lines",
        unique("order_id", "line_id"),
        not_null("order_id", "line_id", "platform_id", "quantity", "unit_price_amount",
                 "item_discount_amount", "line_amount", "currency"),
        at_least("quantity", 1), at_least("unit_price_amount", 0), at_least("item_discount_amount", 0),
        at_least("line_amount", 0), matches("currency", CURRENCY_CODE),
        references("orders", {"order_id": "order_id"}),
    )


def _order_discounts() -> ExpectationSuite:
    return _suite(
        "order_discounts",
        unique("order_id", "promotion_id"),
        not_null("order_id", "promotion_id", "discount_type", "discount_amount", "currency"),
        at_least("discount_amount", 0),
        in_set("discount_type", DISCOUNT_TYPES), matches("currency", CURRENCY_CODE),
        references("orders", {"order_id": "order_id"}),
    )


def _payments() -> ExpectationSuite:
    return _suite(
        "payments",
        unique("payment_id"),
        not_null("payment_id", "order_id", "platform_id", "payment_kind", "amount", "currency", "status",
                 "paid_at"),
        not_null("amount_rpt", severity="warn"),
        at_least("amount", 0),
        in_set("payment_kind", PAYMENT_KINDS), matches("currency", CURRENCY_CODE),
        references("orders", {"order_id": "order_id"}),
    )


def _refunds() -> ExpectationSuite:
    return _suite(
        "refunds",
        unique("refund_id"),
        not_null("refund_id", "order_id", "line_id", "platform_id", "amount", "currency", "status",
                 "refunded_at"),
        not_null("amount_rpt", severity="warn"),
        at_least("amount", 0, strict=True),
        matches("currency", CURRENCY_CODE),
        references("orders", {"order_id": "order_id"}),
    )


def _fx_rates() -> ExpectationSuite:
    return _suite(
        "fx_rates",
        unique("rate_date", "currency"),
        not_null("rate_date", "currency", "per_usd"),
        at_least("per_usd", 0, strict=True),
        matches("currency", CURRENCY_CODE),
    )


def _platforms() -> ExpectationSuite:
    return _suite(
        "platforms",
        unique("platform_id"),
        not_null("platform_id", "currency", "timezone"),
        matches("currency", CURRENCY_CODE),
    )


def _brands() -> ExpectationSuite:
    return _suite("brands", unique("brand_id"), not_null("brand_id", "name"))


def _shops() -> ExpectationSuite:
    return _suite(
        "shops",
        unique("shop_id"),
        not_null("shop_id", "platform_id", "brand_id"),
        references("brands", {"brand_id": "brand_id"}),
    )


def _products() -> ExpectationSuite:
    return _suite(
        "products",
        unique("sku_id"),
        not_null("sku_id", "product_id", "brand_id"),
        references("brands", {"brand_id": "brand_id"}),
    )


def _customers() -> ExpectationSuite:
    return _suite("customers", unique("platform_id", "customer_id"), not_null("platform_id", "customer_id"))


def _warehouses() -> ExpectationSuite:
    return _suite("warehouses", unique("warehouse_id"), not_null("warehouse_id"))


def _promotions() -> ExpectationSuite:
    return _suite(
        "promotions",
        unique("promotion_id"),
        not_null("promotion_id", "platform_id", "promotion_type"),
        in_set("promotion_type", PROMOTION_TYPES),
    )


def _inventory() -> ExpectationSuite:
    return _suite(
        "inventory",
        unique("snapshot_date", "warehouse_id", "sku_id"),
        not_null("snapshot_date", "warehouse_id", "sku_id", "on_hand"),
        at_least("on_hand", 0),
    )


def _returns() -> ExpectationSuite:
    return _suite("returns", unique("return_id"), not_null("return_id", "order_id"))


def _reviews() -> ExpectationSuite:
    return _suite(
        "reviews", unique("review_id"), not_null("review_id", "product_id"), between("rating", 1, 5)
    )


def _cs_chats() -> ExpectationSuite:
    return _suite("cs_chats", unique("chat_id"), not_null("chat_id"))


def _clickstream() -> ExpectationSuite:
    return _suite(
        "clickstream",
        unique("event_id"),
        not_null("event_id", "session_id", "event_type", "event_at"),
        in_set("event_type", CLICK_EVENT_TYPES),
    )


def _tracking_events() -> ExpectationSuite:
    return _suite("tracking_events", unique("event_id"), not_null("event_id", "order_id", "event_at"))


def _shipments() -> ExpectationSuite:
    return _suite("shipments", unique("shipment_id"), not_null("shipment_id", "order_id"))


def _seller_records() -> ExpectationSuite:
    return _suite("seller_records", unique("record_id"), not_null("record_id", "record_type"))


SUITE_BUILDERS: dict[str, Callable[[], ExpectationSuite]] = {
    "platforms": _platforms, "brands": _brands, "shops": _shops, "products": _products,
    "customers": _customers, "warehouses": _warehouses, "promotions": _promotions, "fx_rates": _fx_rates,
    "orders": _orders, "order_lines": _order_lines, "order_discounts": _order_discounts,
    "payments": _payments, "refunds": _refunds, "tracking_events": _tracking_events,
    "shipments": _shipments, "inventory": _inventory, "returns": _returns, "reviews": _reviews,
    "cs_chats": _cs_chats, "clickstream": _clickstream, "seller_records": _seller_records,
}


class MissingContractError(KeyError):
    """A silver table has no data contract in expectations/suites.py."""


def suite_for(table: str) -> ExpectationSuite:
    """A fresh suite object for ``table`` (GX suites are mutable and bound to one data context)."""
    try:
        return SUITE_BUILDERS[table]()
    except KeyError:
        raise MissingContractError(
            f"silver table {table!r} has no data contract; add one to expectations/suites.py "
            f"(known: {sorted(SUITE_BUILDERS)})"
        ) from None


def rule_names(suite: ExpectationSuite) -> list[str]:
    return [e.meta["rule"] for e in suite.expectations]


def declared_severities(suite: ExpectationSuite) -> dict[str, str]:
    """Rule name -> the default severity the contract declares, in suite order."""
    return {e.meta["rule"]: e.meta["severity"] for e in suite.expectations}
