"""The silver job on tiny inline bronze tables: incremental, idempotent, gated, and accounting for every row.

Two test-local silver tables stand in for the registry: ``makers`` (parent) and ``widgets`` (child,
referencing makers, with a version column ``updated_at``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

import pytest
from brandlake.expectations import suites as S
from brandlake.expectations.gate import DataQualityError
from brandlake.jobs import silver as job
from brandlake.transforms.money import MONEY
from chispa import assert_df_equality
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from brandlake import tables
from brandlake.config import ConfigError, load_config
from brandlake.runtime import JobContext
from brandlake.summary import RunSummary


@dataclass(frozen=True)
class Table:  # the shape of transforms.silver.registry.SilverTable
    name: str
    bronze: str
    keys: tuple[str, ...]
    version_col: str
    schema: T.StructType
    conform: Callable[..., DataFrame]
    grain: str


@dataclass(frozen=True)
class Ctx:  # the shape of transforms.silver.registry.ConformContext
    pii_key: str
    reporting_currency: str
    platform_timezones: dict[str, str] | None = None


WIDGETS = T.StructType([
    T.StructField("widget_id", T.StringType()), T.StructField("maker_id", T.StringType()),
    T.StructField("price_amount", MONEY), T.StructField("status", T.StringType()),
    T.StructField("updated_at", T.TimestampType()),
])
MAKERS = T.StructType([T.StructField("maker_id", T.StringType()), T.StructField("updated_at", T.TimestampType())])
BRONZE_WIDGETS = "widget_id string, maker_id string, price string, status string, updated_at string, _ingested_at timestamp"
BRONZE_MAKERS = "maker_id string, updated_at string, _ingested_at timestamp"


def _with_raw(df: DataFrame, fields: list[str]) -> DataFrame:
    return df.withColumn("_raw", F.to_json(F.struct(*fields)))


def conform_widgets(bronze: DataFrame, *, ctx) -> DataFrame:
    price = F.expr("try_cast(price AS DECIMAL(18,2))")
    out = _with_raw(bronze, ["widget_id", "maker_id", "price", "status", "updated_at"]).select(
        "widget_id", "maker_id", price.alias("price_amount"), "status",
        F.expr("try_cast(updated_at AS TIMESTAMP)").alias("updated_at"),
        F.filter(F.array(F.when(F.col("price").isNotNull() & price.isNull(), F.lit("cast:price"))),
                 lambda e: e.isNotNull()).alias("_errors"),
        "_raw", "_ingested_at",
    )
    return out


def conform_makers(bronze: DataFrame, *, ctx) -> DataFrame:
    return _with_raw(bronze, ["maker_id", "updated_at"]).select(
        "maker_id", F.expr("try_cast(updated_at AS TIMESTAMP)").alias("updated_at"),
        F.array().cast("array<string>").alias("_errors"), "_raw", "_ingested_at",
    )


SPECS = [
    Table("widgets", "widget_events", ("widget_id",), "updated_at", WIDGETS, conform_widgets, "One row per widget."),
    Table("makers", "makers", ("maker_id",), "updated_at", MAKERS, conform_makers, "One row per maker."),
]
SUITES = {
    "widgets": S._suite(
        "widgets", S.unique("widget_id"), S.not_null("widget_id", "updated_at"), S.at_least("price_amount", 0),
        S.in_set("status", ["active", "retired"], severity="warn"), S.references("makers", {"maker_id": "maker_id"}),
    ),
    "makers": S._suite("makers", S.unique("maker_id"), S.not_null("maker_id")),
}


def make_cfg(tmp_path, max_bytes_per_trigger: int | None = None, **widget_overrides):
    """The test config; ``widget_overrides`` override severities the widgets contract declares."""
    overrides = {
        "lake": {"root": str(tmp_path / "lake")},
        "dq": {"build_data_docs": False, "severities": {"widgets": widget_overrides} if widget_overrides else {}},
    }
    if max_bytes_per_trigger is not None:
        overrides["silver"] = {"max_bytes_per_trigger": max_bytes_per_trigger}
    return load_config("test", overrides=overrides)


T0 = dt.datetime(2024, 3, 1, 12, 0)


def put_bronze(spark, cfg, source, rows, schema, *, batch):
    tables.append_once(spark.createDataFrame(rows, schema), f"{cfg.lake.bronze}/{source}", app_id=source, version=batch)


WIDGETS_ONLY = SPECS[:1]


def run_silver(spark, cfg, run_id, specs=SPECS) -> RunSummary:
    ctx = JobContext(cfg=cfg, spark=spark, summary=RunSummary(run_id=run_id, command="silver", env="test"))
    job.build_silver(ctx, specs, conform_context=lambda tz: Ctx("k", "CNY", tz), suites=SUITES)
    return ctx.summary


FIRST_WIDGETS = [
    ("w1", "m1", "5.00", "active", "2024-03-01 10:00:00", T0),
    ("w1", "m1", "6.00", "active", "2024-03-01 11:00:00", T0),   # newer version of w1
    ("w1", "m1", "6.00", "active", "2024-03-01 11:00:00", T0 + dt.timedelta(minutes=1)),  # delivered twice
    ("w2", "m1", "abc", "active", "2024-03-01 10:00:00", T0),    # bad price -> conform
    ("w3", "m9", "1.00", "odd", "2024-03-01 10:00:00", T0),      # unknown maker, odd status -> warn, kept
    (None, "m1", "2.00", "active", "2024-03-01 10:00:00", T0),   # no key -> quarantine
]


def seed(spark, cfg):
    put_bronze(spark, cfg, "makers", [("m1", "2024-01-01 00:00:00", T0)], BRONZE_MAKERS, batch=0)
    put_bronze(spark, cfg, "widget_events", FIRST_WIDGETS, BRONZE_WIDGETS, batch=0)


def ts(s):
    return dt.datetime.fromisoformat(s)


@pytest.fixture(scope="module")
def first_run(spark, tmp_path_factory):
    """One silver run over makers + widgets, shared by the tests that only read its outcome."""
    cfg = make_cfg(tmp_path_factory.mktemp("first"))
    seed(spark, cfg)
    return cfg, run_silver(spark, cfg, "run-1")


def test_silver_publishes_warns_quarantines_and_accounts_for_every_row(spark, first_run):
    cfg, summary = first_run

    silver = tables.read(spark, f"{cfg.lake.silver}/widgets")
    expected = spark.createDataFrame([
        ("w1", "m1", Decimal("6.00"), "active", ts("2024-03-01 11:00:00")),
        ("w3", "m9", Decimal("1.00"), "odd", ts("2024-03-01 10:00:00")),
    ], WIDGETS)
    assert_df_equality(silver, expected, ignore_row_order=True, ignore_nullable=True)

    quarantine = tables.read(spark, f"{cfg.lake.silver}/widgets_quarantine").drop("quarantined_at", "record_hash")
    expected_q = spark.createDataFrame([
        ("w2", ["conform"], ["cast:price 'abc'"], "run-1",
         '{"widget_id":"w2","maker_id":"m1","price":"abc","status":"active","updated_at":"2024-03-01 10:00:00"}'),
        (None, ["not_null_widget_id"], ["not_null_widget_id"], "run-1",
         '{"maker_id":"m1","price":"2.00","status":"active","updated_at":"2024-03-01 10:00:00"}'),
    ], "widget_id string, failed_rules array<string>, reasons array<string>, run_id string, raw_record string")
    assert_df_equality(quarantine, expected_q, ignore_row_order=True, ignore_nullable=True)

    counts = summary.tables["silver.widgets"]
    # 6 read = 2 written (w1, w3) + 2 quarantined (w2, no key) + 2 merged away (w1's old version, w1 twice)
    assert counts == {"bronze_rows_read": 6, "rows_read": 6, "rows_written": 2, "rows_quarantined": 2,
                      "rows_duplicate": 2, "bronze_rows_corrupt": 0, "rows_quarantined_corrupt": 0}
    assert counts["rows_read"] == counts["rows_written"] + counts["rows_quarantined"] + counts["rows_duplicate"]


def test_dq_results_hold_one_row_per_table_and_rule_of_the_run(spark, first_run):
    cfg, summary = first_run
    actual = tables.read(spark, f"{cfg.lake.silver}/dq_results").drop("evaluated_at")
    rows = [("makers", r, "quarantine", 1, 0, True) for r in ("unique_grain", "not_null_maker_id", "conform")] + [
        ("widgets", "unique_grain", "quarantine", 4, 0, True),
        ("widgets", "not_null_widget_id", "quarantine", 4, 1, False),
        ("widgets", "not_null_updated_at", "quarantine", 4, 0, True),
        ("widgets", "range_price_amount", "quarantine", 4, 0, True),
        ("widgets", "in_set_status", "warn", 4, 1, False),
        ("widgets", "ref_makers", "warn", 4, 1, False),
        ("widgets", "conform", "quarantine", 4, 1, False),
    ]
    expected = spark.createDataFrame(
        [("run-1", *r) for r in rows],
        "run_id string, table_name string, rule string, severity string, checked_count long, "
        "unexpected_count long, passed boolean",
    )
    assert_df_equality(actual, expected, ignore_row_order=True, ignore_nullable=True)
    assert [r["rule"] for r in summary.details["dq"]["widgets"]] == S.rule_names(SUITES["widgets"])


def test_rerun_without_new_bronze_changes_nothing(spark, first_run):
    cfg, _ = first_run
    versions = [tables.latest_version(spark, f"{cfg.lake.silver}/{t}") for t in ("widgets", "widgets_quarantine")]
    summary = run_silver(spark, cfg, "run-2")
    assert summary.tables == {}
    assert [tables.latest_version(spark, f"{cfg.lake.silver}/{t}") for t in ("widgets", "widgets_quarantine")] == versions


def test_late_data_in_later_runs_gives_the_same_table_as_one_clean_run(spark, tmp_path):
    """Where batches split changes nothing: not the published versions, not the quarantine. A version that
    breaks a quarantine rule, or two different rows of one version (a tie), neither hide an older valid
    version nor are hidden by a newer one."""
    early = [
        ("w4", "m1", "2.00", "active", "2024-03-01 10:00:00", T0),
        ("w5", "m1", "-3.00", "active", "2024-03-01 09:00:00", T0),   # breaks range_price_amount
        ("w6", "m1", "1.00", "active", "2024-03-01 10:00:00", T0),
        ("w7", "m1", "1.00", "active", "2024-03-01 09:00:00", T0),    # a tie ...
        ("w7", "m1", "1.10", "active", "2024-03-01 09:00:00", T0),    # ... on w7's older version
    ]
    late = [
        ("w1", "m1", "4.00", "active", "2024-03-01 09:00:00", T0 + dt.timedelta(days=1)),   # older: must not win
        ("w3", "m1", "1.50", "retired", "2024-03-02 10:00:00", T0 + dt.timedelta(days=1)),  # newer: wins
        ("w2", "m1", "abc", "active", "2024-03-01 10:00:00", T0 + dt.timedelta(days=1)),   # same bad record again
        ("w4", "m1", "-1.00", "active", "2024-03-01 12:00:00", T0 + dt.timedelta(days=1)),  # newer, quarantined
        ("w5", "m1", "3.00", "active", "2024-03-01 10:00:00", T0 + dt.timedelta(days=1)),   # newer and valid
        ("w6", "m1", "2.00", "active", "2024-03-01 12:00:00", T0 + dt.timedelta(days=1)),   # a tie on w6's
        ("w6", "m1", "2.50", "active", "2024-03-01 12:00:00", T0 + dt.timedelta(days=1)),   # newest version
        ("w7", "m1", "1.20", "active", "2024-03-01 10:00:00", T0 + dt.timedelta(days=1)),
    ]
    incremental = make_cfg(tmp_path / "a")
    seed(spark, incremental)
    put_bronze(spark, incremental, "widget_events", early, BRONZE_WIDGETS, batch=1)
    run_silver(spark, incremental, "run-1", WIDGETS_ONLY)
    put_bronze(spark, incremental, "widget_events", late, BRONZE_WIDGETS, batch=2)
    summary = run_silver(spark, incremental, "run-2", WIDGETS_ONLY)

    clean = make_cfg(tmp_path / "b")
    put_bronze(spark, clean, "widget_events", FIRST_WIDGETS + early + late, BRONZE_WIDGETS, batch=0)
    run_silver(spark, clean, "run-1", WIDGETS_ONLY)

    # all bronze commits in one run, cut by the byte bound into one micro-batch per bronze file
    bounded = make_cfg(tmp_path / "c", max_bytes_per_trigger=1)
    seed(spark, bounded)
    put_bronze(spark, bounded, "widget_events", early, BRONZE_WIDGETS, batch=1)
    put_bronze(spark, bounded, "widget_events", late, BRONZE_WIDGETS, batch=2)
    cut = run_silver(spark, bounded, "run-1", WIDGETS_ONLY)
    assert cut.details["silver_batches"]["widgets"] > 1

    for table, drop in (("widgets", []), ("widgets_quarantine", ["quarantined_at", "record_hash", "run_id"])):
        b = tables.read(spark, f"{clean.lake.silver}/{table}").drop(*drop)
        for other in (incremental, bounded):
            assert_df_equality(tables.read(spark, f"{other.lake.silver}/{table}").drop(*drop), b,
                               ignore_row_order=True)
    published = tables.read(spark, f"{clean.lake.silver}/widgets").select("widget_id", "price_amount", "updated_at")
    assert_df_equality(published, spark.createDataFrame([
        ("w1", Decimal("6.00"), ts("2024-03-01 11:00:00")), ("w3", Decimal("1.50"), ts("2024-03-02 10:00:00")),
        ("w4", Decimal("2.00"), ts("2024-03-01 10:00:00")), ("w5", Decimal("3.00"), ts("2024-03-01 10:00:00")),
        ("w6", Decimal("1.00"), ts("2024-03-01 10:00:00")), ("w7", Decimal("1.20"), ts("2024-03-01 10:00:00")),
    ], published.schema), ignore_row_order=True, ignore_nullable=True)
    held = tables.read(spark, f"{clean.lake.silver}/widgets_quarantine").select("widget_id", "failed_rules")
    tie = ["unique_grain", "ref_makers"]
    assert sorted(((r["widget_id"], list(r["failed_rules"])) for r in held.collect()), key=str) == [
        ("w2", ["ref_makers", "conform"]), ("w4", ["range_price_amount", "ref_makers"]),
        ("w5", ["range_price_amount", "ref_makers"]), ("w6", tie), ("w6", tie), ("w7", tie), ("w7", tie),
        (None, ["not_null_widget_id", "ref_makers"])]  # no makers built
    # run 2: 8 read = 3 written (w3, w5, w7) + 4 quarantined (w2 again, w4's newer version, w6's tie) + 1 left
    # out by the MERGE (w1's older version)
    assert summary.tables["silver.widgets"] == {"bronze_rows_read": 8, "rows_read": 8, "rows_written": 3,
                                                "rows_quarantined": 4, "rows_duplicate": 1,
                                                "bronze_rows_corrupt": 0, "rows_quarantined_corrupt": 0}


def test_fail_severity_blocks_publishing_keeps_the_previous_version_and_retries_the_batch(spark, tmp_path):
    cfg = make_cfg(tmp_path)
    seed(spark, cfg)
    run_silver(spark, cfg, "run-1", WIDGETS_ONLY)
    path = f"{cfg.lake.silver}/widgets"
    before_version, before = tables.latest_version(spark, path), tables.read(spark, path).collect()
    put_bronze(spark, cfg, "widget_events", [("w4", "m1", "-3.00", "active", "2024-03-02 00:00:00", T0)],
               BRONZE_WIDGETS, batch=1)
    strict = make_cfg(tmp_path, range_price_amount="fail")
    with pytest.raises(DataQualityError, match=r"widgets .*rule range_price_amount: 1 of 1 rows"):
        run_silver(spark, strict, "run-2", WIDGETS_ONLY)
    assert tables.latest_version(spark, path) == before_version
    assert_df_equality(tables.read(spark, path), spark.createDataFrame(before, WIDGETS), ignore_row_order=True,
                       ignore_nullable=True)
    # the failed batch was not marked done: with a quarantine severity the next run takes it again
    summary = run_silver(spark, cfg, "run-3", WIDGETS_ONLY)
    assert summary.tables["silver.widgets"]["rows_quarantined"] == 1


def test_severity_override_of_an_unknown_rule_stops_the_job_before_any_table_is_built(spark, tmp_path):
    cfg = make_cfg(tmp_path, in_set_state="fail")  # a typo of in_set_status
    seed(spark, cfg)
    with pytest.raises(ConfigError, match=r"dq\.severities\.widgets names rule\(s\) \['in_set_state'\]"):
        run_silver(spark, cfg, "run-1")
    assert not tables.exists(spark, f"{cfg.lake.silver}/makers")


def test_parents_first_platforms_first_and_fx_rates_before_money_tables_else_given_order():
    from brandlake.expectations.contracts import ContractMismatchError, build_order
    from brandlake.expectations.rules import rules_from_suite

    rules = {"widgets": rules_from_suite(SUITES["widgets"]), "makers": rules_from_suite(SUITES["makers"])}
    order = build_order(["widgets", "sales", "makers", "fx_rates", "platforms"], rules, first=["platforms"],
                        needs={"sales": {"fx_rates"}})
    assert order == ["platforms", "makers", "widgets", "fx_rates", "sales"]
    # a referenced table outside the run does not hold a table back
    assert build_order(["widgets"], rules) == ["widgets"]
    cyclic = {**rules, "makers": rules_from_suite(S._suite("makers", S.references("widgets", {"maker_id": "maker_id"})))}
    with pytest.raises(ContractMismatchError, match=r"cycle: \['makers', 'widgets'\]"):
        build_order(["widgets", "makers"], cyclic)


def test_a_contract_naming_a_column_its_table_or_parent_lacks_is_refused_naming_rule_and_columns():
    from brandlake.expectations.contracts import ContractMismatchError, check_contract
    from brandlake.expectations.rules import rules_from_suite

    rules = rules_from_suite(SUITES["widgets"])
    widgets, makers = WIDGETS.fieldNames(), MAKERS.fieldNames()
    check_contract("widgets", rules, columns=widgets, tables={"widgets": widgets, "makers": makers})
    with pytest.raises(ContractMismatchError, match=r"silver\.widgets rule 'in_set_status' needs column\(s\) \['status'\]"):
        check_contract("widgets", rules, columns=[c for c in widgets if c != "status"], tables={})
    with pytest.raises(ContractMismatchError,
                       match=r"silver\.widgets rule 'ref_makers' needs column\(s\) \['maker_id'\] in silver\.makers"):
        check_contract("widgets", rules, columns=widgets, tables={"makers": ["updated_at"]})


def test_pii_key_comes_from_env_else_a_reused_local_key_else_an_error(spark, tmp_path, monkeypatch):
    cfg = make_cfg(tmp_path)
    monkeypatch.delenv(cfg.silver.pii_key_env, raising=False)
    first = job.resolve_pii_key(cfg, spark)  # no key in the environment: a local key, kept and reused
    assert len(first) == 64 and job.resolve_pii_key(cfg, spark) == first
    assert (tmp_path / "lake" / "_secrets" / "pii_key").read_text().strip() == first
    keyed = make_cfg(tmp_path / "keyed")
    monkeypatch.setenv(cfg.silver.pii_key_env, "from-env")
    assert job.resolve_pii_key(keyed, spark) == "from-env" == job.resolve_pii_key(keyed, spark)
    # a key other than the one a lake was hashed with is refused, whichever way it comes
    with pytest.raises(ConfigError, match=rf"environment variable {cfg.silver.pii_key_env} is not the key this lake"):
        job.resolve_pii_key(cfg, spark)
    monkeypatch.delenv(cfg.silver.pii_key_env)
    with pytest.raises(ConfigError, match=rf"{cfg.silver.pii_key_env} \(the PII hash key\) is not set, and this "
                                          rf"lake's silver tables were hashed with a key that is not kept in it"):
        job.resolve_pii_key(keyed, spark)
    assert not (tmp_path / "keyed" / "lake" / "_secrets" / "pii_key").exists()  # no key made that cannot match
    assert "from-env" not in (tmp_path / "keyed" / "lake" / "_secrets" / "pii_key_check").read_text()
    strict = load_config("test", overrides={"lake": {"root": str(tmp_path / "lake2")},
                                            "silver": {"allow_local_pii_key": False}})
    with pytest.raises(ConfigError, match=cfg.silver.pii_key_env):
        job.resolve_pii_key(strict, spark)


def test_source_never_delivered_is_published_as_an_empty_table_once(spark, tmp_path):
    cfg = make_cfg(tmp_path)
    summary = run_silver(spark, cfg, "run-1")  # no bronze at all yet
    makers = f"{cfg.lake.silver}/makers"
    assert_df_equality(
        tables.read(spark, makers), spark.createDataFrame([], SPECS[1].schema), ignore_nullable=True
    )
    assert sorted(summary.details["silver_skipped"]) == ["makers", "widgets"]
    version = tables.latest_version(spark, makers)
    run_silver(spark, cfg, "run-2")
    assert tables.latest_version(spark, makers) == version


# ---------------------------------------------------------------------------------------------------
# Money into the reporting currency, with the rates this run published


@dataclass(frozen=True)
class MoneyTable(Table):  # with transforms.silver.registry.SilverTable's money fields
    money: tuple[str, ...] = ()
    money_date: str | None = None


RATES = T.StructType([
    T.StructField("rate_date", T.DateType()), T.StructField("currency", T.StringType()),
    T.StructField("per_usd", T.DecimalType(18, 8)), T.StructField("updated_at", T.TimestampType()),
])
SALES = T.StructType([
    T.StructField("sale_id", T.StringType()), T.StructField("price_amount", MONEY),
    T.StructField("currency", T.StringType()), T.StructField("sale_date", T.DateType()),
    T.StructField("updated_at", T.TimestampType()),
])


def _conform_typed(schema: T.StructType) -> Callable[..., DataFrame]:
    def conform(bronze: DataFrame, *, ctx) -> DataFrame:
        names = [f.name for f in schema.fields]
        return _with_raw(bronze, names).select(
            *[F.col(f.name).cast(f.dataType).alias(f.name) for f in schema.fields],
            F.array().cast("array<string>").alias("_errors"), "_raw", "_ingested_at")
    return conform


def test_money_is_converted_with_this_runs_rates_and_a_missing_rate_is_a_counted_warning(spark, tmp_path):
    sales = MoneyTable("sales", "sale_events", ("sale_id",), "updated_at", SALES, _conform_typed(SALES),
                       "One row per sale.", money=("price_amount",), money_date="sale_date")
    rates = MoneyTable("fx_rates", "fx_feed", ("rate_date", "currency"), "updated_at", RATES, _conform_typed(RATES),
                       "One row per currency per day.")
    cfg = load_config("test", overrides={
        "lake": {"root": str(tmp_path / "lake")}, "silver": {"reporting_currency": "CNY"},
        "dq": {"build_data_docs": False},
    })
    put_bronze(spark, cfg, "fx_feed", [
        ("2024-03-01", "CNY", "7.10", "2024-03-01 00:00:00", T0), ("2024-03-04", "CNY", "7.20", "2024-03-04 00:00:00", T0),
        ("2024-03-01", "EUR", "0.90", "2024-03-01 00:00:00", T0),
    ], "rate_date string, currency string, per_usd string, updated_at string, _ingested_at timestamp", batch=0)
    put_bronze(spark, cfg, "sale_events", [
        ("s1", "10.00", "USD", "2024-03-02", "2024-03-02 09:00:00", T0),  # Saturday: Friday's 7.10
        ("s2", "5.00", "CNY", "2024-03-01", "2024-03-01 09:00:00", T0),   # already CNY
        ("s3", "9.00", "EUR", "2024-03-05", "2024-03-05 09:00:00", T0),   # after the last rates: 9 × 7.20 / 0.90
        ("s4", "3.00", "JPY", "2024-03-01", "2024-03-01 09:00:00", T0),   # no JPY rate: kept, warned
    ], "sale_id string, price_amount string, currency string, sale_date string, updated_at string, "
       "_ingested_at timestamp", batch=0)
    ctx = JobContext(cfg=cfg, spark=spark, summary=RunSummary(run_id="run-1", command="silver", env="test"))
    job.build_silver(ctx, [sales, rates], conform_context=lambda tz: Ctx("k", "CNY", tz), suites={
        "sales": S._suite("sales", S.unique("sale_id"), S.not_null("price_amount_rpt", severity="warn")),
    })  # fx_rates: its real contract

    expected = spark.createDataFrame([
        ("s1", Decimal("10.00"), "USD", dt.date(2024, 3, 2), ts("2024-03-02 09:00:00"), Decimal("71.00"), "CNY"),
        ("s2", Decimal("5.00"), "CNY", dt.date(2024, 3, 1), ts("2024-03-01 09:00:00"), Decimal("5.00"), "CNY"),
        ("s3", Decimal("9.00"), "EUR", dt.date(2024, 3, 5), ts("2024-03-05 09:00:00"), Decimal("72.00"), "CNY"),
        ("s4", Decimal("3.00"), "JPY", dt.date(2024, 3, 1), ts("2024-03-01 09:00:00"), None, "CNY"),
    ], T.StructType([*SALES.fields, T.StructField("price_amount_rpt", MONEY), T.StructField("reporting_currency",
                                                                                          T.StringType())]))
    assert_df_equality(tables.read(spark, f"{cfg.lake.silver}/sales"), expected, ignore_nullable=True,
                       ignore_row_order=True)
    dq = {(r["rule"], r["severity"], r["unexpected_count"]) for r in ctx.summary.details["dq"]["sales"]}
    assert dq == {("unique_grain", "quarantine", 0), ("not_null_price_amount_rpt", "warn", 1),
                  ("conform", "quarantine", 0)}
    assert ctx.summary.tables["silver.sales"]["rows_written"] == 4


# ---------------------------------------------------------------------------------------------------
# Silver orders (the real spec): an order's creation event that arrives after a newer event was published


def test_a_late_creation_event_corrects_the_published_order_in_a_later_micro_batch_or_run(spark, tmp_path):
    """Bronze commits are not in event order: an order's creation event can land after a newer event of the
    order was published. The MERGE keeps the newer version, and the creation time still becomes ordered_at."""
    from brandlake.transforms.silver.common import ConformContext
    from brandlake.transforms.silver.registry import SILVER_TABLES

    from tests.silver.bronze import bronze_schema

    specs = [SILVER_TABLES["orders"], SILVER_TABLES["fx_rates"]]
    suites = {"orders": S._suite("orders", S.unique("order_id"), S.not_null("order_id", "ordered_at"),
                                 S.at_least("shipping_fee_amount", 0))}
    conform_ctx = ConformContext(pii_key="k", reporting_currency="CNY", platform_timezones={"tmall": "Asia/Shanghai"})
    common = {"platform_id": "tmall", "currency": "USD", "lines": "[]", "shipping_fee": "10", "is_presale": "false"}

    def event(event_id, event_type, at, order_id, **more):
        status = event_type.removeprefix("order_")
        return {**common, "event_id": event_id, "event_type": event_type, "event_at": at, "order_id": order_id,
                "order_status": status, **more}

    commits = [
        [event("E1", "order_paid", "2024-01-05T10:00:00Z", "O1"),  # O1, O3 paid: their creation not here yet
         event("E3", "order_created", "2024-01-05T11:00:00Z", "O2"), event("E4", "order_paid", "2024-01-05T12:00:00Z", "O2"),
         event("E5", "order_paid", "2024-01-05T09:00:00Z", "O3"),
         event("E7", "order_created", "2024-01-05T08:00:00Z", "O4", shipping_fee="-1")],  # quarantined
        # O1's creation (20:00 UTC = the next morning in Shanghai, an older fee), an O2 replay: the next micro-batch
        [event("E2", "order_created", "2024-01-03T20:00:00Z", "O1", shipping_fee="12"),
         event("E3", "order_created", "2024-01-05T11:00:00Z", "O2"),
         event("E8", "order_paid", "2024-01-05T13:00:00Z", "O4")],
        [event("E6", "order_created", "2024-01-04T23:00:00Z", "O3")],  # O3's creation: the next run
    ]
    schema, fx_schema = bronze_schema("order_events"), bronze_schema("fx_rates")

    def put(cfg, source, fields, records, batch):  # one file per commit: the byte bound cuts one micro-batch each
        tech = {"_source_file": f"file:/landing/{source}/batch={batch}", "_landing_batch": batch,
                "_ingested_at": T0 + dt.timedelta(days=batch), "_run_id": f"r{batch}"}
        rows = [tuple({**tech, **r}.get(f.name) for f in fields.fields) for r in records]
        tables.append_once(spark.createDataFrame(rows, fields).coalesce(1), f"{cfg.lake.bronze}/{source}",
                           app_id=source, version=batch)

    def run(cfg, run_id):
        ctx = JobContext(cfg=cfg, spark=spark, summary=RunSummary(run_id=run_id, command="silver", env="test"))
        job.build_silver(ctx, specs, conform_context=lambda tz: conform_ctx, suites=suites)
        return ctx.summary

    def run_1(cfg):  # commits 1-2
        put(cfg, "fx_rates", fx_schema, [{"rate_date": "2024-01-04", "currency": "CNY", "per_usd": "7.00"},
                                         {"rate_date": "2024-01-05", "currency": "CNY", "per_usd": "7.50"}], 0)
        put(cfg, "order_events", schema, commits[0], 1)
        put(cfg, "order_events", schema, commits[1], 2)
        return run(cfg, "run-1")

    cfg = make_cfg(tmp_path / "cut", max_bytes_per_trigger=1)  # one micro-batch per commit
    first = run_1(cfg)
    after_1 = {t: tables.latest_version(spark, f"{cfg.lake.silver}/{t}") for t in ("orders", "orders_quarantine")}
    put(cfg, "order_events", schema, commits[2], 3)
    second = run(cfg, "run-2")

    # the same two commits in one micro-batch give the same tables: O4's quarantined creation event does not
    # set its ordered_at even when it shares a micro-batch with the order's paid event
    whole = make_cfg(tmp_path / "whole")
    assert run_1(whole).details["silver_batches"]["orders"] == 1
    for t, drop in (("orders", []), ("orders_quarantine", ["quarantined_at", "record_hash", "run_id"])):
        assert_df_equality(tables.read(spark, f"{whole.lake.silver}/{t}").drop(*drop),
                           tables.read(spark, f"{cfg.lake.silver}/{t}", version=after_1[t]).drop(*drop),
                           ignore_row_order=True)

    # each order: its newest version (O1, O3 paid, fee 10 USD), ordered_at its creation time, order_date that
    # time's day in Shanghai, and the fee converted at that day's rate (7.00 CNY per USD on Jan 4, 7.50 on Jan 5).
    # O4's creation event is quarantined (a negative fee): its earliest published event stands for it
    expected = spark.createDataFrame([
        ("O1", "paid", ts("2024-01-03 20:00:00"), dt.date(2024, 1, 4), ts("2024-01-05 10:00:00"),
         Decimal("10.00"), Decimal("70.00")),
        ("O2", "paid", ts("2024-01-05 11:00:00"), dt.date(2024, 1, 5), ts("2024-01-05 12:00:00"),
         Decimal("10.00"), Decimal("75.00")),
        ("O3", "paid", ts("2024-01-04 23:00:00"), dt.date(2024, 1, 5), ts("2024-01-05 09:00:00"),
         Decimal("10.00"), Decimal("75.00")),
        ("O4", "paid", ts("2024-01-05 13:00:00"), dt.date(2024, 1, 5), ts("2024-01-05 13:00:00"),
         Decimal("10.00"), Decimal("75.00")),
    ], "order_id string, order_status string, ordered_at timestamp, order_date date, updated_at timestamp, "
       "shipping_fee_amount decimal(18,2), shipping_fee_amount_rpt decimal(18,2)")
    actual = tables.read(spark, f"{cfg.lake.silver}/orders").select(*expected.columns)
    assert_df_equality(actual, expected, ignore_nullable=True, ignore_row_order=True)
    held = tables.read(spark, f"{cfg.lake.silver}/orders_quarantine").select("order_id", "failed_rules").collect()
    assert [(r["order_id"], list(r["failed_rules"])) for r in held] == [("O4", ["range_shipping_fee_amount"])]
    assert first.details["silver_batches"]["orders"] == 2
    # run 2: the one late event rewrote O3's published row, nothing else
    assert second.tables["silver.orders"] == {"bronze_rows_read": 1, "rows_read": 1, "rows_written": 1,
                                              "rows_quarantined": 0, "rows_duplicate": 0,
                                              "bronze_rows_corrupt": 0, "rows_quarantined_corrupt": 0}
