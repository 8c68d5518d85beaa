"""Validation thresholds of the sales forecast, as code (see models/validation.py for the mechanics).

A newly trained forecast becomes champion only if, on the same rolling-origin backtest, its RMSSE is
lower than seasonal naive's (the baseline, forecast on each level's own series) at product × region, at
brand and on big-sale event days at product × region, and not higher than the current champion's.
"""

from __future__ import annotations

from collections.abc import Mapping

from brandlake.models.validation import Rule

BASELINE = "seasonal_naive"
RULES = (
    Rule("product_region.rmsse", min_gain_vs_baseline=0.0, min_gain_vs_champion=0.0),
    Rule("brand.rmsse", min_gain_vs_baseline=0.0, min_gain_vs_champion=0.0),
    Rule("product_region.event_rmsse", min_gain_vs_baseline=0.0, min_gain_vs_champion=0.0, required=False),
)


def validation_metrics(metrics: Mapping[str, Mapping[str, Mapping[str, float]]],
                       candidate: str) -> tuple[dict[str, float], dict[str, float]]:
    """(candidate's, baseline's) ``<level>.<metric>`` values that RULES read, from a backtest's metrics."""
    def pick(cand: str) -> dict[str, float]:
        out = {}
        for r in RULES:
            level, metric = r.metric.split(".", 1)
            out[r.metric] = metrics.get(level, {}).get(cand, {}).get(metric, float("nan"))
        return out
    return pick(candidate), pick(BASELINE)
