"""`brandlake docs dictionary`: write docs/data_dictionary.md, the data dictionary of every gold table
(grain, key, columns, types, meaning), generated from the schema constants registered in
``transforms/gold_tables.py`` and the docstrings that follow them. Adding a gold table: see that module.

``--check`` compares instead of writing (exit 1 when the file is stale). No Spark is started.
"""

from __future__ import annotations

import argparse
import ast
import importlib
import inspect
import sys
from pathlib import Path

from pyspark.sql import types as T

from brandlake.config import Config
from brandlake.errors import EXIT_FAILURE, EXIT_OK, UsageError

NEEDS_SPARK = False
DEFAULT_OUTPUT = "docs/data_dictionary.md"


class DictionaryError(UsageError):
    """A registered gold table cannot be documented: no schema, no grain docstring, or a column without
    a meaning."""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("what", choices=("dictionary",), help="dictionary: the gold tables' data dictionary")
    p.add_argument("--output", default=DEFAULT_OUTPUT, help=f"file to write (default: {DEFAULT_OUTPUT})")
    p.add_argument("--check", action="store_true", help="exit 1 when the file differs from a fresh generation")


def main(cfg: Config, args: argparse.Namespace) -> int:
    text = render_dictionary()
    out = Path(args.output)
    if args.check:
        if not out.is_file() or out.read_text(encoding="utf-8") != text:
            print(f"{out} is stale: run `brandlake docs dictionary`", file=sys.stderr)
            return EXIT_FAILURE
        print(f"{out} is up to date")
        return EXIT_OK
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    print(f"wrote {out}")
    return EXIT_OK


def resolve_schema(dotted: str) -> tuple[T.StructType, str]:
    """The StructType constant at ``dotted`` (module.CONSTANT) and the docstring that follows it."""
    module_name, _, constant = dotted.rpartition(".")
    module = importlib.import_module(module_name)
    schema = getattr(module, constant, None)
    if not isinstance(schema, T.StructType):
        raise DictionaryError(f"{dotted} is not a StructType constant")
    return schema, attribute_docstring(inspect.getsource(module), constant) or ""


def attribute_docstring(source: str, name: str) -> str | None:
    """The string literal right after the module-level assignment of ``name`` (the convention Sphinx reads)."""
    body = ast.parse(source).body
    for stmt, following in zip(body, body[1:], strict=False):
        targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target] if isinstance(
            stmt, ast.AnnAssign) else []
        if any(isinstance(t, ast.Name) and t.id == name for t in targets):
            if isinstance(following, ast.Expr) and isinstance(following.value, ast.Constant) and isinstance(
                    following.value.value, str):
                return inspect.cleandoc(following.value.value)
            return None
    return None


def split_grain(doc: str) -> tuple[str, str]:
    """(grain, the rest) of a docstring: the grain is its first sentence up to ". " or ": ", whichever comes
    first (whitespace collapsed); the rest is the description after it."""
    text = " ".join(doc.split())
    cuts = [i for i in (text.find(". "), text.find(": ")) if i >= 0]
    if not cuts:
        return text.rstrip("."), ""
    cut = min(cuts)
    rest = text[cut + 2:].strip()
    if text[cut] == ":" and rest:
        rest = rest[0].upper() + rest[1:]
    return text[:cut], rest


def _type(dt: T.DataType) -> str:
    return dt.simpleString().upper()


def render_table(entry) -> str:
    schema, doc = resolve_schema(entry.schema)
    if not doc.startswith("One row per"):
        raise DictionaryError(f"gold table {entry.name}: the docstring after {entry.schema} must state the grain "
                              f"('One row per ...'), found {doc[:60]!r}")
    names = schema.fieldNames()
    missing = [c for c in names if not entry.columns.get(c)]
    extra = [c for c in entry.columns if c not in names]
    if missing or extra:
        raise DictionaryError(f"gold table {entry.name}: GOLD_TABLES entry does not match {entry.schema}: "
                              f"no meaning for {missing}, meanings for columns it does not have {extra}")
    unknown_keys = [k for k in entry.keys if k not in names]
    if unknown_keys:
        raise DictionaryError(f"gold table {entry.name}: key column(s) {unknown_keys} are not in {entry.schema}")
    grain, rest = split_grain(doc)
    lines = [
        f"## {entry.name}",
        "",
        f"**Grain:** {grain.rstrip('.')}. **Key:** {', '.join(entry.keys)}.",
        "",
        f"Location `<lake.gold>/{entry.name}` (Delta) · written by `{entry.written_by}` · "
        f"schema `{entry.schema}`.",
        "",
    ]
    if rest:
        lines += [rest, ""]
    lines += ["| column | type | nullable | meaning |", "| --- | --- | --- | --- |"]
    for f in schema.fields:
        lines.append(f"| `{f.name}` | {_type(f.dataType)} | {'yes' if f.nullable else 'no'} | "
                     f"{entry.columns[f.name]} |")
    return "\n".join(lines) + "\n"


def render_dictionary() -> str:
    from brandlake.transforms.gold_tables import GOLD_TABLES

    head = [
        "# Data dictionary: gold tables",
        "",
        "Generated by `brandlake docs dictionary` from the schema constants registered in",
        "`transforms/gold_tables.py` and the docstrings that follow them; do not edit by hand (a test compares",
        "this file with a fresh generation). Money is `DECIMAL(18,2)`; timestamps are UTC; `*_date` is the",
        "platform's local date. Tables whose name starts with `_` are the jobs' own state and not listed.",
        "",
        "Tables: " + ", ".join(f"[{name}](#{name})" for name in GOLD_TABLES) + ".",
        "",
    ]
    return "\n".join(head) + "\n" + "\n".join(render_table(e) for e in GOLD_TABLES.values())
