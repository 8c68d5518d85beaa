"""`brandlake build-kb` and `brandlake ask` end to end on a tiny lake: silver chats, orders, tracking scans,
returns and refunds as real Delta tables, the intent model trained by `train-text` into the lake's own MLflow
store, the gold `cs_kb` built, then extended incrementally, then asked through the CLI."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

from brandlake.models import kb
from brandlake.transforms.gold_tables import gold_path
from brandlake.transforms.settlement import ORDER_LINE_SETTLEMENT

from brandlake import tables
from brandlake.cli import main
from tests.gold_inputs import frame, nullable
from tests.report_inputs import silver_frame


def t(day: int, hour: int = 10, month: int = 1) -> dt.datetime:
    return dt.datetime(2024, month, day, hour, 0, 0)


WHERE_EN = "Your parcel is on its way; tracking shows it at the local hub."
RETURN_ZH = "亲，请在订单页面申请退货，我们会尽快处理。"
BALANCE = "The balance is due within two days of the sale start."
RETURN = "Please request the return from your order page."
RETURN_2 = "Please request the return from the order page."        # 7 of 8 tokens shared with RETURN
INVOICE = "Yes, you can download it from your order page."
SIZE = "We recommend your usual size; the cut is regular."

# (chat_id, order_id, started_at, intent, language, question, answer); o1 and o3 are apparel, o2 shoes
JANUARY = [
    ("c01", "o1", t(2), "where_is_my_order", "en", "Where is my order?", WHERE_EN),
    ("c02", "o3", t(3), "where_is_my_order", "en", "Where is my parcel?", WHERE_EN.replace(";", ",")),
    ("c03", "o2", t(4), "presale_balance", "en", "When do I pay the balance?", BALANCE),
    ("c04", "o3", t(5), "return_request", "en", "How do I return this item?", RETURN),
    ("c05", None, t(6), "invoice", "en", "Can I get an invoice?", INVOICE),
    ("c06", None, t(7), "invoice", "en", "Can I get an invoice please?", INVOICE),
    ("c07", "o3", t(8), "return_request", "zh", "我想退货，怎么操作？", RETURN_ZH),
    ("c08", "o2", t(9), "presale_balance", "en", "When is the balance due?", None),   # the agent never answered
]
LATE = ("c09", None, t(9, 12), "invoice", "en", "Do you send invoices?", INVOICE)
FEBRUARY = [
    ("c10", "o3", t(1, month=2), "return_request", "en", "How can I return this item?", RETURN_2),
    ("c11", None, t(2, month=2), "size_advice", "en", "Which size should I pick?", SIZE),
    ("c12", None, t(3, month=2), "invoice", "en", "Can I get an invoice for it?", INVOICE),
]


def _chats(spark, rows):
    return silver_frame(spark, "cs_chats", [
        dict(chat_id=c, platform_id="tmall", order_id=o, started_at=at, chat_date=at.date(), channel="app",
             intent=i, language=lg, question=q, answer=a) for c, o, at, i, lg, q, a in rows])


def _write_lake(spark, cfg) -> None:
    s = cfg.lake.silver
    orders = [dict(order_id="o1", platform_id="tmall", currency="CNY", ordered_at=t(1), is_presale=False),
              dict(order_id="o2", platform_id="tmall", currency="CNY", ordered_at=t(1), is_presale=True,
                   balance_due_at=dt.datetime(2024, 1, 20, 16, 0)),
              dict(order_id="o3", platform_id="tmall", currency="CNY", ordered_at=t(1), is_presale=False)]
    tables.overwrite(silver_frame(spark, "orders", orders), f"{s}/orders")
    tables.overwrite(silver_frame(spark, "products", [
        dict(sku_id="sku-a", product_id="pa", brand_id="b1", category="apparel"),
        dict(sku_id="sku-s", product_id="ps", brand_id="b1", category="shoes")]), f"{s}/products")
    lines = [dict(order_id=o, line_id="l1", sku_id=sku) for o, sku in (("o1", "sku-a"), ("o2", "sku-s"),
                                                                        ("o3", "sku-a"))]
    tables.overwrite(frame(spark, nullable(ORDER_LINE_SETTLEMENT), lines),
                     gold_path(cfg.lake.gold, "order_line_settlement"))
    scans = [("e1", "picked_up", "Shanghai", t(2, 8)), ("e2", "hub_scan", "Hangzhou", t(3, 8))]
    tables.overwrite(silver_frame(spark, "tracking_events", [
        dict(event_id=e, shipment_id="sh1", order_id="o1", platform_id="tmall", carrier="SF Express",
             tracking_no="SF123", scan_type=st, location=loc, event_at=at) for e, st, loc, at in scans]),
        f"{s}/tracking_events")
    tables.overwrite(silver_frame(spark, "returns", [
        dict(return_id="r1", order_id="o3", line_id="l1", platform_id="tmall", status="requested",
             updated_at=t(5)),
        dict(return_id="r1b", order_id="o3", line_id="l1", platform_id="tmall", status="refunded",
             updated_at=t(12))]), f"{s}/returns")
    refunds = [("f1", "30.00", "CNY", "success"), ("f2", "20.00", "CNY", "success"), ("f3", "99.00", "CNY", "failed"),
               ("f4", "5.00", "USD", "success")]  # a refund paid in another currency is not added to CNY
    tables.overwrite(silver_frame(spark, "refunds", [
        dict(refund_id=r, order_id="o3", line_id="l1", platform_id="tmall", amount=Decimal(a), currency=c,
             status=st, refunded_at=t(12)) for r, a, c, st in refunds]), f"{s}/refunds")


def _entry(intent, category, language, answer, variants, sources, first, last, through, chats_version):
    return dict(kb_id=kb.kb_id(intent, category, language, answer), intent=intent, category=category,
                language=language, answer=answer, uses=sum(variants.values()), answer_variants=variants,
                source_chat_ids=sources, first_seen_at=first, last_seen_at=last,
                template=kb.TEMPLATES.get(intent, {}).get(language), processed_through=through,
                processed_chats_version=chats_version)


def _kb(spark, path, version=None) -> list[dict]:
    return sorted((r.asDict() for r in tables.read(spark, path, version=version).collect()),
                  key=lambda r: (r["intent"], r["category"], r["language"], r["answer"]))


def test_build_kb_learns_canonical_answers_extends_them_incrementally_and_ask_answers_from_them(
        spark, cfg, capsys):
    _write_lake(spark, cfg)
    common = ["--env", "test", "--lake-root", cfg.lake.root]
    chats_path, kb_path = f"{cfg.lake.silver}/cs_chats", gold_path(cfg.lake.gold, "cs_kb")

    tables.overwrite(_chats(spark, JANUARY), chats_path)
    assert main(["build-kb", *common]) == 0
    jan = t(8)   # the latest answered January chat (c08 has no answer and is not learned from)
    first = [
        _entry("invoice", "any", "en", INVOICE, {INVOICE: 2}, ["c05", "c06"], t(6), t(7), jan, 0),
        _entry("presale_balance", "shoes", "en", BALANCE, {BALANCE: 1}, ["c03"], t(4), t(4), jan, 0),
        _entry("return_request", "apparel", "en", RETURN, {RETURN: 1}, ["c04"], t(5), t(5), jan, 0),
        _entry("return_request", "apparel", "zh", RETURN_ZH, {RETURN_ZH: 1}, ["c07"], t(8), t(8), jan, 0),
        _entry("where_is_my_order", "apparel", "en", WHERE_EN, {WHERE_EN: 1, WHERE_EN.replace(";", ","): 1},
               ["c01", "c02"], t(2), t(3), jan, 0),
    ]
    assert (_kb(spark, kb_path), tables.latest_version(spark, kb_path)) == (first, 0)

    # February's chats arrive: one joins January's return cluster, one starts a new cluster, one is counted
    tables.overwrite(_chats(spark, JANUARY + FEBRUARY), chats_path)
    assert main(["build-kb", *common]) == 0
    feb = t(3, month=2)
    second = [
        _entry("invoice", "any", "en", INVOICE, {INVOICE: 3}, ["c05", "c06", "c12"], t(6), feb, feb, 1),
        _entry("presale_balance", "shoes", "en", BALANCE, {BALANCE: 1}, ["c03"], t(4), t(4), feb, 1),
        # a tie between the variants keeps January's canonical text, so the kb_id stays
        _entry("return_request", "apparel", "en", RETURN, {RETURN: 1, RETURN_2: 1}, ["c04", "c10"], t(5),
               t(1, month=2), feb, 1),
        _entry("return_request", "apparel", "zh", RETURN_ZH, {RETURN_ZH: 1}, ["c07"], t(8), t(8), feb, 1),
        _entry("size_advice", "any", "en", SIZE, {SIZE: 1}, ["c11"], t(2, month=2), t(2, month=2), feb, 1),
        _entry("where_is_my_order", "apparel", "en", WHERE_EN, {WHERE_EN: 1, WHERE_EN.replace(";", ","): 1},
               ["c01", "c02"], t(2), t(3), feb, 1),
    ]
    assert (_kb(spark, kb_path), tables.latest_version(spark, kb_path)) == (second, 1)
    assert _kb(spark, kb_path, version=0) == first          # the January knowledge base stays readable

    # nothing new: no commit, the table as it was
    assert main(["build-kb", *common]) == 0
    assert (_kb(spark, kb_path), tables.latest_version(spark, kb_path)) == (second, 1)

    # a January chat lands late, after February's build: learned by the next build, counted once
    tables.overwrite(_chats(spark, JANUARY + FEBRUARY + [LATE]), chats_path)
    assert main(["build-kb", *common]) == 0
    late = [dict(e, processed_chats_version=2, **(dict(uses=4, answer_variants={INVOICE: 4},
                                                       source_chat_ids=["c05", "c06", "c12", "c09"])
                                                  if e["intent"] == "invoice" else {})) for e in second]
    assert (_kb(spark, kb_path), tables.latest_version(spark, kb_path)) == (late, 2)
    assert main(["build-kb", *common]) == 0
    assert tables.latest_version(spark, kb_path) == 2

    # the intent model: trained by the real job into the lake's MLflow store (champion when it beats the
    # majority class on the latest 30 % of the chats)
    assert main(["train-text", "--task", "intent", *common]) == 0
    capsys.readouterr()

    def ask(*argv) -> dict:
        assert main(["ask", *argv, *common]) == 0
        out = capsys.readouterr().out.strip().splitlines()
        assert len(out) == 1, out
        return json.loads(out[0])

    def check(got: dict, expected: dict, low: float, high: float) -> None:
        assert low <= got.pop("confidence") < high, got
        assert got == {"model_version": "cs_intent/1", **expected}

    ids = {(e["intent"], e["language"]): e["kb_id"] for e in second}   # one category per intent here
    check(ask("Where is my order?", "--order", "o1"), dict(
        intent="where_is_my_order", language="en", source="template", is_handoff=False,
        kb_id=ids["where_is_my_order", "en"],
        answer="Your parcel SF123 (SF Express) was last scanned 'hub_scan' at Hangzhou on 2024-01-03 08:00:00 UTC."),
        0.6, 1.0)
    check(ask("When do I pay the balance?", "--order", "o2"), dict(
        intent="presale_balance", language="en", source="template", is_handoff=False,
        kb_id=ids["presale_balance", "en"], answer="The balance of order o2 is due by 2024-01-20 16:00:00 UTC."),
        0.6, 1.0)
    # the refund that failed is not money the customer got back; each currency is summed on its own
    check(ask("How do I return this item?", "--order", "o3"), dict(
        intent="return_request", language="en", source="template", is_handoff=False,
        kb_id=ids["return_request", "en"], answer="Order o3: return refunded; refunded so far 50.00 CNY + 5.00 USD."),
        0.6, 1.0)
    check(ask("Can I get an invoice?"), dict(
        intent="invoice", language="en", source="kb", is_handoff=False, kb_id=ids["invoice", "en"], answer=INVOICE),
        0.6, 1.0)
    check(ask("我想退货，怎么操作？"), dict(
        intent="return_request", language="zh", source="kb", is_handoff=False, kb_id=ids["return_request", "zh"],
        answer=RETURN_ZH), 0.6, 1.0)
    # a question about nothing the agents ever answered: the model's best guess is below the threshold (the
    # four intents it learned are equally frequent), so a person takes over
    check(ask("Tell me a joke about penguins."), dict(
        intent="return_request", language="en", source="handoff", is_handoff=True, kb_id=None, answer=None), 0.0, 0.6)
