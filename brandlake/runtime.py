"""What every job gets: validated config, the SparkSession and the run summary, written on exit; a run log
file; and ``ctx.step(table, step)``, which names the Spark jobs it runs and reports progress while they run."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Collection, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from pyspark.sql import SparkSession

from brandlake import logs
from brandlake.config import Config
from brandlake.errors import UsageError
from brandlake.keptback import kept_back_line, raise_if_held_back
from brandlake.session import get_spark
from brandlake.summary import RunSummary, new_run_id
from brandlake.tables import path_exists, write_text

log = logging.getLogger(__name__)

GROUP, DESCRIPTION = "spark.jobGroup.id", "spark.job.description"
# Spark's interpreted evaluation (its own test suites run both modes): no Java compiled per query
INTERPRETED = {"spark.sql.codegen.wholeStage": "false", "spark.sql.codegen.factoryMode": "NO_CODEGEN"}
STEP_ATTRIBUTE = "brandlake_step"  # set on an exception: the innermost step it escaped from
LOG_ATTRIBUTE = "brandlake_log"  # set on an exception: the log file of the run it failed


def _mark(error: BaseException, name: str, value: str) -> None:
    """Keep the first ``value`` (the innermost step) on ``error``, for the one line the CLI prints."""
    if getattr(error, name, None) is None:
        try:
            setattr(error, name, value)
        except AttributeError:  # an exception type without a __dict__
            pass


# Only these commands may create a lake; every other command refuses a lake root that does not exist
# (a mistyped --lake-root must not quietly become a new, empty lake).
LAKE_CREATORS = frozenset({"generate", "import", "pipeline"})


class LakeNotFoundError(UsageError):
    """The command reads a lake, and the configured lake root does not exist (exit 2)."""


def require_lake(cfg: Config, spark: SparkSession, command: str) -> None:
    if command in LAKE_CREATORS or path_exists(spark, cfg.lake.root):
        return
    raise LakeNotFoundError(
        f"no lake at {cfg.lake.root} (check --lake-root / BRANDLAKE_LAKE_ROOT); `brandlake {command}` reads an "
        "existing lake: create one with `brandlake generate`, `brandlake import` or `brandlake pipeline`"
    )


@dataclass
class JobContext:
    cfg: Config
    spark: SparkSession
    summary: RunSummary
    log_path: Path | None = None
    _marks: list[tuple[int, ExitStack]] = field(default_factory=list, repr=False)
    _depth: int = 0
    # marks and step depth belong to the thread that opened the job; steps on the threads of ``concurrently``
    # name their jobs, log and report progress, but neither nest under nor close the job's marks
    _owner: int = field(default_factory=threading.get_ident, repr=False)
    _restore: dict[str, str | None] = field(default_factory=dict, repr=False)  # session settings to put back

    def concurrently(
        self,
        work: Mapping[str, Callable[[], object]],
        *,
        step: str,
        after: Mapping[str, Collection[str]] | None = None,
        on_done: Callable[[str, object], None] | None = None,
        keep_going: bool = True,
        input_mb: Mapping[str, float] | None = None,
    ) -> dict[str, object]:
        """Run pieces of work (each writes its own tables) on up to ``run.parallel_writes`` threads of the one
        session; results by name. A piece starts once the pieces ``after`` lists for it have finished; of the
        pieces ready, those that more pieces wait for go first, else in the order of ``work``.
        ``on_done(name, result)`` runs on the calling thread as each one finishes, before the pieces waiting
        for it start. Their Spark jobs are described ``brandlake <command> · <name> ·
        <step>`` (a piece may name its own steps). With ``keep_going`` every piece whose prerequisites
        succeeded runs to its end, else no piece starts after a failure; the first failure is then raised
        (each write is idempotent, so a rerun redoes only what failed). With one thread the pieces run one
        by one on the calling thread.

        ``input_mb`` (MB each piece reads) bounds what runs at once by memory as well: pieces start side by side
        only while their inputs together stay within ``run.parallel_input_mb``; a larger piece runs alone. The
        ready piece that goes first waits for room rather than being overtaken, so the critical path keeps its
        place."""
        from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

        from brandlake.session import job_description

        deps = {name: set((after or {}).get(name, ())) & set(work) - {name} for name in work}

        def waiting_on(name: str) -> set[str]:
            """The pieces that wait for ``name``, directly or not."""
            out, todo = set(), [name]
            while todo:
                n = todo.pop()
                for other, needs in deps.items():
                    if n in needs and other not in out:
                        out.add(other)
                        todo.append(other)
            return out

        # a piece that others wait for starts first (fx_rates, orders before the leaves): the chain of
        # prerequisites is the run's critical path; otherwise the order of ``work``
        rank = {name: (-len(waiting_on(name)), i) for i, name in enumerate(work)}
        pending, done, results, errors = sorted(work, key=rank.__getitem__), set(), {}, []

        def one(name: str) -> object:
            with job_description(self.spark, f"brandlake {self.summary.command} · {name} · {step}"):
                return work[name]()

        def ready() -> list[str]:
            return [] if errors and not keep_going else [n for n in pending if deps[n] <= done]

        def finished(name: str, result: object) -> None:
            results[name] = result
            done.add(name)
            if on_done is not None:
                on_done(name, result)

        budget = self.cfg.run.parallel_input_mb

        def fits(name: str, others: Collection[str]) -> bool:
            if input_mb is None or budget <= 0:
                return True
            return sum(input_mb.get(n, 0.0) for n in (name, *others)) <= budget

        workers = max(1, min(self.cfg.run.parallel_writes, len(work)))
        if workers == 1:
            while todo := ready():
                pending.remove(name := todo[0])
                try:
                    finished(name, one(name))
                except Exception as e:  # noqa: BLE001 - raised below, after the others (keep_going)
                    errors.append(e)
        else:
            running: dict[Future, str] = {}
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="brandlake-write") as pool:
                while True:
                    for name in ready():
                        if len(running) >= workers or (running and not fits(name, running.values())):
                            break
                        pending.remove(name)
                        running[pool.submit(one, name)] = name
                    if not running:
                        break
                    finished_now, _ = wait(running, return_when=FIRST_COMPLETED)
                    for future in finished_now:
                        name = running.pop(future)
                        if (error := future.exception()) is not None:
                            errors.append(error)
                            continue
                        try:
                            finished(name, future.result())
                        except Exception as e:  # noqa: BLE001 - on_done failed: as the piece had
                            errors.append(e)
        if errors:
            raise errors[0]
        return results

    def evaluate_for_input(self, *uris: str, size_mb: float | None = None) -> bool:
        """Switch this job to interpreted expression evaluation when its input — the bytes under ``uris``, or
        ``size_mb`` when the job knows it — is below ``run.interpreted_below_mb``. Code generation compiles
        Java for every query: at the default scale that compiling was a quarter of silver's time. The job's
        end (``job_context``) restores the session's settings. Returns whether it switched."""
        self._restore_session()  # a pipeline runs its stages in one context: each stage decides for itself
        limit = self.cfg.run.interpreted_below_mb
        if limit <= 0:
            return False
        if size_mb is None:
            from brandlake.tables import size_bytes

            size_mb = sum(size_bytes(self.spark, uri) for uri in uris) / 2**20
        interpreted = size_mb < limit
        self.summary.details.setdefault("evaluation", []).append(
            {"input_mb": round(size_mb, 1), "interpreted": interpreted, "below_mb": limit})
        if not interpreted:
            return False
        for key, value in INTERPRETED.items():
            self._restore.setdefault(key, self.spark.conf.get(key, None))
            self.spark.conf.set(key, value)
        log.info("%s: input %.1f MB < run.interpreted_below_mb %s: interpreted evaluation", self.summary.command,
                 size_mb, limit)
        return True

    def _restore_session(self) -> None:
        for key, value in self._restore.items():
            if value is None:
                self.spark.conf.unset(key)
            else:
                self.spark.conf.set(key, value)
        self._restore.clear()

    @contextmanager
    def step(self, table: str, step: str, *, rows: Callable[[], dict[str, int] | None] | None = None,
             progress_seconds: float | None = None, _marked: bool = False) -> Iterator[None]:
        """Run one step of work on ``table`` (a run-summary table name such as ``silver.orders``): its Spark
        jobs carry the description ``brandlake <command> · <table> · <step>`` (Spark UI, history server), a
        line is logged when it starts and ends, and every ``progress_seconds`` (config
        ``run.progress_seconds``) while it runs a line gives the elapsed time, the rows so far (``rows()``,
        default: the table's counts in the run summary) and the running Spark stages' task progress.
        Steps nest; the innermost step a failure escapes from is recorded on the exception."""
        label = f"{table} {step}"
        sc = self.spark.sparkContext
        previous = {key: sc.getLocalProperty(key) for key in (GROUP, DESCRIPTION)}
        # Inside a streaming query's micro-batch the query owns the job group (it cancels by group on
        # stop), so keep that one and only describe the jobs.
        if not previous[GROUP]:
            sc.setLocalProperty(GROUP, f"brandlake-{self.summary.run_id}-{table}-{step}".replace(" ", "_"))
        sc.setLocalProperty(DESCRIPTION, f"brandlake {self.summary.command} · {table} · {step}")
        counts = rows or (lambda: self.summary.tables.get(table))
        interval = progress_seconds if progress_seconds is not None else self.cfg.run.progress_seconds
        poller = ProgressPoller(self.spark, label=label, rows=counts, interval=interval)
        owner = threading.get_ident() == self._owner
        if not _marked and owner:
            self._depth += 1
        depth = self._depth
        log.info("%s: started", label)
        started = time.perf_counter()
        poller.start()
        try:
            yield
        except BaseException as e:
            if owner:
                self._close_marks(depth, e)  # marks opened inside this step fail first: the innermost names it
            _mark(e, STEP_ATTRIBUTE, label)
            log.info("%s: failed after %s", label, _elapsed(time.perf_counter() - started))
            raise
        else:
            if owner:
                self._close_marks(depth, None)
        finally:
            poller.stop()
            if not _marked and owner:
                self._depth -= 1
            for key, value in previous.items():
                sc.setLocalProperty(key, value)
        log.info("%s: done in %s%s", label, _elapsed(time.perf_counter() - started), _rows(counts()))

    def mark(self, table: str, step: str, **kwargs) -> None:
        """Start a step without indenting the code under it: it ends at the next ``mark`` at the same level,
        at the end of the enclosing ``step``, or when the job ends (``job_context``). Only on the job's own
        thread (a piece of ``concurrently`` uses ``step``)."""
        if threading.get_ident() != self._owner:
            raise RuntimeError(f"mark({table!r}, {step!r}) outside the job's thread: use step() in concurrent work")
        self._close_marks(self._depth, None)
        stack = ExitStack()
        stack.enter_context(self.step(table, step, _marked=True, **kwargs))
        self._marks.append((self._depth, stack))

    def _close_marks(self, depth: int, error: BaseException | None) -> None:
        """End the marks opened at ``depth`` or deeper; with ``error``, as failed by it."""
        while self._marks and self._marks[-1][0] >= depth:
            _, stack = self._marks.pop()
            if error is None:
                stack.close()
            else:
                try:
                    stack.__exit__(type(error), error, error.__traceback__)
                except BaseException:  # noqa: BLE001 - the step re-raises ``error``; it is raised once, above
                    pass


def _elapsed(seconds: float) -> str:
    minutes, secs = divmod(seconds, 60)
    return f"{int(minutes)}m{secs:04.1f}s" if minutes else f"{secs:.1f}s"


def _rows(counts: dict[str, int] | None) -> str:
    if not counts:
        return ""
    return "; rows so far: " + ", ".join(f"{k}={v:,}" for k, v in counts.items())


class ProgressPoller:
    """A daemon thread that logs, every ``interval`` seconds, how far the running Spark stages are (Spark's
    status tracker: completed/total tasks of each active stage; a job runs one step at a time, or several
    streams of the same step) — so a single long micro-batch still shows signs of life. No SparkListener
    is needed; nothing is logged for a step shorter than ``interval``."""

    def __init__(self, spark: SparkSession, *, label: str, rows: Callable[[], dict[str, int] | None],
                 interval: float) -> None:
        self.spark, self.label, self.rows, self.interval = spark, label, rows, interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._started = 0.0

    def start(self) -> None:
        if self.interval <= 0:
            return
        self._started = time.perf_counter()
        self._thread = threading.Thread(target=self._loop, name=f"progress {self.label}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                line = self.line()
            except Exception as e:  # noqa: BLE001 - progress is best effort; never break the job for it
                log.debug("progress of %s unavailable: %s", self.label, e)
                continue
            log.info("%s", line)

    def line(self) -> str:
        """``<table> <step>: running 2m05.0s; rows so far: rows_read=10,000; spark stage 12: 3/8 tasks done,
        2 running`` (the Spark part only while a stage runs)."""
        tracker = self.spark.sparkContext.statusTracker()
        parts = []
        for stage_id in sorted(tracker.getActiveStageIds()):
            stage = tracker.getStageInfo(stage_id)
            if stage is not None:
                parts.append(f"spark stage {stage_id}: {stage.numCompletedTasks}/{stage.numTasks} tasks done, "
                             f"{stage.numActiveTasks} running")
        spark_part = "; " + "; ".join(parts) if parts else ""
        return (f"{self.label}: running {_elapsed(time.perf_counter() - self._started)}"
                f"{_rows(self.rows())}{spark_part}")


def summary_uri(cfg: Config, run_id: str) -> str:
    return f"{cfg.lake.runs}/{run_id}.json"


@contextmanager
def job_context(
    cfg: Config, command: str, *, run_id: str | None = None, spark: SparkSession | None = None,
    verbosity: int = logs.NORMAL,
) -> Iterator[JobContext]:
    """Open the run log and the session, yield the context, and write the run summary whether the job
    fails or not. The run log (``<lake.runs>/<run_id>.log``) gets every log line of the run, the JVM's too.

    A job that kept data back ends with one ``kept back: ...`` line; beyond ``cfg.hold_back`` the run
    is recorded as ``held_back`` and DataHeldBackError (exit 3) raised, the tables left as written.
    """
    from brandlake.errors import DataHeldBackError

    run_id = run_id or new_run_id()
    ctx: JobContext | None = None
    run_log = logs.RunLog(logs.run_log_path(cfg.lake.root, cfg.lake.runs, run_id))

    def failed(e: BaseException) -> None:
        """The trace into the run log (the terminal shows it only with -v); the log's place onto ``e``."""
        logging.getLogger(logs.TRACE_LOGGER).error("brandlake %s failed", command, exc_info=e)
        _mark(e, LOG_ATTRIBUTE, str(run_log.path))

    try:
        try:
            spark = spark or get_spark(cfg.spark)
            require_lake(cfg, spark, command)  # before anything could write into a mistyped root
        except BaseException as e:
            failed(e)
            raise
        run_log.attach_jvm(spark, console=verbosity >= logs.VERBOSE)
        summary = RunSummary(run_id=run_id, command=command, env=cfg.env)
        summary.details["spark"] = _spark_settings(spark)
        ctx = JobContext(cfg=cfg, spark=spark, summary=summary, log_path=run_log.path)

        def settle_log() -> None:
            """A command that created the lake started its log in the temp folder: move it beside the summary."""
            run_log.move_to(logs.run_log_path(cfg.lake.root, cfg.lake.runs, run_id))
            ctx.log_path = run_log.path
            summary.details["log_file"] = str(run_log.path)

        try:
            yield ctx
            ctx._close_marks(0, None)
            summary.details["kept_back"] = kept_back_line(summary)
            log.log(logging.WARNING if summary.details["kept_back"] != "kept back: nothing" else logging.INFO,
                    "%s %s", command, summary.details["kept_back"])
            raise_if_held_back(summary, cfg.hold_back)
        except BaseException as e:
            ctx._close_marks(0, e)
            settle_log()
            failed(e)
            summary.finish("held_back" if isinstance(e, DataHeldBackError) else "failed", f"{type(e).__name__}: {e}")
            if getattr(e, STEP_ATTRIBUTE, None):
                summary.details["failed_step"] = getattr(e, STEP_ATTRIBUTE)
            _write_summary(ctx)
            raise
        settle_log()
        summary.finish("succeeded")
        _write_summary(ctx)
    finally:
        if ctx is not None:
            ctx._restore_session()
        if spark is not None:
            # a job's cached frames die with it, also when it failed half-way: one session running many jobs
            # (tests, a notebook) must not fill its memory with the caches of jobs that are over
            try:
                spark.catalog.clearCache()
            except Exception as e:  # a session the job stopped itself has nothing cached
                log.debug("clearCache after %s: %s", command, e)
        run_log.close()


# Settings worth seeing in a run's summary: the ones spark-submit may set and the ones brandlake enforces.
REPORTED_SPARK_SETTINGS = (
    "spark.app.name", "spark.master", "spark.sql.shuffle.partitions", "spark.sql.session.timeZone",
    "spark.sql.ansi.enabled", "spark.ui.enabled", "spark.driver.memory",
)


def _spark_settings(spark: SparkSession) -> dict[str, str | None]:
    conf = spark.sparkContext.getConf()
    out = {}
    for key in REPORTED_SPARK_SETTINGS:
        value = spark.conf.get(key, None) if key.startswith("spark.sql.") else conf.get(key, None)
        out[key] = value
    return out


def _write_summary(ctx: JobContext) -> None:
    text = ctx.summary.to_json()
    write_text(ctx.spark, summary_uri(ctx.cfg, ctx.summary.run_id), text)
    write_text(ctx.spark, f"{ctx.cfg.lake.runs}/latest.json", text)
    log.info("run summary: %s", summary_uri(ctx.cfg, ctx.summary.run_id))
