"""`brandlake ingest`: new landing files → bronze Delta tables (one per source), incrementally and exactly once.

One Structured Streaming query per source (``availableNow``), all running at once; each micro-batch is
appended with Delta's idempotent-write id ``bronze/<source>`` + batch id, so a re-run or a crash between
the Delta commit and the checkpoint commit never duplicates rows.

Before a source's stream starts, its new landing files are checked on the driver (brandlake.landing_files):
a file that cannot be read as its contract says is moved whole to ``<lake.root>/_landing_quarantine_files``
and recorded in ``<lake.bronze>/_landing_quarantine`` (replay it with ``brandlake replay-landing``), so it
never blocks the rest of its source. Every file version seen is recorded in ``<lake.bronze>/_landing_files``;
a file re-delivered under a name already ingested, with a different checksum, is ingested as a new version
(its own idempotent append), never ignored. CSV files are read by their own header's column names.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import re
from dataclasses import dataclass, field
from urllib.parse import urlparse

from brandlake.transforms import bronze
from brandlake.transforms.landing import (
    LEDGER_KEYS,
    LEDGER_SCHEMA,
    QUARANTINE_KEYS,
    QUARANTINE_SCHEMA,
    SOURCES,
    LandingSource,
)
from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.streaming import StreamingQuery

from brandlake import landing_files as lf
from brandlake import tables
from brandlake.keptback import add_reasons
from brandlake.runtime import JobContext
from brandlake.session import job_description

log = logging.getLogger(__name__)

# Spark's file source ignores files more than 7 days older than the newest one it has seen (after the
# first batch). A late copy with an old mtime would vanish silently, so make the window effectively endless.
MAX_FILE_AGE = "36500d"

LEDGER = "_landing_files"
QUARANTINE = "_landing_quarantine"
QUARANTINE_FILES = "_landing_quarantine_files"
_BATCH_DIR = re.compile(r"^batch=\d+$")



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
class FileQuarantine:
    """A landing file (or folder) set aside whole this run."""

    file: str
    reason: str
    size: int | None = None
    checksum: str | None = None
    is_dir: bool = False


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
    # CSV: file -> (its own header, its header line as read); from _landing_files and this run's checks
    headers: dict[str, tuple[tuple[str, ...], str | None]] = field(default_factory=dict)
    late_quarantine: list[FileQuarantine] = field(default_factory=list)  # found unreadable inside a micro-batch

    def write_batch(self, batch: DataFrame, batch_id: int) -> None:
        try:
            with job_description(batch.sparkSession, f"brandlake ingest · bronze.{self.source.name} · "
                                                      f"micro-batch {batch_id}"):
                self._write_batch(batch, app_id=f"bronze/{self.source.name}", version=batch_id,
                                  label=f"micro-batch {batch_id}")
        except Exception as e:
            self.error = e
            raise

    def _csv_header(self, spark: SparkSession, file: str) -> tuple[tuple[str, ...], str | None] | None:
        """The file's header (None: the file is unreadable and now in late_quarantine)."""
        if file not in self.headers:
            # landed after this run's check: check it now (the stream has already listed it)
            sample = tables.read_head(spark, file, lf.SAMPLE_BYTES)
            size = len(sample) + (1 if len(sample) == lf.SAMPLE_BYTES else 0)  # more may follow the sample
            verdict = lf.check_content(sample, size=size, fmt="csv", fields=self.source.fields)
            if not verdict.ok:
                self.late_quarantine.append(FileQuarantine(file, verdict.reason))
                return None
            self.headers[file] = (verdict.header, verdict.header_line)
        return self.headers[file]

    def _write_batch(self, batch: DataFrame, *, app_id: str, version: int, label: str) -> int:
        """One aggregation for the counts (and drift keys), then one idempotent append; returns rows written."""
        ingested_at = dt.datetime.now(dt.UTC)
        fields = self.source.fields
        spark = batch.sparkSession
        # kept on local disk, not in the heap: the 18 sources' micro-batches (up to ingest.max_bytes_per_trigger of
        # landing text each, plus the parsed payload) run side by side, and held in memory they ran the default 4 GB
        # driver out of heap at SF 1 (BENCHMARKS.md, issue 15)
        if self.source.fmt == "jsonl":
            staged = batch.transform(bronze.with_json_payload).persist(StorageLevel.DISK_ONLY)
        else:
            staged = batch.persist(StorageLevel.DISK_ONLY)
        try:
            if self.source.fmt == "jsonl":
                profile = staged.transform(bronze.to_batch_profile).first()
                extra = bronze.drift_columns(profile["keys"] or [], fields=fields)
                out = staged.transform(
                    bronze.json_to_bronze, fields=fields, extra=extra, run_id=self.run_id, ingested_at=ingested_at
                )
            else:
                out, extra = self._csv_bronze(spark, staged, ingested_at)
                profile = out.transform(bronze.to_csv_batch_profile).first() if out is not None else None
            committed = self._append(out, app_id, version) if out is not None else False
        finally:
            staged.unpersist()
        read = int(profile["rows_read"]) if profile else 0
        corrupt = int(profile["rows_corrupt"]) if profile else 0
        self.micro_batches += 1
        self.rows_read += read
        self.rows_corrupt += corrupt
        written = read if committed else 0
        self.rows_written += written
        self.drift.update(extra)
        log.info(
            "bronze/%s %s: %d rows (%d corrupt)%s%s", self.source.name, label, read, corrupt,
            "" if committed or not read else " already committed by an earlier attempt: skipped",
            f", drift columns {sorted(extra.values())}" if extra else "",
        )
        return written

    def _csv_bronze(
        self, spark: SparkSession, staged: DataFrame, ingested_at: dt.datetime
    ) -> tuple[DataFrame | None, dict[str, str]]:
        """Parse each file's lines by its own header (files grouped by header); unreadable late files left out."""
        files = [r[0] for r in staged.select(bronze.SOURCE_FILE).distinct().collect()]
        groups: dict[tuple[tuple[str, ...], str | None], list[str]] = {}
        for f in sorted(files):
            header = self._csv_header(spark, f)
            if header is not None:
                groups.setdefault(header, []).append(f)
        if not groups:
            return None, {}
        extra = bronze.drift_columns({n for (h, _) in groups for n in h}, fields=self.source.fields)
        parts = [
            staged.filter(F.col(bronze.SOURCE_FILE).isin(*group)).transform(
                bronze.csv_lines_to_bronze, header=header, header_line=line, fields=self.source.fields,
                extra={k: c for k, c in extra.items() if k in header}, run_id=self.run_id, ingested_at=ingested_at)
            for (header, line), group in groups.items()
        ]
        out = parts[0]
        for p in parts[1:]:
            out = out.unionByName(p, allowMissingColumns=True)
        columns = [*self.source.fields, *sorted(extra.values()), *bronze.AUDIT_COLUMNS]
        return out.select(*columns), extra

    def _append(self, out: DataFrame, app_id: str, version: int) -> bool:
        """Append once; True when this call made the Delta commit (False: an earlier attempt already had)."""
        spark = out.sparkSession
        before = tables.latest_version(spark, self.table)
        tables.append_once(out, self.table, app_id=app_id, version=version, merge_schema=True)
        return tables.latest_version(spark, self.table) != before

    def ingest_file(self, spark: SparkSession, file: str, *, checksum: str, as_file: str | None = None) -> int:
        """Ingest one whole file outside the stream (a re-delivered new version, a replayed file), exactly once
        per content: the idempotent-write id is the source and the file's checksum. ``as_file`` is the
        landing path its rows name in _source_file (a replayed file is read from the quarantine)."""
        lines = spark.read.format("text").load(file).select(
            "value", F.lit(as_file or file).alias(bronze.SOURCE_FILE))
        return self._write_batch(lines, app_id=f"bronze/{self.source.name}/file/{checksum[:32]}", version=0,
                                 label=f"file {file}")

    def start(self, spark: SparkSession, *, read_limit: tuple[str, int]) -> StreamingQuery:
        # Files are read as text lines and parsed here: JSON lines one by one (nothing a JSON reader would
        # reject is lost), CSV lines by each file's own header (a reordered or drifted header reads by name).
        stream = (
            spark.readStream
            .option("pathGlobFilter", f"*.{self.source.extension}")
            .option(*read_limit)
            .option("maxFileAge", MAX_FILE_AGE)
            .format("text").load(self.landing)
            .select("value", F.col("_metadata.file_path").alias(bronze.SOURCE_FILE))
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


# --------------------------------------------------------------------------------------------------
# Landing-file checks (driver side, before the streams start)


@dataclass
class LandingCheck:
    """What checking one source's landing folder found."""

    ledger_rows: list[dict] = field(default_factory=list)       # accepted / unchanged file versions
    redelivered: list[dict] = field(default_factory=list)       # changed files the stream had already read
    quarantined: list[FileQuarantine] = field(default_factory=list)


def norm_path(uri: str) -> str:
    """A file URI's path without scheme (``file:/a``, ``file:///a`` and ``/a`` compare equal)."""
    parsed = urlparse(uri)
    return parsed.path if parsed.scheme in ("", "file") else uri


def stream_seen_files(spark: SparkSession, checkpoint: str) -> set[str]:
    """The files a file-stream checkpoint has already read (its source log: one JSON entry per file)."""
    log_dir = f"{checkpoint}/sources/0"
    if not tables.list_files(spark, log_dir):
        return set()
    lines = spark.read.format("text").load(log_dir).filter(F.col("value").startswith("{")).collect()
    return {norm_path(json.loads(r["value"])["path"]) for r in lines}


def load_ledger(spark: SparkSession, path: str) -> dict[str, dict[str, dict]]:
    """source -> file -> its latest recorded version (from _landing_files)."""
    if not tables.exists(spark, path):
        return {}
    out: dict[str, dict[str, dict]] = {}
    for r in tables.read(spark, path).orderBy("checked_at").collect():  # later rows win
        out.setdefault(r["source"], {})[r["file"]] = r.asDict()
    return out


def open_quarantine(spark: SparkSession, path: str) -> dict[tuple[str, str | None], str]:
    """(file, checksum) -> quarantined_path of files still waiting in the landing quarantine."""
    if not tables.exists(spark, path):
        return {}
    rows = tables.read(spark, path).filter("status = 'quarantined'").select("file", "checksum", "quarantined_path")
    return {(r["file"], r["checksum"]): r["quarantined_path"] for r in rows.collect()}


def check_landing(spark: SparkSession, ing: SourceIngest, *, ledger: dict[str, dict], run_id: str,
                  now: dt.datetime) -> LandingCheck:
    """Check the files of ``ing``'s landing folder that are new or changed since the ledger last saw them.

    Layout ``<source>/batch=NNNNN/<file>``; names starting with ``_`` or ``.`` are ignored (as Spark does).
    Unchanged files (same size and modification time as recorded) are not read again, so a run costs
    one listing plus the new files' first bytes and checksum.
    """
    src = ing.source
    out = LandingCheck()
    seen: set[str] | None = None

    def row(uri: str, size: int, mtime: int, checksum: str, status: str, header, line) -> dict:
        return {"source": src.name, "file": uri, "landing_batch": _batch_of(uri), "size_bytes": size,
                "modified_ms": mtime, "checksum": checksum, "status": status,
                "header": list(header) if header is not None else None, "header_line": line,
                "run_id": run_id, "checked_at": now}

    def walk(uri: str, depth: int) -> None:
        nonlocal seen
        for entry, is_dir, size, mtime in tables.list_status(spark, uri):
            name = entry.rstrip("/").rsplit("/", 1)[-1]
            if name.startswith(("_", ".")):
                continue
            if is_dir:
                if depth == 0 and _BATCH_DIR.match(name):
                    walk(entry, 1)
                elif depth == 0:
                    out.quarantined.append(FileQuarantine(
                        entry, f"{lf.MISPLACED}: folder {name!r} is not a batch=NNNNN folder", is_dir=True))
                else:
                    out.quarantined.append(FileQuarantine(
                        entry, f"{lf.DIRECTORY}: a folder where a .{src.extension} file should be", is_dir=True))
                continue
            if depth == 0:
                out.quarantined.append(FileQuarantine(
                    entry, f"{lf.MISPLACED}: file outside any batch=NNNNN folder", size=size,
                    checksum=tables.file_checksum(spark, entry, size=size, modified_ms=mtime)))
                continue
            known = ledger.get(entry)
            if known and known["size_bytes"] == size and known["modified_ms"] == mtime:
                if src.fmt == "csv" and known["header"] is not None:
                    ing.headers[entry] = (tuple(known["header"]), known["header_line"])
                continue
            checksum = tables.file_checksum(spark, entry, size=size, modified_ms=mtime)
            if known and known["checksum"] == checksum:  # touched, same bytes
                if src.fmt == "csv" and known["header"] is not None:
                    ing.headers[entry] = (tuple(known["header"]), known["header_line"])
                out.ledger_rows.append(row(entry, size, mtime, checksum, "unchanged", known["header"],
                                           known["header_line"]))
                continue
            reason = lf.check_name(name, extension=src.extension)
            verdict = None
            if reason is None:
                verdict = lf.check_content(tables.read_head(spark, entry, lf.SAMPLE_BYTES), size=size,
                                           fmt=src.fmt, fields=src.fields)
                reason = verdict.reason
            if reason is not None:
                out.quarantined.append(FileQuarantine(entry, reason, size=size, checksum=checksum))
                continue
            if src.fmt == "csv":
                ing.headers[entry] = (verdict.header, verdict.header_line)
            status = "accepted"
            if known is not None:  # a new version under a name seen before: did the stream read the old one?
                if seen is None:
                    seen = stream_seen_files(spark, ing.checkpoint)
                if norm_path(entry) in seen:
                    status = "redelivered"
            r = row(entry, size, mtime, checksum, status, verdict.header, verdict.header_line)
            (out.redelivered if status == "redelivered" else out.ledger_rows).append(r)

    walk(ing.landing, 0)
    return out


def _batch_of(uri: str) -> int | None:
    m = re.search(r"batch=(\d+)", uri)
    return int(m.group(1)) if m else None


def quarantine_files(ctx: JobContext, source: str, found: list[FileQuarantine], *, landing: str,
                     now: dt.datetime) -> None:
    """Record, then move each file out of the landing zone (a crash in between re-finds the same file and
    reuses its row, so nothing is recorded twice and nothing vanishes unrecorded)."""
    if not found:
        return
    cfg, spark = ctx.cfg, ctx.spark
    qpath = f"{cfg.lake.bronze}/{QUARANTINE}"
    known = open_quarantine(spark, qpath)
    rows, moves = [], []
    for q in found:
        rel = norm_path(q.file)[len(norm_path(landing)):].lstrip("/")
        target = known.get((q.file, q.checksum)) or (
            f"{cfg.lake.root}/{QUARANTINE_FILES}/{ctx.summary.run_id}/{source}/{rel}")
        rows.append((source, q.file, _batch_of(q.file), q.size, q.checksum, lf.reason_code(q.reason), q.reason,
                     target, ctx.summary.run_id, now, "quarantined", None, None, None))
        moves.append((q.file, target))
        log.warning("landing %s: %s quarantined - %s (moved to %s)", source, q.file, q.reason, target)
    tables.merge_insert_new(spark.createDataFrame(rows, QUARANTINE_SCHEMA), qpath, keys=QUARANTINE_KEYS)
    for src, dst in moves:
        if tables.path_exists(spark, src):
            tables.move_path(spark, src, dst)


def record_files(spark: SparkSession, path: str, rows: list[dict]) -> None:
    if rows:
        tables.merge_insert_new(spark.createDataFrame(rows, LEDGER_SCHEMA), path, keys=LEDGER_KEYS)


def run(ctx: JobContext, args: argparse.Namespace) -> None:
    cfg, spark, summary = ctx.cfg, ctx.spark, ctx.summary
    ctx.evaluate_for_input(cfg.lake.landing)
    present = {uri.rstrip("/").rsplit("/", 1)[-1] for uri in tables.list_files(spark, cfg.lake.landing)}
    details = summary.details.setdefault("ingest", {})
    skipped = [name for name in args.sources if name not in present]
    for name in skipped:
        log.info("bronze/%s: no landing folder under %s, skipped", name, cfg.lake.landing)
    details["skipped_sources"] = skipped
    ledger_path = f"{cfg.lake.bronze}/{LEDGER}"
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)

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
    with summary.stage("ingest.check_files"):
        ledger = load_ledger(spark, ledger_path)
        checks = {ing.source.name: check_landing(spark, ing, ledger=ledger.get(ing.source.name, {}),
                                                 run_id=summary.run_id, now=now) for ing in ingests}
        for ing in ingests:
            quarantine_files(ctx, ing.source.name, checks[ing.source.name].quarantined, landing=ing.landing, now=now)
        record_files(spark, ledger_path, [r for c in checks.values() for r in c.ledger_rows])

    with summary.stage("ingest"), ctx.step("bronze", "ingest", rows=lambda: _rows_so_far(ingests)):
        failures: dict[str, str] = {}
        queries: dict[str, StreamingQuery] = {}
        try:
            for ing in ingests:  # start all, then await all: the sources ingest side by side
                try:
                    check_checkpoint(spark, ing)
                    queries[ing.source.name] = ing.start(spark, read_limit=cfg.ingest.read_limit())
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

    with summary.stage("ingest.redelivered"):
        for ing in ingests:
            name = ing.source.name
            quarantine_files(ctx, name, ing.late_quarantine, landing=ing.landing, now=now)
            if name in failures:
                continue
            for r in checks[name].redelivered:  # after the stream: one writer per table at a time
                log.warning("landing %s: %s re-delivered with new content (%d bytes): ingesting it as a new version",
                            name, r["file"], r["size_bytes"])
                ing.ingest_file(spark, r["file"], checksum=r["checksum"])
                details.setdefault("redelivered_files", {}).setdefault(name, []).append(r["file"])
        record_files(spark, ledger_path, [r for c in checks.values() for r in c.redelivered])

    for ing in ingests:
        name = ing.source.name
        held = checks[name].quarantined + ing.late_quarantine
        if held:
            summary.add_counts(f"bronze.{name}", files_quarantined=len(held))
            reasons: dict[str, int] = {}
            for q in held:
                reasons[lf.reason_code(q.reason)] = reasons.get(lf.reason_code(q.reason), 0) + 1
            add_reasons(summary, f"bronze.{name}", reasons)
            details.setdefault("quarantined_files", {})[name] = [{"file": q.file, "reason": q.reason} for q in held]
        if name not in queries:
            continue
        summary.add_counts(
            f"bronze.{name}", rows_read=ing.rows_read, rows_written=ing.rows_written, rows_corrupt=ing.rows_corrupt
        )
        if ing.rows_corrupt:
            add_reasons(summary, f"bronze.{name}", {"corrupt_record": ing.rows_corrupt})
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
