"""Checks across the data contracts, made before any table is touched: every rule names columns its table
(and a referenced table) has, and the order in which tables must be built so that a referenced table is
published before the tables that reference it."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

from brandlake.expectations.rules import Rule


class ContractMismatchError(ValueError):
    """A data contract names a column that its silver table (or a referenced table) does not have."""


def check_contract(
    table: str, rules: Sequence[Rule], *, columns: Collection[str], tables: Mapping[str, Collection[str]]
) -> None:
    """Raise ContractMismatchError naming the rule and the columns when ``table`` (whose columns are
    ``columns``) cannot be checked by ``rules``; ``tables`` maps other tables built in the same run to
    their columns (a reference to a table not built in the run is checked against it when it is read)."""
    have = set(columns)
    for r in rules:
        missing = [c for c in r.columns if c not in have and r.kind != "conform"]
        if missing:
            raise ContractMismatchError(f"silver.{table} rule {r.name!r} needs column(s) {missing}, "
                                        f"not in the table's schema {sorted(have)}")
        if r.kind == "reference" and r.ref_table in tables:
            gone = [p for _, p in r.ref_columns if p not in set(tables[r.ref_table])]
            if gone:
                raise ContractMismatchError(f"silver.{table} rule {r.name!r} needs column(s) {gone} "
                                            f"in silver.{r.ref_table}")


def dependencies(
    tables: Sequence[str],
    rules: Mapping[str, Sequence[Rule]],
    *,
    first: Sequence[str] = (),
    needs: Mapping[str, Collection[str]] | None = None,
) -> dict[str, set[str]]:
    """table -> the tables among ``tables`` it must be built after: the tables its reference rules name, the
    ``first`` tables (unless it is one of them), and what ``needs`` lists for it."""
    names = set(tables)
    deps = {t: {r.ref_table for r in rules.get(t, ()) if r.kind == "reference" and r.ref_table in names}
            for t in tables}
    for t in tables:
        if t not in first:
            deps[t] |= {f for f in first if f in names}
        deps[t] |= {n for n in (needs or {}).get(t, ()) if n in names and n != t}
    return deps


def build_order(
    tables: Sequence[str],
    rules: Mapping[str, Sequence[Rule]],
    *,
    first: Sequence[str] = (),
    needs: Mapping[str, Collection[str]] | None = None,
) -> list[str]:
    """``tables`` with every referenced table before the tables that reference it, the ``first`` tables
    before all others, and each table after what ``needs`` lists for it (e.g. fx_rates before a table
    with money columns); otherwise in the given order. Tables outside ``tables`` are ignored."""
    deps = dependencies(tables, rules, first=first, needs=needs)
    ordered: list[str] = []
    while len(ordered) < len(tables):
        ready = [t for t in tables if t not in ordered and deps[t] <= set(ordered)]
        if not ready:
            raise ContractMismatchError(
                f"silver tables reference each other in a cycle: {sorted(set(tables) - set(ordered))}")
        ordered.append(ready[0])
    return ordered
