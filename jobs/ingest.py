"""`brandlake ingest`: new landing files → bronze Delta tables (one per source), incrementally and exactly once.

One Structured Streaming query per source (``availableNow``), all running at once; each micro-batch is
appended with Delta's idempotent-write id ``bronze/<source>`` + batch id, so a re-run or a crash between
the Delta commit and the checkpoint commit never duplicates rows.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import re
from dataclasses import dataclass, field

from brandlake.transforms import bronze
from brandlake.transforms.landing import SOURCES, LandingSource
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.streaming import StreamingQuery

from brandlake import tables
from brandlake.runtime import JobContext
from brandlake.session import job_description

log = logging.getLogger(__name__)

# Spark's file source ignores files more than 7 days older than the newest one it has seen (after the
# first batch). A late copy with an old mtime would vanish silently, so make the window effectively endless.
MAX_FILE_AGE = "36500d"


class IngestError(RuntimeError):
    """One or more sources could not be ingested; the message names each source and its error."""


def source_list(text: str) -> tuple[str, ...]:
    """argparse type for ``--sources a,b``: known landing source names, in the given order."""
    names = tuple(dict.fromkeys(n.strip() for n in text.split(",") if n.strip()))
    unknown = [n for n in names if n not in SOURCES]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"unknown source(s) {unknown or [text]}; known: {sorted(SOURCES)}")
    return names


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--sources", type=source_list, default=tuple(SOURCES),
        help="comma-separated landing sources to ingest (default: all)",
    )


@dataclass
class SourceIngest:
    """One source's stream: where it reads and writes, and what its micro-batches did (driver side)."""

    source: LandingSource
    landing: str
    table: str
    checkpoint: str
    run_id: str
    rows_read: int = 0
    rows_written: int = 0
    rows_corrupt: int = 0
    micro_batches: int = 0
    drift: dict[str, str] = field(default_factory=dict)
    error: Exception | None = None  # what broke a micro-batch, kept readable (the stream wraps it in a trace)

    def write_batch(self, batch: DataFrame, batch_id: int) -> None:
        try:
            with job_description(batch.sparkSession, f"brandlake ingest · bronze.{self.source.name} · "
                                                      f"micro-batch {batch_id}"):
                self._write_batch(batch, batch_id)
        except Exception as e:
            self.error = e
            raise

    def _write_batch(self, batch: DataFrame, batch_id: int) -> None:
        """foreachBatch body: one aggregation for the counts (and drift keys), then one idempotent append."""
        ingested_at = dt.datetime.now(dt.UTC)
        fields = self.source.fields
        if self.source.fmt == "jsonl":
            staged = batch.transform(bronze.with_json_payload).persist()
        else:
            staged = batch.persist()
        try:
            if self.source.fmt == "jsonl":
                profile = staged.transform(bronze.to_batch_profile).first()
                extra = bronze.drift_columns(profile["keys"] or [], fields=fields)
                out = staged.transform(
                    bronze.json_to_bronze, fields=fields, extra=extra, run_id=self.run_id, ingested_at=ingested_at
                )
            else:
                profile = staged.transform(bronze.to_csv_batch_profile).first()
                extra = {}
                out = staged.transform(bronze.csv_to_bronze, fields=fields, run_id=self.run_id, ingested_at=ingested_at)
            committed = self._append(out, batch_id)
        finally:
            staged.unpersist()
        read, corrupt = int(profile["rows_read"]), int(profile["rows_corrupt"])
        self.micro_batches += 1
        self.rows_read += read
        self.rows_corrupt += corrupt
        self.rows_written += read if committed else 0
        self.drift.update(extra)
        log.info(
            "bronze/%s micro-batch %d: %d rows (%d corrupt)%s%s", self.source.name, batch_id, read, corrupt,
            "" if committed else " already committed by an earlier attempt: skipped",
            f", drift columns {sorted(extra.values())}" if extra else "",
        )

    def _append(self, out: DataFrame, batch_id: int) -> bool:
        """Append once; True when this call made the Delta commit (False: an earlier attempt already had)."""
        spark = out.sparkSession
        before = tables.latest_version(spark, self.table)
        tables.append_once(out, self.table, app_id=f"bronze/{self.source.name}", version=batch_id, merge_schema=True)
        return tables.latest_version(spark, self.table) != before

    def start(self, spark: SparkSession, *, max_files_per_trigger: int) -> StreamingQuery:
        reader = (
            spark.readStream
            .option("pathGlobFilter", f"*.{self.source.extension}")
            .option("maxFilesPerTrigger", max_files_per_trigger)
            .option("maxFileAge", MAX_FILE_AGE)
        )
        path = F.col("_metadata.file_path").alias(bronze.SOURCE_FILE)
        if self.source.fmt == "jsonl":
            # Read as text and parse per line ourselves: nothing a JSON reader would reject is lost.
            stream = reader.format("text").load(self.landing).select("value", path)
        else:
            stream = (
                reader.format("csv")
                .schema(bronze.csv_read_schema(self.source.fields))
                .option("header", "true")
                # Check each file's header against the contract: a reordered or drifted header fails the
                # source loudly instead of filling columns by position with the wrong fields.
                .option("enforceSchema", "false")
                .option("mode", "PERMISSIVE")
                .option("columnNameOfCorruptRecord", bronze.CORRUPT)
                .option("escape", '"')  # RFC 4180: a quote inside a quoted field is doubled
                .load(self.landing)
                .select(*self.source.fields, bronze.CORRUPT, path)
            )
        return (
            stream.writeStream
            .queryName(f"bronze_{self.source.name}")
            .foreachBatch(self.write_batch)
            .trigger(availableNow=True)
            .option("checkpointLocation", self.checkpoint)
            .start()
        )


def check_checkpoint(spark: SparkSession, ingest: SourceIngest) -> None:
    """Refuse to run when the bronze table and its checkpoint disagree.

    Without its checkpoint a stream renumbers micro-batches from 0 and Delta would skip them as already
    written (losing new files); without its table a stream would resume after data that is gone.
    """
    has_table = tables.exists(spark, ingest.table)
    offsets = tables.list_files(spark, f"{ingest.checkpoint}/offsets")
    commits = tables.list_files(spark, f"{ingest.checkpoint}/commits")
    if has_table and not offsets:
        raise IngestError(
            f"bronze table {ingest.table} exists but its checkpoint {ingest.checkpoint} is missing; "
            "restore the checkpoint, or delete the table to rebuild it from the landing zone"
        )
    if commits and not has_table:
        raise IngestError(
            f"checkpoint {ingest.checkpoint} records committed micro-batches but bronze table {ingest.table} "
            "is missing; delete the checkpoint to rebuild the table from the landing zone"
        )


def run(ctx: JobContext, args: argparse.Namespace) -> None:
    cfg, spark, summary = ctx.cfg, ctx.spark, ctx.summary
    present = {uri.rstrip("/").rsplit("/", 1)[-1] for uri in tables.list_files(spark, cfg.lake.landing)}
    details = summary.details.setdefault("ingest", {})
    skipped = [name for name in args.sources if name not in present]
    for name in skipped:
        log.info("bronze/%s: no landing folder under %s, skipped", name, cfg.lake.landing)
    details["skipped_sources"] = skipped

    with summary.stage("ingest"), ctx.step("bronze", "ingest", rows=lambda: _rows_so_far(ingests)):
        ingests = [
            SourceIngest(
                source=SOURCES[name],
                landing=f"{cfg.lake.landing}/{name}",
                table=f"{cfg.lake.bronze}/{name}",
                checkpoint=f"{cfg.lake.checkpoints}/bronze/{name}",
                run_id=summary.run_id,
            )
            for name in args.sources if name in present
        ]
        failures: dict[str, str] = {}
        queries: dict[str, StreamingQuery] = {}
        try:
            for ing in ingests:  # start all, then await all: the sources ingest side by side
                try:
                    check_checkpoint(spark, ing)
                    queries[ing.source.name] = ing.start(spark, max_files_per_trigger=cfg.ingest.max_files_per_trigger)
                except Exception as e:
                    failures[ing.source.name] = _describe(e)
            log.info("ingesting %d source(s): %s", len(queries), ", ".join(queries))
            for ing in ingests:
                if ing.source.name not in queries:
                    continue
                try:
                    queries[ing.source.name].awaitTermination()
                except Exception as e:
                    failures[ing.source.name] = _describe(ing.error or e)
        finally:
            for query in queries.values():  # only on an interrupt are any still running
                if query.isActive:
                    query.stop()

    for ing in ingests:
        name = ing.source.name
        if name not in queries:
            continue
        summary.add_counts(
            f"bronze.{name}", rows_read=ing.rows_read, rows_written=ing.rows_written, rows_corrupt=ing.rows_corrupt
        )
        details.setdefault("micro_batches", {})[name] = ing.micro_batches
        if ing.drift:
            details.setdefault("drift_columns", {})[name] = sorted(ing.drift.values())
    if failures:
        details["failed_sources"] = failures
        raise IngestError(
            f"bronze ingest failed for {len(failures)} source(s): "
            + "; ".join(f"{name}: {err}" for name, err in sorted(failures.items()))
        )


def _rows_so_far(ingests: list[SourceIngest]) -> dict[str, int]:
    return {f"bronze.{i.source.name}": i.rows_read for i in ingests if i.rows_read}


_STREAM_FAILED = re.compile(r"^\[STREAM_FAILED\] Query \[.*?\] terminated with exception: ")


def _describe(e: BaseException) -> str:
    """One line: the exception class and the first line of its message (without the stream's preamble);
    for an error raised in the JVM, its root cause (e.g. the CSV header check naming the file)."""
    java = getattr(e, "java_exception", None)
    if java is not None:
        while java.getCause() is not None:
            java = java.getCause()
        name, text = java.getClass().getName(), str(java.getMessage() or "")
    else:
        name, text = type(e).__name__, str(e)
    lines = [line for line in _STREAM_FAILED.sub("", text.strip()).splitlines() if line.strip()]
    return f"{name}: {' '.join(lines)}"[:600]
