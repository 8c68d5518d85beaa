"""The one module that reads and writes Delta tables (and small text files in the lake).

Every write here is idempotent: MERGE on keys, replace of a partition or a whole table, or an
append tagged with an application id and version so that a retried batch is skipped by Delta.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import reduce
from pathlib import Path
from urllib.parse import urlparse

from delta.tables import DeltaTable
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from brandlake.errors import UsageError
from brandlake.session import job_description

log = logging.getLogger(__name__)


class TableNotFoundError(FileNotFoundError):
    """A Delta table that a job needs does not exist yet."""


class MissingInputsError(UsageError):
    """Input tables of a command do not exist yet (exit 2): the message names each one, where it was looked
    for, and the command that builds it."""

    def __init__(self, message: str, missing: Mapping[str, str]):
        super().__init__(message)
        self.missing = dict(missing)


def is_local(uri: str) -> bool:
    return urlparse(uri).scheme in ("", "file")


def local_path(uri: str) -> Path:
    return Path(urlparse(uri).path if uri.startswith("file:") else uri)


def exists(spark: SparkSession, path: str) -> bool:
    return DeltaTable.isDeltaTable(spark, path)


def read(spark: SparkSession, path: str, *, version: int | None = None) -> DataFrame:
    if not exists(spark, path):
        raise TableNotFoundError(f"no Delta table at {path}; run the job that builds it first")
    reader = spark.read.format("delta")
    if version is not None:
        reader = reader.option("versionAsOf", version)
    return reader.load(path)


def read_change_feed(spark: SparkSession, path: str, *, after: int, through: int) -> DataFrame | None:
    """The rows inserted, updated or deleted by the commits after version ``after`` up to ``through``, from
    Delta's change data feed (``_change_type``: insert, delete, update_preimage, update_postimage), or None
    when the table did not record its changes over that whole range (the feed was off when it was created,
    e.g. a lake older than the setting, or the change files were vacuumed): the caller then compares whole
    versions. Tables record their changes from ``delta.enableChangeDataFeed`` (set for every new table in
    conf/base.yaml)."""
    if through <= after:
        return None
    feed = (spark.read.format("delta").option("readChangeFeed", "true")
            .option("startingVersion", after + 1).option("endingVersion", through).load(path))
    try:
        feed.isEmpty()  # the range is checked when the feed is read, not when it is defined
    except Exception as e:  # AnalysisException DELTA_MISSING_CHANGE_DATA; a vacuumed change file
        log.info("no change data feed for %s versions %d..%d (%s)", path, after + 1, through,
                 str(e).splitlines()[0][:200])
        return None
    return feed


def rows_between(
    spark: SparkSession, path: str, *, before: int, now: int, keys: Sequence[str], current: DataFrame
) -> tuple[DataFrame, DataFrame, str]:
    """The rows of the table at ``path`` that may differ between Delta versions ``before`` and ``now``, as
    ``(old, new, how)``. From the table's change data feed when it recorded the commits in between (``how`` =
    "change feed"): each changed key's row before the first of them and after the last
    (``transforms.changes.net_changes``), so the work is the size of the change. Otherwise (a lake older than the
    setting, vacuumed change files) the whole table at ``before`` against ``current``, the table as read at
    ``now`` ("whole versions"). ``changes.changed_keys(old, new, ...)`` then finds the keys that really differ."""
    from brandlake.transforms.changes import net_changes

    feed = read_change_feed(spark, path, after=before, through=now)
    if feed is None:
        return read(spark, path, version=before), current, "whole versions"
    old, new = net_changes(feed, keys=keys)
    return old, new, "change feed"


def required_versions(
    spark: SparkSession, paths: Mapping[str, str], *, command: str, hint: str
) -> dict[str, int]:
    """The latest Delta version of every table in ``paths`` (name -> path), or MissingInputsError naming
    every one that does not exist yet: "<command> needs table(s) 'a' at ..., 'b' at ...; <hint>"."""
    versions = {name: latest_version(spark, path) for name, path in paths.items()}
    missing = {name: paths[name] for name, v in versions.items() if v is None}
    if missing:
        listed = ", ".join(f"{name!r} at {path}" for name, path in missing.items())
        raise MissingInputsError(f"{command} needs table(s) {listed}; {hint}", missing)
    return {name: int(v) for name, v in versions.items()}


def read_required(
    spark: SparkSession, paths: Mapping[str, str], *, command: str, hint: str
) -> dict[str, DataFrame]:
    """Every table in ``paths`` (name -> path), each pinned to its latest version, so one run reads one
    snapshot; MissingInputsError (exit 2) when any is missing, naming all of them and ``hint`` (the command
    that builds them, e.g. "run `brandlake silver` first")."""
    versions = required_versions(spark, paths, command=command, hint=hint)
    return {name: read(spark, paths[name], version=v) for name, v in versions.items()}


def read_or_empty(spark: SparkSession, path: str, schema) -> DataFrame:
    """The table at ``path``, or an empty frame of ``schema`` when it does not exist yet."""
    return read(spark, path) if exists(spark, path) else spark.createDataFrame([], schema)


def latest_version(spark: SparkSession, path: str) -> int | None:
    if not exists(spark, path):
        return None
    return DeltaTable.forPath(spark, path).history(1).select("version").first()[0]


def overwrite(df: DataFrame, path: str, *, partition_by: Sequence[str] = (), overwrite_schema: bool = True) -> None:
    """Replace the whole table with ``df`` (one Delta commit; readers see old or new, never half)."""
    w = df.write.format("delta").mode("overwrite")
    if overwrite_schema:
        w = w.option("overwriteSchema", "true")
    if partition_by:
        w = w.partitionBy(*partition_by)
    w.save(path)


def overwrite_counted(df: DataFrame, path: str, *, partition_by: Sequence[str] = ()) -> int:
    """``overwrite``, returning the rows written, read from the commit's own metrics (numOutputRows), so a
    job's accounting needs no second pass over ``df`` or the table."""
    overwrite(df, path, partition_by=partition_by)
    _, _, metrics = commit_metrics(df.sparkSession, path)
    return metrics.get("numOutputRows", 0)


def replace_where(df: DataFrame, path: str, condition: Column, *, partition_by: Sequence[str] = ()) -> None:
    """Replace exactly the rows matching ``condition`` (e.g. one partition) with ``df``, in one commit.

    ``condition`` is a Column (Delta's replaceWhere through DataFrameWriterV2.overwrite), never SQL text.
    """
    spark = df.sparkSession
    if not exists(spark, path):
        overwrite(df, path, partition_by=partition_by)
        return
    df.writeTo(_identifier(spark, path)).overwrite(condition)


def _identifier(spark: SparkSession, path: str) -> str:
    """Delta's path-based table identifier (backticks in the path escaped), for the path qualified the way
    ``load``/``save`` qualify it: an identifier does not resolve a relative path (the default lake root is
    ``./lake``) against the working directory, so it is made absolute here."""
    fs, p = hadoop_fs(spark, path)
    path = str(fs.makeQualified(p).toString())
    return "delta.`" + path.replace("`", "``") + "`"


def append_once(
    df: DataFrame,
    path: str,
    *,
    app_id: str,
    version: int,
    merge_schema: bool = False,
    partition_by: Sequence[str] = (),
) -> None:
    """Append ``df`` unless this (app_id, version) was already committed: Delta's idempotent writes."""
    w = (
        df.write.format("delta").mode("append")
        .option("txnAppId", app_id).option("txnVersion", version)
    )
    if merge_schema:
        w = w.option("mergeSchema", "true")
    if partition_by:
        w = w.partitionBy(*partition_by)
    w.save(path)


@dataclass(frozen=True)
class MergeMetrics:
    """What one MERGE (or the write that created the table) did with its source rows."""

    source_rows: int
    inserted: int
    updated: int
    deleted: int = 0

    @property
    def written(self) -> int:
        """Source rows now in the table (inserted or updated)."""
        return self.inserted + self.updated

    @property
    def unchanged(self) -> int:
        """Source rows the MERGE left out: their key holds a newer version, or (insert-only) any row."""
        return self.source_rows - self.written


def keys_match(keys: Sequence[str], *, target: str = "t", source: str = "s") -> Column:
    """``target.k <=> source.k`` for every key (null-safe: a null key matches a null key), as one Column."""
    if not keys:
        raise ValueError("a MERGE needs at least one key column")
    return reduce(lambda a, b: a & b,
                  [F.col(f"{target}.`{k}`").eqNullSafe(F.col(f"{source}.`{k}`")) for k in keys])


def _created(spark: SparkSession, df: DataFrame, path: str, partition_by: Sequence[str]) -> MergeMetrics:
    overwrite(df, path, partition_by=partition_by)
    _, _, m = commit_metrics(spark, path)
    n = m.get("numOutputRows", 0)
    return MergeMetrics(source_rows=n, inserted=n, updated=0)


def _merge_metrics(result: DataFrame, source_rows: int | None, spark: SparkSession, path: str) -> MergeMetrics:
    """Metrics from the DataFrame a MERGE returns; the source row count from the MERGE's commit unless
    the caller knows it."""
    r = result.first()
    if source_rows is None:
        _, op, m = commit_metrics(spark, path)
        source_rows = m.get("numSourceRows", 0) if op == "MERGE" else 0
    return MergeMetrics(source_rows=source_rows, inserted=int(r["num_inserted_rows"]),
                        updated=int(r["num_updated_rows"]), deleted=int(r["num_deleted_rows"]))


def merge_upsert(
    df: DataFrame,
    path: str,
    *,
    keys: Sequence[str],
    newer_than: str | None = None,
    partition_by: Sequence[str] = (),
    source_rows: int | None = None,
) -> MergeMetrics:
    """Upsert ``df`` into the table on ``keys``; creates the table if it does not exist.

    ``newer_than`` names a column: an existing row is only replaced by a source row whose value in
    that column is greater or equal, so replaying old data never rolls a table back. A source row equal
    to the existing one in every column is left untouched (counted as unchanged, not as written).
    ``df`` must hold at most one row per key. ``source_rows`` (when the caller has counted ``df``)
    saves reading the count from the commit, and a known-empty source writes no commit at all.
    """
    spark = df.sparkSession
    if not exists(spark, path):
        return _created(spark, df, path, partition_by)
    if source_rows == 0:
        return MergeMetrics(source_rows=0, inserted=0, updated=0)
    target = DeltaTable.forPath(spark, path)
    have = set(target.toDF().columns)
    types = {f.name: f.dataType for f in df.schema.fields}
    shared = [c for c in df.columns if c in have]
    # update only where a value differs: an identical re-delivered row is not rewritten
    differs = [~_comparable(F.col(f"t.`{c}`"), types[c]).eqNullSafe(_comparable(F.col(f"s.`{c}`"), types[c]))
               for c in shared]
    differs += [F.col(f"s.`{c}`").isNotNull() for c in df.columns if c not in have]  # schema evolution
    update_cond = reduce(lambda a, b: a | b, differs) if differs else None
    if newer_than:
        newer = F.col(f"s.`{newer_than}`") >= F.col(f"t.`{newer_than}`")
        update_cond = newer if update_cond is None else newer & update_cond
    result = (
        target.alias("t")
        .merge(df.alias("s"), keys_match(keys))
        .whenMatchedUpdateAll(condition=update_cond)
        .whenNotMatchedInsertAll()
        .withSchemaEvolution()
        .execute()
    )
    return _merge_metrics(result, source_rows, spark, path)


def _has_map(dtype: T.DataType) -> bool:
    if isinstance(dtype, T.MapType):
        return True
    if isinstance(dtype, T.StructType):
        return any(_has_map(f.dataType) for f in dtype.fields)
    return isinstance(dtype, T.ArrayType) and _has_map(dtype.elementType)


def _comparable(col: Column, dtype: T.DataType) -> Column:
    """``col`` in a form Spark can compare: Spark cannot compare MAP values (nor structs or arrays holding one),
    so their JSON text stands in for them. Its keys are in the map's own order: two equal maps built in a
    different order count as different, and the row is rewritten with the same value (counted as updated)."""
    return F.to_json(F.struct(col.alias("v"))) if _has_map(dtype) else col


def merge_insert_new(df: DataFrame, path: str, *, keys: Sequence[str]) -> MergeMetrics:
    """Insert the rows of ``df`` whose ``keys`` are not in the table yet (creates it if needed).

    Rows already present are left as they are, so replaying a batch adds nothing (quarantine tables).
    """
    spark = df.sparkSession
    if not exists(spark, path):
        return _created(spark, df, path, ())
    result = (
        DeltaTable.forPath(spark, path).alias("t")
        .merge(df.alias("s"), keys_match(keys))
        .whenNotMatchedInsertAll()
        .withSchemaEvolution()
        .execute()
    )
    return _merge_metrics(result, None, spark, path)


def commit_metrics(spark: SparkSession, path: str) -> tuple[int, str, dict[str, int]]:
    """Version, operation name and operationMetrics of the latest commit (e.g. rows a write added)."""
    row = DeltaTable.forPath(spark, path).history(1).select("version", "operation", "operationMetrics").first()
    return row["version"], row["operation"], {k: int(v) for k, v in (row["operationMetrics"] or {}).items()}


def for_each_new_batch(
    spark: SparkSession, path: str, *, checkpoint: str, handle, max_files_per_batch: int = 1_000_000,
    max_bytes_per_batch: int | None = None,
) -> None:
    """Call ``handle(df, batch_id)`` on the rows appended to Delta table ``path`` since the last call.

    Delta's streaming source with an ``availableNow`` trigger: progress lives in ``checkpoint`` and
    is committed only after ``handle`` returns, so a crash replays the same batch (``handle``
    must write idempotently) and nothing is read twice once committed. An exception raised by
    ``handle`` is re-raised as itself, not wrapped in a StreamingQueryException.
    """
    # The source's version when this call starts: an availableNow query reads at least up to it. When the last
    # call that ended well had read up to the same version, nothing new can be there, and starting a streaming
    # query (checkpoint, offset and commit logs: a second or more) is skipped. The note lives in the checkpoint,
    # so a reset checkpoint (deleted to reprocess) also forgets it.
    version = latest_version(spark, path)  # None: no table (latest_version checks, so no second exists())
    if version is None:
        raise TableNotFoundError(f"no Delta table at {path}; run the job that builds it first")
    done_through = f"{checkpoint.rstrip('/')}/{DONE_THROUGH}"
    if read_small_text(spark, done_through) == str(version):
        log.debug("%s: no version after %s; no micro-batch", path, version)
        return
    raised: list[BaseException] = []
    # the caller's description (its ctx.step) names the micro-batches' jobs too
    described = spark.sparkContext.getLocalProperty("spark.job.description") or f"micro-batches of {path}"

    def guarded(df: DataFrame, batch_id: int) -> None:
        try:
            with job_description(df.sparkSession, f"{described} · micro-batch {batch_id}"):
                handle(df, batch_id)
        except BaseException as e:
            raised.append(e)
            raise

    reader = spark.readStream.format("delta").option("maxFilesPerTrigger", max_files_per_batch)
    if max_bytes_per_batch is not None:  # a soft bound (at least one file); whichever bound comes first
        reader = reader.option("maxBytesPerTrigger", max_bytes_per_batch)
    query = (
        reader.load(path)
        .writeStream.foreachBatch(guarded).option("checkpointLocation", checkpoint)
        .trigger(availableNow=True).start()
    )
    try:
        query.awaitTermination()
    except Exception:
        if raised:
            raise raised[0] from None
        raise
    if raised:
        raise raised[0]
    write_text(spark, done_through, str(version))


DONE_THROUGH = "_brandlake_done_through"  # in a streaming checkpoint: the source version read up to


def read_small_text(spark: SparkSession, uri: str) -> str | None:
    """The text of a small file (a note kept beside data) on any Hadoop file system; None when it is absent."""
    if not path_exists(spark, uri):
        return None
    return read_head(spark, uri, 1 << 16).decode("utf-8").strip()


def delete_where(spark: SparkSession, path: str, condition: Column) -> None:
    if exists(spark, path):
        DeltaTable.forPath(spark, path).delete(condition)


def hadoop_fs(spark: SparkSession, uri: str):
    """``(FileSystem, Path)`` of ``uri`` on whichever Hadoop file system serves it (local, HDFS, S3A, ...)."""
    path = spark.sparkContext._jvm.org.apache.hadoop.fs.Path(uri)
    return path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration()), path


def write_text(spark: SparkSession, uri: str, text: str) -> None:
    """Write a small text file (a run summary) to a local path or any Hadoop file system URI."""
    if is_local(uri):
        p = local_path(uri)
        p.parent.mkdir(parents=True, exist_ok=True)
        tmp = p.with_suffix(p.suffix + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(p)
        return
    fs, hpath = hadoop_fs(spark, uri)
    out = fs.create(hpath, True)
    try:
        out.write(bytearray(text.encode("utf-8")))
    finally:
        out.close()


def rename_files(spark: SparkSession, moves: Sequence[tuple[str, str]]) -> None:
    """Rename files on any Hadoop file system (used to give generated part files stable names)."""
    for src, dst in moves:
        fs, s = hadoop_fs(spark, src)
        _, d = hadoop_fs(spark, dst)
        if fs.exists(d):
            fs.delete(d, False)
        if not fs.rename(s, d):
            raise OSError(f"could not rename {src} to {dst}")


def list_files(spark: SparkSession, uri: str) -> list[str]:
    """Files directly under ``uri`` on any Hadoop file system; [] when the folder does not exist."""
    fs, hpath = hadoop_fs(spark, uri)
    if not fs.exists(hpath):
        return []
    return sorted(str(st.getPath().toString()) for st in fs.listStatus(hpath))


def delete_path(spark: SparkSession, uri: str) -> None:
    fs, hpath = hadoop_fs(spark, uri)
    if fs.exists(hpath):
        fs.delete(hpath, True)


# ---------------------------------------------------------------------------------------------------
# Landing files (ingest's file checks): status, first bytes, checksum, move — on any Hadoop file system


def _hfs(spark: SparkSession, uri: str):
    fs, hpath = hadoop_fs(spark, uri)
    return hpath, fs


def path_exists(spark: SparkSession, uri: str) -> bool:
    if is_local(uri):
        return local_path(uri).exists()
    hpath, fs = _hfs(spark, uri)
    return bool(fs.exists(hpath))


def list_status(spark: SparkSession, uri: str) -> list[tuple[str, bool, int, int]]:
    """(uri, is_directory, size in bytes, modification time in ms) of each entry directly under ``uri``."""
    hpath, fs = _hfs(spark, uri)
    if not fs.exists(hpath):
        return []
    return sorted((str(st.getPath().toString()), bool(st.isDirectory()), int(st.getLen()),
                   int(st.getModificationTime())) for st in fs.listStatus(hpath))


def read_head(spark: SparkSession, uri: str, n: int) -> bytes:
    """The first ``n`` bytes of a file (fewer when it is shorter)."""
    if is_local(uri):
        with open(local_path(uri), "rb") as fh:
            return fh.read(n)
    hpath, fs = _hfs(spark, uri)
    stream = fs.open(hpath)
    try:
        buf = spark.sparkContext._gateway.new_array(spark.sparkContext._jvm.byte, n)
        got, total = 0, 0
        while total < n and (got := stream.read(buf, total, n - total)) > 0:
            total += got
        return bytes(buf)[:total]
    finally:
        stream.close()


def file_checksum(spark: SparkSession, uri: str, *, size: int, modified_ms: int) -> str:
    """sha256 of a local file's bytes; elsewhere the file system's checksum, else size and mtime."""
    if is_local(uri):
        import hashlib

        h = hashlib.sha256()
        with open(local_path(uri), "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
        return h.hexdigest()
    hpath, fs = _hfs(spark, uri)
    checksum = fs.getFileChecksum(hpath)
    return str(checksum.toString()) if checksum is not None else f"size={size};mtime={modified_ms}"


def move_path(spark: SparkSession, src: str, dst: str) -> None:
    """Move a file or folder (parents created; an existing ``dst`` is replaced)."""
    s, fs = _hfs(spark, src)
    d, _ = _hfs(spark, dst)
    fs.mkdirs(d.getParent())
    if fs.exists(d):
        fs.delete(d, True)
    if not fs.rename(s, d):
        raise OSError(f"could not move {src} to {dst}")


def update_where(spark: SparkSession, path: str, condition: str, values: dict) -> None:
    """Set ``values`` (column -> Column) on the rows matching ``condition`` (one Delta commit)."""
    DeltaTable.forPath(spark, path).update(F.expr(condition), values)


def size_bytes(spark: SparkSession, uri: str) -> int:
    """Bytes of the files under ``uri`` (a table's folder) on any Hadoop file system; 0 when it does not exist."""
    fs, hpath = hadoop_fs(spark, uri)
    if not fs.exists(hpath):
        return 0
    return int(fs.getContentSummary(hpath).getLength())
