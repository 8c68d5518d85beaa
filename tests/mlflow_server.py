"""A real ``mlflow server`` process on loopback for tests: HTTP tracking + registry, artefacts served
through the server (``--serve-artifacts``), the way a cluster job reaches MLflow."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def mlflow_server(root: Path, *, timeout_s: float = 90.0) -> Iterator[tuple[str, Path]]:
    """Start the server with a SQLite backend and an artefact folder under ``root``; yield (uri, artefact
    folder); stop it (terminate, then kill) on exit."""
    port = _free_port()
    artifacts = root / "served-artifacts"
    artifacts.mkdir(parents=True, exist_ok=True)
    log = open(root / "mlflow-server.log", "w")  # noqa: SIM115 - closed below
    mlflow_bin = Path(sys.executable).with_name("mlflow")
    cmd = [str(mlflow_bin), "server", "--host", "127.0.0.1", "--port", str(port),
           "--backend-store-uri", f"sqlite:///{root / 'server.db'}",
           "--artifacts-destination", str(artifacts), "--serve-artifacts", "--workers", "1"]
    env = {**os.environ, "MLFLOW_TRACKING_URI": ""}
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=root,
                            start_new_session=True)
    uri = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"mlflow server exited with {proc.returncode}: "
                                   f"{(root / 'mlflow-server.log').read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{uri}/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"mlflow server not healthy after {timeout_s}s: "
                                   f"{(root / 'mlflow-server.log').read_text()[-2000:]}")
            time.sleep(0.3)
        yield uri, artifacts
    finally:
        # the server forks workers: stop the process group this fixture started, and only that
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=15)
        except ProcessLookupError:
            pass
        log.close()
