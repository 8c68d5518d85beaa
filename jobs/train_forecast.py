"""`brandlake train-forecast`: backtest the sales-forecast candidates, register the published one in MLflow
and promote it to champion only if it passes the validation thresholds (models/forecast_validation).

Reads gold `sales_daily` and silver products, platforms, promotions, orders, order_lines, payments, each
pinned to its current Delta version (tagged on the MLflow run). Writes gold `forecast_backtest`
(metrics per level × candidate) and `forecast_series_status` (every bottom series, fitted or why not).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import functools
import logging

import pandas as pd
from brandlake.models import forecast as fm
from brandlake.models import registry, tracking, validation
from brandlake.models.forecast_validation import RULES, validation_metrics
from brandlake.models.statistical import STAT_FORECAST_COLUMNS, fit_predict_group
from brandlake.transforms.forecast import STAT_FORECASTS, to_demand_panel, to_presale_lines, to_sale_calendar
from brandlake.transforms.forecast_tables import (
    FORECAST_BACKTEST,
    FORECAST_SERIES_STATUS,
    to_backtest_rows,
    to_series_status_rows,
)
from brandlake.transforms.gold_tables import gold_path
from brandlake.transforms.silver.registry import SILVER_TABLES, published_schema
from pyspark.sql import DataFrame

from brandlake import tables
from brandlake.runtime import JobContext

log = logging.getLogger(__name__)

GOLD_INPUTS = ("sales_daily",)
SILVER_INPUTS = ("products", "platforms", "orders", "order_lines")
# an imported retailer's export may have no sale calendar and no presale payments: no events, no presale features
OPTIONAL_SILVER_INPUTS = ("promotions", "payments")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--as-of", type=dt.date.fromisoformat, default=None,
                   help="last day of history the model is trained on (default: the last day in sales_daily)")


@dataclasses.dataclass
class ForecastData:
    """The job's inputs, read at pinned Delta versions and collected (small: one row per series-day)."""

    demand: pd.DataFrame
    calendar: pd.DataFrame
    presale_lines: pd.DataFrame
    demand_spark: DataFrame
    training_tables: list[tracking.TrainingTable]


def load_inputs(ctx: JobContext) -> ForecastData:
    spark, cfg = ctx.spark, ctx.cfg
    paths = {n: gold_path(cfg.lake.gold, n) for n in GOLD_INPUTS} | {n: f"{cfg.lake.silver}/{n}" for n in SILVER_INPUTS}
    versions = tables.required_versions(spark, paths, command="train-forecast",
                                        hint="run `brandlake silver` and `brandlake gold` first")
    pinned = {name: tables.read(spark, paths[name], version=v) for name, v in versions.items()}
    used = [tracking.TrainingTable(name, paths[name], v) for name, v in versions.items()]
    for name in OPTIONAL_SILVER_INPUTS:
        path = f"{cfg.lake.silver}/{name}"
        v = tables.latest_version(spark, path)
        if v is None:
            log.warning("train-forecast: no silver %s at %s; read as empty (no sale events or presale money)",
                        name, path)
            pinned[name] = spark.createDataFrame([], published_schema(SILVER_TABLES[name]))
        else:
            pinned[name] = tables.read(spark, path, version=v)
        used.append(tracking.TrainingTable(name, path, v))
    regions = cfg.forecast.regions
    demand = to_demand_panel(pinned["sales_daily"], products=pinned["products"], regions=regions).persist()
    calendar = to_sale_calendar(pinned["promotions"], platforms=pinned["platforms"]).persist()
    presale = to_presale_lines(pinned["orders"], order_lines=pinned["order_lines"], payments=pinned["payments"],
                               calendar=calendar, regions=regions)
    return ForecastData(demand.toPandas(), calendar.toPandas(), presale.toPandas(), demand, used)


def stat_forecasts(ctx: JobContext, demand: DataFrame, origins: list[pd.Timestamp]) -> pd.DataFrame:
    """Per-series statistical forecasts from every origin, one series group per pandas call on Spark."""
    f = ctx.cfg.forecast
    fn = functools.partial(fit_predict_group, origins=origins, horizon=f.horizon, season_length=f.season_length,
                           min_history_days=f.min_history_days, min_nonzero_days=f.min_nonzero_days)
    out = demand.select("series_id", "ds", "units").groupBy("series_id").applyInPandas(fn, STAT_FORECASTS).toPandas()
    return out[list(STAT_FORECAST_COLUMNS)]


def cutoffs_for(as_of: pd.Timestamp, f) -> list[pd.Timestamp]:
    """Latest first cut-off leaves a full horizon of actuals after it."""
    return sorted(as_of - pd.Timedelta(days=f.horizon + k * f.cutoff_step_days) for k in range(f.cutoffs))


def lgbm_params(f) -> dict:
    return dataclasses.asdict(f.lightgbm)


def run(ctx: JobContext, args: argparse.Namespace) -> None:
    cfg, f = ctx.cfg, ctx.cfg.forecast
    data = load_inputs(ctx)
    if data.demand.empty:
        raise ValueError("sales_daily holds no product demand: nothing to forecast")
    as_of = pd.Timestamp(args.as_of) if args.as_of else pd.to_datetime(data.demand["ds"]).max()
    demand = data.demand[pd.to_datetime(data.demand["ds"]) <= as_of]
    inp = fm.prepare(demand, data.calendar, data.presale_lines if f.presale_features else None,
                     horizon=f.horizon, end=as_of)
    cutoffs = [c for c in cutoffs_for(as_of, f) if inp.panel.index_of(c) > f.season_length * 5]
    if not cutoffs:
        raise ValueError(f"history up to {as_of.date()} is too short for a {f.horizon}-day backtest")
    stat = stat_forecasts(ctx, data.demand_spark, [*cutoffs, as_of])
    data.demand_spark.unpersist()
    bt = fm.run_backtest(inp, cutoffs=cutoffs, horizon=f.horizon, season_length=f.season_length,
                         n_origins=f.train_origins, origin_step=f.train_origin_step_days,
                         season_origins=f.train_season_origins, lgbm_params=lgbm_params(f), stat_fc=stat,
                         presale=f.presale_features)

    with tracking.training_run(cfg, run_name="train-forecast", params=f, params_prefix="forecast",
                               training_tables=data.training_tables,
                               tags={"as_of": str(as_of.date()), "cutoffs": ",".join(str(c.date()) for c in cutoffs)}) as run:
        for lv, by_cand in bt.metrics.items():
            tracking.log_level_metrics({f"{lv}.{cand}": ms for cand, ms in by_cand.items()})
            tracking.log_level_metrics({f"{lv}.selected": by_cand[bt.published]})
        for lv, cand in bt.selected.items():
            import mlflow

            mlflow.set_tag(f"best.{lv}", cand)
        challenger_m, baseline_m = validation_metrics(bt.metrics, bt.published)
        champion_m = champion_on_same_backtest(cfg, bt, inp, cutoffs, stat)
        decision = validation.validate(challenger_m, baseline=baseline_m, champion=champion_m, rules=RULES)

        # the registered model: the published candidate refitted on everything up to as_of
        feats = fm.feature_names(f.presale_features) if bt.published == "lgbm" else fm.feature_names(False)
        booster = None
        final_rows = fm.rows_at(inp, as_of, horizon=f.horizon, with_target=False)
        if bt.published.startswith("lgbm"):
            train = fm.training_rows(inp, as_of, horizon=f.horizon, n_origins=f.train_origins,
                                     step=f.train_origin_step_days, season_origins=f.train_season_origins)
            booster = fm.fit_lgbm(train, features=feats, params=lgbm_params(f)).booster_.model_to_string()
        model = fm.ForecastModel(candidate=bt.published, booster=booster, features=feats, quantiles=bt.quantiles,
                                 horizon=f.horizon, season_length=f.season_length)
        example = final_rows.head(5).assign(yhat_stat=0.0)
        info = tracking.log_pyfunc_model(model, name="model", input_example=example,
                                         output_example=model.predict(None, example),
                                         registered_model_name=f.model_name)
        promotion = registry.promote(info, f.model_name, decision)

        status = series_status(inp, stat, as_of)
        import mlflow

        mlflow.log_text(status.to_csv(index=False), "series_status.csv")
        mlflow.log_metrics({f"series.{k}": float(v) for k, v in status["status"].value_counts().items()})
        run_id = run.info.run_id

    spark = ctx.spark
    tables.overwrite(spark.createDataFrame(to_backtest_rows(bt.metrics, bt.selected, bt.published, run_id),
                                           FORECAST_BACKTEST), gold_path(cfg.lake.gold, "forecast_backtest"))
    tables.overwrite(spark.createDataFrame(to_series_status_rows(status, as_of.date(), run_id), FORECAST_SERIES_STATUS),
                     gold_path(cfg.lake.gold, "forecast_series_status"))
    ctx.summary.details["train_forecast"] = {
        "as_of": str(as_of.date()), "cutoffs": [str(c.date()) for c in cutoffs], "published": bt.published,
        "best_per_level": bt.selected, "model_version": promotion.version, "aliases": list(promotion.aliases),
        "decision": decision.summary(), "mlflow_run_id": run_id,
        "rmsse": {lv: {c: round(m["rmsse"], 4) for c, m in ms.items()} for lv, ms in bt.metrics.items()},
    }
    log.info("train-forecast: published %s, version %s %s — %s", bt.published, promotion.version,
             promotion.aliases, decision.summary())


def champion_on_same_backtest(cfg, bt: fm.Backtest, inp: fm.ForecastInputs, cutoffs, stat) -> dict | None:
    """The current champion's validation metrics on THIS backtest: its recipe (candidate and LightGBM
    parameters from its training run) re-run on the same cut-offs and data."""
    import mlflow

    found = registry.champion_metrics(cfg.forecast.model_name)
    if found is None:
        return None
    mv, _ = found
    params = mlflow.MlflowClient().get_run(mv.run_id).data.params
    champ_model = registry.load_alias(cfg.forecast.model_name)[0].unwrap_python_model()
    lg = {k.split(".", 2)[2]: v for k, v in params.items() if k.startswith("forecast.lightgbm.")}
    same = all(str(getattr(cfg.forecast.lightgbm, k)) == v for k, v in lg.items())
    presale_same = params.get("forecast.presale_features", "True") == str(cfg.forecast.presale_features)
    if same and presale_same:
        metrics = bt.metrics     # identical recipe → identical backtest; no need to refit
    else:
        f = cfg.forecast
        lgp = {k: type(getattr(f.lightgbm, k))(v) for k, v in lg.items()}
        metrics = fm.run_backtest(inp, cutoffs=cutoffs, horizon=f.horizon, season_length=f.season_length,
                                  n_origins=f.train_origins, origin_step=f.train_origin_step_days, lgbm_params=lgp,
                                  season_origins=f.train_season_origins, stat_fc=stat,
                                  presale=params.get("forecast.presale_features") == "True").metrics
    return validation_metrics(metrics, champ_model.candidate)[0]


def series_status(inp: fm.ForecastInputs, stat: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """Every bottom series at the final origin: fitted (with its per-series method), or why not."""
    s = inp.panel.series[["series_id", "product_id", "platform_id", "region"]].copy()
    o = inp.panel.index_of(as_of)
    recent = inp.panel.Y[:, max(o - 363, 0): o + 1].sum(1)
    st = stat[pd.to_datetime(stat["origin"]) == as_of].groupby("series_id")[["method", "status"]].first()
    s = s.join(st, on="series_id")
    s["status"] = s["status"].fillna("no_history")
    s.loc[recent == 0, "status"] = "inactive"
    s["reason"] = s["status"].map({
        "fitted": "fitted", "too_short": "history shorter than forecast.min_history_days",
        "too_sparse": "fewer selling days than forecast.min_nonzero_days",
        "inactive": "no sales in the 364 days before the origin: forecast zero",
        "no_history": "no sale on or before the origin"}).fillna("unknown")
    s["method"] = s["method"].fillna("none")
    return s
