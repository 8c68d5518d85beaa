"""Silver payments and refunds conformed from bronze payment_events and refund_events."""

from __future__ import annotations

from brandlake.transforms.silver.commerce import (
    PAYMENTS_SCHEMA,
    REFUNDS_SCHEMA,
    conform_payments,
    conform_refunds,
)
from chispa import assert_df_equality

from tests.silver.bronze import CTX, bronze, d, expected, m, ts


def test_payments_convert_offsets_to_utc_with_local_date_and_tag_bad_values(spark):
    rows = [
        {"event_id": "E1", "event_at": "2024-01-02T07:30:00+08:00", "platform_id": "tmall", "order_id": "O1",
         "payment_id": "P1", "payment_kind": "Deposit", "amount": " 20.50 ", "currency": "RMB",
         "method": "Alipay", "status": "SUCCESS"},
        {"event_id": "E2", "event_at": "2024-01-02T03:00:00Z", "platform_id": "amazon_us", "order_id": "O2",
         "payment_id": "P2", "payment_kind": "final payment", "amount": "12,50", "currency": "usd",
         "status": "failed"},
        {"event_id": "E3", "event_at": "2024-01-02 10:00:00", "platform_id": "unknown_platform",
         "order_id": "O3", "payment_id": "P3", "payment_kind": "instalment", "amount": "1e2",
         "currency": "US Dollar", "method": "card", "status": "pending"},
        {"_corrupt_record": "{\"event_id\": \"E4\""},
    ]
    actual = conform_payments(bronze(spark, "payment_events", rows), ctx=CTX)
    exp = expected(spark, PAYMENTS_SCHEMA, [
        ("P1", "O1", "tmall", "deposit", m("20.50"), "CNY", "alipay", "success", ts("2024-01-01T23:30:00"),
         d("2024-01-02"), "E1", []),
        ("P2", "O2", "amazon_us", "balance", None, "USD", None, "failed", ts("2024-01-02T03:00:00"),
         d("2024-01-01"), "E2", ["cast:amount '12,50'"]),
        ("P3", "O3", "unknown_platform", "instalment", m("100.00"), "US DOLLAR", "card", "pending",
         ts("2024-01-02T10:00:00"), d("2024-01-02"), "E3",
         ["unknown_enum:payment_kind 'instalment'", "invalid:currency 'US Dollar'"]),
        (None, None, None, None, None, None, None, None, None, None, None, ["corrupt_record"]),
    ])
    assert_df_equality(actual.drop("_raw"), exp, ignore_nullable=True, ignore_row_order=True)


def test_refunds_map_status_synonyms_and_flag_missing_line(spark):
    rows = [
        {"event_id": "E1", "event_at": "2024-03-01T00:10:00+08:00", "platform_id": "tmall", "order_id": "O1",
         "refund_id": "R1", "line_id": "L1", "amount": "9.99", "currency": "CNY", "reason": " Wrong Size ",
         "status": "refunded"},
        {"event_id": "E2", "event_at": "not a time", "platform_id": "tmall", "order_id": "O1",
         "refund_id": "R2", "line_id": " ", "amount": "-1", "currency": "CNY", "status": "lost"},
    ]
    actual = conform_refunds(bronze(spark, "refund_events", rows), ctx=CTX)
    exp = expected(spark, REFUNDS_SCHEMA, [
        ("R1", "O1", "L1", "tmall", m("9.99"), "CNY", "wrong_size", "success", ts("2024-02-29T16:10:00"),
         d("2024-03-01"), "E1", []),
        ("R2", "O1", None, "tmall", m("-1.00"), "CNY", None, "lost", None, None, "E2",
         ["missing:line_id", "unknown_enum:status 'lost'", "cast:refunded_at 'not a time'"]),  # src event_at
    ])
    assert_df_equality(actual.drop("_raw"), exp, ignore_nullable=True, ignore_row_order=True)
