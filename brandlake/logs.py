"""What a run prints and what it keeps: the terminal gets brandlake's own progress lines and, on failure,
one clear line; everything else (third-party and Spark/JVM logs, Python tracebacks, Java frames) goes to
the run's log file ``<lake.runs>/<run_id>.log``, and to the terminal too with ``-v`` or ``BRANDLAKE_DEBUG=1``.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlparse

QUIET, NORMAL, VERBOSE = -1, 0, 1
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Chatty libraries: their INFO lines (Great Expectations registering expectations, py4j's gateway
# traffic, MLflow's store migrations) say nothing an operator needs.
THIRD_PARTY_WARNING = ("py4j", "great_expectations", "mlflow", "alembic", "urllib3", "matplotlib", "fsspec")
TRACE_LOGGER = "brandlake.trace"  # tracebacks of failures: the log file always, the terminal with -v
_CONSOLE = "brandlake-console"
_FILE = "brandlake-run-log"


def verbosity_from(verbose: int, quiet: int) -> int:
    """-v / -q counts (and BRANDLAKE_DEBUG=1) → QUIET, NORMAL or VERBOSE."""
    if verbose or os.environ.get("BRANDLAKE_DEBUG", "") not in ("", "0"):
        return VERBOSE
    return QUIET if quiet else NORMAL


class _ConsoleFilter(logging.Filter):
    """Unless verbose, the terminal shows only brandlake's own lines, and never a failure's traceback."""

    def __init__(self, verbosity: int) -> None:
        super().__init__()
        self.verbosity = verbosity

    def filter(self, record: logging.LogRecord) -> bool:
        if self.verbosity >= VERBOSE:
            return True
        name = record.name
        return (name == "brandlake" or name.startswith("brandlake.") or name == "__main__") and name != TRACE_LOGGER


def configure(verbosity: int = NORMAL) -> Callable[[], None]:
    """Set up the terminal handler (a second call replaces it); returns the function that removes it."""
    root = logging.getLogger()
    root.setLevel(logging.INFO if verbosity < VERBOSE else logging.DEBUG)
    for h in [h for h in root.handlers if h.get_name() == _CONSOLE]:
        root.removeHandler(h)
    console = logging.StreamHandler(sys.stderr)
    console.set_name(_CONSOLE)
    console.setLevel({QUIET: logging.WARNING, NORMAL: logging.INFO}.get(verbosity, logging.DEBUG))
    console.addFilter(_ConsoleFilter(verbosity))
    console.setFormatter(logging.Formatter(FORMAT))
    root.addHandler(console)
    for name in THIRD_PARTY_WARNING:
        logging.getLogger(name).setLevel(logging.WARNING)
    return lambda: root.removeHandler(console)


def run_log_path(root_uri: str, runs_uri: str, run_id: str) -> Path:
    """The run's log file: beside its summary when the lake is local and exists, else in the local temp
    folder (a log file is appended line by line, which object stores cannot do; and a log alone must not
    create a lake)."""
    def local(uri: str) -> Path | None:
        parsed = urlparse(uri)
        if parsed.scheme not in ("", "file"):
            return None
        return Path(parsed.path if uri.startswith("file:") else uri)

    root, runs = local(root_uri), local(runs_uri)
    if root is not None and runs is not None and root.is_dir():
        return runs / f"{run_id}.log"
    # the process id keeps two runs given the same --run-id on one machine apart
    return Path(tempfile.gettempdir()) / "brandlake" / "_runs" / f"{run_id}.{os.getpid()}.log"


def open_run_log(path: Path) -> Callable[[], None]:
    """Send every log record (INFO and up; third parties WARNING and up) to ``path``; returns the closer."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.set_name(_FILE)
    handler.setLevel(logging.INFO)
    handler.setFormatter(logging.Formatter(FORMAT))
    root = logging.getLogger()
    root.addHandler(handler)
    if root.level > logging.INFO or root.level == logging.NOTSET:
        root.setLevel(logging.INFO)

    def close() -> None:
        root.removeHandler(handler)
        handler.close()

    return close


def attach_jvm_log(spark, path: Path, *, console: bool) -> Callable[[], None]:
    """Route the JVM's log4j output (Spark's ERROR lines with their Java frames) into ``path``; take it off
    the terminal unless ``console``. Returns a function that restores the previous setup."""
    jvm = spark.sparkContext._jvm
    core = jvm.org.apache.logging.log4j.core
    context = jvm.org.apache.logging.log4j.LogManager.getContext(False)
    config = context.getConfiguration()
    root = config.getRootLogger()
    layout = core.layout.PatternLayout.newBuilder().withPattern(
        "%d{yyyy-MM-dd HH:mm:ss,SSS} %p %c (jvm): %m%n%ex").build()
    appender = (core.appender.FileAppender.newBuilder().setName(_FILE).withFileName(str(path))
                .withAppend(True).setLayout(layout).build())
    appender.start()
    config.addAppender(appender)
    root.addAppender(appender, None, None)
    removed = []
    if not console:
        for name, app in dict(root.getAppenders()).items():
            if "ConsoleAppender" in app.getClass().getName():
                removed.append(app)
                root.removeAppender(name)
    context.updateLoggers()

    def restore() -> None:
        root.removeAppender(_FILE)
        for app in removed:
            root.addAppender(app, None, None)
        context.updateLoggers()
        appender.stop()

    return restore


class RunLog:
    """The run's log file, for Python and JVM lines alike; it can move once the lake exists (a command that
    creates the lake starts logging in the temp folder)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._close_python = open_run_log(path)
        self._restore_jvm: Callable[[], None] | None = None
        self._jvm: tuple[object, bool] | None = None

    def attach_jvm(self, spark, *, console: bool) -> None:
        try:
            self._restore_jvm = attach_jvm_log(spark, self.path, console=console)
            self._jvm = (spark, console)
        except Exception as e:  # noqa: BLE001 - a JVM without log4j2 core keeps logging to the terminal
            logging.getLogger(__name__).warning("JVM log stays on the terminal: %s", describe(e))

    def move_to(self, path: Path) -> None:
        if path == self.path:
            return
        jvm = self._jvm
        self.close()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(str(self.path), str(path))
            self.path = path
        except OSError as e:  # keep logging where it was
            logging.getLogger(__name__).warning("run log stays at %s: %s", self.path, e)
        self._close_python = open_run_log(path)
        if jvm is not None:
            self.attach_jvm(jvm[0], console=jvm[1])

    def close(self) -> None:
        if self._restore_jvm is not None:
            try:
                self._restore_jvm()
            except Exception:  # noqa: BLE001 - the session may have been stopped by the job
                pass
            self._restore_jvm, self._jvm = None, None
        self._close_python()


_STREAM_FAILED = re.compile(r"^\[STREAM_FAILED\] Query \[.*?\] terminated with exception: ")


def describe(error: BaseException, limit: int = 400) -> str:
    """One line for ``error``: its class and the first line of its message; for an error raised in the JVM,
    the root cause (the Java trace itself belongs in the log file)."""
    java = getattr(error, "java_exception", None)  # py4j's Py4JJavaError
    if java is not None:
        try:
            while java.getCause() is not None:
                java = java.getCause()
            name, text = java.getClass().getName(), str(java.getMessage() or "")
        except Exception:  # noqa: BLE001 - the gateway may be gone by now; fall back to the Python text
            java = None
    if java is None:
        name, text = type(error).__name__, str(error)
    lines = [ln.strip() for ln in _STREAM_FAILED.sub("", text.strip()).splitlines() if ln.strip()]
    first = lines[0] if lines else ""
    out = f"{name}: {first}" if first else name
    return out if len(out) <= limit else out[: limit - 1] + "…"
