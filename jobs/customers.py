"""`brandlake customers`: gold `order_line_settlement` + `identity_accounts` → brand-scoped gold
`customer_profile`, `vip_service_priority` and `campaign_audiences` (rules: transforms/customers.py).

Each run rebuilds the three tables as of one date (``--as-of``, default the latest order date settled),
partitioned by brand_id so a brand's export reads only its own partition; audiences smaller than
``customers.min_audience_size`` are suppressed and counted in the run summary.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging

from brandlake.transforms import customers as cu
from brandlake.transforms.gold_tables import gold_path
from pyspark.sql import functions as F

from brandlake import tables
from brandlake.runtime import JobContext

log = logging.getLogger(__name__)

PROFILE, VIP, AUDIENCES = "customer_profile", "vip_service_priority", "campaign_audiences"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--as-of", type=dt.date.fromisoformat, default=None,
                   help="profile date (YYYY-MM-DD): purchases up to it count (default: latest settled order date)")


def run(ctx: JobContext, args: argparse.Namespace) -> None:
    spark, cfg = ctx.spark, ctx.cfg
    inputs = tables.read_required(
        spark, {"order_line_settlement": gold_path(cfg.lake.gold, "order_line_settlement"),
                "identity_accounts": gold_path(cfg.lake.gold, "identity_accounts"),
                "products": f"{cfg.lake.silver}/products", "returns": f"{cfg.lake.silver}/returns"},
        command="customers", hint="run `brandlake silver`, `brandlake gold` and `brandlake identity` first")
    settlement, accounts = inputs["order_line_settlement"], inputs["identity_accounts"]
    products, returns = inputs["products"], inputs["returns"]
    as_of = args.as_of or settlement.agg(F.max("order_date")).first()[0] or dt.date.today()

    purchases = cu.to_purchase_lines(settlement, accounts=accounts, products=products, returns=returns,
                                     as_of=as_of).persist()
    unmatched = purchases.where(F.col("person_id").isNull()).count()
    if unmatched:
        log.warning("customers: %d paid lines belong to accounts without a person (run `brandlake identity`); "
                    "they are not in the profiles", unmatched)
    profile = cu.to_customer_profile(purchases, as_of=as_of).persist()
    brand_accounts = cu.to_brand_accounts(purchases).persist()
    members = cu.to_audience_members(profile).persist()
    min_size = cfg.customers.min_audience_size
    suppressed = members.where(F.col("audience_size") < min_size).select("brand_id", "audience").distinct().count()

    outputs = {PROFILE: profile, VIP: cu.to_vip_service_priority(profile, brand_accounts=brand_accounts),
               AUDIENCES: cu.to_campaign_audiences(members, brand_accounts=brand_accounts, min_size=min_size)}
    counts = {name: tables.overwrite_counted(df, gold_path(cfg.lake.gold, name), partition_by=("brand_id",))
              for name, df in outputs.items()}
    for name, n in counts.items():
        ctx.summary.add_counts(name, rows_written=n)
    ctx.summary.details["customers"] = {"as_of": as_of.isoformat(), "lines_without_person": unmatched,
                                        "audiences_suppressed": suppressed, **counts}
    log.info("customers: as of %s, %s; %d small audiences suppressed", as_of, counts, suppressed)
    for df in (purchases, profile, brand_accounts, members):
        df.unpersist()
