"""Validation thresholds as code: when may a freshly trained challenger become the champion?

A challenger is promoted only if, on the same backtest, it beats the seasonal-naive baseline (by the
rule's margin) AND the current champion (when there is one) for every rule. All metrics compared here
are errors: lower is better (RMSSE, MASE, WAPE, |bias|, |coverage gap|). Otherwise it stays challenger
and ``Decision.reasons`` says why, in words that go into the MLflow run and the model version's tags.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class Rule:
    """``metric`` (lower is better) must be at most ``(1 - min_gain_vs_baseline) × baseline`` and at most
    ``(1 - min_gain_vs_champion) × champion``. A gain of 0.0 means "not worse"; 0.25 means 25 % better."""

    metric: str
    min_gain_vs_baseline: float = 0.0
    min_gain_vs_champion: float = 0.0


@dataclass(frozen=True)
class Check:
    metric: str
    against: str            # "baseline" | "champion"
    challenger: float | None
    reference: float | None
    limit: float | None
    passed: bool
    reason: str


@dataclass(frozen=True)
class Decision:
    promote: bool
    reasons: tuple[str, ...]
    checks: tuple[Check, ...] = field(default_factory=tuple)

    def summary(self) -> str:
        head = "promoted to champion" if self.promote else "stays challenger"
        return f"{head}: " + "; ".join(self.reasons)

    def to_json(self) -> str:
        return json.dumps({"promote": self.promote, "reasons": list(self.reasons),
                           "checks": [asdict(c) for c in self.checks]}, indent=2)


def _finite(v: float | None) -> bool:
    return v is not None and not math.isnan(v) and not math.isinf(v)


def _check(rule: Rule, against: str, value: float | None, ref: float | None, gain: float) -> Check:
    if not _finite(value):
        return Check(rule.metric, against, value, ref, None, False,
                     f"{rule.metric}: challenger has no value on the backtest")
    if not _finite(ref):
        return Check(rule.metric, against, value, ref, None, False,
                     f"{rule.metric}: {against} has no value on the same backtest")
    limit = (1.0 - gain) * ref
    ok = value <= limit
    verb = "beats" if ok else "does not beat"
    need = f" by {gain:.0%}" if gain else ""
    return Check(rule.metric, against, value, ref, limit, ok,
                 f"{rule.metric} {value:.4f} {verb} {against} {ref:.4f}{need} (limit {limit:.4f})")


def validate(
    challenger: Mapping[str, float],
    *,
    baseline: Mapping[str, float],
    champion: Mapping[str, float] | None,
    rules: Sequence[Rule],
) -> Decision:
    """Compare backtest metrics (same cut-offs, same data) of the challenger, baseline and champion."""
    if not rules:
        raise ValueError("validate needs at least one rule")
    checks: list[Check] = []
    for r in rules:
        checks.append(_check(r, "baseline", challenger.get(r.metric), baseline.get(r.metric), r.min_gain_vs_baseline))
        if champion is not None:
            checks.append(_check(r, "champion", challenger.get(r.metric), champion.get(r.metric),
                                 r.min_gain_vs_champion))
    failed = [c.reason for c in checks if not c.passed]
    if failed:
        return Decision(False, tuple(failed), tuple(checks))
    reasons = [c.reason for c in checks]
    if champion is None:
        reasons.append("no current champion")
    return Decision(True, tuple(reasons), tuple(checks))
