"""Customer-service knowledge base: canonical agent answers per intent × product category × language,
learned by clustering near-duplicate answers, and templates filled from the lakehouse for answers that
depend on the order (where is my order, presale balance due, refund status).

Clustering: answers are token sets (models/text.py tokens, without the language token); an answer
joins the first existing cluster of its intent × category × language whose canonical answer has
token Jaccard similarity ≥ the threshold, else it starts a new cluster. The canonical answer of a
cluster is its most used answer text (chats carry no agent rating in this data). Running it again with
new conversations extends the clusters (incremental).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from brandlake.models.text import tokenize

ANY_CATEGORY = "any"
ORDER_INTENTS = ("where_is_my_order", "presale_balance", "return_request")
MAX_SOURCES = 10

# Order-dependent answers: {placeholders} are filled from the lakehouse (jobs/kb.py order_facts).
TEMPLATES: dict[str, dict[str, str]] = {
    "where_is_my_order": {
        "en": "Your parcel {tracking_no} ({carrier}) was last scanned '{scan_type}' at {location} on {scan_at} UTC.",
        "de": "Ihr Paket {tracking_no} ({carrier}) wurde zuletzt am {scan_at} UTC in {location} erfasst ({scan_type}).",
        "zh": "亲，您的包裹 {tracking_no}（{carrier}）最新状态：{scan_at} UTC 在 {location}（{scan_type}）。",
        "ja": "お荷物 {tracking_no}（{carrier}）は {scan_at} UTC に {location} で「{scan_type}」されました。",
    },
    "presale_balance": {
        "en": "The balance of order {order_id} is due by {balance_due_at} UTC.",
        "de": "Der Restbetrag für Bestellung {order_id} ist bis {balance_due_at} UTC fällig.",
        "zh": "亲，订单 {order_id} 的尾款请在 {balance_due_at} UTC 之前支付哦。",
        "ja": "ご注文 {order_id} の残金のお支払い期限は {balance_due_at} UTC です。",
    },
    "return_request": {
        "en": "Order {order_id}: return {return_status}; refunded so far {refunded}.",
        "de": "Bestellung {order_id}: Rücksendung {return_status}; bisher erstattet {refunded}.",
        "zh": "订单 {order_id}：退货状态 {return_status}，已退款 {refunded}。",
        "ja": "ご注文 {order_id}：返品 {return_status}、返金済み {refunded}。",
    },
}


def answer_tokens(text: str, language: str) -> frozenset[str]:
    return frozenset(tokenize(text, language)[1:])


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    if not a and not b:
        return 1.0
    return len(a & b) / len(a | b)


def kb_id(intent: str, category: str, language: str, canonical: str) -> str:
    key = "|".join((intent, category, language, canonical))
    return "KB" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]


@dataclass
class Cluster:
    intent: str
    category: str
    language: str
    kb_id: str
    answer: str                                   # canonical: the most used text
    uses: int = 0
    text_uses: dict[str, int] = field(default_factory=dict)
    source_chat_ids: list[str] = field(default_factory=list)
    first_seen_at: object = None
    last_seen_at: object = None

    def add(self, text: str, chat_id: str, at) -> None:
        self.uses += 1
        self.text_uses[text] = self.text_uses.get(text, 0) + 1
        if len(self.source_chat_ids) < MAX_SOURCES:
            self.source_chat_ids.append(chat_id)
        self.first_seen_at = at if self.first_seen_at is None or at < self.first_seen_at else self.first_seen_at
        self.last_seen_at = at if self.last_seen_at is None or at > self.last_seen_at else self.last_seen_at
        # the most used text wins; ties keep the earlier canonical answer (stable ids)
        best = max(self.text_uses.items(), key=lambda kv: (kv[1], kv[0] == self.answer))
        self.answer = best[0]


def cluster_answers(chats: Iterable[Mapping], *, existing: Iterable[Cluster] = (), threshold: float) -> list[Cluster]:
    """Clusters after adding ``chats`` (dicts: chat_id, intent, category, language, answer, started_at, in
    time order) to ``existing``; a cluster's kb_id is fixed when it is created."""
    clusters = list(existing)
    by_key: dict[tuple, list[tuple[Cluster, frozenset]]] = {}
    for c in clusters:
        by_key.setdefault((c.intent, c.category, c.language), []).append((c, answer_tokens(c.answer, c.language)))
    for ch in chats:
        if not ch.get("answer") or not ch.get("intent"):
            continue
        key = (ch["intent"], ch.get("category") or ANY_CATEGORY, ch.get("language") or "unknown")
        toks = answer_tokens(ch["answer"], key[2])
        bucket = by_key.setdefault(key, [])
        match = next((c for c, t in bucket if jaccard(toks, t) >= threshold), None)
        if match is None:
            match = Cluster(*key, kb_id=kb_id(*key, ch["answer"]), answer=ch["answer"])
            clusters.append(match)
            bucket.append((match, toks))
        match.add(ch["answer"], ch["chat_id"], ch["started_at"])
    return clusters


def best_entry(entries: Iterable[Mapping], *, intent: str, category: str | None, language: str) -> Mapping | None:
    """The most used KB entry for the intent in the language, preferring the category, then any category."""
    cands = [e for e in entries if e["intent"] == intent and e["language"] == language]
    for cat in ((category,) if category else ()) + (ANY_CATEGORY, None):
        pool = [e for e in cands if cat is None or e["category"] == cat]
        if pool:
            return max(pool, key=lambda e: (e["uses"], e["kb_id"]))
    return None


def fill_template(intent: str, language: str, facts: Mapping[str, object] | None) -> str | None:
    """The order-dependent answer, or None when the intent has no template or a fact is missing."""
    t = TEMPLATES.get(intent, {}).get(language) or TEMPLATES.get(intent, {}).get("en")
    if t is None or not facts:
        return None
    try:
        return t.format(**{k: ("-" if v is None else v) for k, v in facts.items()})
    except KeyError:
        return None
