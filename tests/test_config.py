"""Layered config: overlays, environment references, and errors that name the key."""

from __future__ import annotations

import datetime as dt

import pytest

from brandlake.config import ConfigError, load_config, parse_settings


def _write(d, name, text):
    (d / name).write_text(text, encoding="utf-8")


@pytest.fixture
def conf_dir(tmp_path):
    """A copy of the packaged conf/ to break on purpose."""
    from importlib import resources

    for name in ("base.yaml", "local.yaml", "test.yaml", "cluster.yaml"):
        _write(tmp_path, name, resources.files("brandlake.conf").joinpath(name).read_text(encoding="utf-8"))
    return tmp_path


def test_test_overlay_changes_only_what_it_names():
    base_local = load_config("local")
    test = load_config("test")
    assert (test.spark.master, test.spark.shuffle_partitions, test.generate.scale) == ("local[2]", 1, 0.0005)
    assert test.spark.conf["spark.sql.ansi.enabled"] == "true"  # inherited from base
    assert test.spark.conf["spark.sql.adaptive.enabled"] == "false"  # overridden
    assert base_local.spark.master == "local[*]"
    assert test.generate.start_date == dt.date(2024, 1, 1)
    assert test.generate.defects.schema_drift_from_batch == 3


def test_lake_layers_derive_from_root(monkeypatch):
    monkeypatch.setenv("BRANDLAKE_LAKE_ROOT", "/data/lake")
    lake = load_config("local").lake
    assert (lake.landing, lake.bronze, lake.checkpoints, lake.runs) == (
        "/data/lake/landing", "/data/lake/bronze", "/data/lake/_checkpoints", "/data/lake/_runs",
    )


def test_cluster_needs_master_from_environment(monkeypatch):
    monkeypatch.delenv("BRANDLAKE_SPARK_MASTER", raising=False)
    with pytest.raises(ConfigError, match="'spark.master' needs environment variable BRANDLAKE_SPARK_MASTER"):
        load_config("cluster")


def test_cluster_reads_master_and_root_from_environment(monkeypatch):
    monkeypatch.setenv("BRANDLAKE_SPARK_MASTER", "spark://10.0.0.5:7077")
    monkeypatch.setenv("BRANDLAKE_LAKE_ROOT", "s3a://lake")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://mlflow:5000")
    cfg = load_config("cluster")
    assert (cfg.spark.master, cfg.lake.gold, cfg.mlflow.tracking_uri, cfg.silver.allow_local_pii_key) == (
        "spark://10.0.0.5:7077", "s3a://lake/gold", "http://mlflow:5000", False,
    )


def test_missing_key_is_named(conf_dir):
    text = (conf_dir / "base.yaml").read_text().replace("  seed: 42\n", "")
    _write(conf_dir, "base.yaml", text)
    with pytest.raises(ConfigError, match=r"^missing config key 'generate.seed'$"):
        load_config("test", conf_dir=conf_dir)


def test_unknown_key_is_named(conf_dir):
    _write(conf_dir, "test.yaml", "spark:\n  shuffle_partitons: 4\n")
    with pytest.raises(ConfigError, match=r"unknown config key\(s\) 'spark.shuffle_partitons'"):
        load_config("test", conf_dir=conf_dir)


def test_wrong_type_is_named(conf_dir):
    _write(conf_dir, "test.yaml", "generate:\n  start_date: yesterday\n")
    with pytest.raises(ConfigError, match=r"config key 'generate.start_date' must be date, found 'yesterday'"):
        load_config("test", conf_dir=conf_dir)


def test_ingest_micro_batches_are_bounded_by_bytes_or_by_files_never_both():
    assert load_config("local").ingest.read_limit() == ("maxBytesPerTrigger", 268435456)
    files = load_config("local", overrides={"ingest": {"max_files_per_trigger": 50, "max_bytes_per_trigger": None}})
    assert files.ingest.read_limit() == ("maxFilesPerTrigger", 50)
    with pytest.raises(ConfigError, match=r"section 'ingest' is invalid: set exactly one of "
                                          r"ingest.max_files_per_trigger and ingest.max_bytes_per_trigger, "
                                          r"found 50 and 268435456"):
        load_config("local", overrides={"ingest": {"max_files_per_trigger": 50}})
    with pytest.raises(ConfigError, match=r"ingest.max_bytes_per_trigger must be positive, found 0"):
        load_config("local", overrides={"ingest": {"max_bytes_per_trigger": 0}})


def test_enum_value_is_checked(conf_dir):
    _write(conf_dir, "test.yaml", "settlement:\n  rounding: banker\n")
    with pytest.raises(ConfigError, match=r"'settlement.rounding' must be one of \['half_up', 'half_even'\]"):
        load_config("test", conf_dir=conf_dir)


def test_invalid_yaml_and_missing_file_are_reported(conf_dir):
    _write(conf_dir, "test.yaml", "spark: [unclosed\n")
    with pytest.raises(ConfigError, match="test.yaml is not valid YAML"):
        load_config("test", conf_dir=conf_dir)
    (conf_dir / "local.yaml").unlink()
    with pytest.raises(ConfigError, match="local.yaml does not exist"):
        load_config("local", conf_dir=conf_dir)


def test_unknown_environment_is_rejected():
    with pytest.raises(ConfigError, match="unknown environment 'prod'"):
        load_config("prod")


def test_config_is_frozen():
    cfg = load_config("test")
    with pytest.raises(AttributeError):
        cfg.spark.master = "yarn"  # type: ignore[misc]


def test_set_overrides_follow_the_config_structure_and_are_validated():
    settings = parse_settings(["silver.reporting_currency=GBP", "spark.shuffle_partitions=3",
                               "spark.conf.spark.sql.shuffle.partitions=4", "dq.severities.orders.order_id_unique=warn",
                               "generate.start_date=2024-02-01"])
    assert settings == {
        "silver": {"reporting_currency": "GBP"},
        "spark": {"shuffle_partitions": 3, "conf": {"spark.sql.shuffle.partitions": 4}},
        "dq": {"severities": {"orders": {"order_id_unique": "warn"}}},
        "generate": {"start_date": dt.date(2024, 2, 1)},
    }
    cfg = load_config("test", overrides=settings)
    assert (cfg.silver.reporting_currency, cfg.spark.shuffle_partitions, cfg.generate.start_date) == (
        "GBP", 3, dt.date(2024, 2, 1))
    assert cfg.spark.conf["spark.sql.shuffle.partitions"] == "4"
    assert cfg.spark.conf["spark.sql.ansi.enabled"] == "true"  # the rest of the mapping is kept
    with pytest.raises(ConfigError, match="must be int, found 'many'"):
        load_config("test", overrides=parse_settings(["spark.shuffle_partitions=many"]))


@pytest.mark.parametrize(("item", "message"), [
    ("silver", "--set expects KEY=VALUE with a dotted config key, found 'silver'"),
    ("=GBP", "--set expects KEY=VALUE with a dotted config key, found '=GBP'"),
    ("silver..x=1", "--set expects KEY=VALUE with a dotted config key, found 'silver..x=1'"),
    ("silver.currency=GBP", "--set: unknown config key 'silver.currency'; expected some of "
                            "['allow_local_pii_key', 'max_bytes_per_trigger', 'pii_key_env', 'reporting_currency']"),
    ("silver.reporting_currency.code=GBP", "--set: config key 'silver.reporting_currency' has no sub-keys "
                                           "('silver.reporting_currency.code')"),
    ("silver.reporting_currency=[GBP]", "--set silver.reporting_currency: value must be a scalar, found '[GBP]'"),
])
def test_bad_set_overrides_are_named(item, message):
    with pytest.raises(ConfigError) as e:
        parse_settings([item])
    assert str(e.value) == message


def test_cli_reports_a_bad_set_before_starting_spark(capsys):
    from brandlake.cli import main

    assert main(["silver", "--env", "test", "--set", "silver.currency=GBP"]) == 2
    assert capsys.readouterr().err == (
        "brandlake: configuration error: --set: unknown config key 'silver.currency'; expected some of "
        "['allow_local_pii_key', 'max_bytes_per_trigger', 'pii_key_env', 'reporting_currency']\n")
