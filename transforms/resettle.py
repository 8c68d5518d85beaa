"""Which orders an incremental gold run settles again.

An order is settled again when a silver row keyed by it changed, when a product on one of its lines
changed, when an FX rate dated on or before its order date changed (a rate carries forward to later
days), or when its settlement is pending and its presale balance grace ran out. Pure: the job reads the
silver versions and hands them in.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from functools import reduce

from brandlake.transforms.changes import changed_keys
from brandlake.transforms.settlement import PENDING
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

KEYED_BY_ORDER = ("orders", "order_lines", "order_discounts", "payments", "refunds")
"""Silver inputs of the settlement with an ``order_id`` column."""
KEYS = {**{name: ("order_id",) for name in KEYED_BY_ORDER}, "products": ("sku_id",),
        "fx_rates": ("currency", "rate_date")}


def orders_to_resettle(
    current: Mapping[str, DataFrame],
    changes: Mapping[str, tuple[DataFrame, DataFrame]],
    *,
    settlement: DataFrame,
    columns: Mapping[str, Sequence[str]],
    as_of: dt.datetime,
    balance_grace_days: int,
) -> DataFrame:
    """Distinct ``order_id`` of every order to settle again.

    ``current``: every silver input (``KEYS``) as this run reads it; ``changes``: only the inputs that changed
    since the last run, each as ``(old, new)``: its rows as that run read them and as they are now, either the
    whole table at both versions or only the rows that may have changed (from Delta's change data feed); keys
    whose rows are equal in both are no change. ``columns``: the columns compared per input; ``settlement``:
    gold order_line_settlement as it stands (``order_id``, ``settlement_status``).
    """
    unknown = sorted(set(changes) - set(KEYS))
    if unknown:
        raise ValueError(f"cannot tell which orders depend on silver table(s) {unknown}; known: {sorted(KEYS)}")
    parts: list[DataFrame] = []
    for name, (old, new) in changes.items():
        changed = changed_keys(old, new, keys=KEYS[name], columns=columns[name])
        if name in KEYED_BY_ORDER:
            parts.append(changed)
        elif name == "products":
            parts.append(current["order_lines"].join(changed, "sku_id", "left_semi").select("order_id"))
        else:  # fx_rates: a changed rate moves every later day that carries it forward
            since = changed.agg(F.min("rate_date").alias("since"))
            parts.append(current["orders"].crossJoin(since).where(F.col("order_date") >= F.col("since"))
                         .select("order_id"))
    grace = F.make_dt_interval(days=F.lit(balance_grace_days))
    overdue = current["orders"].where(
        F.col("is_presale") & (F.col("balance_due_at") + grace < F.lit(as_of).cast("timestamp"))
    ).select("order_id")
    parts.append(
        settlement.where(F.col("settlement_status") == PENDING).select("order_id").join(overdue, "order_id", "left_semi")
    )
    return reduce(DataFrame.unionByName, parts).distinct()


def to_event_watermark(orders: DataFrame, *, payments: DataFrame, refunds: DataFrame) -> DataFrame:
    """One row, column ``as_of``: the latest event time in silver orders (updated_at), payments (paid_at) and
    refunds (refunded_at); null when all three are empty. The gold job judges overdue presale balances as of
    it unless told a time, so a re-run on the same silver settles the same way."""
    return (
        orders.agg(F.max("updated_at").alias("as_of"))
        .unionByName(payments.agg(F.max("paid_at").alias("as_of")))
        .unionByName(refunds.agg(F.max("refunded_at").alias("as_of")))
        .agg(F.max("as_of").alias("as_of"))
    )
