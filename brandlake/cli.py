"""brandlake: e-commerce lakehouse jobs (one subcommand per job; `brandlake COMMAND --help`).

Each job module under ``jobs/`` provides ``add_arguments(parser)`` and ``run(ctx, args)``; a module that
needs no Spark (``config``, ``docs``) sets ``NEEDS_SPARK = False`` and provides ``main(cfg, args) -> exit
code`` instead. This module only wires them together. Exit codes: brandlake/errors.py.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from brandlake import __version__, logs
from brandlake.config import ENVIRONMENTS, ConfigError, deep_merge, load_config, parse_settings
from brandlake.errors import EXIT_OK, EXIT_USAGE, HoldBackLimitError, UsageError, exit_code_of
from brandlake.logs import describe

# command -> (module, one-line help). Modules are imported lazily so `--help` stays fast.
COMMANDS: dict[str, tuple[str, str]] = {
    "generate": ("brandlake.jobs.generate", "write a synthetic marketplace landing zone (raw platform exports)"),
    "ingest": ("brandlake.jobs.ingest", "load new landing files into bronze Delta tables, exactly once"),
    "silver": ("brandlake.jobs.silver", "conform bronze into typed silver tables behind data-quality gates"),
    "gold": ("brandlake.jobs.gold", "build gold tables: order_line_settlement, sales_daily"),
    "marts": ("brandlake.jobs.marts", "build gold parcel tracking and the brand report marts (touched periods only)"),
    "report": ("brandlake.jobs.report", "write brand trend reports (offline HTML + CSV/Parquet extracts) from the marts"),
    "import": ("brandlake.jobs.import_source", "land a foreign export (CSV/JSON/Parquet) through a source mapping"),
    "train-forecast": ("brandlake.jobs.train_forecast",
                       "backtest sales-forecast candidates, register in MLflow, promote champion if validated"),
    "score-forecast": ("brandlake.jobs.score_forecast", "forecast with the champion model into gold sales_forecast"),
    "plan-logistics": ("brandlake.jobs.plan_logistics",
                       "available_to_ship, prepositioning_plan, capacity_forecast, peak_load_forecast"),
    "redact-quarantine": ("brandlake.jobs.redact_quarantine",
                          "remove raw PII that silver quarantine tables kept before it was redacted (lakes before 66dfa5f)"),
    "replay-landing": ("brandlake.jobs.replay_landing",
                       "ingest a fixed file from the landing quarantine (_landing_quarantine), exactly once"),
    "identity": ("brandlake.jobs.identity", "match customer accounts across platforms into persons (person_id)"),
    "customers": ("brandlake.jobs.customers", "build brand-scoped customer_profile, vip_service_priority, campaign_audiences"),
    "clv": ("brandlake.jobs.clv", "fit customer lifetime value per brand (BG/NBD + Gamma-Gamma), gold customer_lifetime_value"),
    "seller-credit": ("brandlake.jobs.seller_credit", "score cross-border sellers per quarter (seller_credit, 0-1000)"),
    "lost-visitors": ("brandlake.jobs.marketing", "build brand-scoped lost_visitors (viewed/carted, did not buy)"),
    "channel-attribution": ("brandlake.jobs.attribution", "credit conversions to channels per brand and month (4 models)"),
    "pipeline": ("brandlake.jobs.pipeline", "run every stage end to end on the selected environment"),
    "config": ("brandlake.jobs.config", "show the effective configuration (secrets masked) or validate it, no Spark"),
    "docs": ("brandlake.jobs.docs", "generate docs from code: `docs dictionary` writes the gold data dictionary"),
    "lifecycle": ("brandlake.jobs.lifecycle", "build gold product_lifecycle (stage per product month) and product_alerts"),
    "train-text": ("brandlake.jobs.text_models", "train the review-sentiment and cs-intent text models (MLflow)"),
    "signals": ("brandlake.jobs.signals", "score reviews and chats: gold review_scores, review_signals, cs_signals"),
    "train-returns": ("brandlake.jobs.train_returns", "train and validate the return-risk models (order, shipment)"),
    "score-returns": ("brandlake.jobs.score_returns", "score open order lines into gold return_risk (champion)"),
    "recommend": ("brandlake.jobs.recommend",
                  "train ALS recommendations (time-split vs popularity, MLflow); gold recommendations per person/brand"),
    "build-kb": ("brandlake.jobs.build_kb", "learn the customer-service knowledge base (gold cs_kb) from agent answers"),
    "ask": ("brandlake.jobs.ask", "answer a customer question from the knowledge base, or hand off to a human"),
}


def _common_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--env", default="local", choices=ENVIRONMENTS, help="config overlay (default: local)")
    p.add_argument("--conf-dir", default=None, help="folder with base.yaml and overlays (default: packaged conf/)")
    p.add_argument("--lake-root", default=None, help="override lake.root (local folder or URI)")
    p.add_argument("--run-id", default=None, help="id for this run's summary and log (default: generated)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", dest="settings",
                   help="override one config key, e.g. --set silver.reporting_currency=GBP (repeatable)")
    p.add_argument("-v", "--verbose", action="count", default=0,
                   help="also show third-party and Spark logs and a failure's traceback on the terminal")
    p.add_argument("-q", "--quiet", action="count", default=0, help="show only warnings and errors")


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser; only ``command``'s job module is imported (so one job's imports never break another)."""
    parser = argparse.ArgumentParser(prog="brandlake", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"brandlake {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (module, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        _common_arguments(p)
        if name == command:
            importlib.import_module(module).add_arguments(p)
        p.set_defaults(_module=module)
    return parser


def config_overrides(args: argparse.Namespace) -> dict:
    """--set KEY=VALUE settings, then --lake-root (the more specific flag wins)."""
    overrides = parse_settings(args.settings)
    return deep_merge(overrides, {"lake": {"root": args.lake_root}}) if args.lake_root else overrides


def failure_line(command: str, error: BaseException) -> str:
    """The one line a failed command prints: what failed, where, and where the details are."""
    from brandlake.runtime import LOG_ATTRIBUTE, STEP_ATTRIBUTE

    step = getattr(error, STEP_ATTRIBUTE, None)
    where = f" at {step}" if step else ""
    log_file = getattr(error, LOG_ATTRIBUTE, None)
    details = f" (trace in {log_file}; -v shows it here)" if log_file else ""
    if isinstance(error, HoldBackLimitError):  # the tables are written; the run only kept back too much
        return f"brandlake {command} held data back (tables written, exit 3): {error}" + (
            f" (details in {log_file})" if log_file else "")
    return f"brandlake {command} failed{where}: {describe(error)}{details}"


def main(argv: list[str] | None = None) -> int:
    """Run one command; returns the exit code (0 ok, 1 failure, 2 usage/configuration, 3 data held back)."""
    argv = sys.argv[1:] if argv is None else argv
    command = next((a for a in argv if a in COMMANDS), None)
    try:
        args = build_parser(command).parse_args(argv)
    except SystemExit as e:  # --help, --version (0) or a usage error argparse already printed (2)
        return EXIT_OK if e.code is None else e.code if isinstance(e.code, int) else EXIT_USAGE
    verbosity = logs.verbosity_from(args.verbose, args.quiet)
    remove_console = logs.configure(verbosity)
    try:
        return _run(args, verbosity)
    finally:
        remove_console()


def _run(args: argparse.Namespace, verbosity: int) -> int:
    try:
        cfg = load_config(args.env, conf_dir=args.conf_dir, overrides=config_overrides(args))
    except ConfigError as e:
        print(f"brandlake: configuration error: {e}", file=sys.stderr)
        return EXIT_USAGE
    module = importlib.import_module(args._module)
    if not getattr(module, "NEEDS_SPARK", True):  # e.g. `config show`: no session, no run summary
        try:
            return module.main(cfg, args)
        except UsageError as e:
            print(f"brandlake {args.command}: {e}", file=sys.stderr)
            return EXIT_USAGE
    from brandlake.runtime import job_context

    try:
        with job_context(cfg, args.command, run_id=args.run_id, verbosity=verbosity) as ctx:
            module.run(ctx, args)
    except Exception as e:  # noqa: BLE001 - one clear line for the operator; job_context logged the trace
        print(failure_line(args.command, e), file=sys.stderr)
        return exit_code_of(e)
    return EXIT_OK

if __name__ == "__main__":
    sys.exit(main())
