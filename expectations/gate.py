"""The quality gate: evaluate a table's contract in one pass and route rows by rule severity.

``warn`` keeps a failing row and counts it; ``quarantine`` moves it to ``<table>_quarantine`` with the
names of the rules it broke and its raw record; ``fail`` blocks publishing (DataQualityError).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from functools import reduce

from brandlake.expectations.rules import Rule
from brandlake.expectations.suites import CONFORM_RULE
from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

from brandlake.config import ConfigError, DqConfig
from brandlake.errors import DataHeldBackError

log = logging.getLogger(__name__)

FAILED_RULES = "_failed_rules"
IS_QUARANTINED = "_is_quarantined"
REASONS = "_reasons"
UNKNOWN = "unknown:"  # transforms.silver.common.UNKNOWN_PREFIX (expectations do not import transforms)
_VALUE_CHARS = 80  # a delivered value quoted in a reason is cut here


def with_reasons(df: DataFrame) -> DataFrame:
    """Add ``_reasons ARRAY<STRING>``: each conform error with the delivered value of its column
    (``invalid:ship_country 'European Community'``, ``cast:amount 'abc'``; ``missing:<col>`` as it is), then
    every other rule the row broke (``unique_grain``, ...). A corrupt record has the one reason ``corrupt_record``.

    Conform (transforms/silver/common.py ``with_fields``) quotes the value as delivered, whatever the bronze
    field was called; an error that comes without one (``malformed:lines``, a table's own conform) gets the
    value of the same-named field of ``_raw`` when there is one."""
    errors = F.coalesce(F.col("_errors"), F.array().cast("array<string>")) if "_errors" in df.columns \
        else F.array().cast("array<string>")
    raw = F.col("_raw") if "_raw" in df.columns else F.lit(None).cast("string")
    record = F.try_variant_get(F.try_parse_json(raw), "$", "map<string,string>")

    def with_value(e: Column) -> Column:
        column = F.split(e, ":", 2).getItem(1)
        value = F.try_element_at(record, column)
        quoted = F.concat(F.lit(" '"), F.substring(value, 1, _VALUE_CHARS), F.lit("'"))
        shown = ~e.contains(" ") & ~e.startswith("missing:") & (e != "corrupt_record") & value.isNotNull()
        return F.when(shown, F.concat(e, quoted)).otherwise(e)

    others = F.filter(F.coalesce(F.col(FAILED_RULES), F.array().cast("array<string>")),
                      lambda r: r != CONFORM_RULE)
    # a corrupt record broke every other rule only because nothing in it could be read: its one reason
    corrupt = F.coalesce(F.array_contains(errors, "corrupt_record"), F.lit(False))
    reasons = F.when(corrupt, F.array(F.lit("corrupt_record"))).otherwise(
        F.concat(F.transform(errors, with_value), others))
    return df.withColumn(REASONS, reasons)

DQ_RESULTS = T.StructType([
    T.StructField("run_id", T.StringType(), False),
    T.StructField("table_name", T.StringType(), False),
    T.StructField("rule", T.StringType(), False),
    T.StructField("severity", T.StringType(), False),
    T.StructField("checked_count", T.LongType(), False),
    T.StructField("unexpected_count", T.LongType(), False),
    T.StructField("passed", T.BooleanType(), False),
    T.StructField("evaluated_at", T.TimestampType(), False),
])
"""One row per run × silver table × rule."""

DQ_REASONS = T.StructType([
    T.StructField("run_id", T.StringType(), False),
    T.StructField("table_name", T.StringType(), False),
    T.StructField("outcome", T.StringType(), False),   # quarantine | warn
    T.StructField("reason", T.StringType(), False),    # invalid:ship_country, corrupt_record, unique_grain, ...
    T.StructField("row_count", T.LongType(), False),
])
"""Silver ``dq_reasons``. One row per run × silver table × outcome × reason (dq_results' companion, per column)."""

DQ_RESULTS_KEYS = ("run_id", "table_name", "rule")


class DataQualityError(DataHeldBackError):
    """A rule with severity ``fail`` found unexpected rows; the table was not published (exit 3)."""


@dataclass(frozen=True)
class RuleResult:
    table_name: str
    rule: str
    severity: str
    checked_count: int
    unexpected_count: int

    @property
    def passed(self) -> bool:
        return self.unexpected_count == 0

    def as_dict(self) -> dict:
        return {**asdict(self), "passed": self.passed}


# --------------------------------------------------------------------------------------------------
# Severities: declared by the contract, overridden by config


def severities_for(dq: DqConfig, table: str, rules: Sequence[Rule], *, keys: Sequence[str]) -> dict[str, str]:
    """Each rule's severity: the contract's default unless ``dq.severities[table]`` overrides it.

    An override naming a rule the contract does not have is a ConfigError naming it (a typo would
    otherwise change nothing, silently). Rules that guard the MERGE grain (uniqueness, conform,
    not-null on a key column) cannot be ``warn``: a kept row would give the MERGE two rows for one key.
    """
    overrides = dq.severities.get(table, {})
    names = [r.name for r in rules]
    unknown = sorted(set(overrides) - set(names))
    if unknown:
        raise ConfigError(
            f"dq.severities.{table} names rule(s) {unknown} that the {table} contract does not have; "
            f"its rules: {names}"
        )
    out = {r.name: overrides.get(r.name, r.severity) for r in rules}
    guards = {r.name for r in rules if r.kind in ("unique", "conform")}
    guards |= {f"not_null_{k}" for k in keys} & set(names)
    warned = sorted(n for n in guards if out[n] == "warn")
    if warned:
        raise ConfigError(
            f"dq.severities.{table}: rule(s) {warned} guard the table's grain and cannot be 'warn'; "
            "use quarantine or fail"
        )
    return out


# --------------------------------------------------------------------------------------------------
# Evaluation


def _all(cols: Sequence[Column]) -> Column:
    return reduce(lambda a, b: a & b, cols)


def _readable(has_errors: bool = True) -> Column:
    """The row is no corrupt record (something in it could be read)."""
    return ~F.coalesce(F.array_contains("_errors", "corrupt_record"), F.lit(False)) if has_errors else F.lit(True)


def breaks_held_rules(rules: Sequence[Rule], severities: Mapping[str, str], *,
                      columns: Sequence[str] | None = None, has_errors: bool = True) -> Column:
    """True (never null) where a row breaks a row rule (not-null, range, set, pattern) of severity ``quarantine``.

    The gate quarantines such a row whatever else its batch holds, so it must not decide which version of
    a key is the latest (``transforms.dedupe.with_dedupe_flags``' ``held``), nor count towards uniqueness:
    otherwise what silver publishes would depend on where micro-batches split. ``columns``: only the rules
    on these columns (a frame before every column is derived); ``has_errors``: the frame has ``_errors``.
    """
    present, readable = None if columns is None else set(columns), _readable(has_errors)
    failing = [readable & r.failing() for r in rules
               if r.kind == "row" and severities[r.name] == "quarantine"
               and (present is None or set(r.columns) <= present)]
    return F.coalesce(reduce(lambda a, b: a | b, failing), F.lit(False)) if failing else F.lit(False)


def with_failed_rules(df: DataFrame, *, rules: Sequence[Rule], parents: Mapping[str, DataFrame],
                      held: Column | None = None, tied: Column | None = None, grain: Sequence[str] = ()) -> DataFrame:
    """Add ``_failed_rules ARRAY<STRING>``: the rules each row breaks, in suite order.

    Uniqueness counts only rows without conform errors whose key is not entirely null (as GX ignores
    rows with all key values missing), and not the rows ``held`` marks (``breaks_held_rules``: quarantined
    for their own reason, they do not also take a valid version of their key with them). Rows ``tied`` on
    the version of their ``grain`` key (``transforms.dedupe.with_dedupe_flags``) break the uniqueness rule on
    ``grain`` whatever else the batch holds, and are not counted against the key's other rows either.
    A reference is checked only where every child column is set.
    A corrupt record (nothing in it could be read) breaks only the conform rule: it is not also counted
    against every not-null, range or reference rule of the table. ``parents`` maps a referenced table name
    to its current rows.
    """
    out = df
    helpers: list[str] = []
    flags: list[tuple[str, Column]] = []
    has_errors = "_errors" in df.columns
    clean = F.coalesce(~F.exists("_errors", lambda e: ~e.startswith(UNKNOWN)), F.lit(True)) if has_errors else F.lit(True)
    if held is not None:
        clean = clean & ~held
    on_grain = [i for i, r in enumerate(rules) if r.kind == "unique" and set(r.columns) == set(grain)]
    if tied is not None and not on_grain:
        raise ValueError(f"tied rows given, but no uniqueness rule on the grain {list(grain)} to quarantine them")
    readable = _readable(has_errors)
    for i, r in enumerate(rules):
        if r.kind == "row":
            flags.append((r.name, readable & r.failing()))
        elif r.kind == "conform":  # unknown:<col> (a descriptive attribute left unknown) is only a warning
            flags.append((r.name, F.coalesce(F.exists("_errors", lambda e: ~e.startswith(UNKNOWN)), F.lit(False))))
        elif r.kind == "unique":
            counted = clean & ~_all([F.col(c).isNull() for c in r.columns])
            ties = F.coalesce(tied, F.lit(False)) if tied is not None and i in on_grain else None
            if ties is not None:
                counted = counted & ~ties
            name = f"__unique_{i}"
            out = out.withColumn(name, F.sum(F.when(counted, 1).otherwise(0)).over(Window.partitionBy(*r.columns)))
            helpers.append(name)
            broken = counted & (F.col(name) > 1)
            flags.append((r.name, broken if ties is None else broken | ties))
        elif r.kind == "reference":
            if r.ref_table not in parents:
                raise KeyError(f"rule {r.name!r} references silver table {r.ref_table!r}, which was not given")
            aliases = [f"__ref_{i}_{j}" for j in range(len(r.ref_columns))]
            found = f"__ref_{i}_found"
            parent = (
                parents[r.ref_table].select(*[F.col(p).alias(a) for (_, p), a in zip(r.ref_columns, aliases, strict=True)])
                .dropDuplicates().withColumn(found, F.lit(True))
            )
            on = _all([F.col(c) == F.col(a) for (c, _), a in zip(r.ref_columns, aliases, strict=True)])
            out = out.join(parent, on=on, how="left")
            helpers += [*aliases, found]
            present = readable & _all([F.col(c).isNotNull() for c, _ in r.ref_columns])
            flags.append((r.name, present & F.col(found).isNull()))
    failed = F.filter(F.array(*[F.when(pred, F.lit(name)) for name, pred in flags]), lambda x: x.isNotNull())
    return out.withColumn(FAILED_RULES, failed).drop(*helpers)


def with_record_hash(quarantined: DataFrame, *, keys: Sequence[str], apart: Sequence[str] = ()) -> DataFrame:
    """``record_hash``, the identity of a quarantined record: a replayed batch (even under a new run id) adds
    nothing. The occurrence number keeps identical records (two identical junk lines of one batch) apart;
    ``apart`` columns (e.g. ``run_id``) separate batches when hashing a whole quarantine table again."""
    ident_cols = [*[F.col(k) for k in keys if k in quarantined.columns], F.col("failed_rules"), F.col("raw_record")]
    by = [*ident_cols, *[F.col(c) for c in apart]]
    occurrence = F.row_number().over(Window.partitionBy(*by).orderBy(F.lit(1)))
    ident = F.to_json(F.struct(*ident_cols, occurrence.alias("occurrence")))
    return quarantined.withColumn("record_hash", F.sha2(ident, 256))


@dataclass
class GateResult:
    """The gated rows (persisted; call ``release`` when done) and one result per rule."""

    table_name: str
    rows: DataFrame
    results: list[RuleResult]
    checked_count: int
    quarantined_count: int

    @property
    def published_count(self) -> int:
        return self.checked_count - self.quarantined_count

    def failures(self) -> list[RuleResult]:
        return [r for r in self.results if r.severity == "fail" and not r.passed]

    def raise_if_failed(self) -> None:
        failed = self.failures()
        if failed:
            detail = "; ".join(f"rule {r.rule}: {r.unexpected_count} of {r.checked_count} rows" for r in failed)
            raise DataQualityError(
                f"silver table {self.table_name} not published: severity 'fail' rule(s) broken — {detail}"
            )

    def publishable(self, columns: Sequence[str]) -> DataFrame:
        return self.rows.filter(~F.col(IS_QUARANTINED)).select(*columns)

    def quarantined(self, *, keys: Sequence[str], run_id: str, at: dt.datetime) -> DataFrame:
        """Quarantine rows: keys, failed_rules, reasons, run_id, quarantined_at, raw_record, record_hash.

        ``reasons``: what was wrong, per column, with the delivered value (``invalid:ship_country
        'European Community'``), then the other rules broken; see ``with_reasons``.
        """
        raw = F.col("_raw") if "_raw" in self.rows.columns else F.lit(None).cast("string")
        q = self.rows.filter(F.col(IS_QUARANTINED)).transform(with_reasons).select(
            *[F.col(k) for k in keys if k in self.rows.columns],
            F.col(FAILED_RULES).alias("failed_rules"),
            F.col(REASONS).alias("reasons"),
            F.lit(run_id).alias("run_id"),
            F.lit(at).cast("timestamp").alias("quarantined_at"),
            raw.alias("raw_record"),
        )
        return with_record_hash(q, keys=keys)

    def reason_counts(self) -> dict[str, dict[str, int]]:
        """{"quarantine": {reason code: rows}, "warn": {...}}: quarantined rows by each reason they carry,
        and published rows by each warn rule they broke or attribute left unknown (``unknown:<col>``)."""
        reasons = F.transform(F.col(REASONS), lambda r: F.split(r, " ", 2).getItem(0))
        errors = F.coalesce(F.col("_errors"), F.array().cast("array<string>")) if "_errors" in self.rows.columns \
            else F.array().cast("array<string>")
        unknown = F.transform(F.filter(errors, lambda e: e.startswith(UNKNOWN)), lambda e: F.split(e, " ", 2).getItem(0))
        warned = F.concat(F.col(FAILED_RULES), unknown)
        rows = (
            self.rows.transform(with_reasons)
            .select(F.when(F.col(IS_QUARANTINED), "quarantine").otherwise("warn").alias("kind"),
                    F.explode(F.when(F.col(IS_QUARANTINED), reasons).otherwise(warned)).alias("reason"))
            .groupBy("kind", "reason").count().collect()
        )
        out: dict[str, dict[str, int]] = {"quarantine": {}, "warn": {}}
        for r in rows:
            out[r["kind"]][r["reason"]] = int(r["count"])
        return out

    def release(self) -> None:
        self.rows.unpersist()


def gate(
    df: DataFrame,
    *,
    table: str,
    rules: Sequence[Rule],
    severities: Mapping[str, str],
    parents: Mapping[str, DataFrame],
    tied: Column | None = None,
    grain: Sequence[str] = (),
) -> GateResult:
    """Evaluate every rule on ``df`` (one pass for row rules, one aggregation for all counts). ``tied`` and
    ``grain``: see ``with_failed_rules``."""
    quarantine_rules = [r.name for r in rules if severities[r.name] == "quarantine"]
    held = breaks_held_rules(rules, severities, has_errors="_errors" in df.columns)
    flagged = with_failed_rules(df, rules=rules, parents=parents, held=held, tied=tied, grain=grain)
    to_quarantine = (
        F.arrays_overlap(F.col(FAILED_RULES), F.array(*[F.lit(n) for n in quarantine_rules]))
        if quarantine_rules else F.lit(False)
    )
    flagged = flagged.withColumn(IS_QUARANTINED, F.coalesce(to_quarantine, F.lit(False))).persist()
    counts = flagged.agg(
        F.count(F.lit(1)).alias("checked"),
        F.sum(F.col(IS_QUARANTINED).cast("long")).alias("quarantined"),
        *[F.sum(F.array_contains(FAILED_RULES, r.name).cast("long")).alias(f"r{i}") for i, r in enumerate(rules)],
    ).first()
    checked = int(counts["checked"])
    results = [
        RuleResult(table, r.name, severities[r.name], checked, int(counts[f"r{i}"] or 0))
        for i, r in enumerate(rules)
    ]
    for r in results:
        if not r.passed:
            log.log(logging.ERROR if r.severity == "fail" else logging.WARNING,
                    "dq %s.%s (%s): %d of %d rows unexpected", table, r.rule, r.severity,
                    r.unexpected_count, r.checked_count)
    return GateResult(table, flagged, results, checked, int(counts["quarantined"] or 0))


def results_frame(
    spark: SparkSession, results: Sequence[RuleResult], *, run_id: str, evaluated_at: dt.datetime
) -> DataFrame:
    rows = [
        (run_id, r.table_name, r.rule, r.severity, r.checked_count, r.unexpected_count, r.passed, evaluated_at)
        for r in results
    ]
    return spark.createDataFrame(rows, DQ_RESULTS)
