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


@pytest.fixture
def cfg(base_cfg, tmp_path) -> Config:
    """A config whose lake lives under this test's own tmp_path."""
    return load_config("test", overrides={"lake": {"root": str(tmp_path / "lake")}})
