"""`brandlake redact-quarantine`: remove raw PII that silver's quarantine tables kept before it was redacted.

Until 66dfa5f, the quarantined records of silver tables built from a source with PII fields but publishing
none of them (order lines and discounts, from order events) held the order's ship address and phone as
delivered, and a corrupt record's text held them in every such table. This job rewrites the ``raw_record`` of
each affected row of those quarantine tables as ``brandlake silver`` writes it now
(``transforms.silver.common.redact_written_record``) and its ``record_hash`` to match, so that a replayed batch
still adds nothing. Rows without PII are left as they are; a table with none to redact is not written, so a
second run changes nothing. The table's earlier versions (and its change data files) keep the old rows until
``VACUUM`` removes them, after the table's retention (docs/contracts.md).
"""

from __future__ import annotations

import argparse
import logging

from brandlake.transforms.landing import SOURCES
from brandlake.transforms.silver.common import redact_written_record
from brandlake.transforms.silver.registry import SILVER_TABLES
from pyspark.sql import functions as F

from brandlake import tables
from brandlake.runtime import JobContext
from brandlake.session import materialize, release

log = logging.getLogger(__name__)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dry-run", action="store_true", help="count the rows that would be rewritten; write nothing")


def run(ctx: JobContext, args: argparse.Namespace) -> None:
    from brandlake.expectations.gate import with_record_hash  # loads Great Expectations: not for --help

    spark, cfg = ctx.spark, ctx.cfg
    found: dict[str, int] = {}
    for spec in SILVER_TABLES.values():
        pii = SOURCES[spec.bronze].pii
        path = f"{cfg.lake.silver}/{spec.name}_quarantine"
        if not pii or not tables.exists(spark, path):
            continue
        ctx.mark(f"silver.{spec.name}_quarantine", "redact")
        rows = tables.read(spark, path)
        redacted = rows.withColumn("_redacted", redact_written_record(F.col("raw_record"), pii))
        changed = F.col("_redacted") != F.col("raw_record")
        kept = materialize(redacted)  # read twice (count, write) and the table is replaced from it
        try:
            n = kept.where(changed).count()
            found[spec.name] = n
            if n and not args.dry_run:
                fixed = kept.withColumn("raw_record", F.col("_redacted")).drop("_redacted", "record_hash")
                # hashed again as the gate hashes a batch; the run id keeps apart the batches the rows came from
                fixed = with_record_hash(fixed, keys=spec.keys, apart=("run_id",)).select(*rows.columns)
                tables.overwrite(fixed, path, overwrite_schema=False)
                ctx.summary.add_counts(f"silver.{spec.name}_quarantine", rows_written=n)
        finally:
            release(kept)
        log.info("silver.%s_quarantine: %d record(s) with raw PII%s", spec.name, n,
                 " (dry run: nothing written)" if args.dry_run else " redacted")
    ctx.summary.details["redact_quarantine"] = {"rows_with_raw_pii": found, "dry_run": bool(args.dry_run)}
