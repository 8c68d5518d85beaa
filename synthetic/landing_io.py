"""File I/O of the synthetic generator: landing files with stable names, staging and ground-truth Parquet.

Landing files are written by Spark's text writer into a temporary folder (one file per source, batch and
part thanks to ``partitionBy``), then renamed to ``<landing>/<source>/batch=NNNNN/part-NNNNN.<ext>``;
Spark's _SUCCESS and checksum files are removed so that a rerun gives the same names and bytes.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from brandlake.tables import delete_path, hadoop_fs, rename_files

log = logging.getLogger(__name__)

_PART_DIR = re.compile(r"source=([^/]+)/batch=(\d+)/part=(\d+)/part-[^/]*$")


def list_files_recursive(spark: SparkSession, uri: str) -> list[str]:
    """Every file under ``uri`` (any Hadoop file system), sorted; [] when it does not exist."""
    fs, path = hadoop_fs(spark, uri)
    if not fs.exists(path):
        return []
    it = fs.listFiles(path, True)
    out = []
    while it.hasNext():
        out.append(str(it.next().getPath().toString()))
    return sorted(out)


def _mkdirs(spark: SparkSession, uri: str) -> None:
    fs, path = hadoop_fs(spark, uri)
    fs.mkdirs(path)


def write_parquet(df: DataFrame, uri: str) -> None:
    """Replace the Parquet folder at ``uri`` with ``df`` (staging and ground truth, not Delta tables)."""
    df.write.mode("overwrite").parquet(uri)


def write_landing(
    spark: SparkSession,
    lines: DataFrame,
    *,
    landing: str,
    extensions: Mapping[str, str],
    partitions: int,
) -> list[str]:
    """Replace the landing folders of ``extensions``' sources with ``lines`` and return the file URIs.

    ``lines`` has ``source, batch, part, sort_key, line``; each (source, batch, part) becomes one file
    whose lines are ordered by ``sort_key`` then ``line``, so the bytes never depend on partitioning.
    """
    landing = landing.rstrip("/")
    tmp = f"{landing}_tmp"
    delete_path(spark, tmp)
    (
        lines.select(
            "source", F.lpad(F.col("batch").cast("string"), 5, "0").alias("batch"),
            F.lpad(F.col("part").cast("string"), 5, "0").alias("part"), "sort_key", "line")
        .repartition(partitions, "source", "batch", "part")
        .sortWithinPartitions("source", "batch", "part", "sort_key", "line")
        .select("line", "source", "batch", "part")
        .write.mode("overwrite").option("compression", "none").option("lineSep", "\n")
        .partitionBy("source", "batch", "part").text(tmp)
    )
    moves, seen = [], set()
    for f in list_files_recursive(spark, tmp):
        m = _PART_DIR.search(f)
        if not m or f.endswith(".crc"):
            continue
        source, batch, part = m.groups()
        if (source, batch, part) in seen:
            raise RuntimeError(f"more than one Spark file for {source} batch {batch} part {part}")
        seen.add((source, batch, part))
        moves.append((f, f"{landing}/{source}/batch={batch}/part-{part}.{extensions[source]}"))
    for source in extensions:
        delete_path(spark, f"{landing}/{source}")
    for batch_dir in sorted({dst.rsplit("/", 1)[0] for _, dst in moves}):
        _mkdirs(spark, batch_dir)
    rename_files(spark, moves)
    delete_path(spark, tmp)
    for _, dst in moves:  # a checksummed file system (file:) renames the hidden .crc along with the file
        folder, name = dst.rsplit("/", 1)
        delete_path(spark, f"{folder}/.{name}.crc")
    log.info("landed %d files under %s", len(moves), landing)
    return sorted(dst for _, dst in moves)
