"""The boundary check every transform module uses: a DataFrame must bring the columns a transform needs."""

from __future__ import annotations

from collections.abc import Iterable

from pyspark.sql import DataFrame


class MissingColumnsError(ValueError):
    """A DataFrame handed to a transform lacks columns the transform needs."""


def require_columns(df: DataFrame, columns: Iterable[str], *, what: str) -> None:
    """Raise MissingColumnsError naming ``what``, the missing columns and the columns ``df`` has."""
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise MissingColumnsError(f"{what} needs column(s) {missing}; found {df.columns}")
