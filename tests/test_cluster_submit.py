"""Real jobs on a real Spark standalone cluster (one master, one 1-core worker on 127.0.0.1), submitted with
spark-submit, the packaged zip as --py-files and Delta's jars as --jars; results read back locally.

The default test submits `ingest` over a small inline landing zone. `generate` followed by `ingest` is the
full path, but the generator needs minutes on one executor core, so it runs only with
`pytest -m slow_cluster` (see docs/cluster.md)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from brandlake.transforms.landing import SOURCES
from chispa import assert_df_equality
from pyspark.sql import functions as F
from pyspark.sql import types as T

from brandlake.jars import ensure_jars
from brandlake.packaging import build_zip
from tests.standalone import StandaloneCluster

pytestmark = [pytest.mark.cluster]

ENTRY = Path(__file__).resolve().parents[1] / "jobs" / "entry.py"


def _tail(text: str, lines: int = 60) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def _submit(
    cluster: StandaloneCluster, zip_path: Path, lake: Path, command: str, *args: str, timeout: float = 600
) -> None:
    """Run ``command`` as a spark-submit application on ``cluster``; fail with the driver's output if it fails."""
    proc = cluster.submit(
        ENTRY, [command, "--env", "test", "--lake-root", str(lake), *args],
        py_files=[zip_path], jars=ensure_jars(),
        env={"BRANDLAKE_PII_KEY": "cluster-test-only-key"}, cwd=lake.parent, timeout=timeout,
    )
    # The Python driver's own output (logging) reaches spark-submit's stdout; the JVM's goes to stderr.
    assert proc.returncode == 0, (
        f"spark-submit {command} exited with {proc.returncode}\n"
        f"--- driver output (tail)\n{_tail(proc.stdout)}\n--- spark-submit stderr (tail)\n{_tail(proc.stderr)}"
    )


# ---- default: ingest over an inline landing zone ----------------------------------------------------------

PAYMENT_FIELDS = SOURCES["payment_events"].fields
WAREHOUSE_FIELDS = SOURCES["warehouses"].fields


def _land(lake: Path, source: str, batch: int, text: str) -> None:
    path = lake / "landing" / source / f"batch={batch:05d}" / f"part-00000.{SOURCES[source].extension}"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def _bronze(spark, lake: Path, source: str, *columns: str):
    """A bronze table without the per-run audit values (_ingested_at, _run_id); file as batch=N/part."""
    return spark.read.format("delta").load(str(lake / "bronze" / source)).select(
        *columns, "_corrupt_record",
        F.regexp_extract("_source_file", r"(batch=\d+/[^/]+)$", 1).alias("file"), "_landing_batch",
    )


def _bronze_schema(columns) -> T.StructType:
    return T.StructType([
        *[T.StructField(c, T.StringType()) for c in columns],
        T.StructField("_corrupt_record", T.StringType()),
        T.StructField("file", T.StringType()),
        T.StructField("_landing_batch", T.IntegerType()),
    ])


def _payment(file: str, batch: int, corrupt: str | None = None, **values) -> tuple:
    return (*[values.get(f) for f in PAYMENT_FIELDS], values.get("device_type"), corrupt, file, batch)


def test_ingest_submitted_to_a_standalone_cluster_lands_every_landing_record_in_bronze(spark, tmp_path):
    lake = tmp_path / "lake"
    _land(lake, "payment_events", 1, "\n".join([
        '{"event_id": "e1", "order_id": "o1", "payment_kind": "full", "amount": 12.5, "currency": "CNY"}',
        '{"event_id": "e1", "order_id": "o1", "payment_kind": "full", "amount": 12.5, "currency": "CNY"}',
        '{"event_id": "e2", "amount": 3.0',  # malformed: kept raw
        "",  # blank: no record
        '{"event_id": "e3", "order_id": "o3", "payment_kind": "deposit", "amount": "7.00", "currency": null}',
    ]) + "\n")
    _land(lake, "payment_events", 2,  # a key the contract does not know (schema drift)
          '{"event_id": "e4", "order_id": "o4", "payment_kind": "balance", "amount": 1.25, "device_type": "mobile"}\n')
    _land(lake, "warehouses", 1, (
        "warehouse_id,name,country,province,city,capacity_units,updated_at\n"
        'w1,"Shanghai North, Bay 2",CN,Shanghai,Shanghai,5000,2024-01-01\n'
        "w2,Short,CN\n"  # too few fields: kept raw
    ))
    zip_path = build_zip(tmp_path / "dist")
    with StandaloneCluster(tmp_path / "cluster") as cluster:
        _submit(cluster, zip_path, lake, "ingest", "--sources", "payment_events,warehouses")
        apps = [(a["name"], a["state"]) for a in cluster.status()["completedapps"]]
    assert apps == [("brandlake", "FINISHED")]  # it ran as an application of the standalone master
    assert cluster.is_stopped()  # master, worker and the executor they launched are gone

    f1, f2 = "batch=00001/part-00000.jsonl", "batch=00002/part-00000.jsonl"
    expected_payments = spark.createDataFrame([
        _payment(f1, 1, event_id="e1", order_id="o1", payment_kind="full", amount="12.5", currency="CNY"),
        _payment(f1, 1, event_id="e1", order_id="o1", payment_kind="full", amount="12.5", currency="CNY"),
        _payment(f1, 1, corrupt='{"event_id": "e2", "amount": 3.0'),
        _payment(f1, 1, event_id="e3", order_id="o3", payment_kind="deposit", amount="7.00"),
        _payment(f2, 2, event_id="e4", order_id="o4", payment_kind="balance", amount="1.25", device_type="mobile"),
    ], _bronze_schema([*PAYMENT_FIELDS, "device_type"]))
    assert_df_equality(
        _bronze(spark, lake, "payment_events", *PAYMENT_FIELDS, "device_type"), expected_payments,
        ignore_row_order=True, ignore_nullable=True,
    )
    fw = "batch=00001/part-00000.csv"
    expected_warehouses = spark.createDataFrame([
        ("w1", "Shanghai North, Bay 2", "CN", "Shanghai", "Shanghai", "5000", "2024-01-01", None, fw, 1),
        (None, None, None, None, None, None, None, "w2,Short,CN", fw, 1),
    ], _bronze_schema(WAREHOUSE_FIELDS))
    assert_df_equality(
        _bronze(spark, lake, "warehouses", *WAREHOUSE_FIELDS), expected_warehouses,
        ignore_row_order=True, ignore_nullable=True,
    )


# ---- opt-in: generate, then ingest -------------------------------------------------------------------------

SCALE = "0.0002"
UNTIL_BATCH = "1"  # land the first batch only: all 18 sources, a fraction of the files
# One JSON-lines event source, one JSON snapshot and one CSV snapshot: every bronze code path, in a
# fraction of the time all 18 sources take on one executor core.
INGESTED = ("order_events", "platforms", "fx_rates")

FILE_COUNTS = T.StructType([
    T.StructField("source", T.StringType(), False),
    T.StructField("landing_batch", T.IntegerType(), True),
    T.StructField("file", T.StringType(), True),
    T.StructField("rows", T.LongType(), False),
])


def landing_record_counts(landing: Path, sources: tuple[str, ...]) -> list[tuple[str, int, str, int]]:
    """(source, batch, batch=NNNNN/file, records) straight from the landing files, without Spark.

    A record is a non-blank line (JSON lines), or a non-blank line after the header (CSV, one record a line).
    """
    out = []
    for name in sources:
        src = SOURCES[name]
        for f in sorted((landing / name).glob(f"batch=*/*.{src.extension}")):
            lines = [ln for ln in f.read_text(encoding="utf-8").splitlines() if ln.strip()]
            records = len(lines) - 1 if src.fmt == "csv" else len(lines)
            batch = int(re.fullmatch(r"batch=(\d+)", f.parent.name).group(1))
            out.append((name, batch, f"{f.parent.name}/{f.name}", records))
    return out


def landing_json_rows(landing: Path, name: str) -> list[tuple]:
    """A JSON-lines source as bronze must hold it, parsed with the json module: (fields..., _corrupt_record,
    _landing_batch); a value that is not a string keeps its JSON text, a line that is not an object is corrupt."""
    fields = SOURCES[name].fields
    rows = []
    for f in sorted((landing / name).glob("batch=*/*.jsonl")):
        batch = int(re.fullmatch(r"batch=(\d+)", f.parent.name).group(1))
        for line in f.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except ValueError:
                obj = None
            if not isinstance(obj, dict):
                rows.append((*[None] * len(fields), line, batch))
                continue
            values = [v if isinstance(v, str) or v is None else json.dumps(v) for v in (obj.get(k) for k in fields)]
            rows.append((*values, None, batch))
    return rows


def bronze_record_counts(spark, bronze_root: Path, sources: tuple[str, ...]):
    frames = [
        spark.read.format("delta").load(str(bronze_root / name))
        .groupBy(
            F.lit(name).alias("source"),
            F.col("_landing_batch").alias("landing_batch"),
            F.regexp_extract("_source_file", r"(batch=\d+/[^/]+)$", 1).alias("file"),
        )
        .agg(F.count(F.lit(1)).alias("rows"))
        for name in sources
    ]
    out = frames[0]
    for f in frames[1:]:
        out = out.unionByName(f)
    return out


@pytest.mark.slow_cluster
def test_generate_then_ingest_submitted_to_a_standalone_cluster_land_every_record_in_bronze(spark, tmp_path):
    zip_path = build_zip(tmp_path / "dist", with_generator=True)
    lake = tmp_path / "lake"
    with StandaloneCluster(tmp_path / "cluster") as cluster:
        _submit(cluster, zip_path, lake, "generate", "--scale", SCALE, "--until-batch", UNTIL_BATCH, timeout=1800)
        _submit(cluster, zip_path, lake, "ingest", "--sources", ",".join(INGESTED))
        apps = [(a["name"], a["state"]) for a in cluster.status()["completedapps"]]
    # Both jobs ran as applications of the standalone master (not in a local[*] session of their own).
    assert apps == [("brandlake", "FINISHED"), ("brandlake", "FINISHED")]
    # Master, worker and the executors they launched are gone.
    assert cluster.is_stopped()

    expected_counts = landing_record_counts(lake / "landing", INGESTED)
    assert {c[0] for c in expected_counts} == set(INGESTED), f"generate wrote no files for some of {INGESTED}"
    expected = spark.createDataFrame(expected_counts, FILE_COUNTS)
    actual = bronze_record_counts(spark, lake / "bronze", INGESTED)
    assert_df_equality(actual, expected, ignore_row_order=True, ignore_nullable=True)

    # One whole table, value by value: bronze platforms against the landing lines parsed without Spark.
    columns = [*SOURCES["platforms"].fields, "_corrupt_record", "_landing_batch"]
    schema = T.StructType([
        *SOURCES["platforms"].schema.fields,
        T.StructField("_corrupt_record", T.StringType()),
        T.StructField("_landing_batch", T.IntegerType()),
    ])
    expected_platforms = spark.createDataFrame(landing_json_rows(lake / "landing", "platforms"), schema)
    actual_platforms = spark.read.format("delta").load(str(lake / "bronze" / "platforms")).select(*columns)
    assert_df_equality(actual_platforms, expected_platforms, ignore_row_order=True, ignore_nullable=True)
