"""`brandlake silver`: conform new bronze rows into typed silver tables behind data-quality gates.

Per silver table, parents first (independent tables side by side, ``run.parallel_writes`` at a time): bronze
rows appended since the last run (Delta streaming checkpoint
under ``<lake.checkpoints>/silver/<table>``) → conform → flag exact duplicates and superseded versions
→ gate (expectations/) → quarantine, MERGE into ``<lake.silver>/<table>`` (never rolling a key back to
an older version) → ``dq_results``.

Accounting, per table in the run summary (``tables["silver.<table>"]``), in the SILVER grain:
``rows_read = rows_written + rows_quarantined + rows_duplicate`` where rows_read is the rows conform
produced from the bronze rows read (one order event explodes into several order_lines; the bronze
count itself is ``bronze_rows_read``), rows_written the rows the MERGE inserted or updated, and
rows_duplicate the exact duplicates, versions superseded within the batch, and rows the MERGE left
out because the table already held a newer version of the key.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import hmac
import logging
import os
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from brandlake.transforms.dedupe import IS_EXACT_DUP, IS_SUPERSEDED, IS_TIED, has_errors, with_dedupe_flags
from brandlake.transforms.fx import with_reporting_amounts
from brandlake.transforms.schemas import SILVER_FX_RATES
from brandlake.transforms.silver.registry import published_schema
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from brandlake import tables
from brandlake.config import Config, ConfigError
from brandlake.errors import UsageError
from brandlake.runtime import JobContext
from brandlake.session import materialize, release

if TYPE_CHECKING:  # the contracts load Great Expectations (seconds); `brandlake silver --help` must not
    from brandlake.expectations.gate import RuleResult
    from brandlake.expectations.rules import Rule
    from great_expectations.core import ExpectationSuite

log = logging.getLogger(__name__)

# Built first: later tables' conform needs platform time zones.
FIRST = ("platforms",)
FX_TABLE = "fx_rates"
CONFORM_EXTRAS = ("_errors", "_raw", "_ingested_at")


class AccountingError(RuntimeError):
    """A batch's rows do not add up (e.g. a corrupt bronze row that silver did not quarantine)."""




def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--tables", default=None,
                   help="comma-separated silver tables to build (default: all, in dependency order)")


def run(ctx: JobContext, args: argparse.Namespace) -> None:
    from brandlake.transforms.silver.registry import SILVER_TABLES, ConformContext

    specs = select_tables(SILVER_TABLES, args.tables)
    ctx.evaluate_for_input(*(f"{ctx.cfg.lake.bronze}/{s.bronze}" for s in specs))
    pii_key = resolve_pii_key(ctx.cfg, ctx.spark)

    def conform_context(timezones: dict[str, str] | None) -> Any:
        return ConformContext(pii_key=pii_key, reporting_currency=ctx.cfg.silver.reporting_currency,
                              platform_timezones=timezones)

    build_silver(ctx, specs, conform_context=conform_context)


def select_tables(registry: Mapping[str, Any], names: str | None) -> list[Any]:
    if not names:
        return list(registry.values())
    wanted = [n.strip() for n in names.split(",") if n.strip()]
    unknown = [n for n in wanted if n not in registry]
    if unknown:
        raise UsageError(f"--tables: unknown silver table(s) {unknown}; known: {sorted(registry)}")
    return [registry[n] for n in wanted]


PII_KEY_CHECK = "_secrets/pii_key_check"


def resolve_pii_key(cfg: Config, spark: SparkSession) -> str:
    """The PII hash key from the environment; in local/test setups a generated key kept in the lake.

    Either way the key must be the one the lake's silver tables were hashed with (``check_pii_key``).
    """
    env = cfg.silver.pii_key_env
    if os.environ.get(env):
        return check_pii_key(cfg, spark, os.environ[env], source=f"environment variable {env}")
    if not cfg.silver.allow_local_pii_key:
        raise ConfigError(f"environment variable {env} (the PII hash key) is not set and "
                          "silver.allow_local_pii_key is false")
    if not tables.is_local(cfg.lake.root):
        raise ConfigError(f"environment variable {env} (the PII hash key) is not set; a local key file "
                          f"is only kept for a local lake, not {cfg.lake.root}")
    path = tables.local_path(cfg.lake.root) / "_secrets" / "pii_key"
    if not path.exists():
        if tables.read_small_text(spark, _pii_key_check_path(cfg)) is not None:
            raise ConfigError(f"environment variable {env} (the PII hash key) is not set, and this lake's silver "
                              f"tables were hashed with a key that is not kept in it; set {env} to that key")
        tables.write_text(spark, str(path), secrets.token_hex(32))
        path.chmod(0o600)
    log.warning("%s is not set: using the local PII hash key in %s (never do this in production)", env, path)
    return check_pii_key(cfg, spark, path.read_text(encoding="utf-8").strip(), source=f"the local key file {path} "
                         f"({env} is not set)")


def _pii_key_check_path(cfg: Config) -> str:
    return f"{cfg.lake.root.rstrip('/')}/{PII_KEY_CHECK}"


def check_pii_key(cfg: Config, spark: SparkSession, key: str, *, source: str) -> str:
    """``key``, once it is known to be the key this lake's PII hashes were made with.

    The lake keeps a fingerprint of its key (an HMAC of a fixed text, from which the key cannot be read back) in
    ``<lake>/_secrets/pii_key_check``, written the first time a key is used. Another key would hash the same phone
    or address differently from the rows already in silver, and identity merge would silently stop matching
    them: that is a configuration error, never a new set of hashes.
    """
    fingerprint = hmac.new(key.encode("utf-8"), b"brandlake pii key check", hashlib.sha256).hexdigest()
    path = _pii_key_check_path(cfg)
    recorded = tables.read_small_text(spark, path)
    if recorded is None:
        tables.write_text(spark, path, fingerprint)
    elif not hmac.compare_digest(recorded, fingerprint):
        raise ConfigError(
            f"the PII hash key from {source} is not the key this lake's silver tables were hashed with (its "
            f"fingerprint is in {path}); set {cfg.silver.pii_key_env} to that key, or build the lake again")
    return key


def build_silver(
    ctx: JobContext,
    specs: Sequence[Any],
    *,
    conform_context: Callable[[dict[str, str] | None], Any],
    suites: Mapping[str, ExpectationSuite] | None = None,
) -> None:
    """Build ``specs`` (SilverTable-shaped: name, bronze, keys, version_col, schema, conform).

    Every contract and severity is checked before any table is touched.
    """
    from brandlake.expectations.contracts import build_order, check_contract, dependencies
    from brandlake.expectations.gate import severities_for
    from brandlake.expectations.rules import rules_from_suite
    from brandlake.expectations.suites import suite_for

    suites = {s.name: (suites or {}).get(s.name) or suite_for(s.name) for s in specs}
    rules = {name: rules_from_suite(suite) for name, suite in suites.items()}
    by_name = {s.name: s for s in specs}
    columns = {s.name: published_schema(s).fieldNames() for s in specs}
    severities = {}
    for s in specs:
        check_contract(s.name, rules[s.name], columns=columns[s.name], tables=columns)
        severities[s.name] = severities_for(ctx.cfg.dq, s.name, rules[s.name], keys=s.keys)
    # money columns are converted with this run's rates: fx_rates first
    needs = {s.name: {FX_TABLE} for s in specs if getattr(s, "money", ())}
    order = build_order(list(by_name), rules, first=FIRST, needs=needs)  # also refuses a reference cycle
    after = dependencies(order, rules, first=FIRST, needs=needs)

    validations: dict[str, tuple[ExpectationSuite, list[RuleResult]]] = {}
    timezones = platform_timezones(ctx.spark, ctx.cfg)
    dq = DqRecords()

    def one(name: str) -> list[RuleResult] | None:
        # Independent tables are built side by side (``run.parallel_writes`` threads): a small table's time is
        # mostly driver work (planning, the streaming source's bookkeeping, Delta commits) that overlaps with
        # the other tables' tasks. A table starts once the tables it references (and platforms, fx_rates) are
        # published, so its references and conversions see this run's rows, as one by one.
        log.info("silver %s", name)
        with ctx.summary.stage(f"silver.{name}"), ctx.step(f"silver.{name}", "conform, gate, merge"):
            return build_table(ctx, by_name[name], rules=rules[name], severities=severities[name],
                               conform_ctx=conform_context(timezones), dq=dq)

    def done(name: str, results: object) -> None:
        nonlocal timezones
        if results:
            validations[name] = (suites[name], results)
        if name == "platforms":  # every other table waits for platforms: conform gets this run's time zones
            timezones = platform_timezones(ctx.spark, ctx.cfg)

    try:
        # the bronze each table reads bounds what runs side by side (run.parallel_input_mb)
        input_mb = {name: tables.size_bytes(ctx.spark, f"{ctx.cfg.lake.bronze}/{by_name[name].bronze}") / 2**20
                    for name in order}
        ctx.concurrently({name: (lambda n=name: one(n)) for name in order}, step="conform, gate, merge",
                         after=after, on_done=done, keep_going=False, input_mb=input_mb)
    except BaseException:
        # also when a table failed its gate: the results that stopped it are what the reader needs
        try:
            _write_dq_records(ctx, dq)
        except Exception:
            log.exception("silver: could not write dq_results/dq_reasons after the failure below")
        raise
    else:
        _write_dq_records(ctx, dq)
    finally:
        if validations and ctx.cfg.dq.build_data_docs:
            _data_docs(ctx, [validations[n] for n in order if n in validations])


def build_table(
    ctx: JobContext, spec: Any, *, rules: Sequence[Rule], severities: Mapping[str, str], conform_ctx: Any,
    dq: DqRecords,
) -> list[RuleResult] | None:
    """Process the new bronze rows of one silver table; returns this run's rule results (None: no new rows)."""
    from brandlake.expectations.gate import breaks_held_rules, gate
    from brandlake.transforms.silver.common import UNKNOWN_ATTRIBUTES, with_unknown_attributes

    cfg, spark, run_id = ctx.cfg, ctx.spark, ctx.summary.run_id
    bronze_path = f"{cfg.lake.bronze}/{spec.bronze}"
    if not tables.exists(spark, bronze_path):
        # Nothing delivered for this source (e.g. an import carries no FX feed): publish an empty table once,
        # so readers see "no rows" rather than a missing table; a later delivery merges into it.
        silver_path = f"{cfg.lake.silver}/{spec.name}"
        if not tables.exists(spark, silver_path):
            tables.overwrite(spark.createDataFrame([], published_schema(spec)), silver_path)
        log.warning("silver %s: bronze table %s does not exist yet; published empty", spec.name, bronze_path)
        ctx.summary.details.setdefault("silver_skipped", []).append(spec.name)
        return None
    columns = [f.name for f in published_schema(spec).fields]
    totals = dq.results.setdefault(spec.name, {})
    reason_totals = dq.reasons.setdefault(spec.name, {})

    def handle(batch: DataFrame, batch_id: int) -> None:
        started = time.perf_counter()
        now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        corrupt = F.col("_corrupt_record") if "_corrupt_record" in batch.columns else F.lit(None)
        bronze = batch.agg(F.count(F.lit(1)).alias("rows"), F.count(corrupt).alias("corrupt")).first()
        bronze_rows, bronze_corrupt = int(bronze["rows"]), int(bronze["corrupt"])
        conformed = spec.conform(batch, ctx=conform_ctx)
        resolve, correct = getattr(spec, "resolve", None), getattr(spec, "correct", None)
        existing = None
        if resolve is not None or correct is not None:  # e.g. orders: ordered_at = earliest event seen, across batches
            silver_path = f"{cfg.lake.silver}/{spec.name}"
            existing = tables.read(spark, silver_path) if tables.exists(spark, silver_path) else None
        if resolve is not None:  # from the events the gate can publish, as when they arrive in other batches
            valid = ~has_errors() & ~breaks_held_rules(rules, severities, columns=conformed.columns)
            conformed = resolve(conformed, existing=existing, ctx=conform_ctx, valid=valid)
        money = tuple(getattr(spec, "money", ()))

        def convert(df: DataFrame) -> DataFrame:  # money columns into the reporting currency (re-derived if there)
            if not money:
                return df
            return df.drop(*[f"{c}_rpt" for c in money], "reporting_currency").transform(
                with_reporting_amounts, _fx_rates(spark, cfg), columns=money, currency_col="currency",
                date_col=spec.money_date, reporting_currency=cfg.silver.reporting_currency,
            ).withColumn("reporting_currency", F.lit(cfg.silver.reporting_currency))

        conformed = convert(conformed)
        if UNKNOWN_ATTRIBUTES in columns:  # the published flag: attributes left unknown, values as delivered
            conformed = conformed.transform(with_unknown_attributes)
        missing = [c for c in [*columns, *CONFORM_EXTRAS] if c not in conformed.columns]
        if missing:
            from brandlake.expectations.contracts import ContractMismatchError

            raise ContractMismatchError(f"conform of silver.{spec.name} did not produce column(s) {missing}")
        # kept as rows of their own: the steps below are planned against them, not the conform plan again
        flagged = materialize(conformed.transform(
            with_dedupe_flags, keys=spec.keys, version_col=spec.version_col, columns=columns,
            held=breaks_held_rules(rules, severities)))
        conform_seconds = time.perf_counter() - started
        try:
            c = flagged.agg(
                F.count(F.lit(1)).alias("rows"),
                F.sum(F.col(IS_EXACT_DUP).cast("long")).alias("exact"),
                F.sum(F.col(IS_SUPERSEDED).cast("long")).alias("superseded"),
            ).first()
            survivors = flagged.filter(~F.col(IS_EXACT_DUP) & ~F.col(IS_SUPERSEDED)).drop(IS_EXACT_DUP, IS_SUPERSEDED)
            parents = {r.ref_table: _parent_rows(spark, cfg, r) for r in rules if r.kind == "reference"}
            dq_started = time.perf_counter()
            result = gate(survivors, table=spec.name, rules=rules, severities=severities, parents=parents,
                          tied=F.col(IS_TIED), grain=spec.keys)
            try:
                _record_results(ctx, spec.name, result.results, totals)
                reasons = result.reason_counts() if result.quarantined_count or any(
                    not r.passed for r in result.results) else {"quarantine": {}, "warn": {}}
                _record_reasons(ctx, spec.name, reasons, reason_totals)
                result.raise_if_failed()
                if result.quarantined_count:
                    tables.merge_insert_new(result.quarantined(keys=spec.keys, run_id=run_id, at=now),
                                            f"{cfg.lake.silver}/{spec.name}_quarantine", keys=["record_hash"])
                dq_seconds = time.perf_counter() - dq_started
                merge_started = time.perf_counter()
                publishable = result.publishable(columns)
                if correct is not None:  # one row per key in, one out: the count below still holds
                    publishable = correct(publishable, existing=existing, convert=convert)
                published = tables.merge_upsert(
                    publishable, f"{cfg.lake.silver}/{spec.name}", keys=spec.keys,
                    newer_than=spec.version_col, source_rows=result.published_count)
                merge_seconds = time.perf_counter() - merge_started
            finally:
                result.release()
        finally:
            release(flagged)
        quarantined_corrupt = reasons["quarantine"].get("corrupt_record", 0)
        ctx.summary.add_counts(
            f"silver.{spec.name}", bronze_rows_read=bronze_rows, rows_read=c["rows"], rows_written=published.written,
            rows_quarantined=result.quarantined_count,
            rows_duplicate=int(c["exact"] or 0) + int(c["superseded"] or 0) + published.unchanged,
            bronze_rows_corrupt=bronze_corrupt, rows_quarantined_corrupt=quarantined_corrupt,
        )
        if quarantined_corrupt != bronze_corrupt:  # every corrupt bronze line must be in the quarantine
            raise AccountingError(
                f"silver.{spec.name} batch {batch_id}: {bronze_corrupt} corrupt bronze row(s) but "
                f"{quarantined_corrupt} quarantined as corrupt_record")
        # where the batch's time went, for the run summary: conform (with the lookups of ``resolve``, dedupe flags,
        # kept as rows), the gate's share (rule evaluation, quarantine) and the write (``correct`` and the MERGE)
        batches = ctx.summary.details.setdefault("silver_batches", {})  # micro-batches per table (the byte bound)
        batches[spec.name] = batches.get(spec.name, 0) + 1
        seconds = ctx.summary.details.setdefault("silver_seconds", {}).setdefault(
            spec.name, {"batch": 0.0, "conform": 0.0, "dq": 0.0, "merge": 0.0})
        for part, spent in (("batch", time.perf_counter() - started), ("conform", conform_seconds),
                            ("dq", dq_seconds), ("merge", merge_seconds)):
            seconds[part] = round(seconds[part] + spent, 3)
        log.info("silver %s batch %d: %s", spec.name, batch_id, ctx.summary.tables[f"silver.{spec.name}"])

    tables.for_each_new_batch(spark, bronze_path, checkpoint=f"{cfg.lake.checkpoints}/silver/{spec.name}",
                              handle=handle, max_bytes_per_batch=cfg.silver.max_bytes_per_trigger)
    if not totals:
        return None
    return _totals_as_results(spec.name, totals)


def _totals_as_results(table: str, totals: Mapping[str, list]) -> list[RuleResult]:
    from brandlake.expectations.gate import RuleResult

    return [RuleResult(table, rule, sev, checked, unexpected) for rule, (sev, checked, unexpected) in totals.items()]


def _record_results(ctx: JobContext, table: str, results: Sequence, totals: dict[str, list]) -> None:
    """Cumulative results of this run (a run may take several micro-batches) → the run summary; the job
    writes them to dq_results once, at its end (``_write_dq_records``)."""
    for r in results:
        t = totals.setdefault(r.rule, [r.severity, 0, 0])
        t[1] += r.checked_count
        t[2] += r.unexpected_count
    cumulative = _totals_as_results(table, totals)
    ctx.summary.details.setdefault("dq", {})[table] = [r.as_dict() for r in cumulative]


def _record_reasons(ctx: JobContext, table: str, reasons: Mapping[str, Mapping[str, int]],
                    totals: dict[tuple[str, str], int]) -> None:
    """This run's rows per reason (cumulative over its micro-batches) → the run summary (``dq_reasons`` at the
    job's end)."""
    for outcome, counts in reasons.items():
        for reason, n in counts.items():
            totals[(outcome, reason)] = totals.get((outcome, reason), 0) + n
    if not totals:
        return
    ctx.summary.details.setdefault("reasons", {})[f"silver.{table}"] = {
        r: n for (o, r), n in sorted(totals.items()) if o == "quarantine"}
    warned = {r: n for (o, r), n in totals.items() if o == "warn"}
    if warned:
        ctx.summary.details.setdefault("warnings", {})[f"silver.{table}"] = dict(sorted(warned.items()))


@dataclass
class DqRecords:
    """This run's cumulative rule results and reason counts per silver table, kept in memory (a few rows per
    table) and written once when the job ends: two Delta commits per run instead of two per table and
    micro-batch, which were a quarter of a small run's silver time."""

    results: dict[str, dict[str, list]] = field(default_factory=dict)          # table -> rule -> [sev, chk, bad]
    reasons: dict[str, dict[tuple[str, str], int]] = field(default_factory=dict)  # table -> (outcome, reason) -> n


def _write_dq_records(ctx: JobContext, dq: DqRecords) -> None:
    """Replace this run's rows of ``dq_results`` and ``dq_reasons`` (idempotent per run_id)."""
    from brandlake.expectations.gate import DQ_REASONS, results_frame

    run_id, now = ctx.summary.run_id, dt.datetime.now(dt.UTC).replace(tzinfo=None)
    this_run = F.col("run_id") == run_id
    results = [r for table, totals in dq.results.items() for r in _totals_as_results(table, totals)]
    if results:
        tables.replace_where(results_frame(ctx.spark, results, run_id=run_id, evaluated_at=now),
                             f"{ctx.cfg.lake.silver}/dq_results", this_run)
    reasons = [(run_id, table, o, r, n) for table, totals in dq.reasons.items()
               for (o, r), n in sorted(totals.items())]
    if reasons:
        tables.replace_where(ctx.spark.createDataFrame(reasons, DQ_REASONS), f"{ctx.cfg.lake.silver}/dq_reasons",
                             this_run)


def _fx_rates(spark: SparkSession, cfg: Config) -> DataFrame:
    """Silver fx_rates, or no rates when none were ever delivered (amounts in the reporting currency still
    pass through; others get a null ``_rpt``, counted by the not_null_*_rpt warn rules)."""
    path = f"{cfg.lake.silver}/{FX_TABLE}"
    if tables.exists(spark, path):
        return tables.read(spark, path).select(*SILVER_FX_RATES.fieldNames())
    return spark.createDataFrame([], SILVER_FX_RATES)


def _parent_rows(spark: SparkSession, cfg: Config, rule: Rule) -> DataFrame:
    path = f"{cfg.lake.silver}/{rule.ref_table}"
    if tables.exists(spark, path):
        return tables.read(spark, path)
    log.warning("rule %s: silver.%s does not exist yet, so no reference can be found", rule.name, rule.ref_table)
    schema = T.StructType([T.StructField(p, T.StringType(), True) for _, p in rule.ref_columns])
    return spark.createDataFrame([], schema)


def platform_timezones(spark: SparkSession, cfg: Config) -> dict[str, str] | None:
    path = f"{cfg.lake.silver}/platforms"
    if not tables.exists(spark, path):
        return None
    df = tables.read(spark, path)
    if not {"platform_id", "timezone"} <= set(df.columns):
        log.warning("silver.platforms has no platform_id/timezone columns; conform gets no time zones")
        return None
    return {r["platform_id"]: r["timezone"] for r in df.select("platform_id", "timezone").collect()
            if r["platform_id"] is not None and r["timezone"] is not None}


def _data_docs(ctx: JobContext, validations: Sequence[tuple[ExpectationSuite, list[RuleResult]]]) -> None:
    target = ctx.cfg.lake.data_docs
    if not tables.is_local(target):
        log.warning("data docs are built only on a local lake; %s is not local", target)
        return
    from brandlake.expectations.docs import build_data_docs, validation_result

    now = dt.datetime.now(dt.UTC)
    gx_results = [(suite, validation_result(suite, results, run_name=ctx.summary.run_id, evaluated_at=now))
                  for suite, results in validations]
    ctx.summary.details["data_docs"] = build_data_docs(gx_results, str(tables.local_path(target)))
