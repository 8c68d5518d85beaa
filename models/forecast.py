"""Daily sales forecasts per product × platform × warehouse region, summed bottom-up (coherent) to product ×
region, brand, category, platform, warehouse region and total; features as of the forecast origin only.

Pure pandas/numpy on a dense panel (series × days). Candidates, all backtested the same way (rolling
origin): seasonal naive (baseline, per level on that level's own series), per-series statistical models
(models/statistical.py, fitted on Spark), and a global LightGBM model with calendar, price, discount depth,
big-sale events and their presale phase, last year's event boost, and presale deposits / balances due so
far for the coming event. Intervals (80/95 %) are conformal: quantiles of backtest errors standardised by
each series' seasonal-difference scale, per level (leave-one-cut-off-out when measuring coverage).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from brandlake.models.metrics import evaluate
from brandlake.transforms.sale_events import event_series_of
from mlflow.pyfunc import PythonModel

log = logging.getLogger(__name__)

LEVELS: dict[str, tuple[str, ...]] = {
    "product_platform_region": ("product_id", "platform_id", "region"),
    "product_region": ("product_id", "region"),
    "brand": ("brand_id",),
    "category": ("category",),
    "platform": ("platform_id",),
    "warehouse": ("region",),
    "total": (),
}
HIER = ("series_id", "product_id", "brand_id", "category", "platform_id", "region")
PRESALE_FEATURES = ("dep_units", "bal_due_units", "plat_dep_orders", "plat_dep_ly_ratio")
BASE_FEATURES = (
    "h", "dow", "month", "dom", "mean_7", "mean_28", "mean_91", "nz_share_91", "age", "snaive", "dow_mean",
    "ly", "ly_7", "ly_base", "plat_ly_ratio", "plat_mean_28", "price_28", "disc_depth_28", "is_event",
    "presale_phase", "days_to_event", "event_day_idx", "event_disc_pct", "event_ly_boost",
)
QUANTILES = {"lo_80": 0.10, "hi_80": 0.90, "lo_95": 0.025, "hi_95": 0.975}


# ---------------------------------------------------------------------------------------------------
# Dense panel

@dataclass
class Panel:
    """Bottom series (rows of ``series``) × days (``days``); ``Y`` units, ``gross``/``disc`` money (float)."""

    series: pd.DataFrame
    days: pd.DatetimeIndex
    Y: np.ndarray
    gross: np.ndarray
    disc: np.ndarray
    first_sale: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        nz = self.Y > 0
        self.first_sale = np.where(nz.any(1), nz.argmax(1), len(self.days))

    def index_of(self, day) -> int:
        return int((pd.Timestamp(day) - self.days[0]).days)


def build_panel(demand: pd.DataFrame, *, end=None) -> Panel:
    """DEMAND_PANEL rows (pandas) → Panel over [first day, ``end`` or last day]."""
    d = demand.assign(ds=pd.to_datetime(demand["ds"]))
    series = (d.groupby("series_id", sort=True)[list(HIER[1:])].first().reset_index())
    days = pd.date_range(d["ds"].min(), pd.Timestamp(end) if end is not None else d["ds"].max(), freq="D")
    si = pd.Index(series["series_id"]).get_indexer(d["series_id"])
    di = ((d["ds"] - days[0]).dt.days).to_numpy()
    keep = (di >= 0) & (di < len(days))
    shape = (len(series), len(days))
    arrays = []
    for col in ("units", "gross_amount", "discount_amount"):
        a = np.zeros(shape)
        np.add.at(a, (si[keep], di[keep]), d[col].astype(float).fillna(0.0).to_numpy()[keep])
        arrays.append(a)
    return Panel(series, days, *arrays)


# ---------------------------------------------------------------------------------------------------
# Calendar and presale (as of the origin)

@dataclass
class Calendar:
    """Per platform × day (days extended by the horizon): event flags from the published sale calendar."""

    platforms: list[str]
    is_event: np.ndarray
    presale_phase: np.ndarray
    days_to_event: np.ndarray
    event_day_idx: np.ndarray
    event_disc_pct: np.ndarray
    occurrence: np.ndarray          # index into ``events`` of the event covering the day (-1: none)
    events: pd.DataFrame


def build_calendar(calendar: pd.DataFrame, *, platforms: Sequence[str], days: pd.DatetimeIndex,
                   horizon: int) -> Calendar:
    n = len(days) + horizon + 1
    P = len(platforms)
    is_event = np.zeros((P, n))
    presale = np.zeros((P, n))
    dte = np.full((P, n), 99.0)
    idx = np.full((P, n), -1.0)
    disc = np.zeros((P, n))
    occ = np.full((P, n), -1, dtype=int)
    ev = calendar.copy()
    for c in ("presale_start", "event_start", "event_end"):
        ev[c] = pd.to_datetime(ev[c])
    ev = ev.sort_values(["platform_id", "event_start"]).reset_index(drop=True)
    pos = {p: i for i, p in enumerate(platforms)}
    d0 = days[0]
    for k, e in ev.iterrows():
        if e["platform_id"] not in pos:
            continue
        p = pos[e["platform_id"]]
        s, t = (e["event_start"] - d0).days, (e["event_end"] - d0).days
        lo, hi = max(s, 0), min(t + 1, n)
        if lo < hi:
            is_event[p, lo:hi] = 1
            idx[p, lo:hi] = np.arange(lo - s, hi - s)
            disc[p, lo:hi] = 0.0 if pd.isna(e["discount_pct"]) else float(e["discount_pct"])
            occ[p, lo:hi] = k
        ps = (e["presale_start"] - d0).days if pd.notna(e["presale_start"]) else s - 7
        for d in range(max(ps, 0), min(s, n)):
            presale[p, d] = 1 if pd.notna(e["presale_start"]) else 0
            occ[p, d] = k if occ[p, d] < 0 else occ[p, d]
        for d in range(max(s - 60, 0), min(s, n)):
            dte[p, d] = min(dte[p, d], s - d)
    return Calendar(list(platforms), is_event, presale, dte, idx, disc, occ, ev)


def event_boosts(cal: Calendar, plat_totals: np.ndarray, days: pd.DatetimeIndex) -> np.ndarray:
    """Per event occurrence: the uplift of the same event a year earlier on its platform (same name once
    its year is removed; event-day mean over the mean of the 28 days before its presale/early phase), and
    the day that uplift became known (its end)."""
    out = np.full((len(cal.events), 2), np.nan)
    d0 = days[0]
    # the same event a year earlier: occurrences carry their year in the name ("Double 11 2024")
    series = cal.events["event_name"].map(event_series_of)
    for k, e in cal.events.iterrows():
        if e["platform_id"] not in cal.platforms:
            continue
        p = cal.platforms.index(e["platform_id"])
        prev = cal.events[(cal.events["platform_id"] == e["platform_id"]) & (series == series.iloc[k])
                          & (cal.events["event_start"] < e["event_start"] - pd.Timedelta(days=200))]
        if prev.empty:
            continue
        q = prev.iloc[-1]
        s, t = (q["event_start"] - d0).days, (q["event_end"] - d0).days
        b0 = ((q["presale_start"] if pd.notna(q["presale_start"]) else q["event_start"]) - d0).days - 7
        if b0 - 28 < 0 or t >= plat_totals.shape[1]:
            continue
        base = plat_totals[p, b0 - 28:b0].mean()
        if base > 0:
            out[k] = (plat_totals[p, s:t + 1].mean() / base, t)
    return out


def presale_as_of(presale_lines: pd.DataFrame, origin, *, horizon: int) -> pd.DataFrame:
    """Per series (product|platform|region) and platform: deposits paid and balances still due AS OF
    ``origin`` (end of that day) for presale orders whose event starts after it, within the horizon.

    ``presale_lines``: series_id, platform_id, order_id, quantity, event_start, deposit_paid_at,
    balance_paid_at (NaT when not paid). Payments after the origin are invisible by construction."""
    cols = ["series_id", "platform_id", "dep_units", "bal_due_units", "dep_orders"]
    if presale_lines is None or presale_lines.empty:
        return pd.DataFrame(columns=cols)
    o_end = pd.Timestamp(origin) + pd.Timedelta(days=1)
    pl = presale_lines
    ev = pd.to_datetime(pl["event_start"])
    dep = pd.to_datetime(pl["deposit_paid_at"])
    bal = pd.to_datetime(pl["balance_paid_at"])
    live = (dep < o_end) & (ev >= pd.Timestamp(origin)) & (ev <= pd.Timestamp(origin) + pd.Timedelta(days=horizon + 3))
    x = pl[live].assign(due=np.where(~(bal < o_end)[live], pl["quantity"][live], 0))
    out = x.groupby(["series_id", "platform_id"]).agg(dep_units=("quantity", "sum"), bal_due_units=("due", "sum"),
                                                      dep_orders=("order_id", "nunique")).reset_index()
    return out[cols]


# ---------------------------------------------------------------------------------------------------
# Features as of an origin

def _window_mean(A: np.ndarray, lo: int, hi: int) -> np.ndarray:
    lo, hi = max(lo, 0), max(hi, 0)
    return A[:, lo:hi].mean(1) if hi > lo else np.full(A.shape[0], np.nan)


def features_at(panel: Panel, cal: Calendar, origin, *, horizon: int, presale_lines: pd.DataFrame | None,
                boosts: np.ndarray, plat_totals: np.ndarray, with_target: bool = True) -> pd.DataFrame:
    """One row per active bottom series × h = 1..horizon for forecasts made at the end of ``origin``.

    Everything is read from days ≤ origin (Y[:, :o+1]) or from the published calendar; the target
    ``y`` (when the days exist) is the only later value, and only when ``with_target``."""
    o = panel.index_of(origin)
    Y = panel.Y[:, : o + 1]
    active = (panel.first_sale <= o) & (Y[:, max(o - 363, 0):].sum(1) > 0)
    ids = np.flatnonzero(active)
    if len(ids) == 0:
        return pd.DataFrame()
    Ya, G, Dd = Y[ids], panel.gross[ids, : o + 1], panel.disc[ids, : o + 1]
    plat = panel.series["platform_id"].to_numpy()[ids]
    pidx = np.array([cal.platforms.index(p) for p in plat])
    PT = plat_totals[:, : o + 1]
    s = {
        "mean_7": _window_mean(Ya, o - 6, o + 1), "mean_28": _window_mean(Ya, o - 27, o + 1),
        "mean_91": _window_mean(Ya, o - 90, o + 1), "nz_share_91": (Ya[:, max(o - 90, 0):] > 0).mean(1),
        "age": (o - panel.first_sale[ids]).astype(float),
        "ly_base": _window_mean(Ya, o - 364 - 27, o - 364 + 1),
    }
    units28, gross28 = Ya[:, max(o - 27, 0):].sum(1), G[:, max(o - 27, 0):].sum(1)
    s["price_28"] = np.where(units28 > 0, gross28 / np.maximum(units28, 1), np.nan)
    s["disc_depth_28"] = np.where(gross28 > 0, Dd[:, max(o - 27, 0):].sum(1) / np.maximum(gross28, 1e-9), np.nan)
    plat_mean_28 = _window_mean(PT, o - 27, o + 1)
    plat_ly_base = _window_mean(PT, o - 364 - 27, o - 364 + 1)
    pre = None
    if presale_lines is not None:
        pa = presale_as_of(presale_lines, origin, horizon=horizon)
        sid = panel.series["series_id"].to_numpy()[ids]
        by_series = pa.set_index("series_id")
        pre = {
            "dep_units": by_series["dep_units"].reindex(sid).fillna(0).to_numpy(float),
            "bal_due_units": by_series["bal_due_units"].reindex(sid).fillna(0).to_numpy(float),
        }
        plat_orders = pa.groupby("platform_id")["dep_orders"].sum()
        pre["plat_dep_orders"] = plat_orders.reindex(plat).fillna(0).to_numpy(float)
        # the same count a year earlier, at the same distance before its event: a growth signal
        pa_ly = presale_as_of(presale_lines, pd.Timestamp(origin) - pd.Timedelta(days=364), horizon=horizon)
        ly_orders = pa_ly.groupby("platform_id")["dep_orders"].sum().reindex(plat).fillna(0).to_numpy(float)
        pre["plat_dep_ly_ratio"] = np.where(ly_orders > 0, pre["plat_dep_orders"] / np.maximum(ly_orders, 1), np.nan)
    frames = []
    for h in range(1, horizon + 1):
        t = o + h
        day = panel.days[0] + pd.Timedelta(days=t)
        k0 = (h + 6) // 7
        dow_vals = np.stack([Ya[:, t - 7 * k] for k in range(k0, k0 + 4) if 0 <= t - 7 * k <= o] or
                            [np.full(len(ids), np.nan)])
        occ = cal.occurrence[pidx, t]
        # last year's uplift of the event covering the day, once that occurrence has ended (none without events)
        uplift = boosts[np.maximum(occ, 0)] if len(boosts) else np.full((len(ids), 2), np.nan)
        known = (occ >= 0) & (uplift[:, 1] < o)
        f = {
            "series_idx": ids, "h": np.full(len(ids), h, float), "dow": np.full(len(ids), day.dayofweek, float),
            "month": np.full(len(ids), day.month, float), "dom": np.full(len(ids), day.day, float),
            **s,
            "snaive": Ya[:, o - 7 + ((h - 1) % 7) + 1] if o >= 6 else np.zeros(len(ids)),
            "dow_mean": np.nanmean(dow_vals, 0),
            "ly": Ya[:, t - 364] if 0 <= t - 364 <= o else np.full(len(ids), np.nan),
            "ly_7": _window_mean(Ya, t - 364 - 3, min(t - 364 + 4, o + 1)),
            "plat_ly_ratio": np.where(plat_ly_base[pidx] > 0,
                                      _window_mean(PT, t - 364 - 3, min(t - 364 + 4, o + 1))[pidx]
                                      / np.maximum(plat_ly_base[pidx], 1e-9), np.nan),
            "plat_mean_28": plat_mean_28[pidx],
            "is_event": cal.is_event[pidx, t], "presale_phase": cal.presale_phase[pidx, t],
            "days_to_event": cal.days_to_event[pidx, t], "event_day_idx": cal.event_day_idx[pidx, t],
            "event_disc_pct": cal.event_disc_pct[pidx, t],
            "event_ly_boost": np.where(known, uplift[:, 0], np.nan),
        }
        if pre is not None:
            f.update(pre)
        if with_target:
            f["y"] = panel.Y[ids, t] if t < panel.Y.shape[1] else np.full(len(ids), np.nan)
        frames.append(pd.DataFrame(f))
    out = pd.concat(frames, ignore_index=True)
    out["origin"] = pd.Timestamp(origin)
    out["ds"] = out["origin"] + pd.to_timedelta(out["h"], unit="D")
    return out


# ---------------------------------------------------------------------------------------------------
# Global model

def feature_names(presale: bool) -> list[str]:
    return list(BASE_FEATURES) + (list(PRESALE_FEATURES) if presale else [])


def fit_lgbm(train: pd.DataFrame, *, features: Sequence[str], params: Mapping[str, float], seed: int = 7):
    import lightgbm as lgb

    train = train[train["y"].notna()]
    model = lgb.LGBMRegressor(objective="tweedie", tweedie_variance_power=1.2, random_state=seed,
                              verbose=-1, subsample=0.8, subsample_freq=1, colsample_bytree=0.8, **params)
    model.fit(train[list(features)], train["y"])
    return model


def predict_lgbm(model, rows: pd.DataFrame, *, features: Sequence[str]) -> np.ndarray:
    return np.maximum(model.predict(rows[list(features)]), 0.0)


# ---------------------------------------------------------------------------------------------------
# Levels, intervals, metrics

UNKNOWN_KEY = "(unknown)"  # a series whose region/category/brand is not known (e.g. an unknown ship-to country)


def _as_key(values: pd.Series) -> pd.Series:
    """Text keys; a missing value becomes UNKNOWN_KEY (pandas' string dtype keeps NaN through astype(str),
    and a NaN key cannot be sorted or joined)."""
    return values.astype(object).where(values.notna(), UNKNOWN_KEY).astype(str)


def level_keys(frame: pd.DataFrame, level: str) -> pd.Series:
    cols = LEVELS[level]
    if not cols:
        return pd.Series("total", index=frame.index)
    if len(cols) == 1:
        return _as_key(frame[cols[0]])
    return pd.concat([_as_key(frame[c]) for c in cols], axis=1).agg("|".join, axis=1)


def level_matrix(panel: Panel, level: str) -> tuple[pd.Index, np.ndarray, np.ndarray]:
    """(series keys of the level, their Y summed from the bottom, bottom→level index)."""
    keys = level_keys(panel.series, level)
    uniq = pd.Index(sorted(keys.unique()))
    g = uniq.get_indexer(keys)
    A = np.zeros((len(uniq), panel.Y.shape[1]))
    np.add.at(A, g, panel.Y)
    return uniq, A, g


def scale_of(A: np.ndarray, o: int, season: int) -> np.ndarray:
    """RMS of the season-lag differences of each row over its history up to ``o`` (from its first sale)."""
    out = np.full(A.shape[0], np.nan)
    H = A[:, : o + 1]
    first = np.where((H > 0).any(1), (H > 0).argmax(1), H.shape[1])
    for i in range(A.shape[0]):
        x = H[i, first[i]:]
        if len(x) > season:
            d = x[season:] - x[:-season]
            v = float(np.mean(d ** 2))
            out[i] = np.sqrt(v) if v > 0 else np.nan
    return out


def aggregate(bottom: pd.DataFrame, panel: Panel, level: str, value_cols: Sequence[str]) -> pd.DataFrame:
    """Sum bottom forecasts (series_idx, origin, ds, values) to ``level`` series keys."""
    keys = level_keys(panel.series, level).to_numpy()
    b = bottom.assign(key=keys[bottom["series_idx"].to_numpy()])
    return b.groupby(["key", "origin", "ds"], sort=True)[list(value_cols)].sum().reset_index()


def seasonal_naive_level(A: np.ndarray, keys: pd.Index, o: int, origin, horizon: int, season: int) -> pd.DataFrame:
    h = np.arange(1, horizon + 1)
    cols = o - season + ((h - 1) % season) + 1
    vals = A[:, cols]
    return pd.DataFrame({"key": np.repeat(keys.to_numpy(), horizon), "origin": pd.Timestamp(origin),
                         "ds": np.tile(pd.Timestamp(origin) + pd.to_timedelta(h, unit="D"), len(keys)),
                         "yhat": vals.reshape(-1)})


def with_actuals(fc: pd.DataFrame, A: np.ndarray, keys: pd.Index, days: pd.DatetimeIndex, o: int,
                 season: int) -> pd.DataFrame:
    ki = keys.get_indexer(fc["key"])
    ti = (pd.to_datetime(fc["ds"]) - days[0]).dt.days.to_numpy()
    ok = ti < A.shape[1]
    out = fc[ok].copy()
    out["y"] = A[ki[ok], ti[ok]]
    out["sigma"] = scale_of(A, o, season)[ki[ok]]
    return out


def standardized_quantiles(errors: pd.DataFrame) -> dict[str, float]:
    """Quantiles of (y − ŷ)/σ (σ: the series' seasonal-difference scale, 1 when it has none)."""
    sig = errors["sigma"].fillna(1.0).where(errors["sigma"].fillna(0) > 0, 1.0)
    r = ((errors["y"] - errors["yhat"]) / sig).to_numpy()
    if len(r) == 0:
        return {k: 0.0 for k in QUANTILES}
    return {k: float(np.quantile(r, q)) for k, q in QUANTILES.items()}


def with_intervals(fc: pd.DataFrame, q: Mapping[str, float]) -> pd.DataFrame:
    sig = fc["sigma"].fillna(1.0).where(fc["sigma"].fillna(0) > 0, 1.0)
    out = fc.copy()
    for k in QUANTILES:
        out[k] = np.maximum(out["yhat"] + q[k] * sig, 0.0)
    for p in ("80", "95"):
        out[f"lo_{p}"] = np.minimum(out[f"lo_{p}"], out["yhat"])
        out[f"hi_{p}"] = np.maximum(out[f"hi_{p}"], out["yhat"])
    return out


def level_metrics(errors: pd.DataFrame, *, event_mask: pd.Series | None = None) -> dict[str, float]:
    e = errors.rename(columns={"key": "series_id"})
    sig = e.drop_duplicates("series_id")[["series_id", "sigma"]]
    # RMSSE's scale is the RMS seasonal difference; it stands in for MASE's mean absolute one too
    scales = pd.DataFrame({"series_id": sig["series_id"], "scale_sq": sig["sigma"] ** 2, "scale_abs": sig["sigma"]})
    out = evaluate(e, scales)
    if event_mask is not None:
        ev = evaluate(e[event_mask.to_numpy()], scales)
        out.update({f"event_{k}": v for k, v in ev.items()})
    return out


def event_day_mask(fc: pd.DataFrame, panel: Panel, cal: Calendar, level: str) -> pd.Series:
    """True where the target day is a big-sale event day: on the series' platform when the level has one,
    else on any platform."""
    ti = (pd.to_datetime(fc["ds"]) - panel.days[0]).dt.days.to_numpy()
    if "platform_id" in LEVELS[level]:
        plat = fc["key"].str.split("|").str[1] if level != "platform" else fc["key"]
        if level == "product_platform_region":
            plat = fc["key"].str.split("|").str[1]
        pidx = np.array([cal.platforms.index(p) if p in cal.platforms else -1 for p in plat])
        vals = np.where(pidx >= 0, cal.is_event[np.maximum(pidx, 0), ti], 0)
        return pd.Series(vals > 0, index=fc.index)
    return pd.Series(cal.is_event[:, ti].max(0) > 0, index=fc.index)


# ---------------------------------------------------------------------------------------------------
# The registered model

class ForecastModel(PythonModel):
    """The selected candidate as a pyfunc. Input: bottom feature rows (``features_at`` output with the
    ``yhat_stat`` column for the statistical candidate); output: series_idx, origin, ds, yhat (units).
    ``quantiles`` (level → standardized error quantiles) turn level sums into 80/95 % intervals."""

    def __init__(self, *, candidate: str, booster: str | None, features: list[str],
                 quantiles: dict[str, dict[str, float]], horizon: int, season_length: int):
        self.candidate = candidate
        self.booster = booster
        self.features = features
        self.quantiles = quantiles
        self.horizon = horizon
        self.season_length = season_length
        self._model = None

    def _lgbm(self):
        if self._model is None:
            import lightgbm as lgb

            self._model = lgb.Booster(model_str=self.booster)
        return self._model

    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        x = model_input
        if self.candidate.startswith("lgbm"):
            yhat = np.maximum(self._lgbm().predict(x[self.features].astype(float)), 0.0)
        elif self.candidate == "stat":
            yhat = x["yhat_stat"].to_numpy(float)
        else:
            yhat = x["snaive"].to_numpy(float)
        return pd.DataFrame({"series_idx": x["series_idx"].to_numpy(), "origin": pd.to_datetime(x["origin"]),
                             "ds": pd.to_datetime(x["ds"]), "yhat": yhat})


# ---------------------------------------------------------------------------------------------------
# Backtest and selection

CANDIDATES = ("seasonal_naive", "snaive_bottom_up", "stat", "lgbm", "lgbm_no_presale")
BOTTOM_CANDIDATES = ("snaive_bottom_up", "stat", "lgbm", "lgbm_no_presale")


@dataclass
class ForecastInputs:
    panel: Panel
    cal: Calendar
    presale_lines: pd.DataFrame | None
    plat_totals: np.ndarray
    boosts: np.ndarray


def prepare(demand: pd.DataFrame, calendar: pd.DataFrame, presale_lines: pd.DataFrame | None, *,
            horizon: int, end=None) -> ForecastInputs:
    panel = build_panel(demand, end=end)
    platforms = sorted(set(panel.series["platform_id"]) | set(calendar["platform_id"]))
    cal = build_calendar(calendar, platforms=platforms, days=panel.days, horizon=horizon)
    P = np.zeros((len(platforms), panel.Y.shape[1]))
    np.add.at(P, np.array([platforms.index(p) for p in panel.series["platform_id"]]), panel.Y)
    return ForecastInputs(panel, cal, presale_lines, P, event_boosts(cal, P, panel.days))


def rows_at(inp: ForecastInputs, origin, *, horizon: int, with_target: bool = True) -> pd.DataFrame:
    return features_at(inp.panel, inp.cal, origin, horizon=horizon, presale_lines=inp.presale_lines,
                       boosts=inp.boosts, plat_totals=inp.plat_totals, with_target=with_target)


def training_origins(cutoff, *, horizon: int, n_origins: int, step: int,
                     season_origins: int = 0) -> list[pd.Timestamp]:
    """Origins whose targets all lie on or before ``cutoff``: the ``n_origins`` latest (cutoff − horizon − k·step)
    and ``season_origins`` around the same time a year earlier (52 weeks back, ``step`` apart, centred on the
    origin whose horizon matches the coming one), so that a sale held once a year (Double 11) is in the
    training rows before it is forecast again."""
    c = pd.Timestamp(cutoff)
    recent = [c - pd.Timedelta(days=horizon + k * step) for k in range(n_origins)]
    around = range(-((season_origins - 1) // 2), season_origins // 2 + 1) if season_origins > 0 else ()
    season = [c - pd.Timedelta(days=364 - k * step) for k in around]
    return recent + [o for o in season if o + pd.Timedelta(days=horizon) <= c]


def training_rows(inp: ForecastInputs, cutoff, *, horizon: int, n_origins: int, step: int,
                  season_origins: int = 0) -> pd.DataFrame:
    """Rows from ``training_origins`` (an origin with less than 35 days of history before it is skipped)."""
    frames = []
    for o in training_origins(cutoff, horizon=horizon, n_origins=n_origins, step=step, season_origins=season_origins):
        if inp.panel.index_of(o) < 35:
            continue
        r = rows_at(inp, o, horizon=horizon)
        if not r.empty:
            frames.append(r)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def bottom_candidates(inp: ForecastInputs, test: pd.DataFrame, stat_fc: pd.DataFrame | None,
                      models: Mapping[str, object], features: Mapping[str, list[str]]) -> pd.DataFrame:
    out = test[["series_idx", "origin", "ds"]].copy()
    out["snaive_bottom_up"] = test["snaive"].to_numpy(float)
    for name, m in models.items():
        out[name] = predict_lgbm(m, test, features=features[name])
    if stat_fc is not None and not stat_fc.empty:
        sid = inp.panel.series["series_id"].to_numpy()[test["series_idx"].to_numpy()]
        key = pd.DataFrame({"series_id": sid, "origin": test["origin"].to_numpy(), "ds": test["ds"].to_numpy()})
        sf = stat_fc.assign(origin=pd.to_datetime(stat_fc["origin"]), ds=pd.to_datetime(stat_fc["ds"]))
        out["stat"] = key.merge(sf[["series_id", "origin", "ds", "yhat_stat"]], how="left",
                                on=["series_id", "origin", "ds"])["yhat_stat"].fillna(0.0).to_numpy()
    else:
        out["stat"] = 0.0
    return out


def level_errors(inp: ForecastInputs, bottom: pd.DataFrame, level: str, level_mat, *, candidates: Sequence[str],
                 cutoff, horizon: int, season_length: int) -> pd.DataFrame:
    """The rows a backtest's metrics are computed from, for one level and cut-off: the bottom forecasts of
    ``candidates`` summed to the level and seasonal naive on the level's own series (``level_mat``:
    ``level_matrix``), each with its actual, the series' scale, level, cut-off and the event-day flag."""
    keys, A, _ = level_mat
    o = inp.panel.index_of(cutoff)
    long = aggregate(bottom, inp.panel, level, candidates).melt(
        id_vars=["key", "origin", "ds"], value_vars=list(candidates), var_name="candidate", value_name="yhat")
    base = seasonal_naive_level(A, keys, o, cutoff, horizon, season_length).assign(candidate="seasonal_naive")
    e = with_actuals(pd.concat([long, base], ignore_index=True), A, keys, inp.panel.days, o, season_length)
    e["level"], e["cutoff"] = level, cutoff
    e["is_event_day"] = event_day_mask(e, inp.panel, inp.cal, level).to_numpy()
    return e


@dataclass
class Backtest:
    errors: pd.DataFrame                                # level, candidate, cutoff, key, ds, y, yhat, sigma, lo/hi
    metrics: dict[str, dict[str, dict[str, float]]]     # level -> candidate -> metric -> value
    selected: dict[str, str]                            # level -> best candidate (RMSSE)
    published: str                                      # the candidate the registered model forecasts with
    quantiles: dict[str, dict[str, float]]              # level -> standardized error quantiles (published)


def run_backtest(inp: ForecastInputs, *, cutoffs: Sequence, horizon: int, season_length: int, n_origins: int,
                 origin_step: int, lgbm_params: Mapping[str, float], stat_fc: pd.DataFrame | None,
                 presale: bool = True, season_origins: int = 0) -> Backtest:
    """Rolling-origin backtest: every candidate forecasts from each cut-off with data up to it only."""
    level_mats = {lv: level_matrix(inp.panel, lv) for lv in LEVELS}
    feats = {"lgbm": feature_names(presale), "lgbm_no_presale": feature_names(False)}
    parts = []
    for c in cutoffs:
        c = pd.Timestamp(c)
        train = training_rows(inp, c, horizon=horizon, n_origins=n_origins, step=origin_step,
                              season_origins=season_origins)
        models = {name: fit_lgbm(train, features=f, params=lgbm_params) for name, f in feats.items()}
        test = rows_at(inp, c, horizon=horizon)
        bottom = bottom_candidates(inp, test, stat_fc, models, feats)
        for lv, mat in level_mats.items():
            parts.append(level_errors(inp, bottom, lv, mat, candidates=BOTTOM_CANDIDATES, cutoff=c, horizon=horizon,
                                      season_length=season_length))
        log.info("backtest cut-off %s: %d training rows, %d test rows", c.date(), len(train), len(test))
    errors = pd.concat(parts, ignore_index=True)
    del parts  # from here every level's errors are held once (SF 1: ~21 M rows; copies of them peaked at 17 GB)
    # intervals: quantiles from the OTHER cut-offs (honest coverage); one cut-off alone uses itself. The bounds are
    # filled in place, and the rows then ordered group by group as before (the metrics sum them in that order)
    bounds = {k: np.zeros(len(errors)) for k in QUANTILES}
    order = []
    for _, g in errors.groupby(["level", "candidate"], sort=False):
        for c, gc in g.groupby("cutoff"):
            other = g[g["cutoff"] != c] if g["cutoff"].nunique() > 1 else g
            iv = with_intervals(gc, standardized_quantiles(other))
            pos = gc.index.to_numpy()
            for k in QUANTILES:
                bounds[k][pos] = iv[k].to_numpy()
            order.append(pos)
    errors = errors.assign(**bounds).take(np.concatenate(order)).reset_index(drop=True)
    metrics: dict[str, dict[str, dict[str, float]]] = {}
    for (lv, cand), g in errors.groupby(["level", "candidate"], sort=True):
        metrics.setdefault(lv, {})[cand] = level_metrics(g, event_mask=g["is_event_day"])
    selected = {lv: min(ms, key=lambda k: _nan_last(ms[k]["rmsse"])) for lv, ms in metrics.items()}
    published = min(BOTTOM_CANDIDATES, key=lambda k: _nan_last(np.nanmean([metrics[lv][k]["rmsse"] for lv in metrics])))
    quantiles = {lv: standardized_quantiles(errors[(errors["level"] == lv) & (errors["candidate"] == published)])
                 for lv in LEVELS}
    return Backtest(errors, metrics, selected, published, quantiles)


def _nan_last(v: float) -> float:
    return np.inf if v is None or np.isnan(v) else v


def forecast_levels(inp: ForecastInputs, bottom: pd.DataFrame, origin, *, season_length: int,
                    quantiles: Mapping[str, Mapping[str, float]]) -> pd.DataFrame:
    """Bottom forecasts (series_idx, origin, ds, yhat) → every level, summed bottom-up, with intervals."""
    o = inp.panel.index_of(origin)
    out = []
    for lv in LEVELS:
        keys, A, _ = level_matrix(inp.panel, lv)
        agg = aggregate(bottom, inp.panel, lv, ["yhat"])
        agg["sigma"] = scale_of(A, o, season_length)[keys.get_indexer(agg["key"])]
        agg = with_intervals(agg, quantiles[lv])
        agg["level"] = lv
        out.append(agg)
    return pd.concat(out, ignore_index=True)
