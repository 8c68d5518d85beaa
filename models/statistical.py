"""Per-series statistical forecasts (numpy, one series at a time; fitted in parallel on Spark through
``applyInPandas``, one thread per task). The method follows the demand class (Syntetos–Boylan ADI/CV²):

- smooth / erratic (ADI < 1.32): simple exponential smoothing of the level × a weekly profile (``ses_weekly``)
- intermittent (ADI ≥ 1.32, CV² < 0.49): TSB (Teunter–Syntetos–Babai: demand probability × size)
- lumpy (ADI ≥ 1.32, CV² ≥ 0.49): IMAPA (mean of ADIDA over aggregation levels 1..7); Croston-SBA and
  ADIDA are available too.

A series with too little history or too few selling days is not fitted: its status says why
(``too_short``, ``too_sparse``) and it forecasts zero, so it still counts in every total.
No numba/JIT here: fitting is a few vector operations per series.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

STAT_FORECAST_COLUMNS = ("series_id", "origin", "ds", "yhat_stat", "method", "status")


def _ses(x: np.ndarray, alpha: float) -> float:
    level = x[0]
    for v in x[1:]:
        level = alpha * v + (1 - alpha) * level
    return float(level)


def croston_sba(y: np.ndarray, alpha: float = 0.1) -> float:
    nz = np.flatnonzero(y)
    if len(nz) == 0:
        return 0.0
    sizes = y[nz]
    intervals = np.diff(np.concatenate([[-1], nz])).astype(float)
    return (1 - alpha / 2) * _ses(sizes, alpha) / max(_ses(intervals, alpha), 1.0)


def tsb(y: np.ndarray, alpha: float = 0.1, beta: float = 0.05) -> float:
    nz = np.flatnonzero(y)
    if len(nz) == 0:
        return 0.0
    p, z = 1.0 / max(len(y) / len(nz), 1.0), float(y[nz[0]])
    for v in y:
        if v > 0:
            p = beta * 1 + (1 - beta) * p
            z = alpha * v + (1 - alpha) * z
        else:
            p = (1 - beta) * p
    return p * z


def adida(y: np.ndarray, agg: int, alpha: float = 0.1) -> float:
    n = (len(y) // agg) * agg
    if n < agg:
        return float(y.mean()) if len(y) else 0.0
    buckets = y[len(y) - n:].reshape(-1, agg).sum(1)
    return _ses(buckets, alpha) / agg


def imapa(y: np.ndarray, max_agg: int = 7) -> float:
    return float(np.mean([adida(y, k) for k in range(1, max_agg + 1)]))


def ses_weekly(y: np.ndarray, horizon: int, season_length: int, alpha: float = 0.1) -> np.ndarray:
    """Level by SES on the seasonally adjusted series × the weekly profile of the last 8 weeks."""
    recent = y[-season_length * 8:]
    k = len(recent) // season_length * season_length
    if k >= season_length and recent[-k:].sum() > 0:
        prof = recent[-k:].reshape(-1, season_length).mean(0)
        prof = prof / prof.mean() if prof.mean() > 0 else np.ones(season_length)
    else:
        prof = np.ones(season_length)
    phase = np.arange(len(y)) % season_length
    adj = y / np.where(prof[phase] > 0, prof[phase], 1.0)
    level = _ses(adj, alpha)
    future_phase = (np.arange(len(y), len(y) + horizon)) % season_length
    return level * prof[future_phase]


def classify(y: np.ndarray) -> str:
    nz = y[y > 0]
    if len(nz) == 0:
        return "zero"
    adi = len(y) / len(nz)
    cv2 = float((nz.std() / nz.mean()) ** 2) if len(nz) > 1 else 0.0
    if adi < 1.32:
        return "smooth" if cv2 < 0.49 else "erratic"
    return "intermittent" if cv2 < 0.49 else "lumpy"


def forecast_series(y: np.ndarray, *, horizon: int, season_length: int, min_history_days: int,
                    min_nonzero_days: int) -> tuple[np.ndarray, str, str]:
    """(forecast, method, status) for one dense daily history ``y`` (from its first sale to the origin)."""
    if len(y) < min_history_days:
        return np.zeros(horizon), "none", "too_short"
    if int((y > 0).sum()) < min_nonzero_days:
        return np.zeros(horizon), "none", "too_sparse"
    recent = y[-364:]
    cls = classify(recent)
    if cls in ("smooth", "erratic"):
        return ses_weekly(recent, horizon, season_length), "ses_weekly", "fitted"
    if cls == "intermittent":
        return np.full(horizon, tsb(recent)), "tsb", "fitted"
    return np.full(horizon, imapa(recent)), "imapa", "fitted"


def fit_predict_group(pdf: pd.DataFrame, *, origins: list, horizon: int, season_length: int,
                      min_history_days: int, min_nonzero_days: int) -> pd.DataFrame:
    """One series' rows (series_id, ds, units) → its forecasts from every origin (applyInPandas body).

    Plain numpy on day numbers (a day's rows summed, days without a sale zero) and one frame at the end: the
    fits themselves are a fraction of a millisecond, so per-origin pandas frames would cost more than they do."""
    sid = pdf["series_id"].iloc[0]
    day = pd.to_datetime(pdf["ds"]).to_numpy("datetime64[D]")
    first = day.min()
    daily = np.bincount((day - first).astype(np.int64), weights=pdf["units"].to_numpy(float))
    starts, fcs, methods, statuses = [], [], [], []
    for origin in origins:
        o = np.datetime64(pd.Timestamp(origin).date(), "D")
        n = int((o - first).astype(np.int64)) + 1   # days from the first sale through the origin
        if n <= 0:
            continue  # no sale yet at this origin: not a series then (new products are counted in totals)
        dense = np.zeros(n)
        dense[: min(n, len(daily))] = daily[:n]
        fc, method, status = forecast_series(dense, horizon=horizon, season_length=season_length,
                                             min_history_days=min_history_days, min_nonzero_days=min_nonzero_days)
        starts.append(o)
        fcs.append(np.asarray(fc, float))
        methods.append(method)
        statuses.append(status)
    k = len(starts)
    origin_days = np.repeat(np.array(starts, dtype="datetime64[D]"), horizon)
    ahead = np.tile(np.arange(1, horizon + 1), k).astype("timedelta64[D]")
    # plain object strings (astype: pandas would infer its string dtype): Arrow-backed pandas strings come back
    # as chunked arrays Spark cannot take
    return pd.DataFrame({
        "series_id": np.full(k * horizon, sid, dtype=object),
        "origin": origin_days.astype("datetime64[ns]"),
        "ds": (origin_days + ahead).astype("datetime64[ns]"),
        "yhat_stat": np.concatenate(fcs) if fcs else np.zeros(0),
        "method": np.repeat(np.array(methods, dtype=object), horizon),
        "status": np.repeat(np.array(statuses, dtype=object), horizon),
    }, columns=list(STAT_FORECAST_COLUMNS)).astype({"series_id": object, "method": object, "status": object})
