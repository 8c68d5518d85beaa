"""How far can any forecast beat seasonal naive, level by level, on this lake's backtest? (issue 12 §4)

A hindsight oracle that no model can be: each bottom series (product × platform × region) forecast as its
share of its platform's sales in the 57 days around the target day (future days included) times the
platform's ACTUAL sales on the target day. On generated data, where a product's demand is its share of its
platform's day weight (synthetic/catalog.day_weights) plus sampling noise, this is about the best forecast
that exists: what it misses is the noise of a few units a day. Scored exactly as train-forecast scores its
candidates (same cut-offs, bottom-up sums, `level_metrics`, event-day mask), next to seasonal naive and, when
the lake holds gold `forecast_backtest`, the published candidate of the last train-forecast run.

    BRANDLAKE_PII_KEY=bench .venv/bin/python benchmarks/forecast_ceiling.py --lake-root L
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

HALF_WINDOW = 28


def window_sums(A: np.ndarray, half: int) -> np.ndarray:
    """Per row and day t: the sum of A over days t − half … t + half (clipped to the panel)."""
    c = np.concatenate([np.zeros((A.shape[0], 1)), np.cumsum(A, 1)], 1)
    n = A.shape[1]
    t = np.arange(n)
    lo, hi = np.clip(t - half, 0, n), np.clip(t + half + 1, 0, n)
    return c[:, hi] - c[:, lo]


def oracle_bottom(inp, cutoff, horizon: int) -> pd.DataFrame:
    """Every bottom series' hindsight forecast for the ``horizon`` days after ``cutoff``."""
    panel = inp.panel
    o = panel.index_of(cutoff)
    pidx = np.array([inp.cal.platforms.index(p) for p in panel.series["platform_id"]])
    share = window_sums(panel.Y, HALF_WINDOW) / np.maximum(window_sums(inp.plat_totals, HALF_WINDOW)[pidx], 1e-9)
    days = np.arange(o + 1, min(o + horizon + 1, panel.Y.shape[1]))
    yhat = share[:, days] * inp.plat_totals[pidx][:, days]
    n = len(panel.series)
    return pd.DataFrame({"series_idx": np.repeat(np.arange(n), len(days)), "origin": pd.Timestamp(cutoff),
                         "ds": np.tile(panel.days[0] + pd.to_timedelta(days, unit="D"), n),
                         "oracle": yhat.reshape(-1)})


def main() -> int:
    from brandlake.jobs.train_forecast import cutoffs_for, load_inputs
    from brandlake.models import forecast as fm

    from brandlake.config import load_config
    from brandlake.runtime import job_context

    p = argparse.ArgumentParser()
    p.add_argument("--lake-root", required=True)
    p.add_argument("--env", default="local")
    p.add_argument("--driver-memory", default="4g")
    a = p.parse_args()
    cfg = load_config(a.env, overrides={"lake": {"root": a.lake_root}, "spark": {"driver_memory": a.driver_memory}})
    f = cfg.forecast
    with job_context(cfg, "forecast_ceiling") as ctx:
        data = load_inputs(ctx)
    as_of = pd.to_datetime(data.demand["ds"]).max()
    inp = fm.prepare(data.demand, data.calendar, None, horizon=f.horizon, end=as_of)
    cutoffs = [c for c in cutoffs_for(as_of, f) if inp.panel.index_of(c) > f.season_length * 5]
    parts = []
    for c in cutoffs:
        bottom = oracle_bottom(inp, c, f.horizon)
        for lv in fm.LEVELS:
            parts.append(fm.level_errors(inp, bottom, lv, fm.level_matrix(inp.panel, lv), candidates=["oracle"],
                                         cutoff=c, horizon=f.horizon, season_length=f.season_length))
    errors = pd.concat(parts, ignore_index=True)
    res: dict = {"lake": a.lake_root, "cutoffs": [str(c.date()) for c in cutoffs], "levels": {}}
    bt_path = Path(a.lake_root, "gold", "forecast_backtest")
    published = None
    if bt_path.exists():
        from benchmarks.delta_arrow import read_arrow

        bt = read_arrow(bt_path).to_pandas()
        published = bt[bt["is_published"]]
    for lv, g in errors.groupby("level", sort=False):
        m = {cand: fm.level_metrics(gc, event_mask=gc["is_event_day"]) for cand, gc in g.groupby("candidate")}
        row = {k: {c: round(m[c][k], 4) for c in m} for k in ("rmsse", "event_rmsse") if k in m["oracle"]}
        row["oracle_gain"] = round(1 - m["oracle"]["rmsse"] / m["seasonal_naive"]["rmsse"], 4)
        if "event_rmsse" in m["oracle"]:
            row["oracle_event_gain"] = round(1 - m["oracle"]["event_rmsse"] / m["seasonal_naive"]["event_rmsse"], 4)
        res["levels"][lv] = row
        print(f"{lv}: hindsight oracle RMSSE gain over seasonal naive {row['oracle_gain']:.1%}"
              + (f", event days {row['oracle_event_gain']:.1%}" if "oracle_event_gain" in row else ""), flush=True)
    if published is not None:
        res["published_backtest"] = published.pivot_table(index="level", columns="metric", values="value")[
            ["rmsse", "event_rmsse"]].round(4).to_dict(orient="index")
    print(json.dumps(res, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
