"""Forecast accuracy metrics on pandas panels, the same for every candidate and the baseline.

``errors`` rows: ``series_id``, ``ds``, ``y`` (actual), ``yhat``, optionally ``lo_80``/``hi_80``/
``lo_95``/``hi_95``. ``scales`` rows: ``series_id``, ``scale_sq`` (mean squared seasonal difference of
the series' training history) and ``scale_abs`` (mean absolute one) — RMSSE/MASE's denominators.

RMSSE and MASE are averaged over series (M5 style, unweighted); WAPE = Σ|e| / Σ|y|;
bias = Σ(ŷ − y) / Σ y (positive: over-forecast); coverage = share of actuals inside the interval.
"""

from __future__ import annotations

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
    e = errors.merge(scales, on="series_id", how="left")
    e = e.assign(err=e["yhat"] - e["y"])
    per = e.groupby("series_id").agg(mse=("err", lambda x: float(np.mean(x ** 2))),
                                     mae=("err", lambda x: float(np.mean(np.abs(x)))),
                                     scale_sq=("scale_sq", "first"), scale_abs=("scale_abs", "first"))
    rmsse = np.sqrt(per["mse"] / per["scale_sq"]).replace([np.inf, -np.inf], np.nan).dropna()
    mase = (per["mae"] / per["scale_abs"]).replace([np.inf, -np.inf], np.nan).dropna()
    total = float(e["y"].abs().sum())
    out = {
        "rmsse": float(rmsse.mean()) if len(rmsse) else float("nan"),
        "mase": float(mase.mean()) if len(mase) else float("nan"),
        "wape": float(e["err"].abs().sum() / total) if total else float("nan"),
        "bias": float(e["err"].sum() / total) if total else float("nan"),
        "n_series": float(e["series_id"].nunique()),
        "n_points": float(len(e)),
    }
    for p in ("80", "95"):
        lo, hi = f"lo_{p}", f"hi_{p}"
        if lo in e and hi in e:
            out[f"coverage_{p}"] = float(((e["y"] >= e[lo]) & (e["y"] <= e[hi])).mean())
        else:
            out[f"coverage_{p}"] = float("nan")
    return out
