"""`brandlake generate`: write a synthetic marketplace landing zone (raw exports of 18 sources) and its
ground truth. Same seed and scale give byte-identical files; ``--until-batch N`` lands batches 1..N only."""

from __future__ import annotations

import argparse
import dataclasses
import logging

from brandlake.synthetic import landing_io
from brandlake.synthetic.constants import ROWS_PER_SF_PER_BATCH
from brandlake.synthetic.export import with_csv_headers
from brandlake.synthetic.params import DefectSpec, WorldParams
from brandlake.synthetic.world import build_world, landing_lines, landing_records, truth_frames
from brandlake.transforms.landing import SOURCES
from pyspark.sql import functions as F

from brandlake.errors import UsageError
from brandlake.runtime import JobContext
from brandlake.tables import delete_path

log = logging.getLogger(__name__)


LANDING_MB_PER_SF = 5300  # landing MB per scale factor over two years (measured: 53 MB at SF 0.01)


class GenerateError(UsageError):
    """The generator cannot run with the given settings (exit 2)."""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--scale", type=float, default=None, help="scale factor; SF 1 ~ 1M order lines (default: config)")
    p.add_argument("--seed", type=int, default=None, help="random seed (default: config)")
    p.add_argument("--until-batch", type=int, default=None, help="land only batches 1..N (default: all)")


def params_from(ctx: JobContext, args: argparse.Namespace) -> WorldParams:
    g = ctx.cfg.generate
    return WorldParams(
        seed=g.seed if args.seed is None else args.seed,
        scale=g.scale if args.scale is None else args.scale,
        start_date=g.start_date, days=g.days, batch_days=g.batch_days,
        balance_grace_days=ctx.cfg.settlement.balance_grace_days,
        defects=DefectSpec(**dataclasses.asdict(g.defects)),
    )


def run(ctx: JobContext, args: argparse.Namespace) -> None:
    spark, lake = ctx.spark, ctx.cfg.lake
    p = params_from(ctx, args)
    tz = spark.conf.get("spark.sql.session.timeZone")
    if tz != "UTC":
        raise GenerateError(f"generate needs spark.sql.session.timeZone=UTC (timestamps are written as UTC), found {tz}")
    if p.scale <= 0:
        raise GenerateError(f"--scale must be positive, found {p.scale}")
    until = p.n_batches if args.until_batch is None else args.until_batch
    if not 1 <= until <= p.n_batches:
        raise GenerateError(f"--until-batch must be within 1..{p.n_batches}, found {until}")
    # the landing zone it writes: ~53 MB at SF 0.01 (730 days), and so in proportion
    ctx.evaluate_for_input(size_mb=p.scale * LANDING_MB_PER_SF * p.days / 730)
    log.info("generate: scale %s seed %s, %d days from %s, batches 1..%d of %d",
             p.scale, p.seed, p.days, p.start_date, until, p.n_batches)
    ctx.summary.details["generate"] = {"scale": p.scale, "seed": p.seed, "until_batch": until,
                                       "n_batches": p.n_batches}
    staging = f"{lake.landing.rstrip('/')}_staging"
    work = f"{lake.landing.rstrip('/')}_work"

    def materialize(name: str, df):
        landing_io.write_parquet(df, f"{work}/{name}")
        return spark.read.parquet(f"{work}/{name}")

    try:
        ctx.mark("landing", "build world")
        with ctx.summary.stage("generate.world"):
            world = build_world(spark, p=p, materialize=materialize)
        ctx.mark("landing", "stage records")
        with ctx.summary.stage("generate.stage"):
            for group, lines in landing_lines(landing_records(world, p=p), p=p).items():
                log.info("generate: staging %s sources", group)
                landing_io.write_parquet(lines.where(F.col("batch") <= until), f"{staging}/group={group}")
        staged = spark.read.parquet(staging).drop("group")
        ctx.mark("landing", "write files")
        with ctx.summary.stage("generate.land"):
            n_files = until * sum(p.parts(ROWS_PER_SF_PER_BATCH[name]) for name in SOURCES)
            partitions = max(spark.sparkContext.defaultParallelism, n_files // 4)
            files = landing_io.write_landing(
                spark, with_csv_headers(staged, list(SOURCES.values())), landing=lake.landing, partitions=partitions,
                extensions={name: src.extension for name, src in SOURCES.items()})
        ctx.mark("truth", "write ground truth")
        with ctx.summary.stage("generate.truth"):
            for name, df in truth_frames(world, p=p).items():
                landing_io.write_parquet(df, f"{lake.truth}/{name}")
            landing_io.write_parquet(
                staged.where(F.col("_defect").isNotNull()).select(
                    "source", F.col("_defect").alias("defect_type"), "batch", "part", "record_key", "order_id",
                    F.col("_defect_field").alias("field"), F.col("_defect_detail").alias("detail")),
                f"{lake.truth}/defects")
        counts = {r["source"]: r["n"] for r in staged.where(F.col("record_key").isNotNull())
                  .groupBy("source").agg(F.count(F.lit(1)).alias("n")).collect()}
        for name in SOURCES:
            ctx.summary.add_counts(f"landing.{name}", rows_written=counts.get(name, 0))
        ctx.summary.details["generate"]["files"] = len(files)
        log.info("generate: %d files, %d lines under %s; truth under %s",
                 len(files), sum(counts.values()), lake.landing, lake.truth)
    finally:
        delete_path(spark, staging)
        delete_path(spark, work)
