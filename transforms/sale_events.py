"""The name a big-sale event keeps from year to year.

Platforms and retailers' exports name each occurrence with its year ("Double 11 2024", "2024 Prime Day");
the marts compare an event with the same event a year earlier, and the peak-load plan scales the previous
occurrence of the coming event, so both match occurrences on the name without its year."""

from __future__ import annotations

import re

from pyspark.sql import Column
from pyspark.sql import functions as F

# a year (1900-2099) standing alone at the start or the end of the name, with its separator
_YEAR = r"^\s*(19|20)\d{2}[\s\-_/']+|[\s\-_/']+(19|20)\d{2}\s*$"


def event_series_of(event_name: str) -> str:
    """``event_series`` for one name, in Python (the forecast's calendar is a pandas frame)."""
    stripped = re.sub(_YEAR, "", event_name).strip()
    return stripped or event_name.strip()


def event_series(event_name: Column) -> Column:
    """``event_name`` without a leading or trailing year ("Double 11 2024" → "Double 11"); a name that is
    only a year is kept as it is."""
    stripped = F.trim(F.regexp_replace(event_name, _YEAR, ""))
    return F.when(stripped == "", F.trim(event_name)).otherwise(stripped)
