"""Translate a GX suite into Spark rules, so that a whole suite is evaluated in one pass.

GX on Spark runs several jobs per expectation; here each row-level expectation becomes one Column that
is true where a row breaks it (derived from the expectation's own kwargs), and the aggregate ones
(grain uniqueness, references to another silver table) become a window count and a join.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from brandlake.expectations.suites import CHECK_CONFORM, CHECK_REFERENCE, SEVERITIES
from great_expectations.core import ExpectationSuite
from great_expectations.expectations import Expectation
from pyspark.sql import Column
from pyspark.sql import functions as F

RuleKind = Literal["row", "unique", "reference", "conform"]


class UnsupportedExpectationError(ValueError):
    """A suite holds an expectation type (or option) that the Spark rule engine cannot evaluate."""


@dataclass(frozen=True)
class Rule:
    name: str
    kind: RuleKind
    columns: tuple[str, ...]
    severity: str                  # the default the contract declares (meta["severity"])
    expectation: Expectation = field(compare=False, repr=False)
    # row rules: a Column that is true where the row breaks the rule (null/false where it passes)
    failing: Callable[[], Column] | None = field(default=None, compare=False, repr=False)
    ref_table: str | None = None
    ref_columns: tuple[tuple[str, str], ...] = ()


def _present(c: str) -> Column:
    return F.col(c).isNotNull()


def _between(kw: dict[str, Any], *, value: Column | None = None) -> Column:
    c = F.col(kw["column"]) if value is None else value
    ok = F.lit(True)
    if kw.get("min_value") is not None:
        lo = F.lit(kw["min_value"])
        ok = ok & ((c > lo) if kw.get("strict_min") else (c >= lo))
    if kw.get("max_value") is not None:
        hi = F.lit(kw["max_value"])
        ok = ok & ((c < hi) if kw.get("strict_max") else (c <= hi))
    return _present(kw["column"]) & ~ok


def _pair_a_gt_b(kw: dict[str, Any]) -> Column:
    a, b = F.col(kw["column_A"]), F.col(kw["column_B"])
    ok = (a >= b) if kw.get("or_equal") else (a > b)
    ignore = kw.get("ignore_row_if", "both_values_are_missing")
    if ignore == "either_value_is_missing":
        checked = a.isNotNull() & b.isNotNull()
    elif ignore == "both_values_are_missing":
        checked = a.isNotNull() | b.isNotNull()
    else:
        checked = F.lit(True)
    return checked & ~F.coalesce(ok, F.lit(False))


ROW_PREDICATES: dict[str, Callable[[dict[str, Any]], Column]] = {
    "expect_column_values_to_not_be_null": lambda kw: F.col(kw["column"]).isNull(),
    "expect_column_values_to_be_null": lambda kw: F.col(kw["column"]).isNotNull(),
    "expect_column_values_to_be_between": _between,
    "expect_column_values_to_be_in_set": lambda kw: _present(kw["column"]) & ~F.col(kw["column"]).isin(
        list(kw["value_set"])
    ),
    "expect_column_values_to_not_be_in_set": lambda kw: _present(kw["column"]) & F.col(kw["column"]).isin(
        list(kw["value_set"])
    ),
    "expect_column_values_to_match_regex": lambda kw: _present(kw["column"]) & ~F.col(kw["column"]).rlike(
        kw["regex"]
    ),
    "expect_column_value_lengths_to_be_between": lambda kw: _between(
        {**kw, "column": kw["column"]}, value=F.length(kw["column"])
    ),
    "expect_column_pair_values_a_to_be_greater_than_b": _pair_a_gt_b,
}


def _columns(kw: dict[str, Any]) -> tuple[str, ...]:
    if "column" in kw:
        return (kw["column"],)
    if "column_list" in kw:
        return tuple(kw["column_list"])
    return tuple(kw[k] for k in ("column_A", "column_B") if k in kw)


def rule_from_expectation(e: Expectation) -> Rule:
    name = (e.meta or {}).get("rule")
    if not name:
        raise UnsupportedExpectationError(f"expectation {e.expectation_type} has no meta['rule'] name")
    severity = (e.meta or {}).get("severity")
    if severity not in SEVERITIES:
        raise UnsupportedExpectationError(
            f"rule {name!r} declares no severity: set meta['severity'] to one of {list(SEVERITIES)}, "
            f"found {severity!r}"
        )
    kw = dict(e.configuration.kwargs)
    if kw.get("mostly", 1) != 1:
        raise UnsupportedExpectationError(
            f"rule {name!r}: 'mostly' is not supported; use severity warn to tolerate failures"
        )
    etype = e.expectation_type
    if etype in ROW_PREDICATES:
        return Rule(name, "row", _columns(kw), severity, e, failing=lambda p=ROW_PREDICATES[etype], k=kw: p(k))
    if etype == "expect_compound_columns_to_be_unique":
        return Rule(name, "unique", tuple(kw["column_list"]), severity, e)
    if etype == "expect_column_values_to_be_unique":
        return Rule(name, "unique", (kw["column"],), severity, e)
    if etype == "unexpected_rows_expectation":
        check = (e.meta or {}).get("check")
        if check == CHECK_CONFORM:
            return Rule(name, "conform", ("_errors",), severity, e)
        if check == CHECK_REFERENCE:
            cols = tuple((c, p) for c, p in e.meta["ref_columns"].items())
            return Rule(name, "reference", tuple(c for c, _ in cols), severity, e,
                        ref_table=e.meta["ref_table"], ref_columns=cols)
    raise UnsupportedExpectationError(
        f"rule {name!r}: expectation {etype} is not supported by the Spark rule engine "
        f"(supported: {sorted(ROW_PREDICATES)}, compound uniqueness, reference, conform)"
    )


def rules_from_suite(suite: ExpectationSuite) -> list[Rule]:
    rules = [rule_from_expectation(e) for e in suite.expectations]
    names = [r.name for r in rules]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise UnsupportedExpectationError(f"suite {suite.name}: rule names used twice: {dupes}")
    return rules
