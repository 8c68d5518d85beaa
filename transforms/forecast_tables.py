"""Gold tables of the sales forecast: schemas (with their grain) and row builders from the models' output."""

from __future__ import annotations

import datetime as dt

from pyspark.sql import types as T

_S, _D, _DB, _TS, _I, _B = (T.StringType(), T.DateType(), T.DoubleType(), T.TimestampType(), T.IntegerType(),
                            T.BooleanType())

SALES_FORECAST_KEYS = ("forecast_date", "target_date", "level", "series_key")
SALES_FORECAST = T.StructType([T.StructField(n, t, nullable) for n, t, nullable in [
    ("forecast_date", _D, False), ("target_date", _D, False), ("level", _S, False), ("series_key", _S, False),
    ("horizon_days", _I, False), ("units_forecast", _DB, False), ("units_lo_80", _DB, False),
    ("units_hi_80", _DB, False), ("units_lo_95", _DB, False), ("units_hi_95", _DB, False),
    ("model_name", _S, False), ("model_version", _S, False), ("candidate", _S, False), ("scored_at", _TS, False),
]])
"""One row per forecast date × target date × level × series: forecast units with 80/95 % intervals.
Levels: product_platform_region (series_key product|platform|region), product_region (product|region),
brand, category, platform, warehouse (the warehouse region), total; levels add up (bottom-up)."""

FORECAST_BACKTEST = T.StructType([T.StructField(n, t, nullable) for n, t, nullable in [
    ("level", _S, False), ("candidate", _S, False), ("metric", _S, False), ("value", _DB, True),
    ("is_best_for_level", _B, False), ("is_published", _B, False), ("mlflow_run_id", _S, False),
]])
"""One row per level × candidate × metric of the last training run's rolling-origin backtest."""

FORECAST_SERIES_STATUS = T.StructType([T.StructField(n, t, nullable) for n, t, nullable in [
    ("series_id", _S, False), ("product_id", _S, True), ("platform_id", _S, True), ("region", _S, True),
    ("status", _S, False), ("method", _S, False), ("reason", _S, False), ("as_of_date", _D, False),
    ("mlflow_run_id", _S, False),
]])
"""One row per bottom series (product × platform × warehouse region) at the last training origin: fitted
with which per-series method, or why not (too_short, too_sparse, inactive)."""


def to_backtest_rows(metrics, selected, published: str, run_id: str) -> list[tuple]:
    rows = []
    for lv, by_cand in sorted(metrics.items()):
        for cand, ms in sorted(by_cand.items()):
            for m, v in sorted(ms.items()):
                val = None if v is None or v != v else float(v)
                rows.append((lv, cand, m, val, selected.get(lv) == cand, cand == published, run_id))
    return rows


def to_series_status_rows(status, as_of: dt.date, run_id: str) -> list[tuple]:
    return [(r.series_id, r.product_id, r.platform_id, r.region, r.status, r.method, r.reason, as_of, run_id)
            for r in status.itertuples(index=False)]
