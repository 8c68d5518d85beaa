"""Forecast accuracy and training time on a lake that already holds silver and gold (generated data or an
imported source such as Online Retail II): runs `brandlake train-forecast` and prints, per level, the
backtest RMSSE/MASE/WAPE/bias/coverage of every candidate next to seasonal naive, the event-day figures,
the presale ablation (lgbm vs lgbm_no_presale on event days) and the wall/CPU time.

    .venv/bin/python benchmarks/forecast_accuracy.py --lake-root ./lake_sf01 [--set forecast.cutoffs=3 ...]

Online Retail II's last 8 weeks at product × country (the lake of benchmarks/bench_online_retail.py; every
country its own region):

    .venv/bin/python benchmarks/forecast_accuracy.py --lake-root benchmarks/out/lake_online_retail \
        --set forecast.cutoffs=2 --set forecast.cutoff_step_days=28 --set forecast.regions.GB=GB \
        --set forecast.regions.FR=FR --set forecast.regions.DE=DE --set forecast.regions.US=US \
        --set forecast.regions.JP=JP
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--lake-root", required=True)
    p.add_argument("--env", default="local")
    p.add_argument("--set", action="append", default=[], dest="settings")
    a = p.parse_args()
    brandlake = str(Path(sys.executable).with_name("brandlake"))
    cmd = [brandlake, "train-forecast", "--env", a.env, "--lake-root", a.lake_root]
    for s in a.settings:
        cmd += ["--set", s]
    t0 = time.monotonic()
    rc = subprocess.run(cmd).returncode
    wall = time.monotonic() - t0
    cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(f"train-forecast exit {rc}: wall {wall:.0f} s, CPU user {cpu.ru_utime:.0f} s + sys {cpu.ru_stime:.0f} s")
    if rc:
        return rc
    summary = json.loads(Path(a.lake_root, "_runs", "latest.json").read_text())["details"]["train_forecast"]
    print(json.dumps({k: summary[k] for k in ("as_of", "cutoffs", "published", "best_per_level", "decision")}, indent=1))
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from benchmarks.delta_arrow import read_arrow  # reads the gold table without a second Spark session

    bt = read_arrow(Path(a.lake_root, "gold", "forecast_backtest")).to_pandas()
    wide = bt.pivot_table(index=["level", "candidate"], columns="metric", values="value")
    cols = ["rmsse", "mase", "wape", "bias", "coverage_80", "coverage_95", "event_rmsse", "event_coverage_95",
            "n_series"]
    print(wide[[c for c in cols if c in wide.columns]].round(3).to_string())
    for lv in sorted(set(bt["level"])):
        w = wide.loc[lv]
        if "seasonal_naive" in w.index:
            base = w.loc["seasonal_naive"]
            pub = w.loc[summary["published"]]
            # a backtest without sale-event days (an import with no sale calendar) has no event figures
            events = (f", event days {1 - pub['event_rmsse'] / base['event_rmsse']:.1%}"
                      if "event_rmsse" in w.columns else ", no event days in the backtest")
            print(f"{lv}: RMSSE gain vs seasonal naive {1 - pub['rmsse'] / base['rmsse']:.1%}{events}")
        if {"lgbm", "lgbm_no_presale"} <= set(w.index) and "event_rmsse" in w.columns:
            print(f"{lv}: presale features, event-day RMSSE gain {1 - w.loc['lgbm', 'event_rmsse'] / w.loc['lgbm_no_presale', 'event_rmsse']:.1%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
