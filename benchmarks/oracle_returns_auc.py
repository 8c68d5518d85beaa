"""The generator's best achievable return ROC-AUC on the return-risk model's own test window: score each
truth order line with the return probability it was sampled from (truth `order_lines.return_probability`),
and with its order-time part (the delivery-delay term removed; the person's propensity kept).

    python benchmarks/oracle_returns_auc.py --lake-root ./lake_returns13 [--stage order]

The window (test_from .. label_until) is read from the tags of the champion's MLflow run; lines of
orders cancelled before shipping are kept out like in training (truth `orders.unpaid`).
"""

from __future__ import annotations

import argparse
import json

import numpy as np
import pandas as pd
from brandlake.synthetic.constants import CATEGORY_RETURN


def segment_part(lines: pd.DataFrame, *, unknown_category: float = np.nan) -> pd.Series:
    """The generator's return probability before the person's propensity, without the delivery-delay term
    (synthetic/orders.py ``line_outcomes``): category base + 0.06 for an extreme size + 0.25 × discount depth."""
    return (lines["category"].map(CATEGORY_RETURN).fillna(unknown_category)
            + lines["is_extreme_size"].astype(float) * 0.06 + lines["discount_depth"].astype(float) * 0.25)


def delay_part(delay_days: pd.Series) -> pd.Series:
    """The generator's delivery-delay term: 0.03 a day late, at most 0.15."""
    return np.minimum(delay_days.astype(float) * 0.03, 0.15)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lake-root", required=True)
    ap.add_argument("--stage", default="order", choices=("order", "shipment"))
    a = ap.parse_args()
    import mlflow
    from brandlake.models import registry, tracking
    from brandlake.models import returns as rr

    from brandlake.config import load_config

    cfg = load_config("local", overrides={"lake": {"root": a.lake_root}})
    tracking.configure(cfg)
    name = f"{cfg.returns.model_name}_{a.stage}"
    mv = registry.alias_version(name, registry.CHAMPION) or registry.alias_version(name, registry.CHALLENGER)
    run = mlflow.MlflowClient().get_run(mv.run_id)
    lo, hi = pd.Timestamp(run.data.tags["split.test_from"]), pd.Timestamp(run.data.tags["split.label_until"])
    o = pd.read_parquet(f"{cfg.lake.truth}/orders", columns=["order_id", "ordered_at", "unpaid"])
    ln = pd.read_parquet(f"{cfg.lake.truth}/order_lines").merge(o, on="order_id")
    t = ln[(ln["ordered_at"] >= lo) & (ln["ordered_at"] <= hi) & ~ln["unpaid"].astype(bool)]
    y = t["is_returned"].astype(float).to_numpy()
    raw, delay = segment_part(t), delay_part(t["delay_days"])
    propensity = t["return_probability"].astype(float) / (raw + delay)   # exact unless the 0.85 cap bit
    out = {
        "model": f"{name}/{mv.version}", "window": [str(lo), str(hi)], "truth_lines": int(len(t)),
        "positive_rate": float(y.mean()),
        "model_test_roc_auc_logged": run.data.metrics.get("test.roc_auc"),
        "baseline_test_roc_auc_logged": run.data.metrics.get("baseline_test.roc_auc"),
        "oracle_roc_auc": rr.roc_auc(y, t["return_probability"].astype(float).to_numpy()),
        "oracle_roc_auc_without_delay_term": rr.roc_auc(y, np.minimum(raw * propensity, 0.85).to_numpy()),
        "oracle_roc_auc_without_propensity_and_delay": rr.roc_auc(y, raw.to_numpy()),
    }
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
