"""`brandlake seller-credit`: silver seller_records + orders + shops → gold `seller_credit` (one row per
cross-border shop × quarter: components, 0–1000 score, reason codes; rules in transforms/seller_credit.py).

Rebuilt whole each run (small: shops × quarters). The run summary reports the forward check (`forward_check`):
how a quarter's score ranks shops by their dispute rate in the next quarter, next to the quarter's own dispute
rate as the baseline.
"""

from __future__ import annotations

import argparse
import logging

import pandas as pd
from brandlake.transforms import seller_credit as sc
from brandlake.transforms.gold_tables import gold_path

from brandlake import tables
from brandlake.runtime import JobContext

log = logging.getLogger(__name__)

SELLER_CREDIT = "seller_credit"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dispute-rate-cap", type=float, default=0.05,
                   help="dispute rate that costs all dispute points (default 0.05)")


def rank_correlation(risk: pd.Series, outcome: pd.Series) -> float | None:
    """Spearman correlation of a risk ranking with an outcome (None with fewer than 3 pairs, or a constant)."""
    pairs = pd.DataFrame({"risk": risk, "outcome": outcome}).dropna()
    if len(pairs) < 3 or pairs["risk"].nunique() < 2 or pairs["outcome"].nunique() < 2:
        return None
    return float(pairs["risk"].rank().corr(pairs["outcome"].rank()))


def forward_check(pairs: pd.DataFrame) -> dict:
    """How well a quarter's score ranks shops by their next quarter's dispute rate, next to the simple
    baseline measured on the same pairs: the quarter's own dispute rate (persistence). Both as the Spearman
    correlation of a risk ranking (the score's is its negative: a higher score, a lower risk) with the next
    quarter's dispute rate: higher is better, 0 is no better than chance."""
    return {"forward_pairs": len(pairs),
            "spearman_risk_vs_next_dispute_rate": rank_correlation(-pairs["score"], pairs["next_dispute_rate"]),
            "baseline_spearman_dispute_rate_vs_next": rank_correlation(pairs["dispute_rate"],
                                                                       pairs["next_dispute_rate"])}


def run(ctx: JobContext, args: argparse.Namespace) -> None:
    spark, cfg = ctx.spark, ctx.cfg
    inputs = tables.read_required(spark, {n: f"{cfg.lake.silver}/{n}" for n in ("seller_records", "orders", "shops")},
                                  command="seller-credit", hint="run `brandlake silver` first")
    credit = sc.to_seller_credit(inputs["seller_records"], orders=inputs["orders"], shops=inputs["shops"],
                                 dispute_rate_cap=args.dispute_rate_cap)
    path = gold_path(cfg.lake.gold, SELLER_CREDIT)
    tables.overwrite(credit, path)
    written = tables.read(spark, path)
    rows = written.count()
    check = forward_check(sc.to_forward_pairs(written).toPandas())
    ctx.summary.add_counts(SELLER_CREDIT, rows_written=rows)
    ctx.summary.details["seller_credit"] = {"shop_quarters": rows, **check}
    log.info("seller-credit: %d shop-quarters; forward check %s", rows, check)
