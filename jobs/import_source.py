"""`brandlake import`: land a foreign sales export (CSV/JSON/Parquet) directly in bronze through a
declarative source mapping, so that `brandlake silver` and `brandlake gold` run on it unchanged.

Every source row ends up imported, quarantined or excluded (``<lake.bronze>/_import_quarantine``);
re-importing the same files with the same mapping changes nothing. See docs/import.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import logging
from dataclasses import dataclass

from brandlake.transforms import mapping as tm
from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

from brandlake import tables
from brandlake.errors import UsageError
from brandlake.keptback import add_reasons
from brandlake.mappings import load_mapping, mapping_digest
from brandlake.runtime import JobContext

log = logging.getLogger(__name__)

QUARANTINE_TABLE = "_import_quarantine"
TARGET_TABLES = ("order_events", "payment_events", "refund_events", "customers", "products", "platforms",
                 "brands", "shops")


class ImportSourceError(UsageError):
    """The export cannot be read as the mapping describes (no files, a mapped column missing, ...)."""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--mapping", required=True, help="source mapping YAML (e.g. conf/sources/online_retail_ii.yaml)")
    p.add_argument("--path", required=True, help="export file or glob (local path or any Hadoop URI)")


def run(ctx: JobContext, args: argparse.Namespace) -> None:
    mapping = load_mapping(args.mapping)  # validated before any data is read
    files = resolve_files(ctx.spark, args.path)
    ctx.mark("bronze", f"import {mapping.name}")
    import_files(ctx, mapping, files, ingested_at=dt.datetime.now(dt.UTC))


# ---------------------------------------------------------------------------------------------------
# Reading the export


@dataclass(frozen=True)
class ExportFile:
    uri: str
    fingerprint: str   # sha256 of the content for local files; path, size and mtime otherwise


def resolve_files(spark: SparkSession, pattern: str) -> list[ExportFile]:
    """The files matching ``pattern`` (a path or glob), sorted, with content fingerprints."""
    fs, path = tables.hadoop_fs(spark, pattern)
    statuses = fs.globStatus(path) or []
    found = sorted((s for s in statuses if s.isFile()), key=lambda s: s.getPath().toString())
    if not found:
        raise ImportSourceError(f"no file matches --path {pattern!r}")
    out = []
    for s in found:
        uri = s.getPath().toString()
        if tables.is_local(uri):
            h = hashlib.sha256()
            with open(tables.local_path(uri), "rb") as fh:
                for chunk in iter(lambda: fh.read(1 << 20), b""):
                    h.update(chunk)
            fingerprint = h.hexdigest()
        else:
            fingerprint = f"{uri}:{s.getLen()}:{s.getModificationTime()}"
        out.append(ExportFile(uri, fingerprint))
    return out


def import_id_for(mapping: tm.SourceMapping, files: list[ExportFile]) -> str:
    """Same mapping and same file contents -> same id (the idempotency key of the bronze appends)."""
    text = mapping_digest(mapping) + "|" + "|".join(sorted(f.fingerprint for f in files))
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def _reader(spark: SparkSession, mapping: tm.SourceMapping):
    f = mapping.file
    if f.format == "csv":
        return spark.read.format("csv").options(
            sep=f.delimiter, encoding=f.encoding, header=str(f.header).lower(), quote=f.quote, escape=f.escape,
            mode="PERMISSIVE", columnNameOfCorruptRecord="_corrupt_record")
    if f.format == "json":
        return spark.read.format("json").options(
            encoding=f.encoding, primitivesAsString="true", mode="PERMISSIVE",
            columnNameOfCorruptRecord="_corrupt_record")
    return spark.read.format("parquet")


def file_columns(spark: SparkSession, mapping: tm.SourceMapping, file: str) -> list[str]:
    """The file's own columns (csv: the header row; json: every key seen; parquet: the schema)."""
    return [c for c in _reader(spark, mapping).load(file).columns if c != "_corrupt_record"]


def check_columns(mapping: tm.SourceMapping, file: str, columns: list[str]) -> None:
    missing = [(t, c) for t, c in mapping.columns.items() if c not in columns]
    if missing:
        what = ", ".join(f"'{c}' (for {t})" for t, c in missing)
        raise ImportSourceError(
            f"mapping {mapping.name}: column(s) {what} not found in {file}; the file has columns {columns}")


def read_export(spark: SparkSession, mapping: tm.SourceMapping, files: list[ExportFile]) -> DataFrame:
    """All files as text columns plus ``_source_file``, ``_row_number`` (1-based data row within the
    file, in file order) and ``_corrupt_record``. Mapped columns are checked in every file first."""
    frames = []
    for f in files:
        columns = file_columns(spark, mapping, f.uri)
        check_columns(mapping, f.uri, columns)
        # Row order: file splits by offset, then position within the split (Spark keeps split order).
        position = [F.col("_metadata.file_block_start").alias("_block"), F.monotonically_increasing_id().alias("_pos")]
        if mapping.file.format != "parquet":
            schema = T.StructType([T.StructField(c, T.StringType(), True) for c in columns])
            schema = schema.add("_corrupt_record", T.StringType(), True)
            df = _reader(spark, mapping).schema(schema).load(f.uri).select("*", *position)
        else:  # typed columns become their text form
            df = _reader(spark, mapping).load(f.uri).select(
                *[F.col(f"`{c}`").cast("string").alias(c) for c in columns],
                F.lit(None).cast("string").alias("_corrupt_record"), *position)
        frames.append(df.withColumn("_source_file", F.lit(f.uri)))
    raw = frames[0]
    for other in frames[1:]:
        raw = raw.unionByName(other, allowMissingColumns=True)
    order = Window.partitionBy("_source_file").orderBy("_block", "_pos")
    return raw.withColumn("_row_number", F.row_number().over(order).cast("long")).drop("_block", "_pos")


# ---------------------------------------------------------------------------------------------------
# The import


def import_files(ctx: JobContext, mapping: tm.SourceMapping, files: list[ExportFile], *,
                 ingested_at: dt.datetime) -> dict[str, int]:
    """Import ``files`` into bronze; returns rows per outcome reason code (also in the run summary)."""
    spark, bronze, summary = ctx.spark, ctx.cfg.lake.bronze, ctx.summary
    import_id = import_id_for(mapping, files)
    app_id = f"brandlake-import:{mapping.name}:{import_id}"
    log.info("import %s: %d file(s), import id %s", mapping.name, len(files), import_id)

    with summary.stage("import.read"):
        raw = read_export(spark, mapping, files)
        rows = (
            raw.transform(tm.with_parsed_fields, mapping=mapping)
            .transform(tm.with_row_outcomes, mapping=mapping)
            .persist(StorageLevel.MEMORY_AND_DISK)
        )
        outcomes = rows.groupBy("_source_file", "_outcome", "_reason_code").count().collect()
        rows_read = raw.count()
    by_outcome: dict[str, int] = {}
    by_reason: dict[str, int] = {}
    by_file: dict[str, dict[str, int]] = {}
    for r in outcomes:
        by_outcome[r["_outcome"]] = by_outcome.get(r["_outcome"], 0) + r["count"]
        key = f"{r['_outcome']}:{r['_reason_code']}"
        by_reason[key] = by_reason.get(key, 0) + r["count"]
        f = by_file.setdefault(r["_source_file"], {"rows_read": 0, "rows_quarantined": 0})
        f["rows_read"] += r["count"]
        f["rows_quarantined"] += r["count"] if r["_outcome"] == tm.QUARANTINED else 0
    accounted = sum(by_outcome.values())
    if accounted != rows_read:
        raise RuntimeError(f"import accounting broke: {rows_read} rows read but {accounted} accounted")

    orders = tm.to_order_events(rows, mapping=mapping).persist(StorageLevel.MEMORY_AND_DISK)
    outputs = {
        "order_events": tm.to_order_events_bronze(orders),
        "payment_events": tm.to_payment_events(orders, mapping=mapping),
        "refund_events": tm.to_refund_events(rows, mapping=mapping),
        "customers": tm.to_customers(rows, mapping=mapping),
        "products": tm.to_products(rows, mapping=mapping),
        **tm.to_reference_rows(orders, mapping=mapping),
    }
    written = tm.output_counts(tm.to_output_tallies(rows).first().asDict(), refunds=by_outcome.get(tm.REFUND, 0))
    ts = F.lit(ingested_at).cast("timestamp")
    with summary.stage("import.write"):
        for table in TARGET_TABLES:
            df = tm.with_bronze_metadata(outputs[table], ingested_at=ts, run_id=summary.run_id)
            n = written[table]
            if n:
                tables.append_once(df, f"{bronze}/{table}", app_id=app_id, version=0, merge_schema=True)
            summary.add_counts(f"bronze.{table}", rows_written=n)
        quarantine = tm.to_import_quarantine(rows, mapping_name=mapping.name, import_id=import_id)
        quarantine = tm.with_bronze_metadata(quarantine, ingested_at=ts, run_id=summary.run_id)
        n_q = by_outcome.get(tm.QUARANTINED, 0) + by_outcome.get(tm.EXCLUDED, 0)
        if n_q:
            tables.append_once(quarantine, f"{bronze}/{QUARANTINE_TABLE}", app_id=app_id, version=0)
    summary.add_counts(f"bronze.{QUARANTINE_TABLE}", rows_written=n_q)
    summary.add_counts(f"import.{mapping.name}", rows_read=rows_read,
                       rows_imported=sum(by_outcome.get(o, 0) for o in tm.IMPORTED_OUTCOMES),
                       rows_quarantined=by_outcome.get(tm.QUARANTINED, 0),
                       rows_excluded=by_outcome.get(tm.EXCLUDED, 0))
    for uri, counts in sorted(by_file.items()):
        # per file, so hold_back.max_quarantined_share (default: more than half) fails an import whose file
        # could not be read as the mapping says (e.g. a wrong timestamp format) even among good files
        summary.add_counts(f"import.{mapping.name}[{uri.rstrip('/').rsplit('/', 1)[-1]}]", **counts)
    add_reasons(summary, f"import.{mapping.name}",
                {k.split(":", 1)[1]: n for k, n in by_reason.items() if k.startswith(f"{tm.QUARANTINED}:")})
    summary.details.setdefault("import", {})[mapping.name] = {
        "import_id": import_id, "files": [f.uri for f in files], "rows_read": rows_read,
        "rows_by_outcome": by_outcome, "rows_by_reason": dict(sorted(by_reason.items())), "written": written,
    }
    rows.unpersist()
    orders.unpersist()
    log.info("import %s: %d rows read; by outcome %s; written %s", mapping.name, rows_read, by_outcome, written)
    return by_reason
