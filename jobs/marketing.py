"""`brandlake lost-visitors`: silver clickstream + gold identity_accounts → gold `lost_visitors`
(brand-scoped retargeting audiences, partitioned by brand_id; rules in transforms/marketing.py).
Rebuilt whole each run."""

from __future__ import annotations

import argparse
import logging

from brandlake.transforms import marketing as mk
from brandlake.transforms.gold_tables import gold_path
from pyspark.sql import DataFrame

from brandlake import tables
from brandlake.runtime import JobContext

log = logging.getLogger(__name__)

LOST_VISITORS = "lost_visitors"


def add_arguments(p: argparse.ArgumentParser) -> None:
    del p  # no options


def read_session_inputs(ctx: JobContext, *, command: str) -> dict[str, DataFrame]:
    """Silver clickstream and products and gold identity_accounts: what lost-visitors and channel-attribution
    build brand sessions from (exit 2 naming whichever is missing)."""
    cfg = ctx.cfg
    return tables.read_required(
        ctx.spark, {"clickstream": f"{cfg.lake.silver}/clickstream", "products": f"{cfg.lake.silver}/products",
                    "identity_accounts": gold_path(cfg.lake.gold, "identity_accounts")},
        command=command, hint="run `brandlake silver` and `brandlake identity` first")


def run(ctx: JobContext, args: argparse.Namespace) -> None:
    cfg = ctx.cfg
    inputs = read_session_inputs(ctx, command="lost-visitors")
    lost = mk.to_lost_visitors(inputs["clickstream"], accounts=inputs["identity_accounts"],
                               products=inputs["products"])
    path = gold_path(cfg.lake.gold, LOST_VISITORS)
    rows = tables.overwrite_counted(lost, path, partition_by=("brand_id",))
    ctx.summary.add_counts(LOST_VISITORS, rows_written=rows)
    log.info("lost-visitors: %d brand × visitor × product rows", rows)
