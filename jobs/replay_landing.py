"""`brandlake replay-landing`: ingest a landing file from the landing quarantine once it has been fixed.

The file is the one ``brandlake ingest`` set aside (``<lake.bronze>/_landing_quarantine``; the bytes wait
at its ``quarantined_path``, where you fix them). Replay checks it again as ingest would and appends its
records to the source's bronze table with an idempotent-write id made of the source and the file's
checksum, then marks the quarantine row ``replayed``: a second replay is refused, and a crash between the
append and the mark cannot add the records twice.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging

from brandlake.jobs.ingest import QUARANTINE, SourceIngest
from brandlake.transforms.landing import SOURCES
from pyspark.sql import functions as F

from brandlake import landing_files as lf
from brandlake import tables
from brandlake.errors import DataHeldBackError, UsageError
from brandlake.runtime import JobContext

log = logging.getLogger(__name__)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--file", required=True,
                   help="the quarantined file: its landing path as recorded in _landing_quarantine.file, its "
                        "quarantined_path, or a unique tail of either (e.g. payment_events/batch=00003/part-00000.jsonl)")


def _matches(value: str, wanted: str) -> bool:
    return value == wanted or value.endswith("/" + wanted.lstrip("/"))


def run(ctx: JobContext, args: argparse.Namespace) -> None:
    cfg, spark, summary = ctx.cfg, ctx.spark, ctx.summary
    qpath = f"{cfg.lake.bronze}/{QUARANTINE}"
    if not tables.exists(spark, qpath):
        raise UsageError(f"no landing quarantine at {qpath}: `brandlake ingest` has set no file aside in this lake")
    rows = [r for r in tables.read(spark, qpath).collect()
            if _matches(r["file"], args.file) or _matches(r["quarantined_path"], args.file)]
    waiting = [r for r in rows if r["status"] == "quarantined"]
    if not waiting:
        done = [r for r in rows if r["status"] == "replayed"]
        if done:
            r = done[-1]
            raise UsageError(f"{r['file']} was already replayed (run {r['replay_run_id']} at {r['replayed_at']}, "
                             f"{r['replay_rows']} rows); a file is replayed exactly once")
        raise UsageError(f"no quarantined landing file matches {args.file!r}; see {qpath}")
    if len(waiting) > 1:
        raise UsageError(f"{args.file!r} matches {len(waiting)} quarantined files: "
                         f"{sorted(r['quarantined_path'] for r in waiting)}; give a longer path")
    row = waiting[0]
    src = SOURCES[row["source"]]
    path = row["quarantined_path"]
    status = {p: (d, size, mtime) for p, d, size, mtime in tables.list_status(spark, path.rsplit("/", 1)[0])}
    entry = next((v for p, v in status.items() if p.rstrip("/").endswith("/" + path.rsplit("/", 1)[-1])), None)
    if entry is None:
        raise UsageError(f"the quarantined file {path} is gone; deliver it again into the landing zone instead")
    is_dir, size, mtime = entry
    if is_dir:
        raise UsageError(f"{path} is a folder; move its files into a batch=NNNNN folder of "
                         f"{cfg.lake.landing}/{src.name} and run `brandlake ingest`")
    verdict = lf.check_content(tables.read_head(spark, path, lf.SAMPLE_BYTES), size=size, fmt=src.fmt,
                               fields=src.fields)
    if not verdict.ok:
        raise DataHeldBackError(f"{path} still cannot be read as {src.name} {src.fmt}: {verdict.reason}; "
                                "fix the file there and replay again")
    checksum = tables.file_checksum(spark, path, size=size, modified_ms=mtime)
    ing = SourceIngest(source=src, landing=f"{cfg.lake.landing}/{src.name}", table=f"{cfg.lake.bronze}/{src.name}",
                       checkpoint=f"{cfg.lake.checkpoints}/bronze/{src.name}", run_id=summary.run_id)
    ing.headers[row["file"]] = (verdict.header, verdict.header_line)
    with summary.stage("replay_landing"):
        written = ing.ingest_file(spark, path, checksum=checksum, as_file=row["file"])
        now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        tables.update_where(spark, qpath, f"quarantined_path = '{_sql_str(path)}' AND status = 'quarantined'", {
            "status": F.lit("replayed"), "replay_run_id": F.lit(summary.run_id),
            "replayed_at": F.lit(now).cast("timestamp"), "replay_rows": F.lit(ing.rows_read).cast("long"),
        })
    summary.add_counts(f"bronze.{src.name}", rows_read=ing.rows_read, rows_written=written,
                       rows_corrupt=ing.rows_corrupt)
    summary.details["replay_landing"] = {"file": row["file"], "quarantined_path": path, "rows_read": ing.rows_read,
                                         "rows_written": written, "rows_corrupt": ing.rows_corrupt}
    log.info("replayed %s into bronze/%s: %d rows (%d corrupt)", row["file"], src.name, ing.rows_read,
             ing.rows_corrupt)


def _sql_str(value: str) -> str:
    return value.replace("\\", "\\\\").replace("'", "\\'")
