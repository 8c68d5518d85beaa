"""`brandlake lifecycle`: gold `product_lifecycle` (product × month, with a stage) and `product_alerts`
(rates that jumped, with evidence) from `order_line_settlement` and silver products, returns, reviews
and cs_chats. Review sentiment comes from gold `review_scores` (`brandlake signals`) when it exists,
otherwise from the star rating. Both tables are rebuilt whole (one overwrite each: idempotent)."""

from __future__ import annotations

import argparse
import datetime as dt
import logging

from brandlake.transforms.gold_tables import gold_path
from brandlake.transforms.lifecycle import to_product_alerts, to_product_months, with_lifecycle_stage
from brandlake.transforms.settlement import CANCELLED
from brandlake.transforms.text_signals import rating_sentiment, review_topics, sentiment_score
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from brandlake import tables
from brandlake.runtime import JobContext

log = logging.getLogger(__name__)

LIFECYCLE, ALERTS, REVIEW_SCORES = "product_lifecycle", "product_alerts", "review_scores"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--as-of", type=dt.date.fromisoformat, default=None,
                   help="last day counted (default: the latest order_date in order_line_settlement)")


def scored_reviews(ctx: JobContext, reviews: DataFrame) -> DataFrame:
    """review_id, product_id, review_date, rating, sentiment, is_negative, topics: from gold review_scores
    when `brandlake signals` has run, else from silver ``reviews``: the rating's sentiment and the lexicon
    topics."""
    gold_scores = gold_path(ctx.cfg.lake.gold, REVIEW_SCORES)
    cols = ("review_id", "product_id", "review_date", "rating", "sentiment", "is_negative", "topics")
    if tables.exists(ctx.spark, gold_scores):
        return tables.read(ctx.spark, gold_scores).select(*cols)
    log.info("lifecycle: no %s yet; review sentiment from star ratings", gold_scores)
    label = rating_sentiment(F.col("rating"))
    return reviews.select("review_id", "product_id", "review_date", "rating", sentiment_score(label).alias("sentiment"),
                          (label == "negative").alias("is_negative"), review_topics(F.col("review_text")).alias("topics"))


def run(ctx: JobContext, args: argparse.Namespace) -> None:
    spark, cfg, lc = ctx.spark, ctx.cfg, ctx.cfg.lifecycle
    inputs = tables.read_required(spark, {
        "order_line_settlement": gold_path(cfg.lake.gold, "order_line_settlement"),
        "products": f"{cfg.lake.silver}/products", "returns": f"{cfg.lake.silver}/returns",
        "cs_chats": f"{cfg.lake.silver}/cs_chats", "reviews": f"{cfg.lake.silver}/reviews",
    }, command="lifecycle", hint="run `brandlake silver` and `brandlake gold` first")
    lines, products, returns, chats = (inputs[n] for n in ("order_line_settlement", "products", "returns", "cs_chats"))
    reviews = scored_reviews(ctx, inputs["reviews"]).persist()
    as_of = args.as_of or lines.agg(F.max("order_date")).first()[0]
    if as_of is None:
        raise tables.TableNotFoundError("order_line_settlement is empty; run `brandlake gold` first")
    months = to_product_months(lines, products=products, returns=returns, reviews=reviews, chats=chats,
                               as_of=as_of, complaint_intents=lc.complaint_intents)
    lifecycle = with_lifecycle_stage(months, intro_months=lc.intro_months, growth_threshold=lc.growth_threshold,
                                     decline_threshold=lc.decline_threshold, decline_peak_ratio=lc.decline_peak_ratio)
    tables.overwrite(lifecycle, gold_path(cfg.lake.gold, LIFECYCLE))
    lifecycle = tables.read(spark, gold_path(cfg.lake.gold, LIFECYCLE))
    complaint_chats = (chats.where(F.col("intent").isin(*lc.complaint_intents))
                       .join(lines.where(F.col("settlement_status") != CANCELLED)
                             .select("order_id", "product_id").distinct(), "order_id")
                       .select("product_id", "chat_date", "intent"))
    alerts = to_product_alerts(lifecycle, reviews=reviews, chats=complaint_chats,
                               history_months=lc.alert_history_months, min_volume=lc.alert_min_volume,
                               min_increase=lc.alert_min_increase, ratio=lc.alert_ratio)
    tables.overwrite(alerts, gold_path(cfg.lake.gold, ALERTS))
    reviews.unpersist()
    stages = {r["stage"]: r["n"] for r in lifecycle.where(F.col("month") == F.trunc(F.lit(as_of), "month"))
              .groupBy("stage").agg(F.count("*").alias("n")).collect()}
    n_alerts = tables.read(spark, gold_path(cfg.lake.gold, ALERTS)).count()
    ctx.summary.add_counts(LIFECYCLE, rows_written=lifecycle.count())
    ctx.summary.add_counts(ALERTS, rows_written=n_alerts)
    ctx.summary.details["lifecycle"] = {"as_of": as_of.isoformat(), "stages_in_last_month": stages,
                                       "alerts": n_alerts}
    log.info("lifecycle: as of %s, stages in the last month %s, %d alerts", as_of, stages, n_alerts)
