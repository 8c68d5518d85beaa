"""`brandlake pipeline`: generate (when asked or when the landing zone is empty) → ingest → silver → gold → marts,
in one run with one summary. Every stage is idempotent, so re-running the pipeline is safe."""

from __future__ import annotations

import argparse
import importlib
import logging

from brandlake.runtime import JobContext, summary_uri
from brandlake.tables import list_files

log = logging.getLogger(__name__)

STAGES = ("ingest", "silver", "gold", "marts")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--scale", type=float, default=None, help="generator scale factor (default: config)")
    p.add_argument("--seed", type=int, default=None, help="generator seed (default: config)")
    p.add_argument("--regenerate", action="store_true", help="regenerate the landing zone even if present")
    p.add_argument("--skip-generate", action="store_true", help="use the landing zone as it is")


def stage_args(module_name: str, **values) -> argparse.Namespace:
    """The stage's own defaults (from its add_arguments), with ``values`` set."""
    module = importlib.import_module(module_name)
    parser = argparse.ArgumentParser(add_help=False)
    module.add_arguments(parser)
    args = parser.parse_args([])
    for k, v in values.items():
        setattr(args, k, v)
    return args


def run(ctx: JobContext, args: argparse.Namespace) -> None:
    from brandlake.cli import COMMANDS

    landing_empty = not list_files(ctx.spark, ctx.cfg.lake.landing)
    if not args.skip_generate and (args.regenerate or landing_empty):
        gen_args = stage_args(COMMANDS["generate"][0])
        if args.scale is not None:
            gen_args.scale = args.scale
        if args.seed is not None:
            gen_args.seed = args.seed
        log.info("stage generate")
        with ctx.summary.stage("pipeline.generate"), ctx.step("pipeline", "generate"):
            importlib.import_module(COMMANDS["generate"][0]).run(ctx, gen_args)
    for name in STAGES:
        log.info("stage %s", name)
        module = COMMANDS[name][0]
        with ctx.summary.stage(f"pipeline.{name}"), ctx.step("pipeline", name):
            importlib.import_module(module).run(ctx, stage_args(module))
    lake = ctx.cfg.lake
    log.info(
        "pipeline done. bronze: %s | silver: %s | gold: %s | data docs: %s | run summary: %s",
        lake.bronze, lake.silver, lake.gold, lake.data_docs, summary_uri(ctx.cfg, ctx.summary.run_id),
    )
    print(
        "\nbrandlake pipeline finished\n"
        f"  gold tables   : {lake.gold}  (order_line_settlement, sales_daily, parcel_tracking, mart_*)\n"
        f"  brand reports : brandlake report --all [--period month:YYYY-MM]\n"
        f"  silver tables : {lake.silver}  (dq_results, *_quarantine)\n"
        f"  bronze tables : {lake.bronze}\n"
        f"  data docs     : {lake.data_docs}\n"
        f"  run summary   : {summary_uri(ctx.cfg, ctx.summary.run_id)}\n"
    )
