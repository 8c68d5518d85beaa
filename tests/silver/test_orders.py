"""Silver orders, order lines and order discounts conformed from bronze order_events."""

from __future__ import annotations

import hashlib
import hmac
import json

from brandlake.transforms.silver.orders import (
    ORDER_DISCOUNTS_SCHEMA,
    ORDER_LINES_SCHEMA,
    ORDERS_SCHEMA,
    conform_order_discounts,
    conform_order_lines,
    conform_orders,
    resolve_ordered_at,
)
from chispa import assert_df_equality

from tests.silver.bronze import CTX, PII_KEY, bronze, d, expected, m, ts


def h(text: str) -> str:
    return hmac.new(PII_KEY.encode(), text.encode(), hashlib.sha256).hexdigest()


LINES_O1 = json.dumps([
    {"line_id": "L1", "product_id": "P1", "sku_id": "S1", "quantity": 2, "unit_price": "50.00", "item_discount": "5.00"},
    {"line_id": "L2", "product_id": "P2", "sku_id": "S2", "quantity": "1.5", "unit_price": 19.9, "item_discount": 0},
])
DISCOUNTS_O1 = json.dumps([
    {"promotion_id": "PR1", "discount_type": "Threshold", "amount": "10.00", "line_ids": ["L1", " L2 "]},
    {"promotion_id": "PR2", "discount_type": "flash_sale", "amount": "x", "line_ids": ["L2"]},
])

ORDER_EVENTS = [
    # created late in the Shanghai evening of Jan 2 = Jan 1 17:30 UTC; drift column present
    {"event_id": "E1", "event_type": "order_created", "event_at": "2024-01-02T01:30:00+08:00",
     "platform_id": "tmall", "order_id": "O1", "shop_id": "SH1", "customer_id": "C1", "currency": "rmb",
     "order_status": " Created ", "lines": LINES_O1, "order_discounts": DISCOUNTS_O1, "shipping_fee": "8",
     "is_presale": "false", "ship_country": "China", "ship_province": "Zhejiang", "ship_city": "Hangzhou",
     "ship_address": "88 Wensan Rd., Apt 5", "ship_phone": "138-0013-8000", "device_type": " Mobile"},
    # presale order in New York; uncastable shipping fee, "canceled" synonym, naive timestamp = UTC
    {"event_id": "E2", "event_type": "order_canceled", "event_at": "2024-01-01 03:00:00",
     "platform_id": "amazon_us", "order_id": "O2", "currency": "usd", "order_status": "Canceled",
     "lines": "[]", "shipping_fee": "free", "is_presale": "TRUE", "deposit_amount": "10",
     "deposit_value": "15.005", "balance_due_at": "2024-01-10T00:00:00-05:00", "ship_country": "US",
     "ship_phone": "+1 (212) 555-0100"},
    # unknown status kept and tagged; missing order_id; unparseable lines
    {"event_id": "E3", "event_type": "order_paid", "event_at": "2024-01-03T00:00:00Z", "platform_id": "tmall",
     "currency": "CNY", "order_status": "on_hold", "lines": '[{"line_id": "L1",', "shipping_fee": "0",
     "is_presale": "no"},
    {"_corrupt_record": '{"event_id": "E4", "order_id": '},
]


def test_orders_are_typed_conformed_and_pii_safe(spark):
    actual = conform_orders(bronze(spark, "order_events", ORDER_EVENTS, extra=("device_type",)), ctx=CTX)
    exp = expected(spark, ORDERS_SCHEMA, [
        ("O1", "tmall", "SH1", "C1", "CNY", "created", ts("2024-01-01T17:30:00"), d("2024-01-02"),
         ts("2024-01-01T17:30:00"), False, None, None, None, m("8.00"), "CN", "Zhejiang", "Hangzhou",
         h("88 wensan road apartment 5"), h("+8613800138000"), "mobile", "E1", "order_created", []),
        ("O2", "amazon_us", None, None, "USD", "cancelled", ts("2024-01-01T03:00:00"), d("2023-12-31"),
         ts("2024-01-01T03:00:00"), True, m("10.00"), m("15.01"), ts("2024-01-10T05:00:00"), None,
         "US", None, None, None, h("+12125550100"), None, "E2", "order_cancelled",
         ["cast:shipping_fee_amount 'free'"]),  # delivered as shipping_fee
        (None, "tmall", None, None, "CNY", "on_hold", ts("2024-01-03T00:00:00"), d("2024-01-03"),
         ts("2024-01-03T00:00:00"), False, None, None, None, m("0.00"), None, None, None, None, None, None,
         "E3", "order_paid", ["missing:order_id", "unknown_enum:order_status 'on_hold'", "malformed:lines"]),
        (None, None, None, None, None, None, None, None, None, None, None, None, None, None, None, None, None,
         None, None, None, None, None, ["corrupt_record"]),
    ])
    assert_df_equality(actual.drop("_raw"), exp, ignore_nullable=True, ignore_row_order=True)


def test_orders_without_drift_column_get_null_device_type_and_every_table_s_raw_record_hides_pii(spark):
    row = {"event_id": "E1", "event_type": "order_created", "event_at": "2024-01-01T00:00:00Z",
           "platform_id": "tmall", "order_id": "O1", "currency": "CNY", "order_status": "created",
           "lines": LINES_O1, "order_discounts": DISCOUNTS_O1, "shipping_fee": "0", "is_presale": "false",
           "ship_country": "CN", "ship_address": "1 Main St", "ship_phone": "13800138000"}
    # a line cut short inside the phone, and one whose phone came as a number: the text is all silver gets
    cut = {"_corrupt_record": '{"event_id": "E2", "ship_address": "9 \\"Elm\\" Rd", "ship_phone": "+86 138 00'}
    bare = {"_corrupt_record": '{"event_id":"E3","ship_phone":13800138000,"ship_city":"Hangzhou"'}
    events = bronze(spark, "order_events", [row, cut, bare])
    actual = conform_orders(events, ctx=CTX)
    got = actual.where("order_id = 'O1'").select("device_type", "ship_phone_hash", "_raw").first()
    raw = json.loads(got["_raw"])
    assert got["device_type"] is None
    assert raw["ship_phone"] == h("+8613800138000") == got["ship_phone_hash"]
    assert raw["ship_address"] == h("1 main street")
    assert {k: raw[k] for k in ("event_id", "order_id", "lines", "_landing_batch", "_run_id")} == {
        "event_id": "E1", "order_id": "O1", "lines": LINES_O1, "_landing_batch": 1, "_run_id": "run-1"}
    # order lines and discounts come from the same events and publish no PII: their records say only that
    # there was a value; a corrupt record's text keeps no PII value in any of the three
    redacted = json.dumps({**raw, "ship_address": "[redacted]", "ship_phone": "[redacted]"}, separators=(",", ":"))
    for conform, record in ((conform_orders, got["_raw"]), (conform_order_lines, redacted),
                            (conform_order_discounts, redacted)):
        records = sorted(json.loads(r["_raw"]).get("_corrupt_record") or r["_raw"]
                         for r in conform(events, ctx=CTX).select("_raw").distinct().collect())
        assert records == sorted([
            '{"event_id": "E2", "ship_address": "[redacted]", "ship_phone": "[redacted]"',
            '{"event_id":"E3","ship_phone":"[redacted]","ship_city":"Hangzhou"',
            record,
        ]), conform.__name__


def test_order_lines_explode_with_line_amount_and_keep_bad_events_as_one_row(spark):
    actual = conform_order_lines(bronze(spark, "order_events", ORDER_EVENTS), ctx=CTX)
    exp = expected(spark, ORDER_LINES_SCHEMA, [
        ("O1", "L1", "tmall", "P1", "S1", 2, m("50.00"), m("5.00"), m("95.00"), "CNY",
         ts("2024-01-01T17:30:00"), []),
        ("O1", "L2", "tmall", "P2", "S2", None, m("19.90"), m("0.00"), None, "CNY",
         ts("2024-01-01T17:30:00"), ["cast:quantity '1.5'"]),  # delivered inside lines[]
        (None, None, "tmall", None, None, None, None, None, None, "CNY", ts("2024-01-03T00:00:00"),
         ["malformed:lines", "missing:order_id", "missing:line_id", "missing:quantity",
          "missing:unit_price_amount", "missing:item_discount_amount"]),
        (None, None, None, None, None, None, None, None, None, None, None, ["corrupt_record"]),
    ])
    assert_df_equality(actual.drop("_raw"), exp, ignore_nullable=True, ignore_row_order=True)


def test_order_discounts_explode_with_trimmed_line_ids_and_tagged_unknown_type(spark):
    events = [*ORDER_EVENTS, {"event_id": "E5", "event_at": "2024-01-04T00:00:00Z", "platform_id": "tmall",
                              "order_id": "O5", "currency": "CNY", "order_discounts": "{not json"}]
    actual = conform_order_discounts(bronze(spark, "order_events", events), ctx=CTX)
    exp = expected(spark, ORDER_DISCOUNTS_SCHEMA, [
        ("O1", "PR1", "threshold", m("10.00"), ["L1", "L2"], "CNY", ts("2024-01-01T17:30:00"), []),
        ("O1", "PR2", "flash_sale", None, ["L2"], "CNY", ts("2024-01-01T17:30:00"),
         ["unknown_enum:discount_type 'flash_sale'", "cast:discount_amount 'x'"]),
        ("O5", None, None, None, None, "CNY", ts("2024-01-04T00:00:00"),
         ["malformed:order_discounts", "missing:promotion_id", "missing:discount_type", "missing:discount_amount"]),
        (None, None, None, None, None, None, None, ["corrupt_record"]),
    ])
    assert_df_equality(actual.drop("_raw"), exp, ignore_nullable=True, ignore_row_order=True)


def test_resolve_ordered_at_takes_earliest_event_of_batch_and_existing_table(spark):
    events = [
        {"event_id": "E1", "event_type": "order_paid", "event_at": "2024-01-05T10:00:00Z", "order_id": "O1"},
        {"event_id": "E2", "event_type": "order_created", "event_at": "2024-01-04T20:00:00Z", "order_id": "O1"},
        {"event_id": "E3", "event_type": "order_shipped", "event_at": "2024-01-06T10:00:00Z", "order_id": "O2"},
        {"event_id": "E4", "event_type": "order_created", "event_at": "2024-01-07T10:00:00Z", "order_id": "O3"},
    ]
    common = {"platform_id": "tmall", "currency": "CNY", "order_status": "paid", "lines": "[]",
              "shipping_fee": "0", "is_presale": "false"}
    batch = conform_orders(bronze(spark, "order_events", [{**common, **e} for e in events]), ctx=CTX)
    existing = spark.createDataFrame(
        [("O2", ts("2024-01-01T16:00:00")), ("O3", ts("2024-01-08T00:00:00"))], "order_id string, ordered_at timestamp")
    actual = resolve_ordered_at(batch, existing=existing, ctx=CTX).select("event_id", "ordered_at", "order_date")
    exp = spark.createDataFrame([
        ("E1", ts("2024-01-04T20:00:00"), d("2024-01-05")),
        ("E2", ts("2024-01-04T20:00:00"), d("2024-01-05")),
        ("E3", ts("2024-01-01T16:00:00"), d("2024-01-02")),
        ("E4", ts("2024-01-07T10:00:00"), d("2024-01-07")),
    ], "event_id string, ordered_at timestamp, order_date date")
    assert_df_equality(actual, exp, ignore_nullable=True, ignore_row_order=True)
