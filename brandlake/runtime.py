"""What every job gets: validated config, the SparkSession and the run summary, written on exit."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from pyspark.sql import SparkSession

from brandlake.config import Config
from brandlake.errors import UsageError
from brandlake.keptback import kept_back_line, raise_if_held_back
from brandlake.session import get_spark
from brandlake.summary import RunSummary, new_run_id
from brandlake.tables import path_exists, write_text

log = logging.getLogger(__name__)

# Only these commands may create a lake; every other command refuses a lake root that does not exist
# (a mistyped --lake-root must not quietly become a new, empty lake).
LAKE_CREATORS = frozenset({"generate", "import", "pipeline"})


class LakeNotFoundError(UsageError):
    """The command reads a lake, and the configured lake root does not exist (exit 2)."""


def require_lake(cfg: Config, spark: SparkSession, command: str) -> None:
    if command in LAKE_CREATORS or path_exists(spark, cfg.lake.root):
        return
    raise LakeNotFoundError(
        f"no lake at {cfg.lake.root} (check --lake-root / BRANDLAKE_LAKE_ROOT); `brandlake {command}` reads an "
        "existing lake: create one with `brandlake generate`, `brandlake import` or `brandlake pipeline`"
    )


@dataclass
class JobContext:
    cfg: Config
    spark: SparkSession
    summary: RunSummary


def summary_uri(cfg: Config, run_id: str) -> str:
    return f"{cfg.lake.runs}/{run_id}.json"


@contextmanager
def job_context(
    cfg: Config, command: str, *, run_id: str | None = None, spark: SparkSession | None = None
) -> Iterator[JobContext]:
    """Open the session, yield the context, and write the run summary whether the job fails or not.

    A job that kept data back ends with one ``kept back: ...`` line; beyond ``cfg.hold_back`` the run
    is recorded as ``held_back`` and DataHeldBackError (exit 3) raised, the tables left as written.
    """
    spark = spark or get_spark(cfg.spark)
    require_lake(cfg, spark, command)  # before anything could write into a mistyped root
    summary = RunSummary(run_id=run_id or new_run_id(), command=command, env=cfg.env)
    ctx = JobContext(cfg=cfg, spark=spark, summary=summary)
    try:
        yield ctx
        summary.details["kept_back"] = kept_back_line(summary)
        log.log(logging.WARNING if summary.details["kept_back"] != "kept back: nothing" else logging.INFO,
                "%s %s", command, summary.details["kept_back"])
        raise_if_held_back(summary, cfg.hold_back)
    except BaseException as e:
        from brandlake.errors import DataHeldBackError

        summary.finish("held_back" if isinstance(e, DataHeldBackError) else "failed", f"{type(e).__name__}: {e}")
        _write_summary(ctx)
        raise
    summary.finish("succeeded")
    _write_summary(ctx)


def _write_summary(ctx: JobContext) -> None:
    text = ctx.summary.to_json()
    write_text(ctx.spark, summary_uri(ctx.cfg, ctx.summary.run_id), text)
    write_text(ctx.spark, f"{ctx.cfg.lake.runs}/latest.json", text)
    log.info("run summary: %s", summary_uri(ctx.cfg, ctx.summary.run_id))
