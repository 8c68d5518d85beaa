"""Machine-readable run summary: one JSON document per pipeline run.

Written to ``<lake.runs>/<run_id>.json`` and copied to ``<lake.runs>/latest.json``. Layout:
``{run_id, command, env, status, started_at, finished_at, error, stages: [{name, seconds}],
tables: {name: {rows_read, rows_written, rows_quarantined, ...}}, details: {...}}``.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any


def new_run_id() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(3)


@dataclass
class RunSummary:
    run_id: str
    command: str
    env: str
    started_at: str = field(default_factory=lambda: dt.datetime.now(dt.UTC).isoformat())
    finished_at: str | None = None
    status: str = "running"
    error: str | None = None
    stages: list[dict[str, Any]] = field(default_factory=list)
    tables: dict[str, dict[str, int]] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)

    @contextmanager
    def stage(self, name: str):
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.stages.append({"name": name, "seconds": round(time.perf_counter() - t0, 3)})

    def add_counts(self, table: str, **counts: int) -> None:
        """Add row counts for ``table`` (rows_read, rows_written, rows_quarantined, ...)."""
        entry = self.tables.setdefault(table, {})
        for k, v in counts.items():
            entry[k] = entry.get(k, 0) + int(v)

    def finish(self, status: str, error: str | None = None) -> None:
        self.status = status
        self.error = error
        self.finished_at = dt.datetime.now(dt.UTC).isoformat()

    def to_json(self) -> str:
        return json.dumps(self.__dict__, indent=2, sort_keys=True, default=str)
