"""brandlake: e-commerce lakehouse jobs (one subcommand per job; `brandlake COMMAND --help`).

Each job module under ``jobs/`` provides ``add_arguments(parser)`` and ``run(ctx, args)``;
this module only wires them together.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys

from brandlake.config import ENVIRONMENTS, ConfigError, deep_merge, load_config, parse_settings
from brandlake.errors import EXIT_OK, exit_code_of

# command -> (module, one-line help). Modules are imported lazily so `--help` stays fast.
COMMANDS: dict[str, tuple[str, str]] = {
    "generate": ("brandlake.jobs.generate", "write a synthetic marketplace landing zone (raw platform exports)"),
    "ingest": ("brandlake.jobs.ingest", "load new landing files into bronze Delta tables, exactly once"),
    "silver": ("brandlake.jobs.silver", "conform bronze into typed silver tables behind data-quality gates"),
    "gold": ("brandlake.jobs.gold", "build gold tables: order_line_settlement, sales_daily"),
    "import": ("brandlake.jobs.import_source", "land a foreign export (CSV/JSON/Parquet) through a source mapping"),
    "identity": ("brandlake.jobs.identity", "match customer accounts across platforms into persons (person_id)"),
    "customers": ("brandlake.jobs.customers", "build brand-scoped customer_profile, vip_service_priority, campaign_audiences"),
    "seller-credit": ("brandlake.jobs.seller_credit", "score cross-border sellers per quarter (seller_credit, 0-1000)"),
    "lost-visitors": ("brandlake.jobs.marketing", "build brand-scoped lost_visitors (viewed/carted, did not buy)"),
    "channel-attribution": ("brandlake.jobs.attribution", "credit conversions to channels per brand and month (4 models)"),
    "pipeline": ("brandlake.jobs.pipeline", "run every stage end to end on the selected environment"),
}


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser; only ``command``'s job module is imported (so one job's imports never break another)."""
    parser = argparse.ArgumentParser(prog="brandlake", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (module, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.add_argument("--env", default="local", choices=ENVIRONMENTS, help="config overlay (default: local)")
        p.add_argument("--conf-dir", default=None, help="folder with base.yaml and overlays (default: packaged conf/)")
        p.add_argument("--lake-root", default=None, help="override lake.root (local folder or URI)")
        p.add_argument("--run-id", default=None, help="id for this run's summary (default: generated)")
        p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", dest="settings",
                       help="override one config key, e.g. --set silver.reporting_currency=GBP (repeatable)")
        if name == command:
            importlib.import_module(module).add_arguments(p)
        p.set_defaults(_module=module)
    return parser


def config_overrides(args: argparse.Namespace) -> dict:
    """--set KEY=VALUE settings, then --lake-root (the more specific flag wins)."""
    overrides = parse_settings(args.settings)
    return deep_merge(overrides, {"lake": {"root": args.lake_root}}) if args.lake_root else overrides


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("py4j").setLevel(logging.WARNING)
    argv = sys.argv[1:] if argv is None else argv
    command = next((a for a in argv if a in COMMANDS), None)
    args = build_parser(command).parse_args(argv)
    try:
        cfg = load_config(args.env, conf_dir=args.conf_dir, overrides=config_overrides(args))
    except ConfigError as e:
        print(f"brandlake: configuration error: {e}", file=sys.stderr)
        return 2
    from brandlake.jars import JarFetchError
    from brandlake.runtime import job_context

    module = importlib.import_module(args._module)
    try:
        with job_context(cfg, args.command, run_id=args.run_id) as ctx:
            module.run(ctx, args)
    except JarFetchError as e:
        print(f"brandlake: {e}", file=sys.stderr)
        return 1
    except Exception as e:  # noqa: BLE001 - one clear line for the operator; traceback on request
        if os.environ.get("BRANDLAKE_DEBUG"):
            raise
        print(f"brandlake {args.command} failed: {type(e).__name__}: {e}\n"
              "(the run summary records the failure; set BRANDLAKE_DEBUG=1 for the traceback)", file=sys.stderr)
        return exit_code_of(e)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
