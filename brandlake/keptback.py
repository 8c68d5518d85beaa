"""What a run kept back, in one line, and whether that crosses the configured limits (exit 3).

Every job records what it set aside in its run summary: ``files_quarantined`` / ``rows_corrupt`` /
``rows_quarantined`` / ``rows_warned`` counts per table, reasons per table under
``details["reasons"]`` and gold's ``details["gold"]["reconciliation_mismatches"]``. This module turns
that into the one summary line a job ends with, and into the list of limit breaches that makes the
command exit 3 (``DataHeldBackError``) with the tables left as the run wrote them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from brandlake.config import HoldBackConfig, HoldBackLimits
from brandlake.errors import HoldBackLimitError

LANDING = "landing"  # the run-summary table name that counts quarantined landing files


def add_reasons(summary: Any, table: str, reasons: Mapping[str, int]) -> None:
    """Add counts per reason (``invalid:ship_country``, ``header_mismatch``...) for ``table``."""
    entry = summary.details.setdefault("reasons", {}).setdefault(table, {})
    for reason, n in reasons.items():
        if n:
            entry[reason] = entry.get(reason, 0) + int(n)


def _top(reasons: Mapping[str, int], n: int) -> str:
    ranked = sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))
    text = ", ".join(f"{r} {c}" for r, c in ranked[:n])
    return text + (f", +{len(ranked) - n} more" if len(ranked) > n else "")


def mismatches(summary: Any) -> int:
    return int(summary.details.get("gold", {}).get("reconciliation_mismatches", 0) or 0)


def kept_back_line(summary: Any, *, top: int = 3) -> str:
    """One line: every table that kept something back, with its top reasons; or that nothing was."""
    reasons = summary.details.get("reasons", {})
    warnings = summary.details.get("warnings", {})
    parts = []
    for table, c in sorted({**{t: {} for t in warnings}, **summary.tables}.items()):
        held = []
        if c.get("files_quarantined"):
            held.append(f"{c['files_quarantined']} file(s) quarantined")
        if c.get("rows_corrupt"):
            held.append(f"{c['rows_corrupt']} corrupt row(s)")
        if c.get("rows_quarantined"):
            of = f" of {c['rows_read']}" if c.get("rows_read") else ""
            held.append(f"{c['rows_quarantined']}{of} row(s) quarantined")
        if c.get("rows_excluded"):
            held.append(f"{c['rows_excluded']} row(s) excluded")
        if c.get("rows_warned"):
            held.append(f"{c['rows_warned']} row(s) kept with a warning")
        if held:
            why = f" ({_top(reasons[table], top)})" if reasons.get(table) else ""
            parts.append(f"{table}: {', '.join(held)}{why}")
        if warnings.get(table):  # kept, with a warning: an attribute left unknown, a warn rule broken
            parts.append(f"{table}: kept with warnings ({_top(warnings[table], top)})")
    n = mismatches(summary)
    if n:
        parts.append(f"gold: {n} reconciliation mismatch(es)")
    return "kept back: " + ("; ".join(parts) if parts else "nothing")


def _limits(cfg: HoldBackConfig, table: str) -> tuple[float, int | None]:
    own = cfg.tables.get(table, HoldBackLimits())
    share = cfg.max_quarantined_share if own.max_quarantined_share is None else own.max_quarantined_share
    most = cfg.max_mismatches if own.max_mismatches is None else own.max_mismatches
    return share, most


def breaches(summary: Any, cfg: HoldBackConfig) -> list[str]:
    """The limits this run crossed, each as a sentence naming the table, the figure and the limit."""
    out = []
    files = sum(int(c.get("files_quarantined", 0)) for c in summary.tables.values())
    if files > cfg.max_files_quarantined:
        out.append(f"{files} landing file(s) quarantined (limit hold_back.max_files_quarantined="
                   f"{cfg.max_files_quarantined}); see _landing_quarantine and `brandlake replay-landing`")
    for table, c in sorted(summary.tables.items()):
        read, held = int(c.get("rows_read", 0)), int(c.get("rows_quarantined", 0)) + int(c.get("rows_corrupt", 0))
        share, _ = _limits(cfg, table)
        if read and held / read > share:
            out.append(f"{table}: {held} of {read} row(s) kept back ({held / read:.0%}, limit {share:.0%})")
    n = mismatches(summary)
    _, most = _limits(cfg, "gold.settlement_mismatches")
    if most is not None and n > most:
        out.append(f"gold: {n} reconciliation mismatch(es) (limit {most}); see gold settlement_mismatches")
    return out


def raise_if_held_back(summary: Any, cfg: HoldBackConfig) -> None:
    found = breaches(summary, cfg)
    summary.details["held_back"] = found
    if found:
        raise HoldBackLimitError("run kept back more than configured: " + "; ".join(found))
