"""`brandlake build-kb` and `brandlake ask`: the customer-service knowledge base (models/kb.py).

build-kb: cluster the agent answers of silver `cs_chats` not learned yet into gold `cs_kb` (one row per
canonical answer). What was learned is the answered chats of the `cs_chats` version the last build read up to
its `processed_through`, so a chat that lands late (started before it) is learned by the next build. A build
that learns something rewrites the table from the existing clusters plus the new answers in one commit, so
every build is a new Delta version and old ones stay readable; a build with nothing new writes nothing. (The table holds one row per canonical answer, so a rewrite is cheap, and it also
carries the state the next build starts from: `processed_through` and `processed_chats_version` of every row.)
ask: recognise the question's intent with the `champion` intent model, answer from the KB (filling the
order's facts for order-dependent intents) or hand off to a human below `kb.handoff_threshold`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import re

import pandas as pd
from brandlake.models import kb, registry, tracking
from brandlake.transforms.gold_tables import gold_path
from brandlake.transforms.kb import CS_KB
from brandlake.transforms.settlement import OK_REFUND_STATUSES, is_ok_status
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from brandlake import tables
from brandlake.errors import UsageError
from brandlake.runtime import JobContext

log = logging.getLogger(__name__)


KB_TABLE = "cs_kb"


def chats_with_category(spark: SparkSession, lake) -> tuple[DataFrame, int]:
    """Silver chats with the category of their order's first product line (ANY_CATEGORY without order), and
    the `cs_chats` version they were read at."""
    paths = {"cs_chats": f"{lake.silver}/cs_chats", "products": f"{lake.silver}/products",
             "order_line_settlement": gold_path(lake.gold, "order_line_settlement")}
    versions = tables.required_versions(spark, paths, command="build-kb",
                                        hint="run `brandlake silver` and `brandlake gold` first")
    inputs = {name: tables.read(spark, paths[name], version=v) for name, v in versions.items()}
    chats = inputs["cs_chats"]
    lines = inputs["order_line_settlement"].select("order_id", "line_id", "sku_id")
    products = inputs["products"].groupBy("sku_id").agg(F.max("category").alias("category"))
    order_cat = (lines.join(products, "sku_id").groupBy("order_id")
                 .agg(F.min_by("category", "line_id").alias("category")))
    return (chats.join(order_cat, "order_id", "left")
            .select("chat_id", "order_id", "started_at", "intent", "language", "question", "answer",
                    F.coalesce("category", F.lit(kb.ANY_CATEGORY)).alias("category"))), versions["cs_chats"]


def _answered(chats: DataFrame) -> DataFrame:
    """The chats build-kb learns from: an agent answer and a known intent."""
    return chats.where(F.col("answer").isNotNull() & F.col("intent").isNotNull())


def clusters_from_rows(rows: list[dict]) -> list[kb.Cluster]:
    return [kb.Cluster(r["intent"], r["category"], r["language"], r["kb_id"], r["answer"], int(r["uses"]),
                       dict(r["answer_variants"]), list(r["source_chat_ids"]), r["first_seen_at"], r["last_seen_at"])
            for r in rows]


def _py_time(t):
    """pandas Timestamps (from toPandas) as datetime, which createDataFrame accepts for TIMESTAMP."""
    return t.to_pydatetime() if hasattr(t, "to_pydatetime") else t


def clusters_to_frame(spark: SparkSession, clusters: list[kb.Cluster], processed_through,
                      chats_version: int) -> DataFrame:
    rows = [(c.kb_id, c.intent, c.category, c.language, c.answer, c.uses, c.text_uses, c.source_chat_ids,
             _py_time(c.first_seen_at), _py_time(c.last_seen_at), kb.TEMPLATES.get(c.intent, {}).get(c.language),
             _py_time(processed_through), chats_version) for c in clusters]
    return spark.createDataFrame(rows, CS_KB)


# ---------------------------------------------------------------------------------------------------
# build-kb


def build_add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--until", type=dt.datetime.fromisoformat, default=None,
                   help="only learn from chats started before this UTC time (default: all)")


def build(ctx: JobContext, args: argparse.Namespace) -> None:
    spark, cfg = ctx.spark, ctx.cfg
    path = gold_path(cfg.lake.gold, KB_TABLE)
    existing_rows = [r.asDict() for r in tables.read(spark, path).collect()] if tables.exists(spark, path) else []
    since = max((r["processed_through"] for r in existing_rows if r["processed_through"]), default=None)
    read_version = max((r.get("processed_chats_version") for r in existing_rows
                        if r.get("processed_chats_version") is not None), default=None)
    chats, chats_version = chats_with_category(spark, cfg.lake)
    chats = _answered(chats)
    learned = _learned_chats(spark, cfg.lake, read_version, since) if since is not None else None
    if learned is not None:
        chats = chats.join(learned, "chat_id", "left_anti")
    elif since is not None:
        chats = chats.where(F.col("started_at") > F.lit(since))
    if args.until is not None:
        chats = chats.where(F.col("started_at") < F.lit(args.until))
    new = chats.orderBy("started_at", "chat_id").toPandas()
    if new.empty:
        log.info("build-kb: no new conversations since %s", since)
        ctx.summary.details["build_kb"] = {"new_chats": 0, "entries": len(existing_rows)}
        return
    clusters = kb.cluster_answers(new.to_dict("records"), existing=clusters_from_rows(existing_rows),
                                  threshold=cfg.kb.similarity_threshold)
    through = new["started_at"].max().to_pydatetime()
    through = through if since is None else max(through, since)  # a late chat does not move it back
    tables.overwrite(clusters_to_frame(spark, clusters, through, chats_version), path)
    version, _, _ = tables.commit_metrics(spark, path)
    ctx.summary.add_counts(KB_TABLE, rows_written=len(clusters))
    ctx.summary.details["build_kb"] = {"new_chats": len(new), "entries": len(clusters),
                                       "new_entries": len(clusters) - len(existing_rows),
                                       "processed_through": through.isoformat(), "delta_version": version}
    log.info("build-kb: %d new chats -> %d entries (%d new), version %d", len(new), len(clusters),
             len(clusters) - len(existing_rows), version)


def _learned_chats(spark: SparkSession, lake, read_version: int | None, since) -> DataFrame | None:
    """The chat ids the builds so far learned from: the answered chats of the `cs_chats` version the last build
    read, started up to ``since`` (later ones were left for a later build by --until). None when that version
    is unknown (a table written before the column existed) or no longer readable (vacuumed): the build then
    falls back to the chats started after ``since``, and says that a late chat before it is not looked for."""
    if read_version is None:
        log.warning("build-kb: cs_kb does not record the cs_chats version it read; learning only chats started "
                    "after %s (a late chat before it is not looked for)", since)
        return None
    try:
        before = tables.read(spark, f"{lake.silver}/cs_chats", version=read_version)
    except Exception as e:  # noqa: BLE001 - Delta raises several kinds for a version that is gone
        log.warning("build-kb: cs_chats version %d, read by the last build, is not readable (%s); learning only "
                    "chats started after %s (a late chat before it is not looked for)", read_version,
                    type(e).__name__, since)
        return None
    return _answered(before).where(F.col("started_at") <= F.lit(since)).select("chat_id")


# ---------------------------------------------------------------------------------------------------
# ask


def ask_add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("question", help="the customer's question")
    p.add_argument("--order", default=None, help="order id the question is about (fills order-dependent answers)")
    p.add_argument("--language", default=None, choices=("zh", "en", "de", "ja"),
                   help="language of the question (default: guessed from its script)")


_KANA = re.compile(r"[\u3040-\u30ff]")
_HAN = re.compile(r"[\u4e00-\u9fff]")
_GERMAN = re.compile(r"(?i)[äöüß]|\b(ich|meine?|wie|wann|welche|kann|ist|der|die|das|und)\b")


def guess_language(text: str) -> str:
    if _KANA.search(text):
        return "ja"
    if _HAN.search(text):
        return "zh"
    return "de" if _GERMAN.search(text) else "en"


def order_facts(spark: SparkSession, lake, order_id: str) -> dict:
    """Facts for the templates: latest tracking scan, balance due date, return status and refunds."""
    facts: dict = {"order_id": order_id}
    orders = tables.read(spark, f"{lake.silver}/orders").where(F.col("order_id") == order_id).first()
    if orders is None:
        raise UsageError(f"order {order_id!r} is not in silver orders")
    facts["balance_due_at"] = orders["balance_due_at"]
    scan = (tables.read(spark, f"{lake.silver}/tracking_events").where(F.col("order_id") == order_id)
            .orderBy(F.col("event_at").desc(), F.col("event_id").desc()).first())
    if scan is not None:
        facts.update(tracking_no=scan["tracking_no"], carrier=scan["carrier"], scan_type=scan["scan_type"],
                     location=scan["location"], scan_at=scan["event_at"])
    ret = (tables.read(spark, f"{lake.silver}/returns").where(F.col("order_id") == order_id)
           .orderBy(F.col("updated_at").desc()).first())
    facts["return_status"] = ret["status"] if ret is not None else "none"
    # only refunds that went through are money back (pending and failed ones are not; as in the settlement),
    # each in the currency it was paid in: "50.00 CNY", or "50.00 CNY + 5.00 USD"; none: 0.00 in the order's
    refunded = (tables.read(spark, f"{lake.silver}/refunds")
                .where((F.col("order_id") == order_id) & is_ok_status(F.col("status"), OK_REFUND_STATUSES))
                .groupBy("currency").agg(F.sum("amount").alias("amount")).orderBy("currency").collect())
    facts["refunded"] = " + ".join(f"{r['amount']} {r['currency']}" for r in refunded) or f"0.00 {orders['currency']}"
    return facts


def order_category(spark: SparkSession, lake, order_id: str) -> str | None:
    """Category of the order's first line (the same rule build-kb uses)."""
    lines = tables.read(spark, gold_path(lake.gold, "order_line_settlement")).where(F.col("order_id") == order_id)
    products = tables.read(spark, f"{lake.silver}/products").groupBy("sku_id").agg(F.max("category").alias("category"))
    row = lines.join(products, "sku_id").orderBy("line_id").select("category").first()
    return row["category"] if row else None


def answer_question(question: str, *, language: str, intent_model, entries: list[dict], handoff_threshold: float,
                    category: str | None = None, facts: dict | None = None) -> dict:
    """intent, confidence, answer (None on hand-off), kb_id, is_handoff, source (kb/template/handoff)."""
    pred = intent_model.predict(pd.DataFrame({"text": [question], "language": [language]})).iloc[0]
    intent, confidence = str(pred["label"]), float(pred["confidence"])
    out = {"intent": intent, "confidence": round(confidence, 4), "language": language, "answer": None,
           "kb_id": None, "is_handoff": True, "source": "handoff"}
    if confidence < handoff_threshold:
        return out
    entry = kb.best_entry(entries, intent=intent, category=category, language=language)
    filled = kb.fill_template(intent, language, facts) if facts and intent in kb.ORDER_INTENTS else None
    if filled is not None:
        out.update(answer=filled, kb_id=entry["kb_id"] if entry else None, is_handoff=False, source="template")
    elif entry is not None:
        out.update(answer=entry["answer"], kb_id=entry["kb_id"], is_handoff=False, source="kb")
    return out


def ask(ctx: JobContext, args: argparse.Namespace) -> None:
    spark, cfg = ctx.spark, ctx.cfg
    tracking.configure(cfg)
    model, mv = registry.load_alias(cfg.signals.intent_model_name)
    entries = [r.asDict() for r in tables.read(spark, gold_path(cfg.lake.gold, KB_TABLE)).collect()]
    language = args.language or guess_language(args.question)
    facts, category = None, None
    if args.order:
        facts = order_facts(spark, cfg.lake, args.order)
        category = order_category(spark, cfg.lake, args.order)
    out = answer_question(args.question, language=language, intent_model=model, entries=entries,
                          handoff_threshold=cfg.kb.handoff_threshold, category=category, facts=facts)
    out["model_version"] = f"{mv.name}/{mv.version}"
    ctx.summary.details["ask"] = out
    print(json.dumps(out, ensure_ascii=False, default=str))
