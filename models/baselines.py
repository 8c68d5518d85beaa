"""Seasonal-naive forecasting: the baseline every forecast figure is compared with, as plain pandas
functions and as an MLflow pyfunc model (input: history panel; output: forecasts with 80/95 % intervals).

Panel contract (pandas): ``series_id`` (str), ``ds`` (datetime64 day), ``y`` (float, units). Forecasts:
``series_id``, ``ds``, ``yhat``, ``lo_80``, ``hi_80``, ``lo_95``, ``hi_95`` for ``horizon`` days after each
series' last history day.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from mlflow.pyfunc import PythonModel

FORECAST_COLUMNS = ("series_id", "ds", "yhat", "lo_80", "hi_80", "lo_95", "hi_95")
Z80, Z95 = 1.2815515655446004, 1.959963984540054


def seasonal_naive(history: pd.DataFrame, *, horizon: int, season_length: int = 7) -> pd.DataFrame:
    """Repeat each series' last ``season_length`` days; normal intervals from the seasonal differences,
    widened by √(number of seasons ahead). Missing days in the history count as zero sales."""
    out = []
    for sid, g in history.groupby("series_id", sort=True):
        s = g.set_index("ds")["y"].astype(float).sort_index()
        s = s.reindex(pd.date_range(s.index.min(), s.index.max(), freq="D"), fill_value=0.0)
        y = s.to_numpy()
        last = y[-season_length:] if len(y) >= season_length else np.resize(y, season_length)
        diffs = y[season_length:] - y[:-season_length] if len(y) > season_length else np.zeros(1)
        sigma = float(np.sqrt(np.mean(diffs ** 2))) if len(diffs) else 0.0
        steps = np.arange(horizon)
        yhat = last[steps % season_length]
        width = sigma * np.sqrt(steps // season_length + 1)
        out.append(pd.DataFrame({
            "series_id": sid,
            "ds": pd.date_range(s.index.max() + pd.Timedelta(days=1), periods=horizon, freq="D"),
            "yhat": yhat, "lo_80": np.maximum(yhat - Z80 * width, 0.0), "hi_80": yhat + Z80 * width,
            "lo_95": np.maximum(yhat - Z95 * width, 0.0), "hi_95": yhat + Z95 * width,
        }))
    if not out:
        return pd.DataFrame({c: pd.Series(dtype="float64") for c in FORECAST_COLUMNS})
    return pd.concat(out, ignore_index=True)[list(FORECAST_COLUMNS)]


class SeasonalNaiveModel(PythonModel):
    """Pyfunc wrapper of ``seasonal_naive``: the model is its parameters (nothing is fitted ahead)."""

    def __init__(self, *, horizon: int, season_length: int = 7):
        self.horizon = horizon
        self.season_length = season_length

    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        frame = model_input.copy()
        frame["ds"] = pd.to_datetime(frame["ds"])
        return seasonal_naive(frame, horizon=self.horizon, season_length=self.season_length)
