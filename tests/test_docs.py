"""Docs that cannot drift: the data dictionary equals a fresh generation from the gold-table registry, and
every example in docs/analysts.md prints exactly the output the page shows, against a real gold table."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import re
from decimal import Decimal
from pathlib import Path

import pytest
from brandlake.jobs.docs import DictionaryError, render_dictionary, render_table
from brandlake.transforms.gold_tables import GOLD_TABLES, GoldTable
from brandlake.transforms.sales import SALES_DAILY

from brandlake import tables

DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_committed_data_dictionary_equals_a_fresh_generation():
    assert (DOCS / "data_dictionary.md").read_text(encoding="utf-8") == render_dictionary(), (
        "docs/data_dictionary.md is stale: run `brandlake docs dictionary`")


def test_a_gold_table_with_an_undocumented_column_is_refused():
    entry = GOLD_TABLES["sales_daily"]
    columns = {k: v for k, v in entry.columns.items() if k != "buyers"}
    with pytest.raises(DictionaryError) as e:
        render_table(GoldTable(entry.name, entry.schema, entry.keys, entry.written_by, columns))
    assert str(e.value) == ("gold table sales_daily: GOLD_TABLES entry does not match "
                            "brandlake.transforms.sales.SALES_DAILY: no meaning for ['buyers'], meanings for "
                            "columns it does not have []")


def examples(markdown: str) -> list[tuple[str, str]]:
    """(python code, expected output) for every ```python block followed by "Output:" and a ```text block."""
    pattern = re.compile(r"```python\n(.*?)```\n\nOutput:\n\n```text\n(.*?)```", re.DOTALL)
    return pattern.findall(markdown)


def test_analyst_examples_print_what_the_page_shows(spark, tmp_path, monkeypatch):
    d1, d2 = dt.date(2024, 1, 1), dt.date(2024, 1, 2)
    rows = [  # brand, product, platform, country, province, date, currency, units, gross, discount, settled, refund, orders, buyers
        ("b1", "p1", "tmall", "CN", "Zhejiang", d1, "CNY", 2, "200.00", "20.00", "180.00", "0.00", 1, 1),
        ("b1", "p2", "jd", "CN", "Beijing", d2, "CNY", 1, "50.00", "0.00", "50.00", "10.00", 1, 1),
        ("b2", "p3", "tmall", "CN", None, d1, "CNY", 3, "90.00", "9.00", "81.00", "0.00", 2, 2),
    ]
    money = {8, 9, 10, 11}
    data = [tuple(Decimal(v) if i in money else v for i, v in enumerate(r)) for r in rows]
    tables.overwrite(spark.createDataFrame(data, SALES_DAILY), str(tmp_path / "lake" / "gold" / "sales_daily"))
    monkeypatch.chdir(tmp_path)

    found = examples((DOCS / "analysts.md").read_text(encoding="utf-8"))
    assert len(found) == 2  # DuckDB and Polars
    for code, expected in found:
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(compile(code, "docs/analysts.md", "exec"), {})  # noqa: S102 - the page's own example
        assert out.getvalue() == expected, code
