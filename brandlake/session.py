"""The one SparkSession factory, used by every job and by the tests.

Local runs get Delta's cached jars by path; under spark-submit the master and jars given on the
command line win, so the same job runs on a laptop and on a cluster unchanged.
"""

from __future__ import annotations

import logging
import os
import sys

from pyspark import SparkConf, SparkContext
from pyspark.sql import SparkSession

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


def session_conf(cfg: SparkConfig, launched: SparkConf | None = None) -> dict[str, str]:
    """The Spark settings for ``cfg``; settings already given by spark-submit (``launched``) are kept."""
    launched = launched if launched is not None else launched_conf()
    conf: dict[str, str] = {
        "spark.app.name": cfg.app_name,
        "spark.sql.shuffle.partitions": str(cfg.shuffle_partitions),
        **DELTA_CONF,
        **cfg.conf,
    }
    if not launched.contains("spark.master"):
        conf["spark.master"] = cfg.master
        conf["spark.driver.memory"] = cfg.driver_memory
    given_jars = launched.get("spark.jars", "")
    if "delta-spark" not in given_jars:
        jars = [str(p) for p in ensure_jars()]
        conf["spark.jars"] = ",".join([j for j in given_jars.split(",") if j] + jars)
    return conf


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
