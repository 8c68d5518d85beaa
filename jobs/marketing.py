"""`brandlake lost-visitors`: silver clickstream + gold identity_accounts → gold `lost_visitors`
(brand-scoped retargeting audiences, partitioned by brand_id; rules in transforms/marketing.py).
Rebuilt whole each run."""

from __future__ import annotations

import argparse
import logging

from brandlake.transforms import marketing as mk

from brandlake import tables
from brandlake.runtime import JobContext

log = logging.getLogger(__name__)

LOST_VISITORS = "lost_visitors"


def add_arguments(p: argparse.ArgumentParser) -> None:
    del p  # no options


def run(ctx: JobContext, args: argparse.Namespace) -> None:
    spark, cfg = ctx.spark, ctx.cfg
    needs = {"clickstream": f"{cfg.lake.silver}/clickstream", "products": f"{cfg.lake.silver}/products",
             "identity_accounts": f"{cfg.lake.gold}/identity_accounts"}
    for name, path in needs.items():
        if not tables.exists(spark, path):
            raise tables.TableNotFoundError(f"lost-visitors needs {name} at {path}; run `brandlake silver` / "
                                            "`brandlake identity` first")
    lost = mk.to_lost_visitors(tables.read(spark, needs["clickstream"]),
                               accounts=tables.read(spark, needs["identity_accounts"]),
                               products=tables.read(spark, needs["products"]))
    path = f"{cfg.lake.gold}/{LOST_VISITORS}"
    tables.overwrite(lost, path, partition_by=("brand_id",))
    rows = tables.read(spark, path).count()
    ctx.summary.add_counts(LOST_VISITORS, rows_written=rows)
    log.info("lost-visitors: %d brand × visitor × product rows", rows)
