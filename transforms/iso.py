"""ISO 3166-1 country codes and ISO 4217 currency codes, from pycountry's packaged tables.

Reference data in the way the standard library's time-zone database is (silver already checks time
zones against ``zoneinfo``): read once on the driver when this module is imported, then handed to Spark
as literals (an ``isin`` set, a literal map) when a plan is built, so executors need neither pycountry
nor a network. This is the one module of ``transforms/`` that imports a library besides pyspark.
"""

from __future__ import annotations

from collections.abc import Mapping

import pycountry
from pyspark.sql import Column
from pyspark.sql import functions as F

COUNTRY_CODES: frozenset[str] = frozenset(c.alpha_2 for c in pycountry.countries)
"""Every ISO 3166-1 alpha-2 code (249)."""

CURRENCY_CODES: frozenset[str] = frozenset(c.alpha_3 for c in pycountry.currencies)
"""Every ISO 4217 alphabetic code (178, including funds and metals such as XAU)."""


def normalize_name(name: str) -> str:
    """Upper case, single spaces, trimmed: the form country names are looked up in."""
    return " ".join(name.upper().split())


def _country_names() -> dict[str, str]:
    names: dict[str, str] = {}
    for c in pycountry.countries:
        for attr in ("alpha_3", "name", "common_name", "official_name"):
            value = getattr(c, attr, None)
            if value:
                names.setdefault(normalize_name(value), c.alpha_2)
    return names


COUNTRY_NAMES: dict[str, str] = _country_names()
"""Normalized alpha-3 code, English short, common and official name -> alpha-2 ("VIET NAM" -> "VN")."""


def lookup_country(name: str, *, aliases: Mapping[str, str] | None = None) -> str | None:
    """The alpha-2 code that ``name`` stands for (a code, an ISO name, or one of ``aliases``), else None."""
    key = normalize_name(name)
    if key in COUNTRY_CODES:
        return key
    found = {**COUNTRY_NAMES, **{normalize_name(k): v for k, v in (aliases or {}).items()}}.get(key)
    return found if found in COUNTRY_CODES else None


def normalized_name(col: Column) -> Column:
    """Column form of ``normalize_name``; null for null or blank text."""
    s = F.regexp_replace(F.upper(F.trim(col)), r"\s+", " ")
    return F.when(s != "", s)


# Each lookup enters the plan as ONE string literal that Spark parses into a map or an array once, while
# optimizing (constant folding): a map of ~700 names as separate literals would cost seconds per use.
_ITEM, _PAIR = ";", "="  # neither occurs in a name, and neither is special in a regex


def _names_map(aliases: Mapping[str, str] | None) -> Column:
    names = {**COUNTRY_NAMES, **{normalize_name(k): v for k, v in (aliases or {}).items()}}
    text = _ITEM.join(f"{k}{_PAIR}{v}" for k, v in sorted(names.items()))
    return F.str_to_map(F.lit(text), F.lit(_ITEM), F.lit(_PAIR))


def _code_set(codes: frozenset[str]) -> Column:
    return F.split(F.lit(_ITEM.join(sorted(codes))), _ITEM)


def country_code(col: Column, *, aliases: Mapping[str, str] | None = None) -> Column:
    """The ISO alpha-2 code that ``col`` names: an alpha-2 or alpha-3 code or a country name in any case
    (ISO short, common or official English name), or a key of ``aliases`` (spellings no standard knows,
    e.g. {"EIRE": "IE"}); null when it names none."""
    s = normalized_name(col)
    lookup = _names_map(aliases)
    return F.when(is_country_code(s), s).otherwise(F.try_element_at(lookup, s))


def is_country_code(col: Column) -> Column:
    """True where ``col`` is an ISO 3166-1 alpha-2 code (exact, upper case); null where ``col`` is null."""
    return F.array_contains(_code_set(COUNTRY_CODES), col)


def is_currency_code(col: Column) -> Column:
    """True where ``col`` is an ISO 4217 alphabetic code (exact, upper case); null where ``col`` is null."""
    return F.array_contains(_code_set(CURRENCY_CODES), col)
