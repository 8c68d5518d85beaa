"""Gold ``return_risk``: the return-risk scores `brandlake score-returns` writes (features and models:
models/returns.py)."""

from __future__ import annotations

from pyspark.sql import types as T

RETURN_RISK = T.StructType([T.StructField(n, t, nl) for n, t, nl in [
    ("order_id", T.StringType(), False), ("line_id", T.StringType(), False), ("product_id", T.StringType(), True),
    ("customer_id", T.StringType(), True), ("stage", T.StringType(), False), ("predict_at", T.TimestampType(), True),
    ("probability_return", T.DoubleType(), False), ("threshold", T.DoubleType(), False),
    ("is_flagged", T.BooleanType(), False), ("model_version", T.StringType(), False),
    ("scored_at", T.TimestampType(), False),
]])
"""One row per open order line: the probability it will be returned by the champion
model of its stage (`order` before pickup, `shipment` after), the cost-matrix threshold and whether the
line is flagged for action (probability ≥ threshold)."""
