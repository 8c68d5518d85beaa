"""`brandlake seller-credit`: silver seller_records + orders + shops → gold `seller_credit` (one row per
cross-border shop × quarter: components, 0–1000 score, reason codes; rules in transforms/seller_credit.py).

Rebuilt whole each run (small: shops × quarters). The run summary reports the forward check: Spearman
rank correlation between a quarter's score and the shop's dispute rate in the next quarter (a useful
score is negative: higher score, fewer disputes next quarter).
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


def forward_rank_correlation(pairs: pd.DataFrame) -> float | None:
    """Spearman correlation of score vs next quarter's dispute rate (None with fewer than 3 pairs)."""
    if len(pairs) < 3 or pairs["score"].nunique() < 2 or pairs["next_dispute_rate"].nunique() < 2:
        return None
    return float(pairs["score"].rank().corr(pairs["next_dispute_rate"].rank()))


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
    pairs = sc.to_forward_pairs(written).toPandas()
    rho = forward_rank_correlation(pairs)
    ctx.summary.add_counts(SELLER_CREDIT, rows_written=rows)
    ctx.summary.details["seller_credit"] = {"shop_quarters": rows, "forward_pairs": len(pairs),
                                            "spearman_score_vs_next_dispute_rate": rho}
    log.info("seller-credit: %d shop-quarters; Spearman(score, next quarter dispute rate) = %s", rows, rho)
