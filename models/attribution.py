"""Markov-chain channel attribution (removal effect) from journey transition counts.

States: ``start``, the channels, and the absorbing ``conversion`` / ``null``. The conversion probability
is the chance of reaching ``conversion`` from ``start``; a channel's removal effect is the share of that
probability lost when the channel is removed (its visits go to ``null``). Conversions are credited in
proportion to the removal effects.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

START, CONVERSION, NULL = "start", "conversion", "null"


def conversion_probability(counts: Mapping[tuple[str, str], float], *, removed: str | None = None) -> float:
    """P(reach conversion from start) of the chain with transition ``counts`` ((from, to) → n)."""
    channels = sorted({s for pair in counts for s in pair} - {START, CONVERSION, NULL})
    transient = [START, *channels]
    index = {s: i for i, s in enumerate(transient)}
    n = len(transient)
    q = np.zeros((n, n))
    r = np.zeros(n)
    totals: dict[str, float] = {}
    for (a, _b), c in counts.items():
        totals[a] = totals.get(a, 0.0) + c
    for (a, b), c in counts.items():
        if a == removed or a not in index or totals[a] <= 0:
            continue
        p = c / totals[a]
        if b == CONVERSION:
            r[index[a]] += p
        elif b in index and b != removed:
            q[index[a], index[b]] += p
        # to null, or to the removed channel: absorbed without converting
    x = np.linalg.solve(np.eye(n) - q, r)
    return float(x[index[START]])


def removal_effects(counts: Mapping[tuple[str, str], float]) -> dict[str, float]:
    """Channel → removal effect 1 − P(conversion without it) / P(conversion); 0 when nothing converts."""
    channels = sorted({s for pair in counts for s in pair} - {START, CONVERSION, NULL})
    base = conversion_probability(counts)
    if base <= 0:
        return {c: 0.0 for c in channels}
    return {c: max(0.0, 1.0 - conversion_probability(counts, removed=c) / base) for c in channels}


def markov_credit(counts: Mapping[tuple[str, str], float], conversions: float) -> dict[str, float]:
    """Channel → conversions credited by the normalised removal effects."""
    effects = removal_effects(counts)
    total = sum(effects.values())
    if total <= 0:
        return {c: 0.0 for c in effects}
    return {c: conversions * e / total for c, e in effects.items()}
