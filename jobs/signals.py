"""`brandlake signals`: score silver reviews (sentiment) and cs_chats (intent) with the `champion` text
models, MERGE gold `review_scores` (one row per review), and rebuild gold `review_signals` and
`cs_signals` (one row per product per week)."""

from __future__ import annotations

import argparse
import logging
from collections.abc import Iterator

import pandas as pd
from brandlake.models import registry, tracking
from brandlake.transforms.gold_tables import gold_path
from brandlake.transforms.text_signals import (
    PREDICTION,
    REVIEW_SCORES,
    review_topics,
    sentiment_score,
    to_cs_signals,
    to_review_signals,
)
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from brandlake import tables
from brandlake.runtime import JobContext

log = logging.getLogger(__name__)


def add_arguments(p: argparse.ArgumentParser) -> None:
    del p  # no options: the champions and the whole silver tables are scored


def predict(df: DataFrame, model, *, id_col: str, text_col: str) -> DataFrame:
    """id, label, confidence for each row of ``df`` by the pyfunc ``model`` (runs in the Python workers)."""
    def score(parts: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for p in parts:
            out = model.predict(pd.DataFrame({"text": p["text"], "language": p["language"]}))
            yield pd.DataFrame({"id": p["id"].to_numpy(), "label": out["label"].to_numpy(),
                                "confidence": out["confidence"].to_numpy()})
    return df.select(F.col(id_col).alias("id"), F.col(text_col).alias("text"), "language").mapInPandas(
        score, PREDICTION)


def run(ctx: JobContext, args: argparse.Namespace) -> None:
    spark, cfg = ctx.spark, ctx.cfg
    tracking.configure(cfg)
    sentiment_model, s_mv = registry.load_alias(cfg.signals.model_name)
    intent_model, i_mv = registry.load_alias(cfg.signals.intent_model_name)
    inputs = tables.read_required(spark, {
        "reviews": f"{cfg.lake.silver}/reviews", "cs_chats": f"{cfg.lake.silver}/cs_chats",
        "order_line_settlement": gold_path(cfg.lake.gold, "order_line_settlement"),
    }, command="signals", hint="run `brandlake silver` and `brandlake gold` first")
    reviews, chats, lines = inputs["reviews"], inputs["cs_chats"], inputs["order_line_settlement"]

    pred = predict(reviews, sentiment_model, id_col="review_id", text_col="review_text")
    scores = reviews.join(pred.withColumnRenamed("id", "review_id"), "review_id", "left").select(
        "review_id", "product_id", "platform_id", "language", "review_date", "rating",
        F.col("label").alias("sentiment_label"), sentiment_score(F.col("label")).alias("sentiment"),
        (F.col("label") == "negative").alias("is_negative"), review_topics(F.col("review_text")).alias("topics"),
        F.lit(f"{s_mv.name}/{s_mv.version}").alias("model_version"))
    scores = scores.select(*[F.col(f.name).cast(f.dataType) for f in REVIEW_SCORES.fields])
    scores_path = gold_path(cfg.lake.gold, "review_scores")
    tables.merge_upsert(scores, scores_path, keys=("review_id",))
    scores = tables.read(spark, scores_path)
    tables.overwrite(to_review_signals(scores), gold_path(cfg.lake.gold, "review_signals"))

    chat_pred = predict(chats, intent_model, id_col="chat_id", text_col="question")
    scored_chats = chats.join(chat_pred.withColumnRenamed("id", "chat_id"), "chat_id", "left").select(
        "order_id", "chat_date", F.col("label").alias("intent"))
    cs = to_cs_signals(scored_chats, lines=lines, complaint_intents=cfg.lifecycle.complaint_intents)
    tables.overwrite(cs, gold_path(cfg.lake.gold, "cs_signals"))
    n = {t: tables.read(spark, gold_path(cfg.lake.gold, t)).count() for t in ("review_scores", "review_signals",
                                                                          "cs_signals")}
    for t, c in n.items():
        ctx.summary.add_counts(t, rows_written=c)
    ctx.summary.details["signals"] = {"sentiment_model": f"{s_mv.name}/{s_mv.version}",
                                      "intent_model": f"{i_mv.name}/{i_mv.version}", **n}
    log.info("signals: %s", n)
