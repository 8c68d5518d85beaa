"""What one brand's report may hold: its tier's sections, each as the brand's own mart rows for the period
plus market aggregates (no other brand's rows), and nothing that identifies a customer or an order.

The marts are already privacy-checked (suppressed cells are null and marked); this module decides
entitlement and tenancy, so a renderer only formats what it is given.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

# section -> (mart table, how its rows are chosen)
SECTIONS: dict[str, tuple[tuple[str, str], ...]] = {
    "sales_trend": (("mart_sales_trend", "history"),),
    "order_time": (("mart_order_time", "period"),),
    "delivery_regions": (("mart_delivery_regions", "period"),),
    "buyer_groups": (("mart_buyer_groups", "period"),),
    "repurchase": (("mart_repurchase", "cohorts"), ("mart_cohort_retention", "cohorts")),
    "products": (("mart_products", "period"),),
    "funnel": (("mart_funnel", "period"), ("mart_lost_visitors", "period")),
    "presale": (("mart_presale", "events"),),
    "benchmarks": (("mart_benchmarks", "month"), ("mart_category_totals", "market")),
}
"""Every report section and the mart rows it is built from."""

# nothing that identifies a person or a transaction may reach a report
FORBIDDEN_COLUMNS = ("customer_id", "buyer_key", "visitor_key", "order_id", "line_id", "session_id",
                     "phone_hash", "address_hash", "shipment_id", "tracking_no")


class EntitlementError(ValueError):
    """A report asked for a section its tier does not include, or an unknown section/tier."""


def sections_for_tier(tier: str, tiers: Mapping[str, Sequence[str]]) -> list[str]:
    """The tier's sections in report order; unknown tiers or sections raise EntitlementError."""
    if tier not in tiers:
        raise EntitlementError(f"unknown report tier {tier!r}; configured tiers: {sorted(tiers)}")
    unknown = [s for s in tiers[tier] if s not in SECTIONS]
    if unknown:
        raise EntitlementError(f"tier {tier!r} names unknown section(s) {unknown}; known: {list(SECTIONS)}")
    return [s for s in SECTIONS if s in tiers[tier]]


def _row_filter(kind: str, *, brand_id: str, period_key: str, period_type: str, period_start: dt.date) -> Column:
    own = F.col("brand_id") == F.lit(brand_id)
    start = F.lit(period_start)
    month_key = "month:" + period_start.strftime("%Y-%m")
    if kind == "period":
        return own & (F.col("period_key") == period_key)
    if kind == "history":
        return own & (F.col("period_type") == period_type) & (F.col("period_start") <= start)
    if kind == "cohorts":
        return own & (F.col("period_start") <= start)
    if kind == "events":
        return own & (F.col("period_type") == "event") & (F.col("period_start") <= start)
    if kind == "month":
        return own & (F.col("period_key") == month_key)
    if kind == "market":
        return F.col("period_key") == period_key
    raise ValueError(f"unknown row filter {kind!r}")


def to_report_sections(
    marts: Mapping[str, DataFrame], *, brand_id: str, period_key: str, period_type: str,
    period_start: dt.date, sections: Sequence[str],
) -> dict[str, dict[str, DataFrame]]:
    """section -> mart table -> the rows the brand may see for ``period_key``, sorted, identifiers dropped."""
    out: dict[str, dict[str, DataFrame]] = {}
    for section in sections:
        if section not in SECTIONS:
            raise EntitlementError(f"unknown report section {section!r}")
        out[section] = {}
        for table, kind in SECTIONS[section]:
            df = marts[table]
            bad = [c for c in df.columns if c in FORBIDDEN_COLUMNS]
            if bad:
                raise EntitlementError(f"{table} holds identifying column(s) {bad}; it cannot go into a report")
            rows = df.where(_row_filter(kind, brand_id=brand_id, period_key=period_key, period_type=period_type,
                                        period_start=period_start))
            out[section][table] = rows.orderBy(*df.columns)
    return out


REPORT_DELIVERIES = T.StructType([T.StructField(n, t, nullable) for n, t, nullable in [
    ("brand_id", T.StringType(), False), ("period_key", T.StringType(), False), ("tier", T.StringType(), False),
    ("sections", T.ArrayType(T.StringType(), False), False), ("language", T.StringType(), False),
    ("html_path", T.StringType(), False), ("html_sha256", T.StringType(), False), ("run_id", T.StringType(), False),
    ("delivered_at", T.TimestampType(), False),
]])
"""One row per delivered report (brand × period × run): tier, sections, language, file and its SHA-256."""
