"""The layout's rules, checked statically (no Spark): dependencies point one way (jobs → transforms/models/
expectations → runtime), and jobs reach gold tables only through the registry's accessor."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from brandlake.transforms.gold_tables import GOLD_TABLES, UnregisteredGoldTableError, gold_path

ROOT = Path(__file__).resolve().parents[1]
# runtime modules that start Spark, read or write tables, or own a run: only jobs (and tests) may use them
IO_RUNTIME = ("brandlake.runtime", "brandlake.tables", "brandlake.session", "brandlake.summary", "brandlake.logs",
              "brandlake.cli", "brandlake.landing_files", "brandlake.report")


def imported_modules(path: Path) -> set[str]:
    """Every module a source file imports (absolute names; ``from brandlake import tables`` → brandlake.tables)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{a.name}" for a in node.names}
    return found


def violations(folder: str, allowed) -> list[str]:
    out = []
    for path in sorted((ROOT / folder).rglob("*.py")):
        for module in sorted(imported_modules(path)):
            if module.startswith("brandlake") and not allowed(module):
                out.append(f"{path.relative_to(ROOT)} imports {module}")
    return out


def _under(module: str, *prefixes: str) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def test_transforms_import_only_transforms_and_libraries():
    assert violations("transforms", lambda m: _under(m, "brandlake.transforms")) == []


def test_models_and_expectations_never_import_jobs_nor_the_io_runtime():
    def allowed(m: str) -> bool:
        return not _under(m, "brandlake.jobs", *IO_RUNTIME)

    assert violations("models", allowed) + violations("expectations", allowed) == []


def gold_fstrings(path: Path) -> list[int]:
    """Lines of f-strings that put a path under ``<something>.gold`` together by hand."""
    lines = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.JoinedStr):
            for part in node.values:
                if (isinstance(part, ast.FormattedValue) and isinstance(part.value, ast.Attribute)
                        and part.value.attr == "gold"):
                    lines.append(node.lineno)
    return lines


def test_jobs_form_gold_paths_only_through_the_registry_accessor():
    by_hand = {str(p.relative_to(ROOT)): gold_fstrings(p) for p in sorted((ROOT / "jobs").glob("*.py"))}
    # pipeline.py prints the gold folder itself, not a table path
    assert {f: ln for f, ln in by_hand.items() if ln and f != "jobs/pipeline.py"} == {}


def test_gold_path_refuses_an_unregistered_table_and_allows_registered_and_state_tables():
    assert gold_path("s3a://b/lake/gold", "sales_daily") == "s3a://b/lake/gold/sales_daily"
    assert gold_path("/lake/gold", "_gold_state") == "/lake/gold/_gold_state"
    with pytest.raises(UnregisteredGoldTableError) as e:
        gold_path("/lake/gold", "mart_new_thing")
    assert str(e.value) == (
        "gold table 'mart_new_thing' is not registered in brandlake.transforms.gold_tables.GOLD_TABLES; register "
        "its schema constant there (and regenerate docs/data_dictionary.md) before a job writes or reads it")


def test_every_registered_gold_table_names_a_command_that_exists():
    from brandlake.cli import COMMANDS

    assert {n: t.written_by for n, t in GOLD_TABLES.items()
            if t.written_by.removeprefix("brandlake ") not in COMMANDS} == {}
