"""Knowledge base: near-duplicate agent answers cluster (incrementally), the most used text is canonical,
order-dependent answers come from templates, and a low-confidence intent hands off to a human."""

from __future__ import annotations

import datetime as dt

import pandas as pd
from brandlake.jobs.kb import answer_question, guess_language
from brandlake.models import kb


def _chat(i, answer, *, intent="return_request", category="apparel", language="en"):
    return dict(chat_id=f"c{i}", intent=intent, category=category, language=language, answer=answer,
                started_at=dt.datetime(2024, 1, i))


def test_answers_cluster_by_similarity_and_extend_incrementally():
    first = [_chat(1, "Please request the return from your order page."),
             _chat(2, "Please request the return from your order page!"),   # same tokens: same cluster
             _chat(3, "Please request the return from the order page."),    # 7 of 8 distinct tokens shared: same cluster
             _chat(4, "Yes, you can download it from your order page.", intent="invoice"),
             _chat(5, "Please request the return from your order page.", category="shoes")]
    clusters = kb.cluster_answers(first, threshold=0.6)
    summary = [(c.intent, c.category, c.uses, c.answer, c.source_chat_ids) for c in clusters]
    assert summary == [
        ("return_request", "apparel", 3, "Please request the return from your order page.", ["c1", "c2", "c3"]),
        ("invoice", "apparel", 1, "Yes, you can download it from your order page.", ["c4"]),
        ("return_request", "shoes", 1, "Please request the return from your order page.", ["c5"]),
    ]
    ids = [c.kb_id for c in clusters]
    # a later build adds to the existing cluster (the more used variant becomes canonical) or starts one
    later = [_chat(6, "Please request the return from the order page."), _chat(7, "Please request the return from "
                                                                                 "the order page."),
             _chat(8, "We will pick the parcel up tomorrow.")]
    grown = kb.cluster_answers(later, existing=clusters, threshold=0.6)
    assert [(c.kb_id, c.uses, c.answer) for c in grown] == [
        (ids[0], 5, "Please request the return from the order page."), (ids[1], 1, clusters[1].answer),
        (ids[2], 1, clusters[2].answer),
        (kb.kb_id("return_request", "apparel", "en", "We will pick the parcel up tomorrow."), 1,
         "We will pick the parcel up tomorrow.")]


class _FixedIntent:
    """A stand-in classifier with a known output, so the test isolates the answering rules."""

    def __init__(self, label, confidence):
        self.label, self.confidence = label, confidence

    def predict(self, df):
        return pd.DataFrame({"label": [self.label] * len(df), "confidence": [self.confidence] * len(df)})


def test_answer_uses_template_for_the_order_kb_otherwise_and_hands_off_below_threshold():
    entries = [dict(kb_id="KB1", intent="where_is_my_order", category="any", language="en", answer="On its way.",
                    uses=3),
               dict(kb_id="KB2", intent="invoice", category="apparel", language="en", answer="From your order page.",
                    uses=2),
               dict(kb_id="KB3", intent="invoice", category="any", language="en", answer="Ask us.", uses=9)]
    facts = dict(order_id="o1", tracking_no="SF123", carrier="SF Express", scan_type="hub_scan", location="Hangzhou",
                 scan_at=dt.datetime(2024, 3, 1, 8, 0), balance_due_at=None, return_status="none",
                 refunded_amount="0.00", currency="CNY")
    ask = dict(language="en", entries=entries, handoff_threshold=0.6)
    assert answer_question("Where is my order?", intent_model=_FixedIntent("where_is_my_order", 0.9), facts=facts,
                           **ask) == {
        "intent": "where_is_my_order", "confidence": 0.9, "language": "en", "kb_id": "KB1", "is_handoff": False,
        "source": "template",
        "answer": "Your parcel SF123 (SF Express) was last scanned 'hub_scan' at Hangzhou on 2024-03-01 08:00:00 UTC."}
    assert answer_question("Can I get an invoice?", intent_model=_FixedIntent("invoice", 0.8), category="apparel",
                           **ask) == {
        "intent": "invoice", "confidence": 0.8, "language": "en", "kb_id": "KB2", "is_handoff": False,
        "source": "kb", "answer": "From your order page."}
    assert answer_question("???", intent_model=_FixedIntent("invoice", 0.4), **ask) == {
        "intent": "invoice", "confidence": 0.4, "language": "en", "kb_id": None, "is_handoff": True,
        "source": "handoff", "answer": None}
    assert [guess_language(q) for q in ("我的快递到哪了？", "返品したいです。", "Wo ist meine Bestellung?",
                                        "Where is my order?")] == ["zh", "ja", "de", "en"]
