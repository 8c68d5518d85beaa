"""Per-series forecast throughput (issue 12 §5): the `stat` candidate of train-forecast alone — every bottom
series of a lake's `sales_daily` fitted from the job's origins with `groupBy(series_id).applyInPandas` —
timed on local[1] and local[2], each in a fresh JVM, as fits (series × origin) per minute per core. Beside
it, the same fits in one plain Python process without Spark (`forecast_series` in a loop) on a sample of the
series, so that the Spark overhead shows as a ratio from the same run.

    BRANDLAKE_PII_KEY=bench .venv/bin/python benchmarks/bench_stat_throughput.py --lake-root L

Origins: the job's own (its backtest cut-offs and the last day), from the lake's last sales day and the config.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def origins_of(cfg, last_day) -> list:
    import pandas as pd
    from brandlake.jobs.train_forecast import cutoffs_for

    as_of = pd.Timestamp(last_day)
    return [*cutoffs_for(as_of, cfg.forecast), as_of]


def worker(a: argparse.Namespace) -> dict:
    """One fresh session on local[cores]: the demand panel cached, then the applyInPandas fits timed."""
    import numpy as np
    import pandas as pd
    from brandlake.jobs.train_forecast import stat_forecasts
    from brandlake.models.statistical import forecast_series
    from brandlake.transforms.forecast import to_demand_panel
    from brandlake.transforms.gold_tables import gold_path
    from pyspark.sql import functions as F

    from brandlake import tables
    from brandlake.config import load_config
    from brandlake.runtime import job_context

    cores = a.cores[0]
    cfg = load_config(a.env, overrides={"lake": {"root": a.lake_root},
                                        "spark": {"master": f"local[{cores}]", "driver_memory": a.driver_memory}})
    with job_context(cfg, "bench_stat_throughput") as ctx:
        spark = ctx.spark
        demand = to_demand_panel(tables.read(spark, gold_path(cfg.lake.gold, "sales_daily")),
                                 products=tables.read(spark, f"{cfg.lake.silver}/products"),
                                 regions=cfg.forecast.regions).persist()
        rows = demand.count()
        last = demand.agg(F.max("ds")).first()[0]
        origins = origins_of(cfg, last)
        series = demand.select("series_id").distinct().count()
        few = demand.select("series_id").distinct().limit(20)
        stat_forecasts(ctx, demand.join(few, "series_id"), origins)   # warm-up: Python workers, Arrow
        t0 = time.perf_counter()
        out = stat_forecasts(ctx, demand, origins)
        spark_s = time.perf_counter() - t0
        f = cfg.forecast
        fits = out.groupby(["series_id", "origin"])["status"].first()
        res = {"cores": cores, "series": series, "panel_rows": rows, "origins": [str(o.date()) for o in origins],
               "series_x_origins": int(len(fits)), "fitted": int((fits == "fitted").sum()),
               "spark_seconds": round(spark_s, 1),
               "fits_per_min_per_core": round(len(fits) / (spark_s / 60) / cores)}
        if cores == 1:
            # the same fits in plain Python on a sample of series: the cost of the model alone
            ids = demand.select("series_id").distinct().orderBy(F.rand(7)).limit(a.sample)
            pdf = demand.join(ids, "series_id").select("series_id", "ds", "units").toPandas()
            pdf["ds"] = pd.to_datetime(pdf["ds"])
            groups = [g.groupby("ds")["units"].sum().astype(float) for _, g in pdf.groupby("series_id")]
            t0, n = time.perf_counter(), 0
            for s in groups:
                for o in origins:
                    hist = s[s.index <= o]
                    if hist.empty:
                        continue
                    dense = hist.reindex(pd.date_range(hist.index.min(), o, freq="D"), fill_value=0.0).to_numpy()
                    forecast_series(np.asarray(dense), horizon=f.horizon, season_length=f.season_length,
                                    min_history_days=f.min_history_days, min_nonzero_days=f.min_nonzero_days)
                    n += 1
            py_s = time.perf_counter() - t0
            res |= {"python_sample_series": len(groups), "python_fits": n, "python_seconds": round(py_s, 2),
                    "python_fits_per_min": round(n / (py_s / 60))}
        demand.unpersist()
    return res


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--lake-root", required=True)
    p.add_argument("--env", default="local")
    p.add_argument("--cores", type=int, nargs="+", default=[1, 2])
    p.add_argument("--sample", type=int, default=2000, help="series fitted in plain Python (on the 1-core run)")
    p.add_argument("--driver-memory", default="4g")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.worker:
        print("RESULT " + json.dumps(worker(a)))
        return 0
    results = []
    for k in a.cores:
        cmd = [sys.executable, __file__, "--worker", "--lake-root", a.lake_root, "--env", a.env, "--cores", str(k),
               "--sample", str(a.sample), "--driver-memory", a.driver_memory]
        out = subprocess.run(cmd, capture_output=True, text=True)
        line = [x for x in out.stdout.splitlines() if x.startswith("RESULT ")]
        if out.returncode or not line:
            sys.stderr.write(out.stderr[-4000:])
            return out.returncode or 1
        results.append(json.loads(line[0][7:]))
        print(json.dumps(results[-1]), flush=True)
    if len(results) > 1:
        one = next((r for r in results if r["cores"] == 1), None)
        for r in results:
            if one and r is not one:
                print(f"local[{r['cores']}] speed-up over local[1]: {one['spark_seconds'] / r['spark_seconds']:.2f}×")
    return 0


if __name__ == "__main__":
    sys.exit(main())
