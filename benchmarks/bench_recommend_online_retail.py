"""Recommendations on the real Online Retail II file: the same time split, ALS fit, popularity baseline and
ranking metrics as `brandlake recommend` (jobs/recommend.score_split), with the feedback built from the
file's sale lines (no clickstream: purchases only; person = Customer ID; region = Country; no demographics).

    python benchmarks/bench_recommend_online_retail.py [--tune] [--set recommend.rank=32 ...]

The import's lake has no clickstream and no identity persons, so the feedback is built here with pandas
from the same rules (sale lines of a known customer, product codes only, one purchase per invoice).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import sys
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from brandlake.jobs.recommend import score_split  # noqa: E402
from brandlake.transforms import recommend as rt  # noqa: E402

from benchmarks.online_retail import OR_FILE  # noqa: E402
from brandlake.config import load_config, parse_settings  # noqa: E402
from brandlake.session import get_spark  # noqa: E402

NON_PRODUCTS = {"POST", "DOT", "C2", "BANK CHARGES", "D", "M", "AMAZONFEE", "B", "ADJUST", "ADJUST2", "TEST001",
                "TEST002", "S", "CRUK", "PADS"}


def _split(df: pd.DataFrame, *, end: dt.date, c) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(training purchases per person × product, test person × product pairs) for a test window ending the day
    before ``end``: training = the window_days before the cut-off, test = the test_days up to ``end``."""
    cutoff = end - dt.timedelta(days=c.test_days)
    start = cutoff - dt.timedelta(days=c.window_days)
    train = df[(df["date"] >= start) & (df["date"] < cutoff)]
    purchases = (train.groupby(["person_id", "StockCode"])["Invoice"].nunique().reset_index()
                 .rename(columns={"StockCode": "product_id", "Invoice": "purchases"}))
    test = df[(df["date"] >= cutoff) & (df["date"] < end)][["person_id", "StockCode"]].drop_duplicates().rename(
        columns={"StockCode": "product_id"})
    return purchases, test


def _score(spark, purchases: pd.DataFrame, test: pd.DataFrame, segments, c) -> dict:
    fb = spark.createDataFrame(
        [(r.person_id, r.product_id, 0, 0, int(r.purchases), float(r.purchases) * c.purchase_weight)
         for r in purchases.itertuples()], rt.FEEDBACK)
    test_df = spark.createDataFrame(list(test.itertuples(index=False, name=None)), "person_id string, product_id string")
    return score_split(fb, test=test_df, segments=segments, c=c)


# --tune: candidates tried on the validation split. With purchases alone, ALS's confidence is 1 + alpha × purchase
# weight × purchases, so alpha is varied at the default weight (10): alpha × weight 100 (default), 40, 10, 1
GRID = [{"alpha": a, "rank": r} for r in (16, 64) for a in (10.0, 4.0, 1.0, 0.1)]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--env", default="local")
    ap.add_argument("--set", action="append", default=[], dest="settings")
    ap.add_argument("--tune", action="store_true",
                    help="choose alpha, purchase weight and rank on a validation split (the test_days before the "
                         "test's cut-off, trained on the window before them), then score the test split once")
    a = ap.parse_args()
    cfg = load_config(a.env, overrides=parse_settings(a.settings))
    c = cfg.recommend
    df = pd.read_csv(OR_FILE, dtype={"Invoice": str, "StockCode": str, "Customer ID": str})
    df = df[df["Customer ID"].notna() & ~df["StockCode"].isin(NON_PRODUCTS) & ~df["Invoice"].str.startswith("C")
            & (df["Quantity"] > 0) & (df["Price"] > 0)].copy()
    df["person_id"] = df["Customer ID"].str.removesuffix(".0")
    df["date"] = pd.to_datetime(df["InvoiceDate"]).dt.date
    as_of = max(df["date"])
    end = as_of + dt.timedelta(days=1)
    cutoff = end - dt.timedelta(days=c.test_days)
    country = df.sort_values("InvoiceDate").groupby("person_id")["Country"].last().reset_index()

    spark = get_spark(cfg.spark)
    segments = spark.createDataFrame([(r.person_id, r.Country, None, None) for r in country.itertuples()],
                                     rt.PERSON_SEGMENTS)
    out: dict = {"file": str(OR_FILE), "as_of": as_of.isoformat(), "cutoff": cutoff.isoformat()}
    if a.tune:
        v_purchases, v_test = _split(df, end=cutoff, c=c)   # nothing of the test window is seen
        trials = []
        for g in GRID:
            cg = dataclasses.replace(c, **g)
            lv = _score(spark, v_purchases, v_test, segments, cg)["levels"]
            trials.append({**g, "als_ndcg": lv["als"]["ndcg"], "popularity_ndcg": lv["popularity"]["ndcg"],
                           "history_ndcg": lv["history"]["ndcg"]})
            print("VALIDATION", json.dumps(trials[-1]), flush=True)
        best = max(trials, key=lambda t: t["als_ndcg"])
        c = dataclasses.replace(c, **{k: best[k] for k in GRID[0]})
        out["validation"] = {"cutoff": (cutoff - dt.timedelta(days=c.test_days)).isoformat(), "trials": trials,
                             "chosen": {k: best[k] for k in GRID[0]}}
    purchases, test = _split(df, end=end, c=c)
    started = time.perf_counter()
    result = _score(spark, purchases, test, segments, c)
    out.update({"params": {k: getattr(c, k) for k in ("rank", "reg_param", "alpha", "purchase_weight", "max_iter",
                                                      "eval_k", "test_days")},
                "levels": result["levels"], "train_seconds": result["train_seconds"],
                "evaluate_seconds": time.perf_counter() - started})
    print(json.dumps(out, indent=2))
    od = ROOT / "benchmarks" / "out"
    od.mkdir(exist_ok=True)
    (od / ("recommend_online_retail_tuned.json" if a.tune else "recommend_online_retail.json")).write_text(
        json.dumps(out, indent=2))
    spark.stop()


if __name__ == "__main__":
    main()
