"""Silver cross-border data: seller records (customs, FX collection, export tax refunds, disputes)
and daily FX rates."""

from __future__ import annotations

from brandlake.transforms.money import MONEY
from brandlake.transforms.schemas import RATE, SILVER_FX_RATES
from brandlake.transforms.silver.common import (
    ConformContext,
    Field,
    conform_simple,
    country,
    currency,
    date,
    decimal,
    enum,
    extend,
    is_country_code,
    is_currency_code,
    json_text,
    local_date,
    money,
    positive,
    struct_schema,
    timestamp,
)
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

S, TS, D = T.StringType(), T.TimestampType(), T.DateType()

FX_RATES_SCHEMA = extend(SILVER_FX_RATES, ("updated_at", TS, False))
"""One row per currency per day: units of the currency per 1 USD; ``updated_at`` = when the rate
was ingested (the export carries no version time), so a re-delivered rate replaces the older one."""

SELLER_RECORDS_SCHEMA = struct_schema(
    ("record_id", S, False), ("shop_id", S, False), ("platform_id", S, False), ("record_type", S, False),
    ("record_at", TS, False), ("record_date", D, False), ("amount", MONEY, True), ("currency", S, True),
    ("status", S, True), ("destination_country", S, True), ("details", S, True),
)
"""One row per cross-border seller record, as of its latest version (``record_at``)."""

RECORD_TYPES = ("customs_clearance", "fx_collection", "export_tax_refund", "dispute")
RECORD_TYPE_SYNONYMS = {
    "customs": "customs_clearance", "fx": "fx_collection", "fx_settlement": "fx_collection",
    "tax_refund": "export_tax_refund", "export_rebate": "export_tax_refund", "chargeback": "dispute",
}


def conform_fx_rates(bronze: DataFrame, *, ctx: ConformContext) -> DataFrame:
    """A rate that is not positive is tagged ``invalid:per_usd`` (it could not convert anything)."""
    fields = [
        Field("rate_date", date),
        Field("currency", currency, valid=is_currency_code),
        Field("per_usd", decimal(RATE.precision, RATE.scale), valid=positive),
    ]
    return conform_simple(bronze, source="fx_rates", fields=fields, schema=FX_RATES_SCHEMA,
                          derived={"updated_at": F.col("_ingested_at")})


def conform_seller_records(bronze: DataFrame, *, ctx: ConformContext) -> DataFrame:
    """``details`` stays JSON text (its shape differs per record type)."""
    fields = [
        Field("record_id"), Field("shop_id"), Field("platform_id"),
        Field("record_type", enum(RECORD_TYPE_SYNONYMS), allowed=RECORD_TYPES),
        Field("record_at", timestamp),
        Field("amount", money),
        Field("currency", currency, valid=is_currency_code),
        Field("status", enum()),
        Field("destination_country", country, valid=is_country_code),
        Field("details", json_text),
    ]
    record_date = local_date(F.col("record_at"), F.col("platform_id"), ctx.platform_timezones)
    return conform_simple(bronze, source="seller_records", fields=fields, schema=SELLER_RECORDS_SCHEMA,
                          derived={"record_date": record_date})
