"""The command line: exit codes (0 ok, 1 failure, 2 usage/configuration, 3 data held back), one clear line
on failure with the trace in the run log, `--help` without Spark or Great Expectations, `--version`,
`config show|validate`, and spark-submit's own settings respected (real subprocesses)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import yaml
from brandlake.jobs.config import show
from brandlake.transforms.landing import SOURCES
from pyspark.sql import types as T

from brandlake import __version__
from brandlake.cli import COMMANDS, main
from brandlake.config import load_config
from brandlake.jars import ensure_jars

ROOT = Path(__file__).resolve().parents[1]
ENTRY = ROOT / "jobs" / "entry.py"
BRANDLAKE = Path(sys.executable).parent / "brandlake"
# The one line the JVM itself prints at start (Spark 4.1 runs with the incubating vector module); it is not
# a log line, so no log setting can move it.
JVM_NOTICE = "WARNING: Using incubator modules: jdk.incubator.vector"


def _lines(text: str) -> list[str]:
    return [ln for ln in text.splitlines() if ln.strip() and ln != JVM_NOTICE]


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SPARK_", "PYSPARK_", "BRANDLAKE_"))}
    return {**env, "PYSPARK_PYTHON": sys.executable, "PYSPARK_DRIVER_PYTHON": sys.executable, **extra}


# ---- without Spark --------------------------------------------------------------------------------------

def test_help_of_every_command_starts_no_spark_and_imports_no_great_expectations():
    code = (
        "import sys, contextlib, io\n"
        "from brandlake.cli import COMMANDS, main\n"
        "for name in COMMANDS:\n"
        "    with contextlib.redirect_stdout(io.StringIO()) as out:\n"
        "        rc = main([name, '--help'])\n"
        "    sc = sys.modules.get('pyspark') and sys.modules['pyspark'].SparkContext\n"
        "    print(name, rc, out.getvalue().startswith('usage: brandlake ' + name),\n"
        "          'great_expectations' in sys.modules, bool(sc and (sc._gateway or sc._active_spark_context)))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=_env())
    assert proc.stdout.splitlines() == [f"{name} 0 True False False" for name in COMMANDS], proc.stderr


def test_version_names_the_package_version(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out == f"brandlake {__version__}\n"
    # the installed console script, as an operator runs it
    proc = subprocess.run([str(BRANDLAKE), "--version"], capture_output=True, text=True, timeout=120, env=_env())
    assert (proc.returncode, proc.stdout) == (0, f"brandlake {__version__}\n"), proc.stderr


def test_config_show_prints_the_effective_configuration_with_secrets_masked(capsys, monkeypatch):
    monkeypatch.setenv("BRANDLAKE_PII_KEY", "do-not-print-me")
    settings = ["mlflow.tracking_uri=https://alice:s3cr3t@mlflow.example.com/api",
                "spark.conf.spark.hadoop.fs.s3a.secret.key=AKIA-SECRET", "silver.reporting_currency=GBP"]
    argv = ["config", "show", "--env", "test"] + [a for s in settings for a in ("--set", s)]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "do-not-print-me" not in out and "s3cr3t" not in out and "AKIA-SECRET" not in out
    assert out.splitlines()[:2] == ["# brandlake effective configuration, env: test",
                                    "# BRANDLAKE_PII_KEY (PII hash key): set"]
    # the same configuration as the loader builds, with exactly the two secrets masked
    effective = dataclasses.asdict(load_config("test", overrides={
        "mlflow": {"tracking_uri": "https://alice:***@mlflow.example.com/api"},
        "spark": {"conf": {"spark.hadoop.fs.s3a.secret.key": "***"}}, "silver": {"reporting_currency": "GBP"}}))
    del effective["env"]
    effective["generate"]["start_date"] = effective["generate"]["start_date"].isoformat()
    effective = json.loads(json.dumps(effective))  # YAML has lists where the dataclasses hold tuples
    assert yaml.safe_load(out) == effective
    assert show(load_config("test")).count("***") == 0  # nothing secret, nothing masked


def test_config_validate_checks_every_mapping_and_names_each_problem(capsys, tmp_path, monkeypatch):
    assert main(["config", "validate", "--env", "test"]) == 0
    overridden = len(load_config("test").dq.severities)
    assert capsys.readouterr().out.splitlines() == [
        "ok   config (env test)", f"ok   dq.severities (overrides for {overridden} table(s))", "ok   mapping conf/sources/online_retail_ii.yaml (source online_retail_ii)",
        "config test: valid"]
    bad = tmp_path / "bad.yaml"
    bad.write_text((ROOT / "conf/sources/online_retail_ii.yaml").read_text().replace(
        "time_zone: Europe/London", "time_zone: Mars/Olympus"), encoding="utf-8")
    monkeypatch.delenv("BRANDLAKE_PII_KEY", raising=False)
    argv = ["config", "validate", "--env", "test", "--mapping", str(bad), "--set", "silver.allow_local_pii_key=false",
            "--set", "dq.severities.platforms.no_such_rule=warn"]
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.err.splitlines() == [
        "invalid: environment variable BRANDLAKE_PII_KEY (the PII hash key) is not set and "
        "silver.allow_local_pii_key is false",
        "invalid: dq.severities.platforms names rule(s) ['no_such_rule'] that the platforms contract does not have; "
        "its rules: ['unique_grain', 'not_null_platform_id', 'not_null_currency', 'not_null_timezone', "
        "'regex_currency', 'conform']",
        f"invalid: mapping {bad}: key 'values.time_zone' must be an IANA time zone (e.g. Europe/London), "
        "found 'Mars/Olympus'",
    ]
    assert captured.out.splitlines()[-1] == "config test: 3 problem(s)"


# ---- exit codes through cli.main (the test session's Spark) ---------------------------------------------

def test_exit_codes_usage_configuration_data_held_back_and_failure(spark, tmp_path, capsys, monkeypatch):
    root = tmp_path / "lake"
    common = ["--env", "test", "--lake-root", str(root)]
    # 2: usage errors, before anything runs
    assert main(["silver", "--no-such-flag", *common]) == 2
    assert main(["silver", "--set", "silver.no_such_key=1", *common]) == 2
    assert capsys.readouterr().err.splitlines()[-1] == (
        "brandlake: configuration error: --set: unknown config key 'silver.no_such_key'; expected some of "
        "['allow_local_pii_key', 'max_bytes_per_trigger', 'pii_key_env', 'reporting_currency']")
    # 2: a configuration error found inside the job (no PII key where a local one is not allowed), with -v
    # the trace follows the one line
    monkeypatch.delenv("BRANDLAKE_PII_KEY", raising=False)
    root.mkdir()
    assert main(["silver", *common, "--set", "silver.allow_local_pii_key=false", "-v"]) == 2
    err = capsys.readouterr().err
    failure = next(ln for ln in err.splitlines() if ln.startswith("brandlake silver failed"))
    assert re.fullmatch(
        r"brandlake silver failed: ConfigError: environment variable BRANDLAKE_PII_KEY \(the PII hash key\) is "
        r"not set and silver.allow_local_pii_key is false \(trace in .*/lake/_runs/[0-9TZ]+-[0-9a-f]+\.log; "
        r"-v shows it here\)", failure)
    assert "Traceback (most recent call last)" in err  # -v: the trace on the terminal too
    monkeypatch.setenv("BRANDLAKE_PII_KEY", "test-only-pii-key")
    # 3: a `fail` gate stopped publishing (one platform with a currency that is no ISO code)
    fields = SOURCES["platforms"].fields
    values = {"platform_id": "p1", "name": "Shop", "market": "domestic", "country": "CN", "currency": "yuan",
              "timezone": "Asia/Shanghai", "updated_at": "2024-01-01T00:00:00"}
    bronze = T.StructType([*(T.StructField(f, T.StringType()) for f in fields),
                           T.StructField("_corrupt_record", T.StringType()), T.StructField("_source_file", T.StringType()),
                           T.StructField("_landing_batch", T.IntegerType()),
                           T.StructField("_ingested_at", T.TimestampType()), T.StructField("_run_id", T.StringType())])
    row = (*(values.get(f) for f in fields), None, "landing/platforms/batch=00001/part-00000.jsonl", 1,
           dt.datetime(2024, 1, 2), "ingest-run")
    spark.createDataFrame([row], bronze).write.format("delta").save(str(root / "bronze" / "platforms"))
    assert main(["silver", *common, "--tables", "platforms", "--set", "dq.severities.platforms.regex_currency=fail",
                 "--set", "dq.build_data_docs=false",
                 "-q"]) == 3
    lines = [re.sub(r"^\d{4}-\d\d-\d\d [\d:,]+ ", "", ln) for ln in _lines(capsys.readouterr().err)]
    # -q: the gate's own warning lines, then the one line
    assert lines[0] == "ERROR brandlake.expectations.gate: dq platforms.regex_currency (fail): 1 of 1 rows unexpected"
    assert all(re.match(r"WARNING brandlake\.expectations\.gate: dq platforms\.", ln) for ln in lines[1:-1]), lines
    assert lines[-1:] == [
        f"brandlake silver failed at silver.platforms conform, gate, merge: DataQualityError: silver table platforms "
        f"not published: severity 'fail' rule(s) broken — rule regex_currency: 1 of 1 rows (trace in "
        f"{root}/_runs/{json.loads((root / '_runs/latest.json').read_text())['run_id']}.log; -v shows it here)"]
    # 2 as well: a command run before the one that builds its inputs (gold before silver); 1 (anything else) is
    # checked by the real-process test below
    assert main(["gold", *common, "-q"]) == 2
    assert capsys.readouterr().err.startswith(
        f"brandlake gold failed: MissingInputsError: gold needs table(s) 'orders' at {root}/silver/orders, ")


# ---- real processes ---------------------------------------------------------------------------------------

def test_a_failing_job_prints_one_clear_line_and_keeps_spark_errors_and_traces_in_the_run_log(spark, tmp_path, capsys,
                                                                                              monkeypatch):
    """Run in this process, on the session's warm JVM (a new JVM alone took most of this test's time): the one
    line on stderr, nothing on stdout, and the run log holds Spark's own error, its Java frames and the trace."""
    root = tmp_path / "lake"
    bronze = root / "bronze" / "platforms"
    spark.createDataFrame([("p1", "Shop")], "platform_id string, name string").write.format("delta").save(str(bronze))
    for f in bronze.glob("*.parquet"):  # storage damage: a data file that is no Parquet any more
        f.write_bytes(b"not parquet " * 20)
    for f in bronze.glob(".*.crc"):
        f.unlink()
    monkeypatch.setenv("BRANDLAKE_PII_KEY", "k")
    capsys.readouterr()
    code = main(["silver", "--tables", "platforms", "--env", "test", "--lake-root", str(root), "-q"])
    out = capsys.readouterr()
    run_id = json.loads((root / "_runs/latest.json").read_text())["run_id"]
    log_file = root / "_runs" / f"{run_id}.log"
    assert code == 1, out.err
    assert out.out == ""
    [line] = _lines(out.err)
    assert re.fullmatch(
        r"brandlake silver failed at silver\.platforms conform, gate, merge: \S+: .*/part-\d+-\S+\.parquet.* "
        + re.escape(f"(trace in {log_file}; -v shows it here)"), line), line
    text = log_file.read_text(encoding="utf-8")
    assert re.search(r"ERROR org\.apache\.spark\.executor\.Executor \(jvm\): Exception in task", text)  # Spark's log
    assert re.search(r"\n\s+at org\.apache\.spark\.", text)  # Java frames
    assert re.search(r"ERROR brandlake\.trace: brandlake silver failed\nTraceback \(most recent call last\)", text)


def test_spark_submit_settings_are_respected_except_utc_and_ansi(tmp_path):
    from pyspark import __file__ as pyspark_file

    root = tmp_path / "lake"
    (root / "landing").mkdir(parents=True)  # an empty landing zone: ingest has nothing to do
    spark_submit = Path(pyspark_file).parent / "bin" / "spark-submit"
    conf = {"spark.app.name": "nightly-ingest", "spark.sql.shuffle.partitions": "3",
            "spark.sql.session.timeZone": "America/New_York", "spark.sql.ansi.enabled": "false",
            "spark.driver.host": "127.0.0.1", "spark.driver.bindAddress": "127.0.0.1"}
    cmd = [str(spark_submit), "--master", "local[1]", "--driver-memory", "1g",
           "--jars", ",".join(str(p) for p in ensure_jars())]
    for k, v in conf.items():
        cmd += ["--conf", f"{k}={v}"]
    cmd += [str(ENTRY), "ingest", "--env", "test", "--lake-root", str(root)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=tmp_path,
                          env=_env(BRANDLAKE_PII_KEY="k", SPARK_HOME=str(Path(pyspark_file).parent)))
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads((root / "_runs/latest.json").read_text())
    assert summary["details"]["spark"] == {
        "spark.app.name": "nightly-ingest", "spark.master": "local[1]", "spark.sql.shuffle.partitions": "3",
        "spark.sql.session.timeZone": "UTC", "spark.sql.ansi.enabled": "true", "spark.ui.enabled": "false",
        "spark.driver.memory": "1g",
    }
    # the Python driver's log lines: on spark-submit's stdout, and in the run's log file
    log_text = (root / "_runs" / f"{summary['run_id']}.log").read_text(encoding="utf-8")
    assert [ln for ln in proc.stdout.splitlines() if "overriding" in ln] == [
        ln for ln in log_text.splitlines() if "overriding" in ln]
    overrides = [re.sub(r"^\S+ \S+ WARNING brandlake\.session: ", "", ln) for ln in log_text.splitlines()
                 if "WARNING brandlake.session: overriding" in ln]
    assert overrides == [
        "overriding spark.sql.session.timeZone=America/New_York with UTC: brandlake's results are only correct with it",
        "overriding spark.sql.ansi.enabled=false with true: brandlake's results are only correct with it",
    ]
