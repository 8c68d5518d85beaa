"""`brandlake score-forecast`: load the `champion` sales forecast from the MLflow registry, forecast every
level from the latest day of history (or --as-of) and MERGE gold `sales_forecast`
(keyed by forecast_date, target_date, level, series_key), so a rerun replaces its own rows."""

from __future__ import annotations

import argparse
import datetime as dt
import logging

import pandas as pd
from brandlake.jobs.train_forecast import load_inputs, stat_forecasts
from brandlake.models import forecast as fm
from brandlake.models import registry, tracking
from brandlake.transforms.forecast_tables import SALES_FORECAST, SALES_FORECAST_KEYS
from brandlake.transforms.gold_tables import gold_path

from brandlake import tables
from brandlake.runtime import JobContext

log = logging.getLogger(__name__)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--as-of", type=dt.date.fromisoformat, default=None,
                   help="forecast date: the last day of history used (default: the last day in sales_daily)")
    p.add_argument("--alias", default=registry.CHAMPION, help="registry alias to score with (default: champion)")


def to_sales_forecast_rows(levels: pd.DataFrame, *, origin: pd.Timestamp, name: str, version: str,
                           candidate: str, scored_at: dt.datetime) -> list[tuple]:
    h = (pd.to_datetime(levels["ds"]) - origin).dt.days
    return [
        (origin.date(), r.ds.date(), r.level, r.key, int(hd), float(r.yhat), float(r.lo_80), float(r.hi_80),
         float(r.lo_95), float(r.hi_95), name, version, candidate, scored_at)
        for r, hd in zip(levels.itertuples(index=False), h, strict=True)
    ]


def run(ctx: JobContext, args: argparse.Namespace) -> None:
    cfg, f = ctx.cfg, ctx.cfg.forecast
    tracking.configure(cfg)
    pyfunc, mv = registry.load_alias(f.model_name, args.alias)
    model = pyfunc.unwrap_python_model()
    data = load_inputs(ctx)
    origin = pd.Timestamp(args.as_of) if args.as_of else pd.to_datetime(data.demand["ds"]).max()
    demand = data.demand[pd.to_datetime(data.demand["ds"]) <= origin]
    # the same inputs as training built (the model's signature names every feature column it saw)
    inp = fm.prepare(demand, data.calendar, data.presale_lines if f.presale_features else None,
                     horizon=model.horizon, end=origin)
    rows = fm.rows_at(inp, origin, horizon=model.horizon, with_target=False)
    if model.candidate == "stat":
        stat = stat_forecasts(ctx, data.demand_spark, [origin])
        sid = inp.panel.series["series_id"].to_numpy()[rows["series_idx"].to_numpy()]
        key = pd.DataFrame({"series_id": sid, "ds": rows["ds"].to_numpy()})
        rows["yhat_stat"] = key.merge(stat[["series_id", "ds"]].assign(
            ds=pd.to_datetime(stat["ds"]), yhat_stat=stat["yhat_stat"]), how="left",
            on=["series_id", "ds"])["yhat_stat"].fillna(0.0).to_numpy()
    else:
        rows["yhat_stat"] = 0.0
    data.demand_spark.unpersist()
    bottom = pyfunc.predict(rows)
    levels = fm.forecast_levels(inp, bottom, origin, season_length=model.season_length, quantiles=model.quantiles)
    out = ctx.spark.createDataFrame(
        to_sales_forecast_rows(levels, origin=origin, name=f.model_name, version=str(mv.version),
                               candidate=model.candidate, scored_at=dt.datetime.now(dt.UTC).replace(tzinfo=None)),
        SALES_FORECAST)
    path = gold_path(cfg.lake.gold, "sales_forecast")
    tables.merge_upsert(out, path, keys=SALES_FORECAST_KEYS)
    n = len(levels)
    ctx.summary.add_counts("sales_forecast", rows_written=n)
    ctx.summary.details["score_forecast"] = {"forecast_date": str(origin.date()), "model": f.model_name,
                                             "version": str(mv.version), "alias": args.alias,
                                             "candidate": model.candidate, "rows": n}
    log.info("score-forecast: %d rows from %s v%s (%s) at %s", n, f.model_name, mv.version, args.alias, path)
