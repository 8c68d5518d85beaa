"""Shared machinery of the silver conform transforms: typed parsing that never raises, error tagging.

Each silver table's ``conform(bronze_df, *, ctx)`` is built from the same three steps:
``prepare`` (check the bronze columns, keep the original record as ``_raw``), ``with_fields`` (parse
text into typed columns, naming every failure in ``_errors``) and ``finish`` (select the table's
schema plus the technical columns ``_errors``, ``_raw``, ``_ingested_at``).

Error names in ``_errors``: ``corrupt_record``, ``missing:<col>`` (required value absent),
``cast:<col>`` (text present but not castable), ``unknown_enum:<col>`` (value outside ``ENUMS``),
``invalid:<col>`` (castable but not a valid value, e.g. a currency that is no ISO 4217 code),
``malformed:<col>`` (a nested JSON array that cannot be parsed), ``unknown:<col>`` (a descriptive attribute,
``DESCRIPTIVE``, that could not be conformed: set to null and the row kept — a warning, not a quarantine).
A name of a value that was delivered but not accepted carries that value as delivered, quoted and cut at
``VALUE_CHARS``: ``invalid:ship_country 'European Community'``, ``cast:quantity 'two'`` — whatever the bronze
field was called (``Field.src``), so a reason never depends on the silver name matching the delivered one.
PII fields (``Field.pii``) never quote their value. ``error_code`` gives the name without the value.
"""

from __future__ import annotations

import logging
import zoneinfo
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import reduce

from brandlake.transforms import iso
from brandlake.transforms.landing import SOURCES
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

log = logging.getLogger(__name__)

TECHNICAL_BRONZE_COLUMNS = ("_corrupt_record", "_source_file", "_landing_batch", "_ingested_at", "_run_id")
OUTPUT_TECHNICAL_COLUMNS = ("_errors", "_raw", "_ingested_at")
_CORRUPT = "_is_corrupt"

Parser = Callable[[Column], Column]

# Descriptive attributes: when one cannot be conformed the row is kept with the attribute unknown (null) and
# the error ``unknown:<col>``, which the quality gate counts as a warning instead of quarantining the row.
# Keys, amounts, currencies and timestamps are never here: a row with one of those untrusted is quarantined.
DESCRIPTIVE = frozenset({
    "country", "ship_country", "home_country", "destination_country", "province", "ship_province", "city",
    "ship_city", "device", "device_type", "channel", "gender",
})
UNKNOWN_PREFIX = "unknown:"
VALUE_CHARS = 80  # a delivered value quoted in an error is cut here (a 5 MB line stays out of the reasons)

UNKNOWN_ATTRIBUTES = "unknown_attributes"
UNKNOWN_ATTRIBUTES_TYPE = T.ArrayType(T.StructType([
    T.StructField("attribute", T.StringType(), True), T.StructField("delivered_value", T.StringType(), True),
]))
"""The published flag of a row whose descriptive attributes were left unknown: one element per attribute,
with the value as delivered (null: none left unknown)."""


class BronzeSchemaError(ValueError):
    """A bronze frame handed to a conform transform lacks columns the landing contract promises."""


@dataclass(frozen=True)
class ConformContext:
    pii_key: str                   # secret key for keyed hashes (job reads it from the environment)
    reporting_currency: str
    platform_timezones: dict[str, str] | None = None  # platform_id -> IANA tz (job loads from silver platforms); None = UTC


def extend(schema: T.StructType, *fields: tuple[str, T.DataType, bool]) -> T.StructType:
    """``schema`` with ``fields`` appended at the end (silver may carry more than gold relies on)."""
    return T.StructType(list(schema.fields) + [T.StructField(n, t, nullable) for n, t, nullable in fields])


def struct_schema(*fields: tuple[str, T.DataType, bool]) -> T.StructType:
    return T.StructType([T.StructField(n, t, nullable) for n, t, nullable in fields])


# ---------------------------------------------------------------------------------------------------
# Column -> Column parsers. Each returns null for blank input and never raises under ANSI mode.


def blank(col: Column) -> Column:
    return col.isNull() | (F.trim(col) == "")


def text(col: Column) -> Column:
    return F.when(~blank(col), F.trim(col))


def lower(col: Column) -> Column:
    return F.lower(text(col))


def upper(col: Column) -> Column:
    return F.upper(text(col))


def timestamp(col: Column) -> Column:
    """ISO-8601 text → UTC TIMESTAMP. An offset (``+08:00``, ``Z``) is honoured; text without one is UTC.

    Text without an offset gets ``Z`` appended so the result does not depend on the session time zone.
    """
    s = F.upper(text(col))
    has_zone = s.rlike(r":\d{2}(\.\d+)?\s*(Z|UTC|GMT|[+-]\d{1,2}(:?\d{2})?)$")
    date_only = s.rlike(r"^\d{4}-\d{1,2}-\d{1,2}$")
    utc_text = (
        F.when(has_zone, s)
        .when(date_only, F.concat(s, F.lit("T00:00:00Z")))
        .otherwise(F.concat(s, F.lit("Z")))
    )
    return utc_text.try_cast(T.TimestampType())


def date(col: Column) -> Column:
    return text(col).try_cast(T.DateType())


def decimal(precision: int, scale: int) -> Parser:
    """Decimal text → DECIMAL(precision, scale); extra decimals are rounded half-up by the cast."""
    def parse(col: Column) -> Column:
        return text(col).try_cast(T.DecimalType(precision, scale))
    return parse


money = decimal(18, 2)


def integer(col: Column) -> Column:
    """Integral text (``"3"``, ``"3.0"``) → INT; ``"3.5"`` or an out-of-range value → null."""
    d = text(col).try_cast(T.DecimalType(38, 6))
    return F.when((d == F.floor(d)) & d.between(-(2**31), 2**31 - 1), d.try_cast(T.IntegerType()))


_TRUE = ("true", "t", "1", "yes", "y")
_FALSE = ("false", "f", "0", "no", "n")


def boolean(col: Column) -> Column:
    s = lower(col)
    return F.when(s.isin(*_TRUE), F.lit(True)).when(s.isin(*_FALSE), F.lit(False))


def _map_literal(mapping: Mapping[str, str]) -> Column:
    pairs = [F.lit(x) for kv in sorted(mapping.items()) for x in kv]
    return F.create_map(*pairs)


def mapped(col: Column, mapping: Mapping[str, str]) -> Column:
    """``mapping[col]`` when present, else ``col`` itself."""
    if not mapping:
        return col
    return F.coalesce(F.try_element_at(_map_literal(mapping), col), col)


def enum(synonyms: Mapping[str, str] | None = None) -> Parser:
    """Lower-case, trimmed, spaces/hyphens → ``_``, then obvious synonyms mapped to the canonical value."""
    def parse(col: Column) -> Column:
        s = F.regexp_replace(lower(col), r"[\s\-]+", "_")
        return mapped(s, synonyms or {})
    return parse


CURRENCY_ALIASES = {"RMB": "CNY", "￥": "CNY", "¥": "CNY", "US$": "USD"}


def currency(col: Column) -> Column:
    """Upper-case ISO 4217 code; ``RMB`` → ``CNY`` (``is_currency_code`` rejects what is none)."""
    return mapped(upper(col), CURRENCY_ALIASES)


is_currency_code = iso.is_currency_code
is_country_code = iso.is_country_code


# Spellings platforms and retailers write that no standard knows; everything else (alpha-3 codes, English
# short, common and official names) resolves through ISO 3166 (transforms/iso.py). A name neither resolves
# is kept and tagged invalid:<col>; an import source maps its own regions in its mapping's value_maps.
COUNTRY_ALIASES = {"PRC": "CN", "中国": "CN", "UK": "GB", "KOREA": "KR", "EIRE": "IE", "RSA": "ZA"}


def country(col: Column) -> Column:
    """ISO 3166 alpha-2 code for a code or name (``"China"``, ``"CHN"``, ``"uk"`` -> CN, CN, GB); a name
    that resolves to none is returned upper-cased, for ``is_country_code`` to reject."""
    return F.coalesce(iso.country_code(col, aliases=COUNTRY_ALIASES), iso.normalized_name(col))


VALID_TIMEZONES = frozenset(zoneinfo.available_timezones())


def is_timezone(col: Column) -> Column:
    return col.isin(*sorted(VALID_TIMEZONES)) | col.rlike(r"^(UTC|GMT)?[+-]\d{2}:\d{2}$")


def json_text(col: Column) -> Column:
    return text(col)


def positive(col: Column) -> Column:
    return col > 0


# ---------------------------------------------------------------------------------------------------
# Time zones


def usable_timezones(platform_timezones: Mapping[str, str] | None) -> dict[str, str]:
    """The platform → tz map without entries Spark would reject (those platforms fall back to UTC)."""
    good = {}
    for platform, tz in (platform_timezones or {}).items():
        if tz in VALID_TIMEZONES:
            good[platform] = tz
        else:
            log.warning("platform %s has unknown time zone %r; its local dates use UTC", platform, tz)
    return good


def local_date(ts: Column, platform: Column, platform_timezones: Mapping[str, str] | None) -> Column:
    """The calendar date of UTC instant ``ts`` in the platform's time zone (UTC when unknown).

    ``from_utc_timestamp`` shifts the instant by the zone's offset; the date is then taken from the
    epoch micros, so the result does not depend on the session time zone.
    """
    tzs = usable_timezones(platform_timezones)
    if not tzs:
        shifted = ts
    else:
        tz = F.coalesce(F.try_element_at(_map_literal(tzs), platform), F.lit("UTC"))
        shifted = F.from_utc_timestamp(ts, tz)
    return F.date_from_unix_date(F.floor(F.unix_micros(shifted) / F.lit(86_400_000_000)).cast("int"))


# ---------------------------------------------------------------------------------------------------
# Frame steps


@dataclass(frozen=True)
class Field:
    """How one output column is parsed from a bronze column (or a nested path like ``_line.quantity``)."""

    name: str
    parse: Parser = text
    src: str | None = None
    allowed: tuple[str, ...] | None = None          # enum values; others → unknown_enum:<name>
    valid: Callable[[Column], Column] | None = None  # predicate on the parsed value; false → invalid:<name>
    required: bool | None = None                    # default: the schema column is not nullable
    pii: bool = False                               # raw PII (phone, address): never quoted in an error

    @property
    def source(self) -> str:
        return self.src or self.name


def require_columns(df: DataFrame, needed: Sequence[str], what: str) -> None:
    missing = [c for c in needed if c not in df.columns]
    if missing:
        raise BronzeSchemaError(f"{what} lacks column(s) {missing}; found {df.columns}")


def prepare(
    bronze: DataFrame,
    *,
    source: str,
    optional: Sequence[str] = (),
    redact: Mapping[str, Parser] | None = None,
) -> DataFrame:
    """Check the bronze columns, add ``_raw`` (the record as JSON, PII redacted), an empty ``_errors``.

    ``optional`` fields (schema drift) that are absent become null text. ``redact`` maps a PII column
    to a Column → Column function whose result replaces the value inside ``_raw``; every PII field of the source
    (``LandingSource.pii``) must have one, whichever silver table is conformed from it, since ``_raw`` reaches
    the quarantine tables in silver. A corrupt record's text keeps its PII fields' names, their values
    replaced by ``REDACTED`` (``redact_json_fields``).
    """
    require_columns(bronze, [*SOURCES[source].fields, *TECHNICAL_BRONZE_COLUMNS], f"bronze {source}")
    redact = redact or {}
    pii = SOURCES[source].pii
    unredacted = [c for c in pii if c not in redact]
    if unredacted:
        raise ValueError(f"conform of bronze {source}: PII field(s) {unredacted} must be redacted in _raw")
    redact = {**redact, "_corrupt_record": lambda c: redact_json_fields(c, pii)} if pii else redact
    # each redacted value a column of its own (``redacted(c)``), so a field published as the same hash reads it
    # instead of computing it again
    bronze = bronze.withColumns({f"{REDACTED_PREFIX}{c}": redact[c](F.col(c)) for c in redact if c in bronze.columns})
    raw = F.to_json(F.struct(*[
        redacted(c).alias(c) if c in redact else F.col(c) for c in bronze.columns if not c.startswith(REDACTED_PREFIX)
    ]))
    df = bronze.withColumns({
        "_raw": raw,
        _CORRUPT: F.col("_corrupt_record").isNotNull(),
        "_errors": F.array().cast(T.ArrayType(T.StringType())),
    })
    absent = {c: F.lit(None).cast(T.StringType()) for c in optional if c not in bronze.columns}
    return df.withColumns(absent) if absent else df


REDACTED = "[redacted]"
PARSED_PREFIX, REDACTED_PREFIX = "_parsed:", "_redacted:"


def redacted(column: str) -> Column:
    """The value ``prepare`` put in ``_raw`` for the PII column ``column`` (its ``redact`` function's result)."""
    return F.col(f"{REDACTED_PREFIX}{column}")


def redact_value(col: Column) -> Column:
    """``REDACTED`` where a value was delivered, else null: for a PII field a table does not publish."""
    return F.when(col.isNotNull(), F.lit(REDACTED))


def redact_json_fields(text: Column, fields: Sequence[str]) -> Column:
    """JSON text (possibly cut short or otherwise malformed) with the values of ``fields`` replaced by
    ``"REDACTED"``: a string (also one the text ends inside) or a bare token such as a number; everything else
    as it was."""
    names = "|".join(fields)
    value = r'(?:"(?:[^"\\]|\\.)*(?:"|\\?$)|[^,}\]\s"]+)'
    return F.regexp_replace(text, rf'"({names})"(\s*:\s*){value}', rf'"$1"$2"{REDACTED}"')


def _json_string(col: Column) -> Column:
    """``col`` as a JSON string literal, escaped as ``to_json`` escapes it inside ``_raw`` (quotes included)."""
    return F.regexp_extract(F.to_json(F.struct(col.alias("v"))), r'^\{"v":(.*)\}$', 1)


def redact_written_record(record: Column, fields: Sequence[str]) -> Column:
    """A ``_raw`` written before its source's PII ``fields`` were redacted (a quarantine's ``raw_record``), as
    ``prepare`` writes it now for a table that publishes none of them: each field delivered as such carries
    ``REDACTED`` (a keyed hash, 64 hex characters, is left: that record was redacted already), and a corrupt
    record's text has their values replaced (``redact_json_fields``). A record with nothing to redact is
    returned as it is; the replacement is of the exact escaped text, so the rest stays byte for byte."""
    out = record
    for name in fields:
        value = F.get_json_object(record, f"$.{name}")
        leaked = value.isNotNull() & ~value.rlike("^[0-9a-f]{64}$") & (value != F.lit(REDACTED))
        out = F.when(leaked, F.replace(out, F.concat(F.lit(f'"{name}":'), _json_string(value)),
                                       F.lit(f'"{name}":"{REDACTED}"'))).otherwise(out)
    # (not from_json: it keeps a field named _corrupt_record for its own use and leaves it null)
    text = F.get_json_object(record, "$._corrupt_record")
    cleaned = redact_json_fields(text, fields)
    return F.when(text.isNotNull() & (text != cleaned),
                  F.replace(out, F.concat(F.lit('"_corrupt_record":'), _json_string(text)),
                            F.concat(F.lit('"_corrupt_record":'), _json_string(cleaned)))).otherwise(out)


def errors_if(*pairs: tuple[Column, str | Column]) -> Column:
    """ARRAY<STRING> of the names whose condition holds (null conditions count as false)."""
    if not pairs:
        return F.array().cast(T.ArrayType(T.StringType()))
    tagged = [F.when(F.coalesce(cond, F.lit(False)), name if isinstance(name, Column) else F.lit(name))
              for cond, name in pairs]
    return F.filter(F.array(*tagged), lambda x: x.isNotNull())


def with_errors(df: DataFrame, *pairs: tuple[Column, str | Column]) -> DataFrame:
    """Append the names of the conditions that hold to ``_errors``."""
    return df.withColumn("_errors", F.concat(F.col("_errors"), errors_if(*pairs)))


def error_code(error: Column) -> Column:
    """``invalid:ship_country 'European Community'`` -> ``invalid:ship_country`` (the name without the value)."""
    return F.split(error, " ", 2).getItem(0)


def _with_value(name: str, raw: Column, *, pii: bool) -> Column | str:
    """The error ``name`` followed by the delivered value, quoted (PII: the name alone)."""
    if pii:
        return name
    return F.concat(F.lit(f"{name} '"), F.substring(raw.cast(T.StringType()), 1, VALUE_CHARS), F.lit("'"))


def with_fields(df: DataFrame, fields: Sequence[Field], *, schema: T.StructType) -> DataFrame:
    """Add each field's typed column (replacing a bronze column of the same name) and tag failures, each
    with the value as delivered in the field's source column (``cast:quantity 'two'``)."""
    # parsed first, each into a column of its own: the checks below then read the parsed value instead of
    # parsing again (Spark does not share an expression between the columns of one select; a keyed hash of a
    # normalized phone was computed three times per row)
    parsed = {f.name: f"{PARSED_PREFIX}{f.name}" for f in fields}
    staged = df.select("*", *[f.parse(F.col(f.source)).alias(parsed[f.name]) for f in fields])
    values: dict[str, Column] = {}
    checks: list[tuple[Column, str | Column]] = []
    for f in fields:
        raw = F.col(f.source)
        value = F.col(parsed[f.name])
        values[f.name] = value
        required = f.required if f.required is not None else (
            f.name in schema.fieldNames() and not schema[f.name].nullable
        )
        if required:
            checks.append((blank(raw), f"missing:{f.name}"))
        bad = [(~blank(raw) & value.isNull(), f"cast:{f.name}")]
        if f.allowed is not None:
            bad.append((value.isNotNull() & ~value.isin(*f.allowed), f"unknown_enum:{f.name}"))
        if f.valid is not None:
            bad.append((value.isNotNull() & ~f.valid(value), f"invalid:{f.name}"))
        if f.name in DESCRIPTIVE and not required:
            # a descriptive attribute that cannot be conformed costs only itself: unknown (null), tagged
            # unknown:<col> (a warning), and the row - its money - is kept
            unconformable = reduce(lambda a, b: a | b, [F.coalesce(c, F.lit(False)) for c, _ in bad])
            values[f.name] = F.when(~unconformable, value)
            checks.append((unconformable, _with_value(f"{UNKNOWN_PREFIX}{f.name}", raw, pii=f.pii)))
        else:
            checks += [(c, _with_value(name, raw, pii=f.pii)) for c, name in bad]
    kept = [F.col(c) for c in df.columns if c not in values and c != "_errors"]
    new_errors = F.concat(F.col("_errors"), errors_if(*checks))
    return staged.select(*kept, *[v.alias(n) for n, v in values.items()], new_errors.alias("_errors"))


def has_descriptive(schema: T.StructType) -> bool:
    """Whether rows of ``schema`` can have a descriptive attribute left unknown (and so carry the flag)."""
    return any(f.name in DESCRIPTIVE and f.nullable for f in schema.fields)


def with_unknown_attributes(df: DataFrame) -> DataFrame:
    """Add ``unknown_attributes`` from ``_errors``: each ``unknown:<col> '<value>'`` as (attribute, delivered
    value); null when the row left no attribute unknown. The published flag of a kept row (docs/contracts.md)."""
    unknown = F.filter(F.col("_errors"), lambda e: e.startswith(UNKNOWN_PREFIX))

    def element(e: Column) -> Column:
        return F.struct(
            F.regexp_extract(e, r"^unknown:([^ ]+)", 1).alias("attribute"),
            F.nullif(F.regexp_extract(e, r"(?s)^unknown:[^ ]+ '(.*)'$", 1), F.lit("")).alias("delivered_value"),
        )

    flag = F.when(F.size(unknown) > 0, F.transform(unknown, element)).cast(UNKNOWN_ATTRIBUTES_TYPE)
    return df.withColumn(UNKNOWN_ATTRIBUTES, flag)


def finish(df: DataFrame, schema: T.StructType) -> DataFrame:
    """The schema's columns in order (types as declared, nullability relaxed) plus the technical columns.

    A corrupt bronze row carries exactly ``["corrupt_record"]``; other error lists are de-duplicated.
    """
    require_columns(df, schema.fieldNames(), "conformed frame")
    cols = []
    for f in schema.fields:
        c = F.col(f.name)
        cols.append((c if df.schema[f.name].dataType == f.dataType else c.try_cast(f.dataType)).alias(f.name))
    errors = (
        F.when(F.col(_CORRUPT), F.array(F.lit("corrupt_record")))
        .otherwise(F.array_distinct(F.col("_errors")))
    )
    return df.select(*cols, errors.alias("_errors"), "_raw", "_ingested_at")


def conform_simple(
    bronze: DataFrame,
    *,
    source: str,
    fields: Sequence[Field],
    schema: T.StructType,
    derived: Mapping[str, Column] | None = None,
    optional: Sequence[str] = (),
    redact: Mapping[str, Parser] | None = None,
) -> DataFrame:
    """prepare → with_fields → derived columns (expressions over the typed fields) → finish."""
    df = prepare(bronze, source=source, optional=optional, redact=redact)
    df = with_fields(df, fields, schema=schema)
    if derived:
        df = df.withColumns(dict(derived))
    return finish(df, schema)
