"""The one SparkSession factory, used by every job and by the tests.

Local runs get Delta's cached jars by path; under spark-submit the master and jars given on the
command line win, so the same job runs on a laptop and on a cluster unchanged.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path

from pyspark import SparkConf, SparkContext
from pyspark.sql import DataFrame, SparkSession

from brandlake.config import SparkConfig
from brandlake.jars import ensure_jars

log = logging.getLogger(__name__)

DELTA_CONF = {
    "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
    "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
}


def launched_conf() -> SparkConf:
    """The settings spark-submit gave the JVM that started this Python driver; empty when there is none.

    A SparkConf made before the Py4J gateway is up holds nothing, so under spark-submit (which
    hands the driver PYSPARK_GATEWAY_PORT) connect first; locally the JVM must not start yet,
    because driver memory is fixed when it does.
    """
    if "PYSPARK_GATEWAY_PORT" in os.environ:
        SparkContext._ensure_initialized()
    return SparkConf()


# Settings results depend on: enforced even over spark-submit --conf (with a warning), because a
# session time zone other than UTC moves local dates, and without ANSI mode a bad cast yields a silent null.
ENFORCED = {"spark.sql.session.timeZone": "UTC", "spark.sql.ansi.enabled": "true"}
# spark-submit names an application after its main file when --name is not given; that is no choice.
SUBMIT_DEFAULT_APP_NAMES = ("entry.py",)


def session_conf(cfg: SparkConfig, launched: SparkConf | None = None) -> dict[str, str]:
    """The Spark settings for ``cfg``. Settings already given by spark-submit (``launched``, e.g.
    ``--conf spark.sql.shuffle.partitions=400``) are kept; only ``ENFORCED`` and Delta's own settings
    override them, and each override is logged."""
    launched = launched if launched is not None else launched_conf()
    wanted: dict[str, str] = {
        "spark.app.name": cfg.app_name,
        "spark.sql.shuffle.partitions": str(cfg.shuffle_partitions),
        **cfg.conf,
    }
    conf: dict[str, str] = {}
    for key, value in wanted.items():
        given = launched.get(key, None)
        if given is None or (key == "spark.app.name" and given in SUBMIT_DEFAULT_APP_NAMES):
            conf[key] = value
        elif given != value and key not in ENFORCED:
            log.info("keeping spark-submit's %s=%s (config says %s)", key, given, value)
    for key, value in ENFORCED.items():
        given = launched.get(key, None) or wanted.get(key)
        if given is not None and given.lower() != value.lower():
            log.warning("overriding %s=%s with %s: brandlake's results are only correct with it", key, given, value)
        conf[key] = value
    extensions = [e for e in launched.get("spark.sql.extensions", "").split(",") if e]
    if DELTA_CONF["spark.sql.extensions"] not in extensions:
        extensions.append(DELTA_CONF["spark.sql.extensions"])
    conf["spark.sql.extensions"] = ",".join(extensions)
    catalog = "spark.sql.catalog.spark_catalog"
    if launched.get(catalog, DELTA_CONF[catalog]) != DELTA_CONF[catalog]:
        log.warning("overriding %s=%s with Delta's catalog %s", catalog, launched.get(catalog), DELTA_CONF[catalog])
    conf[catalog] = DELTA_CONF[catalog]
    if not launched.contains("spark.master"):  # a JVM brandlake starts itself
        conf["spark.master"] = cfg.master
        conf["spark.driver.memory"] = cfg.driver_memory
        java_options = " ".join(o for o in (conf.get("spark.driver.extraJavaOptions", ""), log4j_option()) if o)
        conf["spark.driver.extraJavaOptions"] = java_options
    given_jars = launched.get("spark.jars", "")
    if "delta-spark" not in given_jars:
        jars = [str(p) for p in ensure_jars()]
        conf["spark.jars"] = ",".join([j for j in given_jars.split(",") if j] + jars)
    return conf


@contextmanager
def job_description(spark: SparkSession, text: str) -> Iterator[None]:
    """Name the Spark jobs this thread starts (Spark UI, history server), e.g. inside a streaming
    micro-batch, whose jobs would otherwise carry only the query's id."""
    sc = spark.sparkContext
    previous = sc.getLocalProperty("spark.job.description")
    sc.setLocalProperty("spark.job.description", text)
    try:
        yield
    finally:
        sc.setLocalProperty("spark.job.description", previous)


def log4j_option() -> str:
    """``-Dlog4j2.configurationFile=...`` for brandlake's packaged log4j2.properties, when it is a real file."""
    path = resources.files("brandlake").joinpath("log4j2.properties")
    return f"-Dlog4j2.configurationFile=file:{path}" if isinstance(path, Path) and path.is_file() else ""


def get_spark(cfg: SparkConfig) -> SparkSession:
    """Create (or reuse) the SparkSession with Delta enabled."""
    # Python workers (pandas UDFs, applyInPandas) must run this interpreter, whose packages hold brandlake;
    # PySpark's own default is whatever `python3` is on PATH. spark-submit's settings still win.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = SparkSession.builder
    for k, v in session_conf(cfg).items():
        builder = builder.config(k, v)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel(cfg.log_level)
    log.info("spark %s master=%s", spark.version, spark.sparkContext.master)
    return spark


def materialize(df: DataFrame) -> DataFrame:
    """``df`` computed now and kept (memory, then local disk) as a frame of its own, whose plan is the kept rows.

    Unlike ``persist``, what is derived from the result is analysed and planned against the kept rows, not
    ``df``'s whole lineage: a silver micro-batch's steps (dedupe counts, every rule of the gate, quarantine,
    MERGE) each re-analysed the conform plan, which on orders cost more than the work itself (BENCHMARKS.md).
    Free the rows with ``release`` once done.

    The rows are Spark's local checkpoint: kept by the executors, with no lineage to recompute them from. On a
    cluster, losing an executor while they are in use fails the step; the job's next run redoes it (every job
    is idempotent; a silver micro-batch is replayed from its checkpoint). Use it for rows a step reads several
    times and drops at its end, not for long-lived frames.
    """
    return df.localCheckpoint(eager=True)


def release(df: DataFrame) -> None:
    """Free the rows ``materialize`` kept for ``df`` (a frame that holds none is left alone)."""
    try:
        plan = df._jdf.queryExecution().logical()
        if plan.getClass().getSimpleName() == "LogicalRDD":
            plan.rdd().unpersist(False)
    except Exception:  # noqa: BLE001 - only memory is at stake: Spark's cleaner frees the rows once unreferenced
        log.debug("could not release the kept rows of a frame", exc_info=True)
