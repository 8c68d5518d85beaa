"""Shared fixtures: one session-scoped SparkSession with Delta (test overlay), tables under tmp_path."""

from __future__ import annotations

import os

import pytest

from brandlake.config import Config, load_config
from brandlake.session import get_spark


@pytest.fixture(scope="session")
def base_cfg(tmp_path_factory) -> Config:
    root = tmp_path_factory.mktemp("lake")
    os.environ.setdefault("BRANDLAKE_PII_KEY", "test-only-pii-key")
    return load_config("test", overrides={"lake": {"root": str(root)}})


@pytest.fixture(scope="session")
def spark(base_cfg):
    session = get_spark(base_cfg.spark)
    yield session
    session.stop()


@pytest.fixture(autouse=True, scope="module")
def _drop_cached_frames(spark):
    """A test module's cached frames (fixtures that persist, jobs run on a bare JobContext) go when it ends:
    the one session serves every module."""
    yield
    spark.catalog.clearCache()


@pytest.fixture
def cfg(base_cfg, tmp_path) -> Config:
    """A config whose lake lives under this test's own tmp_path."""
    return load_config("test", overrides={"lake": {"root": str(tmp_path / "lake")}})


@pytest.fixture(scope="session")
def generated_world(spark, tmp_path_factory):
    """One `brandlake generate` run at the test scale (conf/test.yaml), shared by the generator's tests and the
    end-to-end tests. Read-only: a test that changes it works on a copy."""
    import argparse

    from brandlake.jobs import generate

    from brandlake.runtime import job_context

    root = tmp_path_factory.mktemp("generated_world")
    cfg = load_config("test", overrides={"lake": {"root": str(root)}})
    parser = argparse.ArgumentParser()
    generate.add_arguments(parser)
    # job_context ends the job's marks (and their progress lines) when generate returns, as a real run does
    with job_context(cfg, "generate", run_id="t", spark=spark) as ctx:
        generate.run(ctx, parser.parse_args([]))
    return ctx
