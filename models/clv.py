"""Customer lifetime value: a BG/NBD purchase model and a Gamma–Gamma spend model (the ``lifetimes``
library's maximum-likelihood fitters), fitted per brand on that brand's own buyers only; the calibration /
holdout backtest next to a constant-rate baseline; and the MLflow pyfunc that holds every brand's parameters.

Input frames (pandas, one row per brand × person; transforms/clv.py): ``frequency`` (repeat purchase days),
``recency_days``, ``age_days`` (T), ``avg_repeat_value`` (mean value of repeat purchase days, NaN without
one), ``total_value``; the backtest also ``holdout_purchases`` and ``holdout_value``. Time unit: days.

Fallback: a brand with fewer than ``min_repeat_buyers`` repeat buyers (or whose fit does not converge) is
not fitted and its buyers get no prediction, with ``model_status`` saying why; its buyers are never pooled
with another brand's. A brand whose spend model cannot be fitted (too few repeat buyers with a positive
value, or a fit without a finite population mean, q ≤ 1) falls back to its repeat buyers' mean value
(``model_status`` ``fitted_mean_spend``).
"""

from __future__ import annotations

import contextlib
import io
import logging
import math
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from brandlake.models.tracking import pinned_requirements
from mlflow.pyfunc import PythonModel

log = logging.getLogger(__name__)

INPUT_COLUMNS = ("brand_id", "person_id", "frequency", "recency_days", "age_days", "avg_repeat_value")
PREDICTION_COLUMNS = ("brand_id", "person_id", "model_status", "expected_purchases", "probability_alive",
                      "expected_avg_value", "expected_value")
FITTED, FITTED_MEAN_SPEND = "fitted", "fitted_mean_spend"
TOO_FEW, FIT_FAILED = "too_few_repeat_buyers", "fit_failed"
SCORED = (FITTED, FITTED_MEAN_SPEND)
DECILES = 10
PROBE_DAYS = 365.0   # horizon a fit's predictions are checked at (finite for every buyer it was fitted on)
# What validation compares (lower is better). The models predict a conditional mean, which squared error
# rewards; per-person MAE rewards the median, which for the many one-time buyers is zero: the baseline's
# "no repeat, no purchase" wins MAE while it misranks and overstates the top deciles (BENCHMARKS.md,
# issue 14), so MAE is logged and reported but does not decide. The decile error is the mean |predicted −
# actual| holdout purchases over the ten deciles of each candidate's own ranking.
DECISION_METRICS = ("purchases_rmse", "spend_rmse", "purchases_decile_mae")


@dataclass(frozen=True)
class BrandModel:
    """One brand's fit: BG/NBD ``purchase`` parameters (r, alpha, a, b), Gamma–Gamma ``spend`` parameters
    (p, q, v) or None, the repeat buyers' mean value (the spend fallback), and why it is (not) usable."""

    brand_id: str
    status: str
    reason: str
    buyers: int
    repeat_buyers: int
    purchase: dict[str, float] | None = None
    spend: dict[str, float] | None = None
    mean_repeat_value: float | None = None


def _as_float(frame: pd.DataFrame, name: str) -> np.ndarray:
    return pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=float)


@contextlib.contextmanager
def _optimizer_output(brand_id: str) -> Iterator[None]:
    """lifetimes prints scipy's result when a fit does not converge: into the debug log, not onto stdout."""
    buf = io.StringIO()
    try:
        with contextlib.redirect_stdout(buf):
            yield
    finally:
        if buf.getvalue().strip():
            log.debug("clv %s optimizer output:\n%s", brand_id, buf.getvalue())


def fit_brand(brand_id: str, summary: pd.DataFrame, *, penalizer: float, spend_penalizer: float,
              min_repeat_buyers: int) -> BrandModel:
    """Fit BG/NBD on every buyer of one brand and Gamma–Gamma on its repeat buyers with a positive value."""
    from lifetimes import BetaGeoFitter, GammaGammaFitter

    freq = _as_float(summary, "frequency")
    repeat = freq > 0
    n, n_rep = len(summary), int(repeat.sum())
    if n_rep < min_repeat_buyers:
        return BrandModel(brand_id, TOO_FEW, f"{n_rep} repeat buyers < clv.min_repeat_buyers {min_repeat_buyers}",
                          n, n_rep)
    value = _as_float(summary, "avg_repeat_value")
    paid = repeat & np.isfinite(value) & (value > 0)
    mean_value = float(value[paid].mean()) if paid.any() else None
    try:
        bgf = BetaGeoFitter(penalizer_coef=penalizer)
        with _optimizer_output(brand_id):
            bgf.fit(pd.Series(freq), pd.Series(_as_float(summary, "recency_days")),
                    pd.Series(_as_float(summary, "age_days")))
        purchase = {k: float(v) for k, v in bgf.params_.items()}
    except Exception as e:  # noqa: BLE001 - lifetimes raises ConvergenceError, ValueError or LinAlgError
        return BrandModel(brand_id, FIT_FAILED, f"BG/NBD fit failed: {type(e).__name__}: {e}".strip()[:300], n, n_rep)
    if not all(math.isfinite(v) and v > 0 for v in purchase.values()):
        return BrandModel(brand_id, FIT_FAILED, f"BG/NBD parameters not positive and finite: {purchase}", n, n_rep)
    # a fit at the edge (a + b ≈ 1 when buyers never drop out) makes the expectation's 2F1 term diverge
    probe = _predict_brand(BrandModel(brand_id, FITTED, "", n, n_rep, purchase), summary, PROBE_DAYS)
    if not (np.isfinite(probe["expected_purchases"]).all() and np.isfinite(probe["probability_alive"]).all()):
        return BrandModel(brand_id, FIT_FAILED, f"BG/NBD predictions not finite for the brand's own buyers with "
                          f"parameters {purchase}", n, n_rep)
    spend, status, reason = None, FITTED_MEAN_SPEND, "spend: too few repeat buyers with a positive value"
    if paid.sum() >= min_repeat_buyers:
        try:
            ggf = GammaGammaFitter(penalizer_coef=spend_penalizer)
            with _optimizer_output(brand_id):
                ggf.fit(pd.Series(freq[paid]), pd.Series(value[paid]))
            fitted = {k: float(v) for k, v in ggf.params_.items()}
            if fitted["q"] > 1 and all(math.isfinite(v) and v > 0 for v in fitted.values()):
                spend, status, reason = fitted, FITTED, "fitted"
            else:
                reason = f"spend: Gamma-Gamma q = {fitted['q']:.3f} <= 1 (no finite mean); repeat buyers' mean used"
        except Exception as e:  # noqa: BLE001 - see above
            reason = f"spend: Gamma-Gamma fit failed ({type(e).__name__}); repeat buyers' mean used"
    return BrandModel(brand_id, status, reason, n, n_rep, purchase, spend, mean_value)


def fit_brands(summary: pd.DataFrame, *, penalizer: float, spend_penalizer: float,
               min_repeat_buyers: int) -> dict[str, BrandModel]:
    """``fit_brand`` for every brand of ``summary``, each on its own rows only."""
    return {str(b): fit_brand(str(b), g, penalizer=penalizer, spend_penalizer=spend_penalizer,
                              min_repeat_buyers=min_repeat_buyers)
            for b, g in summary.groupby("brand_id", sort=True)}


def _predict_brand(m: BrandModel, g: pd.DataFrame, horizon_days: float) -> dict[str, np.ndarray]:
    from lifetimes import BetaGeoFitter, GammaGammaFitter

    bgf = BetaGeoFitter()
    bgf.params_ = pd.Series(m.purchase)
    f, r, t = (pd.Series(_as_float(g, c)) for c in ("frequency", "recency_days", "age_days"))
    purchases = np.asarray(bgf.conditional_expected_number_of_purchases_up_to_time(horizon_days, f, r, t), float)
    alive = np.asarray(bgf.conditional_probability_alive(f, r, t), float)
    if m.spend is not None:
        ggf = GammaGammaFitter()
        ggf.params_ = pd.Series(m.spend)
        value = pd.Series(np.nan_to_num(_as_float(g, "avg_repeat_value"), nan=0.0))
        spend = np.asarray(ggf.conditional_expected_average_profit(f, value), float)
    else:
        spend = np.full(len(g), np.nan if m.mean_repeat_value is None else m.mean_repeat_value)
    return {"expected_purchases": purchases, "probability_alive": alive, "expected_avg_value": spend,
            "expected_value": purchases * spend}


def predict(summary: pd.DataFrame, models: Mapping[str, BrandModel], *, horizon_days: float) -> pd.DataFrame:
    """PREDICTION_COLUMNS for every row of ``summary``: expected purchase days in the next ``horizon_days``,
    P(alive), expected value of a purchase and their product, each from the row's own brand's model (NaN and
    the brand's status when it has none)."""
    missing = [c for c in INPUT_COLUMNS if c not in summary.columns]
    if missing:
        raise ValueError(f"clv predict needs column(s) {missing}; found {list(summary.columns)}")
    out = summary[["brand_id", "person_id"]].copy().reset_index(drop=True)
    frame = summary.reset_index(drop=True)
    out["model_status"] = "unknown_brand"
    for c in PREDICTION_COLUMNS[3:]:
        out[c] = np.nan
    for brand, idx in frame.groupby("brand_id", sort=False).groups.items():
        m = models.get(str(brand))
        if m is None:
            continue
        out.loc[idx, "model_status"] = m.status
        if m.status in SCORED:
            for c, v in _predict_brand(m, frame.loc[idx], horizon_days).items():
                out.loc[idx, c] = v
    return out[list(PREDICTION_COLUMNS)]


# ---------------------------------------------------------------------------------------------------
# Backtest: calibration / holdout split, the model next to the baseline on the same people


def baseline_predict(summary: pd.DataFrame, *, horizon_days: float) -> pd.DataFrame:
    """Each person keeps their calibration repeat rate (frequency / age days) and their mean purchase value
    (total value / purchase days)."""
    f, t = _as_float(summary, "frequency"), _as_float(summary, "age_days")
    rate = np.divide(f, t, out=np.zeros_like(f), where=t > 0)
    purchases = rate * horizon_days
    mean_value = _as_float(summary, "total_value") / (f + 1)
    return pd.DataFrame({"expected_purchases": purchases, "expected_value": purchases * mean_value})


def decile_table(predicted_purchases, actual_purchases, predicted_value, actual_value) -> pd.DataFrame:
    """People in ten groups by predicted purchases (1 = lowest): mean predicted and actual holdout purchases
    and value per group (a stable sort, so ties keep their input order)."""
    pp, ap = np.asarray(predicted_purchases, float), np.asarray(actual_purchases, float)
    pv, av = np.asarray(predicted_value, float), np.asarray(actual_value, float)
    order = np.argsort(pp, kind="stable")
    rows = []
    for i, part in enumerate(np.array_split(order, DECILES)):
        if len(part):
            rows.append({"decile": i + 1, "people": len(part),
                         "predicted_purchases": float(pp[part].mean()), "actual_purchases": float(ap[part].mean()),
                         "predicted_value": float(pv[part].mean()), "actual_value": float(av[part].mean())})
    return pd.DataFrame(rows)


def errors(predicted_purchases, actual_purchases, predicted_value, actual_value) -> dict[str, float]:
    """Per-person MAE and RMSE of holdout purchases and value; bias = Σ predicted / Σ actual − 1."""
    pp, ap = np.asarray(predicted_purchases, float), np.asarray(actual_purchases, float)
    pv, av = np.asarray(predicted_value, float), np.asarray(actual_value, float)
    if not len(pp):
        return {k: float("nan") for k in ("purchases_mae", "spend_mae", "purchases_rmse", "spend_rmse",
                                          "purchases_bias", "spend_bias")} | {"people": 0.0}
    return {
        "purchases_mae": float(np.abs(pp - ap).mean()),
        "spend_mae": float(np.abs(pv - av).mean()),
        "purchases_rmse": float(np.sqrt(((pp - ap) ** 2).mean())),
        "spend_rmse": float(np.sqrt(((pv - av) ** 2).mean())),
        "purchases_bias": float(pp.sum() / ap.sum() - 1) if ap.sum() else float("nan"),
        "spend_bias": float(pv.sum() / av.sum() - 1) if av.sum() else float("nan"),
        "people": float(len(pp)),
    }


def decile_errors(deciles: pd.DataFrame) -> dict[str, float]:
    """Mean |predicted − actual| over the deciles of a ``decile_table`` (purchases and value)."""
    if deciles.empty:
        return {"purchases_decile_mae": float("nan"), "spend_decile_mae": float("nan")}
    return {"purchases_decile_mae": float((deciles["predicted_purchases"] - deciles["actual_purchases"]).abs().mean()),
            "spend_decile_mae": float((deciles["predicted_value"] - deciles["actual_value"]).abs().mean())}


@dataclass(frozen=True)
class Backtest:
    """The holdout comparison: ``people`` (one row per scored brand × person: actual, model, baseline),
    ``metrics`` ({level: {metric: value}}: ``holdout``, ``baseline_holdout``, ``brands``), deciles of both."""

    people: pd.DataFrame
    metrics: dict[str, dict[str, float]]
    deciles: pd.DataFrame
    baseline_deciles: pd.DataFrame
    per_brand: pd.DataFrame


def backtest(calibration: pd.DataFrame, models: Mapping[str, BrandModel], *, holdout_days: float) -> Backtest:
    """Score the calibration summary with ``models`` (fitted on it) over the holdout window and compare with
    what each person bought there; the baseline is measured on exactly the same people."""
    pred = predict(calibration, models, horizon_days=holdout_days)
    keep = pred["model_status"].isin(SCORED).to_numpy()
    cal = calibration.reset_index(drop=True)[keep].reset_index(drop=True)
    pred = pred[keep].reset_index(drop=True)
    base = baseline_predict(cal, horizon_days=holdout_days)
    people = pd.DataFrame({
        "brand_id": cal["brand_id"], "person_id": cal["person_id"],
        "actual_purchases": _as_float(cal, "holdout_purchases"), "actual_value": _as_float(cal, "holdout_value"),
        "model_purchases": pred["expected_purchases"].to_numpy(float),
        "model_value": pred["expected_value"].to_numpy(float),
        "baseline_purchases": base["expected_purchases"].to_numpy(float),
        "baseline_value": base["expected_value"].to_numpy(float),
    })
    a_p, a_v = people["actual_purchases"], people["actual_value"]
    statuses = [m.status for m in models.values()]
    deciles = decile_table(people["model_purchases"], a_p, people["model_value"], a_v)
    baseline_deciles = decile_table(people["baseline_purchases"], a_p, people["baseline_value"], a_v)
    metrics = {
        "holdout": errors(people["model_purchases"], a_p, people["model_value"], a_v) | decile_errors(deciles),
        "baseline_holdout": (errors(people["baseline_purchases"], a_p, people["baseline_value"], a_v)
                             | decile_errors(baseline_deciles)),
        "brands": {"fitted": float(sum(s in SCORED for s in statuses)), "skipped": float(sum(s not in SCORED
                                                                                             for s in statuses))},
    }
    per_brand = []
    for b, g in people.groupby("brand_id", sort=True):
        m, bl = (errors(g[f"{w}_purchases"], g["actual_purchases"], g[f"{w}_value"], g["actual_value"])
                 for w in ("model", "baseline"))
        per_brand.append({"brand_id": b, **{f"model_{k}": v for k, v in m.items()},
                          **{f"baseline_{k}": v for k, v in bl.items() if k != "people"}})
    return Backtest(people=people, metrics=metrics, deciles=deciles, baseline_deciles=baseline_deciles,
                    per_brand=pd.DataFrame(per_brand))


def decision_metrics(bt: Backtest, level: str = "holdout") -> dict[str, float]:
    """The backtest figures the validation rules compare (``holdout.<metric>``; lower is better)."""
    return {f"holdout.{k}": bt.metrics[level][k] for k in DECISION_METRICS}


# ---------------------------------------------------------------------------------------------------
# MLflow pyfunc


class ClvModel(PythonModel):
    """Every brand's parameters; ``predict`` takes INPUT_COLUMNS and returns PREDICTION_COLUMNS over
    ``horizon_days``. A brand is only ever scored with its own parameters."""

    def __init__(self, brands: Mapping[str, BrandModel], *, horizon_days: float):
        self.brands = dict(brands)
        self.horizon_days = horizon_days

    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        return predict(model_input, self.brands, horizon_days=self.horizon_days)

    def describe(self) -> list[dict]:
        return [asdict(m) for m in self.brands.values()]


def model_input(summary: pd.DataFrame) -> pd.DataFrame:
    """INPUT_COLUMNS with plain dtypes (ints as int64, money as float; NaN for no repeat value)."""
    out = pd.DataFrame({
        "brand_id": summary["brand_id"].astype(str).to_numpy(), "person_id": summary["person_id"].astype(str).to_numpy(),
        "frequency": _as_float(summary, "frequency").astype("int64"),
        "recency_days": _as_float(summary, "recency_days").astype("int64"),
        "age_days": _as_float(summary, "age_days").astype("int64"),
        "avg_repeat_value": _as_float(summary, "avg_repeat_value"),
    })
    return out


def requirements() -> list[str]:
    """Pinned packages the pyfunc imports when it is loaded and scores."""
    return pinned_requirements("mlflow", "pandas", "numpy", "scipy", "lifetimes", "autograd", "dill")
