"""From landing records to landing lines: defect injection, batch by arrival, JSON/CSV text, file part.

Input records carry the source's contract fields plus ``_arrival``, ``_event`` (epoch seconds), ``_rid``
(unique record id) and ``_order_id``. Output: one row per line with ``source, batch, part, sort_key, line``
and the defect columns that become the truth table."""

from __future__ import annotations

from brandlake.synthetic import constants as C
from brandlake.synthetic.params import WorldParams
from brandlake.synthetic.rand import lit_map, pick, randint, uniform
from brandlake.transforms.landing import LandingSource
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

DEFECT_COLUMNS = ["_defect", "_defect_field", "_defect_detail"]


def defect_slices(source: str, p: WorldParams) -> list[tuple[str, float]]:
    """The defect types that apply to ``source`` with their rates (slices of one uniform draw)."""
    d = p.defects
    out = []
    if source in C.EVENT_SOURCES:
        out += [("duplicate_event", d.duplicate_event), ("late_event", d.late_event)]
    if source in C.REQUIRED:
        out += [("null_required", d.null_required)]
    if source in C.UNKNOWN_ENUM:
        out += [("unknown_enum", d.unknown_enum)]
    if source in C.AMOUNT_FIELD:
        out += [("bad_amount", d.bad_amount)]
    if source in C.REQUIRED:
        out += [("malformed_line", d.malformed_line)]
    return out


def batch_of(arrival: Column, p: WorldParams) -> Column:
    return F.greatest(F.floor((arrival - p.t0) / p.batch_secs) + 1, F.lit(1)).cast("int")


def with_defects(records: DataFrame, *, source: str, p: WorldParams) -> DataFrame:
    """Spoil a fraction of records on purpose and say how in ``_defect``/``_defect_field``/``_defect_detail``.

    Duplicates are marked ``_dup`` here and copied in :func:`to_lines` (the copy carries the defect)."""
    s = p.seed
    u = uniform(s, "defect:" + source, "_rid")
    kind, acc = None, 0.0
    for name, rate in defect_slices(source, p):
        if rate <= 0:
            continue
        cond = (u >= acc) & (u < acc + rate)
        kind = F.when(cond, F.lit(name)) if kind is None else kind.when(cond, F.lit(name))
        acc += rate
    kind = kind if kind is not None else F.lit(None).cast("string")
    delay = p.batch_secs + randint(0, p.batch_secs, uniform(s, "late:" + source, "_rid"))
    df = records.withColumn("_kind", kind).withColumn(
        "_kind", F.when((F.col("_kind") == "late_event") & (F.col("_event") + delay >= p.end), F.lit(None))
        .otherwise(F.col("_kind")))
    df = df.withColumn("_dup", F.coalesce(F.col("_kind") == "duplicate_event", F.lit(False)))
    df = df.withColumn("_defect", F.when(F.col("_kind") != "duplicate_event", F.col("_kind")))
    field: Column = F.lit(None).cast("string")
    detail: Column = F.lit(None).cast("string")
    if source in C.REQUIRED:
        req = C.REQUIRED[source]
        nf = pick(req, uniform(s, "null_field:" + source, "_rid"))
        field = F.when(F.col("_defect") == "null_required", nf)
        df = df.withColumn("_defect_field", field)
        for f in req:
            df = df.withColumn(f, F.when(F.col("_defect_field") == f, F.lit(None)).otherwise(F.col(f)))
    else:
        df = df.withColumn("_defect_field", field)
    if source in C.UNKNOWN_ENUM:
        f, value = C.UNKNOWN_ENUM[source]
        hit = F.col("_defect") == "unknown_enum"
        df = (df.withColumn("_defect_field", F.when(hit, F.lit(f)).otherwise(F.col("_defect_field")))
              .withColumn("_defect_detail", F.when(hit, F.col(f)).otherwise(detail))
              .withColumn(f, F.when(hit, F.lit(value)).otherwise(F.col(f))))
    else:
        df = df.withColumn("_defect_detail", detail)
    if source in C.AMOUNT_FIELD:
        f = C.AMOUNT_FIELD[source]
        hit = F.col("_defect") == "bad_amount"
        neg = F.when(F.col(f) == "0.00", F.lit("-10.00")).otherwise(F.concat(F.lit("-"), F.col(f)))
        absurd = (F.col(f).try_cast("decimal(18,2)") * 10000 + F.lit(99999)).cast("decimal(18,2)").cast("string")
        bad = F.when(uniform(s, "bad_kind:" + source, "_rid") < 0.5, neg).otherwise(absurd)
        df = (df.withColumn("_defect_field", F.when(hit, F.lit(f)).otherwise(F.col("_defect_field")))
              .withColumn("_defect_detail", F.when(hit, F.col(f)).otherwise(F.col("_defect_detail")))
              .withColumn(f, F.when(hit, bad).otherwise(F.col(f))))
    late = F.col("_defect") == "late_event"
    df = df.withColumn("_event_batch", batch_of(F.col("_event"), p))
    df = df.withColumn("_defect_detail", F.when(late, F.concat(F.lit("event batch "), F.col("_event_batch").cast(
        "string"))).otherwise(F.col("_defect_detail")))
    return df.withColumn("_arrival", F.when(late, F.col("_event") + delay).otherwise(F.col("_arrival")))


def _csv_cell(c: Column) -> Column:
    text = F.coalesce(c.cast("string"), F.lit(""))
    return F.when(text.rlike('[",\\n\\r]'), F.concat(F.lit('"'), F.regexp_replace(text, '"', '""'), F.lit('"')))\
        .otherwise(text)


def csv_header(src: LandingSource) -> str:
    return ",".join(src.fields)


def to_lines(records: DataFrame, *, src: LandingSource, p: WorldParams, n_parts: int,
             drift_field: str | None = None) -> DataFrame:
    """Landing lines of one source: JSON object or CSV row per record, batch by arrival, duplicates copied,
    malformed lines truncated. ``drift_field`` is added to JSON objects from the drift batch on."""
    s = p.seed
    later = uniform(s, "dup_later:" + src.name, "_rid") < 0.3
    shift = F.when(later, p.batch_secs + randint(0, 86400, uniform(s, "dup_shift:" + src.name, "_rid"))).otherwise(
        randint(60, 600, uniform(s, "dup_shift:" + src.name, "_rid")))
    df = records.withColumn("batch", batch_of(F.col("_arrival"), p))
    if src.fmt == "jsonl":
        line = F.to_json(F.struct(*src.fields), {"ignoreNullFields": "false"})
    else:
        line = F.concat_ws(",", *[_csv_cell(F.col(f)) for f in src.fields])
    df = df.withColumn("line", line)
    if drift_field:  # the drift field (plain text values) is appended as the object's last key
        drifted = F.concat(F.expr("substring(line, 1, length(line) - 1)"), F.lit(f',"{drift_field}":'),
                           F.coalesce(F.concat(F.lit('"'), F.col(drift_field), F.lit('"')), F.lit("null")), F.lit("}"))
        df = df.withColumn("line", F.when(F.col("batch") >= p.defects.schema_drift_from_batch, drifted)
                           .otherwise(F.col("line")))
    bad = F.col("_defect") == "malformed_line"
    cut = F.floor(F.length("line") * (F.lit(0.3) + uniform(s, "cut:" + src.name, "_rid") * 0.5)).cast("int")
    df = df.withColumn("line", F.when(bad, F.substring(F.col("line"), F.lit(1), cut)).otherwise(F.col("line")))
    df = df.withColumn("_defect_detail", F.when(bad, F.col("line")).otherwise(F.col("_defect_detail")))
    # a duplicated record lands twice: the copy (``_copy`` = 1) arrives later and carries the defect
    df = df.select("batch", "line", "_rid", "_order_id", "_arrival", "_event_batch", *DEFECT_COLUMNS,
                   F.explode(F.when(F.col("_dup"), F.array(F.lit(0), F.lit(1))).otherwise(F.array(F.lit(0))))
                   .alias("_copy"), shift.alias("_shift"))
    copy = F.col("_copy") == 1
    df = (df.withColumn("_arrival", F.when(copy, F.col("_arrival") + F.col("_shift")).otherwise(F.col("_arrival")))
          .withColumn("batch", F.when(copy, batch_of(F.col("_arrival"), p)).otherwise(F.col("batch")))
          .withColumn("_defect", F.when(copy, F.lit("duplicate_event")).otherwise(F.col("_defect")))
          .withColumn("_defect_detail", F.when(copy, F.concat(F.lit("copy of a line in batch "), F.col(
              "_event_batch").cast("string"))).otherwise(F.col("_defect_detail"))))
    out = df.where(F.col("_arrival") < p.end)
    return out.select(
        F.lit(src.name).alias("source"), "batch",
        F.pmod(F.xxhash64(F.lit(s), F.col("_rid")), F.lit(n_parts)).cast("int").alias("part"),
        F.concat(F.lpad(F.col("_arrival").cast("string"), 12, "0"), F.lit("|"), F.col("_rid"), F.lit("|"),
                 F.col("_copy").cast("string")).alias("sort_key"),
        "line", F.col("_rid").alias("record_key"), F.col("_order_id").alias("order_id"), *DEFECT_COLUMNS,
    )


def with_csv_headers(lines: DataFrame, sources: list[LandingSource]) -> DataFrame:
    """Add a header line (sorted first) to every (source, batch, part) file of the CSV sources."""
    csv = {s.name: csv_header(s) for s in sources if s.fmt == "csv"}
    if not csv:
        return lines
    heads = lines.where(F.col("source").isin(list(csv))).select("source", "batch", "part").distinct().select(
        "source", "batch", "part", F.lit("").alias("sort_key"), lit_map(csv)[F.col("source")].alias("line"),
        F.lit(None).cast("string").alias("record_key"), F.lit(None).cast("string").alias("order_id"),
        *[F.lit(None).cast("string").alias(c) for c in DEFECT_COLUMNS])
    return lines.unionByName(heads)
