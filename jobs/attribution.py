"""`brandlake channel-attribution`: silver clickstream + gold identity_accounts → gold `channel_attribution`
(per brand × month × model × channel: last touch, first touch, linear, Markov removal effect).

Sessions, journeys and the heuristic models run in Spark (transforms/marketing.py); the Markov model is
solved per brand × month on the driver from the aggregated transition counts (models/attribution.py:
a few channels, so a tiny linear system each). Rebuilt whole each run, partitioned by brand_id.
"""

from __future__ import annotations

import argparse
import collections
import logging

from brandlake.jobs.marketing import read_session_inputs
from brandlake.models.attribution import CONVERSION, markov_credit
from brandlake.transforms import marketing as mk
from brandlake.transforms.gold_tables import gold_path

from brandlake import tables
from brandlake.runtime import JobContext

log = logging.getLogger(__name__)

CHANNEL_ATTRIBUTION = "channel_attribution"


def add_arguments(p: argparse.ArgumentParser) -> None:
    del p  # no options


def markov_rows(transitions: list) -> list[tuple]:
    """(brand_id, month, 'markov', channel, conversions) from collected transition-count rows."""
    chains: dict = collections.defaultdict(dict)
    for r in transitions:
        chains[(r["brand_id"], r["month"])][(r["from_state"], r["to_state"])] = float(r["transitions"])
    rows = []
    for (brand, month), counts in sorted(chains.items()):
        conversions = sum(c for (_a, b), c in counts.items() if b == CONVERSION)
        if conversions <= 0:
            continue
        for channel, credit in sorted(markov_credit(counts, conversions).items()):
            rows.append((brand, month, "markov", channel, credit))
    return rows


def run(ctx: JobContext, args: argparse.Namespace) -> None:
    spark, cfg = ctx.spark, ctx.cfg
    inputs = read_session_inputs(ctx, command="channel-attribution")
    sessions = mk.to_brand_sessions(inputs["clickstream"], accounts=inputs["identity_accounts"],
                                    products=inputs["products"])
    journeys = mk.to_journeys(sessions).persist()
    markov = spark.createDataFrame(markov_rows(mk.to_transition_counts(journeys).collect()), mk.MARKOV_CREDITS)
    result = mk.to_heuristic_attribution(journeys).unionByName(mk.with_shares(markov))
    path = gold_path(cfg.lake.gold, CHANNEL_ATTRIBUTION)
    rows = tables.overwrite_counted(result, path, partition_by=("brand_id",))
    journeys.unpersist()
    ctx.summary.add_counts(CHANNEL_ATTRIBUTION, rows_written=rows)
    log.info("channel-attribution: %d brand × month × model × channel rows", rows)
