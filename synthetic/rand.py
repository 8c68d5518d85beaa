"""Column helpers for hash-based pseudo-randomness and small lookups (no state, no driver loops over rows)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pyspark.sql import Column
from pyspark.sql import functions as F

_TWO_53 = float(2**53)


def uniform(seed: int, purpose: str, *keys: Column | str) -> Column:
    """A double in [0, 1) that depends only on (seed, purpose, keys)."""
    h = F.xxhash64(F.lit(seed), F.lit(purpose), *keys)
    return F.shiftrightunsigned(h, 11).cast("double") / F.lit(_TWO_53)


def randint(lo: int | Column, hi: int | Column, u: Column) -> Column:
    """An integer in [lo, hi] from a uniform ``u``."""
    lo_c = lo if isinstance(lo, Column) else F.lit(lo)
    hi_c = hi if isinstance(hi, Column) else F.lit(hi)
    return (lo_c + F.floor(u * (hi_c - lo_c + 1))).cast("long")


def pick(values: Sequence[Any], u: Column) -> Column:
    """One of ``values``, uniformly by ``u``."""
    arr = F.array(*[F.lit(v) for v in values])
    return F.element_at(arr, (F.floor(u * len(values)) + 1).cast("int"))


def wpick(weighted: Sequence[tuple[Any, float]], u: Column) -> Column:
    """One of the values by weight: ``[(value, weight), ...]``."""
    total = float(sum(w for _, w in weighted))
    expr, acc = None, 0.0
    for value, w in weighted[:-1]:
        acc += w / total
        expr = (F.when(u < acc, F.lit(value)) if expr is None else expr.when(u < acc, F.lit(value)))
    return F.lit(weighted[-1][0]) if expr is None else expr.otherwise(F.lit(weighted[-1][0]))


def lit_map(mapping: dict[Any, Any]) -> Column:
    """A literal MAP column from a small Python dict."""
    return F.create_map(*[F.lit(x) for kv in mapping.items() for x in kv])


def hex_id(seed: int, purpose: str, *keys: Column | str) -> Column:
    """16 lower-case hex characters from a hash."""
    return F.lower(F.lpad(F.hex(F.xxhash64(F.lit(seed), F.lit(purpose), *keys)), 16, "0"))


def uuid_like(seed: int, purpose: str, *keys: Column | str) -> Column:
    """A deterministic UUID-shaped id (8-4-4-4-12 hex)."""
    h = F.concat(hex_id(seed, purpose + ":a", *keys), hex_id(seed, purpose + ":b", *keys))
    return F.concat_ws(
        "-", F.substring(h, 1, 8), F.substring(h, 9, 4), F.substring(h, 13, 4),
        F.substring(h, 17, 4), F.substring(h, 21, 12),
    )


def scrambled(n: Column, *, modulus: int, multiplier: int, offset: int, width: int) -> Column:
    """A bijection of 0..modulus-1 (multiplier coprime to modulus): unique ids that do not look sequential."""
    return F.lpad(((n * F.lit(multiplier) + F.lit(offset)) % F.lit(modulus)).cast("string"), width, "0")


def fmt_ts(secs: Column) -> Column:
    """Epoch seconds as ISO-8601 UTC text ``yyyy-MM-ddTHH:mm:ssZ`` (the session time zone must be UTC)."""
    return F.date_format(F.timestamp_seconds(secs), "yyyy-MM-dd'T'HH:mm:ss'Z'")


def local_to_epoch(day_date: Column, secs_of_day: Column, tz: Column) -> Column:
    """Epoch seconds of a wall-clock time ``day_date + secs_of_day`` in time zone ``tz``."""
    naive = F.timestamp_seconds(F.unix_date(day_date).cast("long") * 86400 + secs_of_day)
    return F.unix_seconds(F.to_utc_timestamp(naive, tz))


def money(c: Column) -> Column:
    return c.cast("decimal(18,2)")


def floor_cents(c: Column) -> Column:
    """Round a decimal down to whole cents."""
    return money(F.floor(c * 100) / 100)
