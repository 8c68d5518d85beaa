"""Forecast accuracy metrics on pandas panels, the same for every candidate and the baseline; ranking
metrics @k for recommendations (``ranking_metrics``, at the end).

``errors`` rows: ``series_id``, ``ds``, ``y`` (actual), ``yhat``, optionally ``lo_80``/``hi_80``/
``lo_95``/``hi_95``. ``scales`` rows: ``series_id``, ``scale_sq`` (mean squared seasonal difference of
the series' training history) and ``scale_abs`` (mean absolute one) — RMSSE/MASE's denominators.

RMSSE and MASE are averaged over series (M5 style, unweighted); WAPE = Σ|e| / Σ|y|;
bias = Σ(ŷ − y) / Σ y (positive: over-forecast); coverage = share of actuals inside the interval.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence

import numpy as np
import pandas as pd

METRICS = ("rmsse", "mase", "wape", "bias", "coverage_80", "coverage_95", "n_series", "n_points")


def seasonal_scales(history: pd.DataFrame, *, season_length: int) -> pd.DataFrame:
    """Per series: mean squared and mean absolute ``season_length``-lag difference of its history
    (missing days count as zero). A series with no variation gets NaN scales (excluded from RMSSE/MASE)."""
    rows = []
    for sid, g in history.groupby("series_id", sort=True):
        s = g.set_index("ds")["y"].astype(float).sort_index()
        s = s.reindex(pd.date_range(s.index.min(), s.index.max(), freq="D"), fill_value=0.0).to_numpy()
        d = s[season_length:] - s[:-season_length] if len(s) > season_length else np.array([])
        sq = float(np.mean(d ** 2)) if len(d) else np.nan
        ab = float(np.mean(np.abs(d))) if len(d) else np.nan
        rows.append((sid, sq if sq > 0 else np.nan, ab if ab > 0 else np.nan))
    return pd.DataFrame(rows, columns=["series_id", "scale_sq", "scale_abs"])


def evaluate(errors: pd.DataFrame, scales: pd.DataFrame) -> dict[str, float]:
    """The METRICS of one set of forecasts (one level, one candidate, all cut-offs pooled)."""
    if errors.empty:
        return {m: float("nan") for m in METRICS}
    codes, uniq = pd.factorize(errors["series_id"])
    sc = scales.set_index("series_id").reindex(uniq)
    y, yhat = errors["y"].to_numpy(float), errors["yhat"].to_numpy(float)
    err = yhat - y
    n = np.bincount(codes, minlength=len(uniq)).astype(float)
    mse = np.bincount(codes, weights=err ** 2, minlength=len(uniq)) / n
    mae = np.bincount(codes, weights=np.abs(err), minlength=len(uniq)) / n
    with np.errstate(divide="ignore", invalid="ignore"):
        rmsse = np.sqrt(mse / sc["scale_sq"].to_numpy(float))
        mase = mae / sc["scale_abs"].to_numpy(float)
    rmsse, mase = rmsse[np.isfinite(rmsse)], mase[np.isfinite(mase)]
    total = float(np.abs(y).sum())
    out = {
        "rmsse": float(rmsse.mean()) if len(rmsse) else float("nan"),
        "mase": float(mase.mean()) if len(mase) else float("nan"),
        "wape": float(np.abs(err).sum() / total) if total else float("nan"),
        "bias": float(err.sum() / total) if total else float("nan"),
        "n_series": float(len(uniq)),
        "n_points": float(len(errors)),
    }
    for p in ("80", "95"):
        lo, hi = f"lo_{p}", f"hi_{p}"
        if lo in errors and hi in errors:
            out[f"coverage_{p}"] = float(((y >= errors[lo].to_numpy(float)) & (y <= errors[hi].to_numpy(float))).mean())
        else:
            out[f"coverage_{p}"] = float("nan")
    return out


# ---------------------------------------------------------------------------------------------------
# Ranking metrics (recommendations)

RANKING_METRICS = ("precision", "recall", "map", "ndcg")


def ranking_metrics(recommended: Mapping[str, Sequence[str]], relevant: Mapping[str, Collection[str]], *,
                    k: int) -> dict[str, float]:
    """Binary-relevance ranking metrics @k, averaged over the users of ``relevant`` that have at least one
    relevant item (a user with no recommendation list scores 0), with Spark's RankingMetrics definitions:

    precision@k = hits in the top k / k; recall@k = hits in the top k / |relevant|;
    AP@k = Σ over hits at position i ≤ k of (hits up to i / i), divided by min(|relevant|, k);
    NDCG@k = Σ over hits at position i ≤ k of 1/log2(i + 1), divided by Σ_{i ≤ min(|relevant|, k)} 1/log2(i + 1).
    Also ``users``: how many users were averaged over.
    """
    if k < 1:
        raise ValueError(f"k must be at least 1, found {k}")
    sums = dict.fromkeys(RANKING_METRICS, 0.0)
    users = 0
    for user, rel in relevant.items():
        rel = set(rel)
        if not rel:
            continue
        users += 1
        top = list(dict.fromkeys(recommended.get(user, ())))[:k]   # a repeated item counts once, at its first place
        hits = [i for i, item in enumerate(top, start=1) if item in rel]
        sums["precision"] += len(hits) / k
        sums["recall"] += len(hits) / len(rel)
        sums["map"] += sum((n / i) for n, i in enumerate(hits, start=1)) / min(len(rel), k)
        ideal = sum(1.0 / math.log2(i + 1) for i in range(1, min(len(rel), k) + 1))
        sums["ndcg"] += sum(1.0 / math.log2(i + 1) for i in hits) / ideal
    out = {m: (v / users if users else float("nan")) for m, v in sums.items()}
    out["users"] = float(users)
    return out
