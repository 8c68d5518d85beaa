"""Customer lifetime value inputs and gold table, brand-scoped: the per brand × person purchase summary that
a BG/NBD + Gamma–Gamma model needs (frequency, recency, age, mean repeat value) at a cut-off date, the
holdout actuals that validate it, and gold `customer_lifetime_value` (models/clv.py fits and predicts).

A purchase is a *purchase day*: the brand's paid lines of one person on one order date (customers.py's
``to_purchase_lines``: paid statuses, person from identity_accounts) whose settled amount after refunds and
returns is positive. A day whose lines were all refunded, or whose amount in the reporting currency is
unknown (no FX rate), is not a purchase. Everything is grouped by brand: a brand sees only its own buyers.
"""

from __future__ import annotations

import datetime as dt

from brandlake.transforms.columns import require_columns
from brandlake.transforms.money import MONEY
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

_S, _D, _I, _DB = T.StringType(), T.DateType(), T.IntegerType(), T.DoubleType()
KEYS = ("brand_id", "person_id")

PURCHASE_DAYS = T.StructType([T.StructField(n, t, nullable) for n, t, nullable in [
    ("brand_id", _S, False), ("person_id", _S, False), ("order_date", _D, False), ("value_rpt", MONEY, False),
    ("reporting_currency", _S, True),
]])
"""One row per brand × person × order date with a positive settled amount (``value_rpt``)."""

RFM_SUMMARY = T.StructType([T.StructField(n, t, nullable) for n, t, nullable in [
    ("brand_id", _S, False), ("person_id", _S, False), ("first_purchase_date", _D, False),
    ("last_purchase_date", _D, False), ("frequency", _I, False), ("recency_days", _I, False),
    ("age_days", _I, False), ("total_value_rpt", MONEY, False), ("avg_repeat_value_rpt", MONEY, True),
    ("reporting_currency", _S, True), ("cutoff_date", _D, False),
]])
"""One row per brand × person whose first purchase day is on or before ``cutoff_date``. ``frequency`` =
purchase days − 1 (repeat purchases); ``recency_days`` = last − first purchase day; ``age_days`` (the
models' T) = cutoff − first purchase day; ``avg_repeat_value_rpt`` = mean value of the repeat purchase days
(null without one); ``total_value_rpt`` = value of every purchase day up to the cut-off."""

CALIBRATION_HOLDOUT = T.StructType([
    *RFM_SUMMARY.fields,
    T.StructField("holdout_purchases", _I, False), T.StructField("holdout_value_rpt", MONEY, False),
    T.StructField("holdout_end_date", _D, False),
])
"""RFM_SUMMARY at the cut-off plus the person's purchase days and their value in the holdout window
(cutoff_date, holdout_end_date] of the same brand (0 when none). People whose first purchase falls in the
holdout window are not in it: the model has nothing to predict them from."""

CLV_PREDICTIONS = T.StructType([T.StructField(n, t, nullable) for n, t, nullable in [
    ("brand_id", _S, False), ("person_id", _S, False), ("model_status", _S, False),
    ("expected_purchases", _DB, True), ("probability_alive", _DB, True), ("expected_avg_value", _DB, True),
    ("expected_value", _DB, True),
]])
"""What the model returns per brand × person (models/clv.py ``PREDICTION_COLUMNS``); NaN = no prediction."""

CUSTOMER_LIFETIME_VALUE = T.StructType([T.StructField(n, t, nullable) for n, t, nullable in [
    ("brand_id", _S, False), ("person_id", _S, False), ("first_purchase_date", _D, False),
    ("last_purchase_date", _D, False), ("frequency", _I, False), ("recency_days", _I, False),
    ("age_days", _I, False), ("total_value_rpt", MONEY, False), ("avg_repeat_value_rpt", MONEY, True),
    ("expected_purchases_12m", _DB, True), ("probability_alive", _DB, True),
    ("expected_avg_value_rpt", MONEY, True), ("clv_12m_rpt", MONEY, True), ("model_status", _S, False),
    ("model_version", _S, False), ("reporting_currency", _S, True), ("as_of_date", _D, False),
]])
"""One row per brand × person who bought from the brand up to ``as_of_date``: the purchase summary, the
expected purchase days in the next 12 months, the probability the person is still a customer, the expected
value of a purchase and the 12-month value (their product), from the brand's own fitted model; null
predictions and ``model_status`` saying why for a brand the model was not fitted for."""


def to_purchase_days(purchases: DataFrame) -> DataFrame:
    """PURCHASE_DAYS from customers.to_purchase_lines (lines without a person are left out)."""
    require_columns(purchases, ("brand_id", "person_id", "order_date", "settled_amount_rpt", "reporting_currency"),
                    what="purchase lines")
    zero = F.lit(0).cast(MONEY)
    days = (purchases.where(F.col("person_id").isNotNull() & F.col("brand_id").isNotNull())
            .groupBy("brand_id", "person_id", "order_date")
            .agg(F.coalesce(F.sum("settled_amount_rpt"), zero).cast(MONEY).alias("value_rpt"),
                 F.first("reporting_currency", ignorenulls=True).alias("reporting_currency")))
    return days.where(F.col("value_rpt") > 0).select(*[F.col(f.name).cast(f.dataType) for f in PURCHASE_DAYS.fields])


def to_rfm_summary(days: DataFrame, *, cutoff: dt.date) -> DataFrame:
    """RFM_SUMMARY of the purchase days on or before ``cutoff``."""
    require_columns(days, [f.name for f in PURCHASE_DAYS.fields], what="purchase days")
    agg = (days.where(F.col("order_date") <= F.lit(cutoff)).groupBy(*KEYS).agg(
        F.min("order_date").alias("first_purchase_date"), F.max("order_date").alias("last_purchase_date"),
        (F.count(F.lit(1)) - 1).cast("int").alias("frequency"),
        F.sum("value_rpt").alias("_total"), F.min_by("value_rpt", "order_date").alias("_first_value"),
        F.first("reporting_currency", ignorenulls=True).alias("reporting_currency")))
    out = (agg.withColumn("recency_days", F.datediff("last_purchase_date", "first_purchase_date"))
           .withColumn("age_days", F.datediff(F.lit(cutoff), "first_purchase_date"))
           .withColumn("total_value_rpt", F.col("_total"))
           .withColumn("avg_repeat_value_rpt", F.when(F.col("frequency") > 0,
                                                      (F.col("_total") - F.col("_first_value")) / F.col("frequency")))
           .withColumn("cutoff_date", F.lit(cutoff)))
    return out.select(*[F.col(f.name).cast(f.dataType) for f in RFM_SUMMARY.fields])


def to_calibration_holdout(days: DataFrame, *, cutoff: dt.date, holdout_end: dt.date) -> DataFrame:
    """CALIBRATION_HOLDOUT: the summary at ``cutoff`` and what each person bought in (cutoff, holdout_end]."""
    if holdout_end <= cutoff:
        raise ValueError(f"holdout_end must be after cutoff, found cutoff {cutoff} and holdout_end {holdout_end}")
    holdout = (days.where((F.col("order_date") > F.lit(cutoff)) & (F.col("order_date") <= F.lit(holdout_end)))
               .groupBy(*KEYS).agg(F.count(F.lit(1)).alias("holdout_purchases"),
                                   F.sum("value_rpt").alias("holdout_value_rpt")))
    out = (to_rfm_summary(days, cutoff=cutoff).join(holdout, list(KEYS), "left")
           .withColumn("holdout_purchases", F.coalesce("holdout_purchases", F.lit(0)))
           .withColumn("holdout_value_rpt", F.coalesce("holdout_value_rpt", F.lit(0).cast(MONEY)))
           .withColumn("holdout_end_date", F.lit(holdout_end)))
    return out.select(*[F.col(f.name).cast(f.dataType) for f in CALIBRATION_HOLDOUT.fields])


def _number(name: str) -> F.Column:
    """A model output as a column, NaN as null."""
    c = F.col(name)
    return F.when(~F.isnan(c), c)


def to_customer_lifetime_value(summary: DataFrame, predictions: DataFrame, *, model_version: str) -> DataFrame:
    """CUSTOMER_LIFETIME_VALUE: ``summary`` (RFM_SUMMARY at the as-of date) with the model's CLV_PREDICTIONS
    (``expected_*`` over 12 months); a person the model returned nothing for gets ``model_status`` missing."""
    require_columns(predictions, [f.name for f in CLV_PREDICTIONS.fields], what="clv predictions")
    p = predictions.select(
        *KEYS, "model_status", _number("expected_purchases").alias("expected_purchases_12m"),
        _number("probability_alive").alias("probability_alive"),
        F.round(_number("expected_avg_value"), 2).alias("expected_avg_value_rpt"),
        F.round(_number("expected_value"), 2).alias("clv_12m_rpt"))
    out = (summary.join(p, list(KEYS), "left")
           .withColumn("model_status", F.coalesce("model_status", F.lit("missing")))
           .withColumn("model_version", F.lit(model_version))
           .withColumn("as_of_date", F.col("cutoff_date")))
    return out.select(*[F.col(f.name).cast(f.dataType) for f in CUSTOMER_LIFETIME_VALUE.fields])


def to_model_frame(summary: DataFrame) -> DataFrame:
    """The columns models/clv.py reads, money as double (``*_rpt`` → ``*`` without the suffix): an
    RFM_SUMMARY or CALIBRATION_HOLDOUT frame ready for ``toPandas``."""
    money = {"total_value_rpt": "total_value", "avg_repeat_value_rpt": "avg_repeat_value",
             "holdout_value_rpt": "holdout_value"}
    cols = [F.col(c).cast("double").alias(money[c]) if c in money else F.col(c)
            for c in ("brand_id", "person_id", "frequency", "recency_days", "age_days", "total_value_rpt",
                      "avg_repeat_value_rpt", "holdout_purchases", "holdout_value_rpt") if c in summary.columns]
    return summary.select(*cols)
