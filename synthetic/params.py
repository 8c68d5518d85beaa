"""Generator parameters: everything the builders need, derived once from the scale factor."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass


@dataclass(frozen=True)
class DefectSpec:
    """Fractions of eligible records spoiled on purpose (see docs/generator.md)."""

    duplicate_event: float = 0.0
    late_event: float = 0.0
    null_required: float = 0.0
    unknown_enum: float = 0.0
    bad_amount: float = 0.0
    malformed_line: float = 0.0
    schema_drift_from_batch: int = 10**6


@dataclass(frozen=True)
class WorldParams:
    seed: int
    scale: float
    start_date: dt.date
    days: int
    batch_days: int
    balance_grace_days: int = 3
    defects: DefectSpec = DefectSpec()

    # ---- time ----------------------------------------------------------------------------------
    @property
    def t0(self) -> int:
        """Epoch seconds of start_date 00:00 UTC."""
        return int(dt.datetime.combine(self.start_date, dt.time(), dt.UTC).timestamp())

    @property
    def end(self) -> int:
        """Epoch seconds where the world stops: nothing at or after it has happened yet."""
        return self.t0 + self.days * 86400

    @property
    def batch_secs(self) -> int:
        return self.batch_days * 86400

    @property
    def n_batches(self) -> int:
        return math.ceil(self.days / self.batch_days)

    # ---- sizes ---------------------------------------------------------------------------------
    @property
    def n_brands(self) -> int:
        return max(6, round(60 * math.sqrt(self.scale)))

    @property
    def n_products(self) -> int:
        return max(8 * self.n_brands, round(4000 * self.scale**0.7))

    @property
    def n_persons(self) -> int:
        """Calibrated so that SF 1 gives about 1,000,000 order lines over the generated days."""
        return max(60, round(PERSONS_PER_SF * self.scale))

    def parts(self, rows_per_sf_per_batch: float) -> int:
        """Files per batch for a source: one file per ~250k lines, growing with the scale factor."""
        return max(1, math.ceil(self.scale * rows_per_sf_per_batch * self.batch_days / 30 / 250_000))


PERSONS_PER_SF = 225_000
ORDERS_PER_ACCOUNT = 3.5   # mean over accounts active for the whole period (before the lines filter)
DAY_BINS = 20_000          # resolution of the seasonal day sampler
