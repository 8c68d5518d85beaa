"""`brandlake redact-quarantine`: quarantined records written with raw PII are rewritten as silver writes them now."""

from __future__ import annotations

import argparse
import datetime as dt
import json

from brandlake.expectations.gate import with_record_hash
from brandlake.jobs import redact_quarantine
from brandlake.transforms.silver.common import prepare, redact_value
from chispa import assert_df_equality
from pyspark.sql import functions as F

from brandlake import tables
from brandlake.runtime import job_context
from tests.silver.bronze import bronze

EVENT = {"event_id": "E1", "event_type": "order_created", "event_at": "2024-01-01T00:00:00Z", "platform_id": "tmall",
         "order_id": "O1", "currency": "CNY", "lines": '[{"line_id": "L1", "quantity": "two"}]',
         "ship_country": "CN", "ship_address": 'Flat "2", 140 Mill Rd', "ship_phone": "138 0013 8000"}
CUT = {"_corrupt_record": '{"event_id": "E2", "order_id": "O2", "ship_address": "9 Elm St", "ship_phone": "+86 13'}
HASHED = "0" * 64  # a record quarantined by silver orders: its PII is a keyed hash already


def _run(cfg, spark, *, dry_run: bool) -> dict:
    with job_context(cfg, "redact-quarantine", spark=spark) as ctx:
        redact_quarantine.run(ctx, argparse.Namespace(dry_run=dry_run))
    return ctx.summary.details["redact_quarantine"]["rows_with_raw_pii"]


def test_leaked_records_are_rewritten_as_silver_writes_them_now_with_their_hash_and_once(spark, cfg):
    events = prepare(bronze(spark, "order_events", [EVENT, CUT]), source="order_events",
                     redact={"ship_address": redact_value, "ship_phone": redact_value})
    bronze_columns = [c for c in bronze(spark, "order_events", []).columns]
    # as silver wrote them before 66dfa5f (the record as delivered) and as it writes them now
    records = events.select(F.col("order_id"), F.to_json(F.struct(*bronze_columns)).alias("leaked"),
                            F.col("_raw").alias("now")).orderBy(F.col("order_id").asc_nulls_last()).collect()
    already = f'{{"order_id":"O3","ship_address":"{HASHED}","ship_phone":"{HASHED}"}}'
    at = dt.datetime(2024, 1, 2)

    def quarantine(raws):
        rows = [(o, "L1", ["conform"], ["cast:quantity 'two'"], "run-1", at, raw)
                for o, raw in zip(["O1", None, "O3"], raws, strict=True)]
        df = spark.createDataFrame(rows, "order_id string, line_id string, failed_rules array<string>, "
                                         "reasons array<string>, run_id string, quarantined_at timestamp, "
                                         "raw_record string")
        return with_record_hash(df, keys=("order_id", "line_id"))

    path = f"{cfg.lake.silver}/order_lines_quarantine"
    tables.overwrite(quarantine([records[0]["leaked"], records[1]["leaked"], already]), path)
    assert "138 0013 8000" in records[0]["leaked"] and "+86 13" in records[1]["leaked"]

    assert _run(cfg, spark, dry_run=True) == {"order_lines": 2}
    assert tables.latest_version(spark, path) == 0  # a dry run writes nothing

    assert _run(cfg, spark, dry_run=False) == {"order_lines": 2}
    expected = quarantine([records[0]["now"], records[1]["now"], already])
    # records and hashes: as a replayed batch's
    assert_df_equality(tables.read(spark, path), expected, ignore_row_order=True, ignore_nullable=True)
    assert json.loads(records[1]["now"])["_corrupt_record"] == (
        '{"event_id": "E2", "order_id": "O2", "ship_address": "[redacted]", "ship_phone": "[redacted]"')

    assert _run(cfg, spark, dry_run=False) == {"order_lines": 0}
    assert tables.latest_version(spark, path) == 1  # nothing left to redact: not written again
