"""Delta jar cache: reuse without network, and clear messages when jars cannot be had."""

from __future__ import annotations

import pytest

from brandlake import jars
from brandlake.jars import JarFetchError, cached_jars, ensure_jars


def test_required_artifacts_match_installed_delta():
    assert jars.required_artifacts("4.1.0") == [
        ("io.delta", "delta-spark_2.13", "4.1.0"),
        ("io.delta", "delta-storage", "4.1.0"),
    ]
    assert jars.delta_version() == "4.1.0"


def test_cached_jars_are_used_without_maven(tmp_path, monkeypatch):
    for _, artifact, v in jars.required_artifacts():
        (tmp_path / f"{artifact}-{v}.jar").write_bytes(b"PK\x03\x04")
    monkeypatch.setenv("PATH", str(tmp_path / "nothing-here"))
    assert ensure_jars(tmp_path) == [tmp_path / "delta-spark_2.13-4.1.0.jar", tmp_path / "delta-storage-4.1.0.jar"]


def test_missing_jars_are_named(tmp_path):
    (tmp_path / "delta-storage-4.1.0.jar").write_bytes(b"PK")
    with pytest.raises(JarFetchError, match=r"Delta jars missing from .*: delta-spark_2\.13-4\.1\.0\.jar\. Run `make setup`"):
        cached_jars(tmp_path)


def test_no_maven_gives_one_clear_message(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "nothing-here"))
    with pytest.raises(JarFetchError, match=r"Maven \(`mvn`\) is not on PATH.*apt-get install maven"):
        ensure_jars(tmp_path / "cache")


def test_failed_fetch_reports_maven_output_and_what_to_do(tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "mvn"
    fake.write_text("#!/bin/sh\necho '[ERROR] Could not transfer artifact: Network is unreachable'\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))
    with pytest.raises(JarFetchError) as err:
        ensure_jars(tmp_path / "cache")
    msg = str(err.value)
    assert "could not fetch io.delta:delta-spark_2.13:4.1.0:jar from Maven Central" in msg
    assert "mvn exit 1" in msg and "Network is unreachable" in msg
    assert "BRANDLAKE_JAR_CACHE" in msg
