"""The exit-code contract of every ``brandlake`` command, and the exception families that map to it.

0 success; 1 anything unexpected; 2 a usage or configuration error (found before or inside a job);
3 data was kept back beyond what the configuration allows (a ``fail`` data-quality gate stopped
publishing, or a quarantine/mismatch threshold was crossed). The tables are left as the run wrote them.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_DATA_HELD_BACK = 3


class UsageError(ValueError):
    """The command line or configuration asks for something that cannot be done (exit 2)."""

    exit_code = EXIT_USAGE


class DataHeldBackError(RuntimeError):
    """The run finished its writes but kept back more data than the configuration allows (exit 3)."""

    exit_code = EXIT_DATA_HELD_BACK


class HoldBackLimitError(DataHeldBackError):
    """A run wrote its tables as intended but crossed a ``hold_back`` limit (exit 3): not a failure of the run,
    a signal that what it kept back needs a look."""


def exit_code_of(error: BaseException) -> int:
    """The documented exit code for ``error`` (1 when it belongs to neither family)."""
    return getattr(error, "exit_code", EXIT_FAILURE)
