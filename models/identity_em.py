"""Fellegi–Sunter parameter estimation for identity matching, on comparison-vector counts.

u (the chance of each comparison level among two different people) is estimated from random pairs,
m (the same among two accounts of one person) and the match share λ by expectation–maximisation on
the candidate pairs with u held fixed — the procedure Splink uses, done here on the few hundred
distinct comparison vectors that Spark aggregates, so no extra engine or download is needed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

Pattern = tuple[int | None, ...]

# A level never seen among matches (or non-matches) still gets this probability: log2(m/u) stays finite.
MIN_PROBABILITY = 1e-6


@dataclass(frozen=True)
class FSParameters:
    m: dict[str, list[float]]      # comparison -> m per level
    u: dict[str, list[float]]      # comparison -> u per level
    prior: float                   # λ: share of candidate pairs that are matches
    iterations: int
    converged: bool

    def pairs(self) -> dict[str, list[tuple[float, float]]]:
        return {name: list(zip(self.m[name], self.u[name], strict=True)) for name in self.m}


def _level_shares(counts: np.ndarray, weights: np.ndarray, column: np.ndarray, n_levels: int) -> list[float]:
    shares = np.zeros(n_levels)
    for level in range(n_levels):
        shares[level] = weights[column == level].sum()
    total = shares.sum()
    if total <= 0:
        return [1.0 / n_levels] * n_levels
    shares = np.maximum(shares / total, MIN_PROBABILITY)
    return list(shares / shares.sum())


def _matrix(patterns: Sequence[tuple[Pattern, int]], n: int) -> tuple[np.ndarray, np.ndarray]:
    gammas = np.array([[(-1 if g is None else g) for g in p] for p, _ in patterns], dtype=int).reshape(-1, n)
    counts = np.array([c for _, c in patterns], dtype=float)
    return gammas, counts


def estimate_u(random_patterns: Sequence[tuple[Pattern, int]], levels: Mapping[str, int]) -> dict[str, list[float]]:
    """u per comparison level: the level's share among random pairs that can be compared."""
    names = list(levels)
    gammas, counts = _matrix(random_patterns, len(names))
    return {name: _level_shares(counts, counts, gammas[:, i], levels[name]) for i, name in enumerate(names)}


def estimate_m(
    patterns: Sequence[tuple[Pattern, int]],
    levels: Mapping[str, int],
    *,
    u: Mapping[str, Sequence[float]],
    prior: float = 0.1,
    max_iterations: int = 200,
    tolerance: float = 1e-7,
) -> FSParameters:
    """EM for m and λ on candidate-pair comparison vectors (``patterns``: vector, count), u fixed.

    Starts with m favouring each comparison's top level (0.9, rest shared), so the EM finds the
    match class rather than a mirror image of it.
    """
    names = list(levels)
    gammas, counts = _matrix(patterns, len(names))
    if counts.sum() <= 0:
        raise ValueError("no candidate pairs to estimate match parameters from")
    m = {n: [0.1 / (levels[n] - 1)] * (levels[n] - 1) + [0.9] for n in names}
    lam = prior
    converged, iterations = False, 0
    for step in range(1, max_iterations + 1):
        iterations = step
        log_m = np.zeros(len(counts))
        log_u = np.zeros(len(counts))
        for i, name in enumerate(names):
            col = gammas[:, i]
            ok = col >= 0
            log_m[ok] += np.log(np.asarray(m[name])[col[ok]])
            log_u[ok] += np.log(np.asarray(u[name])[col[ok]])
        a = np.log(lam) + log_m
        b = np.log(1 - lam) + log_u
        posterior = 1.0 / (1.0 + np.exp(np.clip(b - a, -700, 700)))
        weights = counts * posterior
        new_lam = float(min(max(weights.sum() / counts.sum(), MIN_PROBABILITY), 1 - MIN_PROBABILITY))
        new_m = {name: _level_shares(counts, weights, gammas[:, i], levels[name]) for i, name in enumerate(names)}
        delta = max([abs(new_lam - lam)] + [abs(x - y) for n in names for x, y in zip(new_m[n], m[n], strict=True)])
        m, lam = new_m, new_lam
        if delta < tolerance:
            converged = True
            break
    return FSParameters(m=m, u={n: list(u[n]) for n in names}, prior=lam, iterations=iterations, converged=converged)
