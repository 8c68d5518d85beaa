"""What every job gets: validated config, the SparkSession and the run summary, written on exit."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from pyspark.sql import SparkSession

from brandlake.config import Config
from brandlake.session import get_spark
from brandlake.summary import RunSummary, new_run_id
from brandlake.tables import write_text

log = logging.getLogger(__name__)


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
    """Open the session, yield the context, and write the run summary whether the job fails or not."""
    spark = spark or get_spark(cfg.spark)
    summary = RunSummary(run_id=run_id or new_run_id(), command=command, env=cfg.env)
    ctx = JobContext(cfg=cfg, spark=spark, summary=summary)
    try:
        yield ctx
    except BaseException as e:
        summary.finish("failed", f"{type(e).__name__}: {e}")
        _write_summary(ctx)
        raise
    summary.finish("succeeded")
    _write_summary(ctx)


def _write_summary(ctx: JobContext) -> None:
    text = ctx.summary.to_json()
    write_text(ctx.spark, summary_uri(ctx.cfg, ctx.summary.run_id), text)
    write_text(ctx.spark, f"{ctx.cfg.lake.runs}/latest.json", text)
    log.info("run summary: %s", summary_uri(ctx.cfg, ctx.summary.run_id))
