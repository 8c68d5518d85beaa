"""Bronze: landing records as delivered text, one Delta table per source (see docs/contracts.md).
Grain: one row per delivered record (JSON line or CSV row), duplicates and malformed records included.

Pure helpers for the ingest job: parse JSON lines without losing anything (a malformed line is kept
raw in ``_corrupt_record``), map drifting JSON keys to new STRING columns, and add the audit columns.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence

from brandlake.transforms.columns import require_columns
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

CORRUPT = "_corrupt_record"
SOURCE_FILE = "_source_file"
LANDING_BATCH = "_landing_batch"
INGESTED_AT = "_ingested_at"
RUN_ID = "_run_id"
AUDIT_COLUMNS = (CORRUPT, SOURCE_FILE, LANDING_BATCH, INGESTED_AT, RUN_ID)

PAYLOAD = "_payload"  # working column: the parsed JSON object as key -> value text; never written

_BATCH_IN_PATH = r"batch=(\d+)"
# Delta (without column mapping) refuses these in column names; dots would read as struct access.
_UNSAFE_NAME_CHARS = re.compile(r"[^A-Za-z0-9_]")


def csv_read_schema(fields: Sequence[str]) -> T.StructType:
    """Schema for reading a CSV source: every delivered field as text plus the corrupt-record column."""
    return T.StructType([T.StructField(f, T.StringType(), True) for f in (*fields, CORRUPT)])


def landing_batch(path: Column) -> Column:
    """The NNNNN of ``batch=NNNNN`` in a landing file path, as INT; null when the path has none."""
    return F.regexp_extract(path, _BATCH_IN_PATH, 1).try_cast(T.IntegerType())


def json_object(text: Column) -> Column:
    """A JSON-object line as a map of key -> value text; null when the line is not one JSON object.

    Parsed through VARIANT so numbers keep their exact value (no double rounding), while nested
    arrays and objects come back as their JSON text and JSON null as null.
    """
    return F.try_variant_get(F.try_parse_json(text), "$", "map<string,string>")


def with_json_payload(lines: DataFrame, *, value_col: str = "value") -> DataFrame:
    """Adds the parsed object of each JSON line (null when malformed). Blank lines carry no record and are
    removed, as JSON-lines readers do."""
    require_columns(lines, [value_col], what="with_json_payload")
    return (
        lines.filter(F.trim(F.col(value_col)) != "")
        .withColumn(PAYLOAD, json_object(F.col(value_col)))
    )


def to_batch_profile(parsed: DataFrame) -> DataFrame:
    """One row for a parsed micro-batch: rows_read, rows_corrupt and the sorted distinct JSON keys seen."""
    require_columns(parsed, [PAYLOAD], what="to_batch_profile")
    return parsed.agg(
        F.count(F.lit(1)).alias("rows_read"),
        F.count_if(F.col(PAYLOAD).isNull()).alias("rows_corrupt"),
        F.array_sort(F.array_distinct(F.flatten(F.collect_set(F.map_keys(PAYLOAD))))).alias("keys"),
    )


def safe_column_name(key: str) -> str:
    """A Delta-safe column name for a delivered key: anything but letters, digits and _ becomes _."""
    return _UNSAFE_NAME_CHARS.sub("_", key) or "unnamed"


def drift_columns(keys: Iterable[str], *, fields: Sequence[str]) -> dict[str, str]:
    """Delivered keys that the contract does not know, mapped to new bronze column names.

    A name that would clash (case-insensitively, as Spark resolves names) with a contract field, an
    audit column or an earlier drift column gets a numeric suffix, so no delivered value is lost.
    """
    known = set(fields)
    taken = {n.lower() for n in (*fields, *AUDIT_COLUMNS)}
    out: dict[str, str] = {}
    for key in sorted(set(keys) - known):
        name = base = safe_column_name(key)
        n = 1
        while name.lower() in taken:
            n += 1
            name = f"{base}_{n}"
        taken.add(name.lower())
        out[key] = name
    return out


def with_audit_columns(df: DataFrame, *, run_id: str, ingested_at: dt.datetime) -> DataFrame:
    """Adds _landing_batch (from _source_file), _ingested_at and _run_id."""
    require_columns(df, [SOURCE_FILE], what="with_audit_columns")
    return (
        df.withColumn(LANDING_BATCH, landing_batch(F.col(SOURCE_FILE)))
        .withColumn(INGESTED_AT, F.lit(ingested_at).cast(T.TimestampType()))
        .withColumn(RUN_ID, F.lit(run_id))
    )


def json_to_bronze(
    parsed: DataFrame,
    *,
    fields: Sequence[str],
    extra: Mapping[str, str],
    run_id: str,
    ingested_at: dt.datetime,
    value_col: str = "value",
) -> DataFrame:
    """Bronze rows from parsed JSON lines: contract fields, then drift columns (``extra``: key -> column),
    all STRING; a malformed line keeps its raw text in _corrupt_record with every field null."""
    require_columns(parsed, [value_col, PAYLOAD, SOURCE_FILE], what="json_to_bronze")
    payload = F.col(PAYLOAD)
    values = [F.try_element_at(payload, F.lit(f)).alias(f) for f in fields]
    values += [F.try_element_at(payload, F.lit(k)).alias(c) for k, c in sorted(extra.items(), key=lambda kv: kv[1])]
    corrupt = F.when(payload.isNull(), F.col(value_col)).alias(CORRUPT)
    return (
        parsed.select(*values, corrupt, F.col(SOURCE_FILE))
        .transform(with_audit_columns, run_id=run_id, ingested_at=ingested_at)
    )


def csv_to_bronze(
    rows: DataFrame, *, fields: Sequence[str], run_id: str, ingested_at: dt.datetime
) -> DataFrame:
    """Bronze rows from a PERMISSIVE CSV read: a row Spark flagged as corrupt (too many or too few fields)
    keeps its raw line in _corrupt_record and gets every field null rather than a half-parsed guess."""
    require_columns(rows, [*fields, CORRUPT, SOURCE_FILE], what="csv_to_bronze")
    is_corrupt = F.col(CORRUPT).isNotNull()
    values = [F.when(~is_corrupt, F.col(f)).alias(f) for f in fields]
    return (
        rows.select(*values, F.col(CORRUPT), F.col(SOURCE_FILE))
        .transform(with_audit_columns, run_id=run_id, ingested_at=ingested_at)
    )


def to_csv_batch_profile(rows: DataFrame) -> DataFrame:
    """One row for a CSV micro-batch: rows_read and rows_corrupt."""
    require_columns(rows, [CORRUPT], what="to_csv_batch_profile")
    return rows.agg(
        F.count(F.lit(1)).alias("rows_read"),
        F.count(F.col(CORRUPT)).alias("rows_corrupt"),
    )


def _ddl(names: Sequence[str]) -> str:
    return ", ".join("`" + n.replace("`", "``") + "` STRING" for n in names)


def csv_lines_to_bronze(
    lines: DataFrame,
    *,
    header: Sequence[str],
    header_line: str | None,
    fields: Sequence[str],
    extra: Mapping[str, str],
    run_id: str,
    ingested_at: dt.datetime,
    value_col: str = "value",
) -> DataFrame:
    """Bronze rows from the text lines of CSV files that share one ``header``: each line is parsed by that
    header and the contract's fields are picked BY NAME, so a reordered header reads right and a new
    column (``extra``: delivered name -> bronze column) is kept as drift. The header line and blank lines
    carry no record. A line with too many or too few fields keeps its raw text in _corrupt_record with
    every field null, as Spark's CSV reader does (RFC 4180 quoting, quotes doubled inside a field)."""
    require_columns(lines, [value_col, SOURCE_FILE], what="csv_lines_to_bronze")
    body = lines.filter(F.trim(F.col(value_col)) != "")
    if header_line is not None:  # compared without a byte-order mark (Hadoop's line reader may drop it)
        no_bom = F.regexp_replace(F.col(value_col), "^\ufeff", "")
        body = body.filter(no_bom != F.lit(header_line.lstrip("\ufeff")))
    schema = _ddl([*header, CORRUPT])
    options = {"mode": "PERMISSIVE", "columnNameOfCorruptRecord": CORRUPT, "escape": '"'}
    parsed = body.select(F.from_csv(F.col(value_col), F.lit(schema), options).alias("_r"), F.col(SOURCE_FILE))
    is_corrupt = F.col(f"_r.{CORRUPT}").isNotNull()

    def field(name: str) -> Column:
        return F.when(~is_corrupt, F.col("_r").getField(name))

    values = [field(f).alias(f) for f in fields]
    values += [field(k).alias(c) for k, c in sorted(extra.items(), key=lambda kv: kv[1])]
    return (
        parsed.select(*values, F.col(f"_r.{CORRUPT}").alias(CORRUPT), F.col(SOURCE_FILE))
        .transform(with_audit_columns, run_id=run_id, ingested_at=ingested_at)
    )
