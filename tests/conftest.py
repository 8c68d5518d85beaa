"""Shared fixtures: one session-scoped SparkSession with Delta (test overlay), tables under tmp_path."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
from pathlib import Path

import pytest

from brandlake.config import Config, load_config
from brandlake.session import get_spark

# Test files by their measured time, the longest first (`pytest --durations=0`, summed per file; the rest follow in
# their usual order). With `--dist loadfile` each worker takes the next file when it is free, so starting the long
# ones first keeps the two workers from ending far apart. The generator's and the end-to-end tests share one
# generated world: they go to one worker together, which builds it once, instead of one worker waiting idle for
# the other to build it.
LONGEST_FIRST = (
    ("tests/test_generate.py", "tests/test_end_to_end.py"),
    ("tests/test_reports_e2e.py",),
    ("tests/test_silver_job.py",),
    ("tests/test_returns.py",),
    ("tests/test_import.py",),
    ("tests/test_gold_job.py",),
    ("tests/test_forecast.py",),
    ("tests/test_kept_back.py",),
    ("tests/test_session_and_tables.py",),
    ("tests/test_cluster_submit.py",),
)
_RANK = {path: rank for rank, group in enumerate(LONGEST_FIRST) for path in group}
_SHARED_UNIT = {path: group[0] for group in LONGEST_FIRST for path in group}


def _test_file(nodeid: str) -> str:
    return nodeid.split("::", 1)[0]


def pytest_collection_modifyitems(items) -> None:
    """The longest test files first (a stable sort: each file's tests keep their order)."""
    items.sort(key=lambda item: _RANK.get(_test_file(item.nodeid), len(_RANK)))


def pytest_xdist_make_scheduler(config, log):
    """`--dist loadfile` as pytest-xdist does it, except that the files of one LONGEST_FIRST group are one work
    unit, and units go out in collection order (longest first) instead of by their number of tests."""
    if config.getoption("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class Scheduling(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            path = _test_file(nodeid)
            return _SHARED_UNIT.get(path, path)

    config.option.loadscopereorder = False
    return Scheduling(config, log)


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


@dataclasses.dataclass(frozen=True)
class GeneratedWorld:
    cfg: Config
    summary: dict  # the generate run's summary, as written to <lake.runs>/latest.json


@pytest.fixture(scope="session")
def generated_world(spark, tmp_path_factory) -> GeneratedWorld:
    """One `brandlake generate` run at the test scale (conf/test.yaml), shared by the generator's tests and the
    end-to-end tests. Read-only: a test that changes it works on a copy.

    Built once per test run: with pytest-xdist's workers, the first worker to need it generates it into the
    folder the workers share, holding a lock file, and the others wait and read it."""
    import argparse
    import fcntl

    from brandlake.jobs import generate

    from brandlake.runtime import job_context

    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent  # the run's base folder; each worker's own is below it
    root = shared / "generated_world"
    cfg = load_config("test", overrides={"lake": {"root": str(root)}})
    summary_file = Path(cfg.lake.runs) / "latest.json"
    with open(shared / "generated_world.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        summary = json.loads(summary_file.read_text()) if summary_file.exists() else {}
        if summary.get("status") != "succeeded":  # none yet, or a worker's generate failed: (re)generate
            shutil.rmtree(root, ignore_errors=True)
            parser = argparse.ArgumentParser()
            generate.add_arguments(parser)
            # job_context ends the job's marks (and their progress lines) when generate returns, as a real run does
            with job_context(cfg, "generate", run_id="t", spark=spark) as ctx:
                generate.run(ctx, parser.parse_args([]))
            summary = json.loads(summary_file.read_text())
    return GeneratedWorld(cfg=cfg, summary=summary)
