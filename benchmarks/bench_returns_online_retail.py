"""Return risk on the real Online Retail II file: a sale line counts as returned when a later cancellation
invoice ("C…") of the same customer and product follows within the label window. Features are as of the
sale's invoice time (only strictly earlier events); the split is by time. Gradient boosting
(scikit-learn's histogram GBT) next to the product-history baseline.

    python benchmarks/bench_returns_online_retail.py [--label-days 60]

This is a pandas feature path written for the benchmark (the lakehouse job builds its features in Spark
from order_line_settlement, which Online Retail's import does not give line-level returns for).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from brandlake.models import returns as rr  # noqa: E402

from benchmarks.online_retail import OR_FILE  # noqa: E402

EXCLUDED = {"POST", "DOT", "C2", "BANK CHARGES", "D", "M", "AMAZONFEE", "B", "ADJUST", "ADJUST2", "TEST001", "TEST002",
            "S", "CRUK", "PADS"}


def prior_counts(events: pd.DataFrame, probes: pd.DataFrame, key: str, cols: list[str]) -> pd.DataFrame:
    """For each probe row (key, t), the sums of ``cols`` over events of the key strictly before t: the
    inclusive running total at the key's last event time strictly before t (merge_asof, exact excluded)."""
    tot = events.groupby([key, "t"], sort=True)[cols].sum()
    inclusive = tot.groupby(level=0).cumsum().reset_index().sort_values("t")
    p = probes[[key, "t"]].reset_index().sort_values("t")
    merged = pd.merge_asof(p, inclusive, on="t", by=key, direction="backward", allow_exact_matches=False)
    return merged.set_index("index")[cols].fillna(0.0).sort_index()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--label-days", type=int, default=60)
    a = ap.parse_args()
    df = pd.read_csv(OR_FILE, dtype={"Invoice": str, "StockCode": str, "Customer ID": str})
    df = df[df["Customer ID"].notna() & ~df["StockCode"].isin(EXCLUDED)].drop_duplicates()
    df["t"] = pd.to_datetime(df["InvoiceDate"])
    df["cust"] = df["Customer ID"].str.removesuffix(".0")
    is_c = df["Invoice"].str.startswith("C")
    sales = df[~is_c & (df["Quantity"] > 0) & (df["Price"] > 0)].copy().reset_index(drop=True)
    cancels = df[is_c].copy()
    end = df["t"].max()
    # label: a cancellation of the same customer & product after the sale, within label_days
    c = cancels[["cust", "StockCode", "t"]].rename(columns={"t": "tc"})
    m = sales[["cust", "StockCode", "t"]].reset_index().merge(c, on=["cust", "StockCode"])
    m = m[(m["tc"] > m["t"]) & (m["tc"] <= m["t"] + pd.Timedelta(days=a.label_days))]
    sales["label"] = 0.0
    sales.loc[m["index"].unique(), "label"] = 1.0
    sales = sales[sales["t"] <= end - pd.Timedelta(days=a.label_days)].reset_index(drop=True)

    ev = pd.concat([
        df[~is_c & (df["Quantity"] > 0)][["cust", "StockCode", "t"]].assign(n_sales=1.0, n_cancels=0.0),
        cancels[["cust", "StockCode", "t"]].assign(n_sales=0.0, n_cancels=1.0)])
    feats = pd.DataFrame(index=sales.index)
    for key, name in (("StockCode", "product"), ("cust", "customer")):
        pc = prior_counts(ev, sales, key, ["n_sales", "n_cancels"])
        feats[f"{name}_sales"] = pc["n_sales"].to_numpy()
        feats[f"{name}_cancels"] = pc["n_cancels"].to_numpy()
    glob = 0.02
    feats["product_return_rate"] = (feats["product_cancels"] + 20 * glob) / (feats["product_sales"] + 20)
    feats["customer_return_rate"] = (feats["customer_cancels"] + 2 * glob) / (feats["customer_sales"] + 2)
    feats["price"] = sales["Price"].to_numpy()
    feats["quantity"] = sales["Quantity"].to_numpy()
    feats["amount"] = feats["price"] * feats["quantity"]
    feats["is_uk"] = (sales["Country"] == "United Kingdom").astype(float).to_numpy()
    feats["hour"] = sales["t"].dt.hour.to_numpy()
    feats["dow"] = sales["t"].dt.day_of_week.to_numpy()

    t = sales["t"]
    lo, hi = t.min(), t.max()
    valid_from, test_from = lo + (hi - lo) * 0.6, lo + (hi - lo) * 0.8
    tr, te = t < valid_from, t >= test_from
    va = ~tr & ~te
    from sklearn.ensemble import HistGradientBoostingClassifier

    clf = HistGradientBoostingClassifier(max_iter=200, learning_rate=0.05, max_depth=5, random_state=7,
                                         early_stopping=False)
    clf.fit(feats[tr], sales["label"][tr])
    out = {"file": str(OR_FILE), "label_days": a.label_days, "sale_lines_labelled": int(len(sales)),
           "positive_rate": float(sales["label"].mean()),
           "split": {"valid_from": str(valid_from), "test_from": str(test_from), "label_until": str(hi)}}
    for name, mask in (("valid", va), ("test", te)):
        y = sales["label"][mask].to_numpy()
        p = clf.predict_proba(feats[mask])[:, 1]
        out[name] = rr.classification_metrics(y, p)
        out[f"baseline_{name}"] = rr.classification_metrics(y, feats["product_return_rate"][mask].to_numpy())
    out["calibration_test"] = rr.calibration_table(sales["label"][te].to_numpy(), clf.predict_proba(feats[te])[:, 1])
    print(json.dumps(out, indent=2))
    od = ROOT / "benchmarks" / "out"
    od.mkdir(exist_ok=True)
    (od / "returns_online_retail.json").write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
