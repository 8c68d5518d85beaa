"""A throwaway Spark standalone cluster (one master, one worker) from the installed pyspark, bound to
127.0.0.1 only, plus a spark-submit helper. For the cluster tests and for trying spark-submit by hand:

    with StandaloneCluster(Path("/tmp/sc")) as cluster:
        proc = cluster.submit("jobs/entry.py", ["ingest", "--env", "test"], py_files=[zip_path], jars=jars)
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Sequence
from pathlib import Path

log = logging.getLogger(__name__)

LOOPBACK = "127.0.0.1"
MASTER_CLASS = "org.apache.spark.deploy.master.Master"
WORKER_CLASS = "org.apache.spark.deploy.worker.Worker"

_LOG4J = """\
rootLogger.level = warn
rootLogger.appenderRef.stdout.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{HH:mm:ss} %p %c{1}: %m%n
logger.deploy.name = org.apache.spark.deploy
logger.deploy.level = info
"""


class ClusterError(RuntimeError):
    """The standalone cluster did not come up (the message carries the daemons' log tails)."""


def spark_home() -> Path:
    """The Spark distribution inside the installed pyspark package (never a SPARK_HOME from elsewhere)."""
    import pyspark

    return Path(pyspark.__file__).resolve().parent


def free_port() -> int:
    """A TCP port that is free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"


def _live_group_members(pgid: int) -> list[int]:
    """Pids (not zombies) whose process group is ``pgid`` (Linux /proc)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # fields after "(comm)": state ppid pgrp ...
        state, _ppid, pgrp = stat.rsplit(")", 1)[1].split()[:3]
        if int(pgrp) == pgid and state != "Z":
            pids.append(int(entry.name))
    return pids


class StandaloneCluster:
    """One master and one worker, each in its own process group, logs and work files under ``work_dir``.

    Use as a context manager: both daemons (and the executors the worker launched) are stopped on
    exit, also when the body raises; ``stop`` is registered with atexit as a last resort.
    """

    def __init__(
        self,
        work_dir: str | Path,
        *,
        worker_cores: int = 1,
        worker_memory: str = "1g",
        daemon_memory: str = "512m",
        start_timeout: float = 90.0,
    ) -> None:
        self.work_dir = Path(work_dir)
        self.worker_cores = worker_cores
        self.worker_memory = worker_memory
        self.daemon_memory = daemon_memory
        self.start_timeout = start_timeout
        self.master_port = 0
        self.master_ui_port = 0
        self.worker_ui_port = 0
        self._procs: dict[str, subprocess.Popen] = {}
        self._groups: list[int] = []

    # ---- addresses ---------------------------------------------------------------------------
    @property
    def master_url(self) -> str:
        return f"spark://{LOOPBACK}:{self.master_port}"

    @property
    def master_json_url(self) -> str:
        return f"http://{LOOPBACK}:{self.master_ui_port}/json"

    def log_path(self, name: str) -> Path:
        return self.work_dir / "logs" / f"{name}.log"

    # ---- environment -------------------------------------------------------------------------
    def spark_env(self) -> dict[str, str]:
        """Environment for every Spark process: loopback only, this venv's Python, quiet private conf."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SPARK_", "PYSPARK_"))}
        env.update({
            "SPARK_HOME": str(spark_home()),
            "SPARK_LOCAL_IP": LOOPBACK,          # web UIs and RPC bind here (the UI defaults to 0.0.0.0)
            "SPARK_LOCAL_HOSTNAME": LOOPBACK,    # advertised name; never the machine's host name
            "SPARK_CONF_DIR": str(self.work_dir / "conf"),
            "SPARK_DAEMON_MEMORY": self.daemon_memory,
            "SPARK_WORKER_DIR": str(self.work_dir / "worker"),
            "PYSPARK_PYTHON": sys.executable,    # executors need the driver's interpreter and packages
            "PYSPARK_DRIVER_PYTHON": sys.executable,
            "NO_PROXY": LOOPBACK,
            "no_proxy": LOOPBACK,
        })
        return env

    # ---- lifecycle ---------------------------------------------------------------------------
    def __enter__(self) -> StandaloneCluster:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> None:
        for sub in ("logs", "conf", "worker"):
            (self.work_dir / sub).mkdir(parents=True, exist_ok=True)
        (self.work_dir / "conf" / "log4j2.properties").write_text(_LOG4J, encoding="utf-8")
        self.master_port, self.master_ui_port, self.worker_ui_port = free_port(), free_port(), free_port()
        atexit.register(self.stop)
        try:
            self._spawn("master", [
                MASTER_CLASS, "--host", LOOPBACK, "--port", str(self.master_port),
                "--webui-port", str(self.master_ui_port),
            ])
            self._wait(lambda s: s.get("status") == "ALIVE", "the master to come up")
            self._spawn("worker", [
                WORKER_CLASS, self.master_url, "--cores", str(self.worker_cores),
                "--memory", self.worker_memory, "--host", LOOPBACK, "--port", str(free_port()),
                "--webui-port", str(self.worker_ui_port), "--work-dir", str(self.work_dir / "worker"),
            ])
            self._wait(lambda s: s.get("aliveworkers", 0) >= 1, "the worker to register")
        except BaseException:
            self.stop()
            raise
        log.info("standalone cluster up at %s (ui %s)", self.master_url, self.master_json_url)

    def _spawn(self, name: str, args: list[str]) -> None:
        spark_class = spark_home() / "bin" / "spark-class"
        with open(self.log_path(name), "ab") as out:
            proc = subprocess.Popen(
                [str(spark_class), *args], env=self.spark_env(), cwd=self.work_dir,
                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True,  # own process group: stop() takes the JVM and its children down
            )
        self._procs[name] = proc
        self._groups.append(proc.pid)

    def status(self) -> dict:
        """The master's /json document (workers, aliveworkers, status, activeapps, ...)."""
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(self.master_json_url, timeout=2) as resp:
            return json.loads(resp.read().decode("utf-8"))

    def _wait(self, ready, what: str) -> None:
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            for name, proc in self._procs.items():
                if proc.poll() is not None:
                    raise ClusterError(
                        f"spark {name} exited with code {proc.returncode} while waiting for {what}:\n"
                        + _tail(self.log_path(name))
                    )
            try:
                if ready(self.status()):
                    return
            except (OSError, ValueError):
                pass  # UI not listening yet, or a half-written response
            time.sleep(0.5)
        logs = "\n".join(f"--- {n}\n{_tail(self.log_path(n))}" for n in self._procs)
        raise ClusterError(f"timed out after {self.start_timeout:.0f}s waiting for {what}:\n{logs}")

    def stop(self, timeout: float = 20.0) -> None:
        """Stop worker then master: SIGTERM to each process group, SIGKILL what is left after ``timeout``."""
        for pgid in reversed(self._groups):
            self._signal_group(pgid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for proc in self._procs.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
        for pgid in self._groups:
            while _live_group_members(pgid) and time.monotonic() < deadline:
                time.sleep(0.2)
            if _live_group_members(pgid):
                log.warning("process group %d ignored SIGTERM; killing it", pgid)
                self._signal_group(pgid, signal.SIGKILL)
        for proc in self._procs.values():
            if proc.poll() is None:
                proc.wait(timeout=10)
        atexit.unregister(self.stop)

    @staticmethod
    def _signal_group(pgid: int, sig: int) -> None:
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            pass

    def is_stopped(self) -> bool:
        """True when no process of the master's or worker's group (incl. executors) is alive."""
        return all(not _live_group_members(pgid) for pgid in self._groups)

    # ---- spark-submit ------------------------------------------------------------------------
    def submit_command(
        self,
        app: str | Path,
        app_args: Sequence[str] = (),
        *,
        py_files: Sequence[str | Path] = (),
        jars: Sequence[str | Path] = (),
        conf: dict[str, str] | None = None,
    ) -> list[str]:
        cmd = [
            str(spark_home() / "bin" / "spark-submit"),
            "--master", self.master_url,
            "--deploy-mode", "client",
            "--driver-memory", "1g",
            "--executor-memory", self.worker_memory,
            "--conf", f"spark.driver.host={LOOPBACK}",
            "--conf", f"spark.driver.bindAddress={LOOPBACK}",
            "--conf", "spark.ui.enabled=false",
        ]
        for k, v in (conf or {}).items():
            cmd += ["--conf", f"{k}={v}"]
        if py_files:
            cmd += ["--py-files", ",".join(str(p) for p in py_files)]
        if jars:
            cmd += ["--jars", ",".join(str(p) for p in jars)]
        return [*cmd, str(app), *app_args]

    def submit(
        self,
        app: str | Path,
        app_args: Sequence[str] = (),
        *,
        py_files: Sequence[str | Path] = (),
        jars: Sequence[str | Path] = (),
        conf: dict[str, str] | None = None,
        env: dict[str, str] | None = None,
        cwd: str | Path | None = None,
        timeout: float = 300.0,
    ) -> subprocess.CompletedProcess:
        """Run spark-submit against this cluster (client mode) and return the finished process."""
        cmd = self.submit_command(app, app_args, py_files=py_files, jars=jars, conf=conf)
        log.info("spark-submit %s", " ".join(cmd[1:]))
        proc = subprocess.Popen(
            cmd, env={**self.spark_env(), **(env or {})}, cwd=cwd or self.work_dir,
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            start_new_session=True,  # the Python driver is spark-submit's child: a timeout kills both
        )
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self._signal_group(proc.pid, signal.SIGKILL)
            out, err = proc.communicate()
            err += f"\n[tests.standalone] spark-submit killed after {timeout:.0f}s"
        return subprocess.CompletedProcess(cmd, proc.returncode, out, err)
