"""Review/chat text: tokens per language (jieba for Chinese), the classifier with its majority baseline,
lexicon topics and the weekly review_signals / cs_signals aggregates."""

from __future__ import annotations

import datetime as dt

import pandas as pd
from brandlake.models.text import TextClassifier, evaluate, fit_classifier, tokenize
from brandlake.transforms.text_signals import (
    CS_SIGNALS,
    REVIEW_SIGNALS,
    review_topics,
    to_cs_signals,
    to_review_signals,
)
from chispa import assert_approx_df_equality
from pyspark.sql import functions as F


def test_tokens_segment_chinese_with_jieba_and_split_other_scripts():
    assert tokenize("质量太差了，已退货。", "zh") == ["__lang_zh", "质量", "太差", "了", "已", "退货"]
    assert tokenize("配送が遅い", "ja") == ["__lang_ja", "配", "送", "が", "遅", "い", "配送", "送が", "が遅", "遅い"]
    assert tokenize("Schlechte Qualität, zurückgeschickt.", "de") == [
        "__lang_de", "schlechte", "qualität", "zurückgeschickt"]
    assert tokenize(None, "en") == ["__lang_en"]


def test_classifier_learns_sentiment_in_four_languages_and_reports_the_majority_baseline():
    train = pd.DataFrame({
        "text": ["质量很好，很满意", "质量太差了", "Great quality", "Poor quality, returned it", "Sehr gute Qualität",
                 "Schlechte Qualität", "品質がとても良いです", "品質が悪く返品しました", "质量很好", "Great quality!",
                 "Lieferung kam zu spät", "配達がとても遅かったです"],
        "language": ["zh", "zh", "en", "en", "de", "de", "ja", "ja", "zh", "en", "de", "ja"],
        "label": ["positive", "negative"] * 4 + ["positive"] * 2 + ["negative"] * 2,
    })
    test = pd.DataFrame({"text": ["质量太差了！", "Poor quality", "Schlechte Qualität!", "品質が悪く返品します"],
                         "language": ["zh", "en", "de", "ja"], "label": ["negative"] * 4})
    pipe = fit_classifier([tokenize(t, lg) for t, lg in zip(train.text, train.language, strict=True)],
                          train.label, num_features=256, reg_param=0.01)
    model = TextClassifier(pipe)
    out = model.predict(None, test[["text", "language"]])
    assert out["label"].tolist() == ["negative"] * 4
    m = evaluate(out["label"].tolist(), test, train)
    # zh and en trained mostly positive, so their majority class misses; de and ja mostly negative
    assert (m.accuracy, m.baseline_accuracy, m.n_test) == (1.0, 0.5, 4)
    assert m.per_language == {
        "de": {"accuracy": 1.0, "baseline_accuracy": 1.0, "n": 1.0},
        "en": {"accuracy": 1.0, "baseline_accuracy": 0.0, "n": 1.0},
        "ja": {"accuracy": 1.0, "baseline_accuracy": 1.0, "n": 1.0},
        "zh": {"accuracy": 1.0, "baseline_accuracy": 0.0, "n": 1.0},
    }


def test_weekly_review_and_cs_signals(spark):
    mon, tue = dt.date(2024, 3, 4), dt.date(2024, 3, 5)
    reviews = spark.createDataFrame([
        ("r1", "p1", mon, 1, "Wrong size and slow support.", -1.0, True),
        ("r2", "p1", tue, 5, "质量很好，物流很快", 1.0, False),
        ("r3", "p1", tue, 2, "尺码不对", -1.0, True),
        ("r4", None, tue, 3, None, 0.0, False),   # no product: not in any product's week
    ], "review_id string, product_id string, review_date date, rating int, review_text string, sentiment double, "
       "is_negative boolean").withColumn("topics", review_topics(F.col("review_text")))
    out = to_review_signals(reviews)
    # r1: sizing + service, r2: quality + delivery, r3: sizing
    expected = spark.createDataFrame([
        ("p1", mon, 3, 8 / 3, -1 / 3, 2 / 3, 2 / 3, 1 / 3, 1 / 3, 0.0, 0.0, 1 / 3, 0.0, "sizing"),
    ], REVIEW_SIGNALS)
    assert_approx_df_equality(out, expected, 1e-9, ignore_nullable=True)

    chats = spark.createDataFrame([("o1", mon, "return_request"), ("o1", tue, "invoice"), ("o2", tue, "return_request"),
                                   (None, tue, "size_advice")], "order_id string, chat_date date, intent string")
    lines = spark.createDataFrame([("o1", "p1", mon), ("o2", "p1", mon), ("o2", "p2", mon), ("o3", "p1", mon)],
                                  "order_id string, product_id string, order_date date")
    cs = to_cs_signals(chats, lines=lines, complaint_intents=("return_request", "where_is_my_order"))
    expected_cs = spark.createDataFrame([
        ("p1", mon, 3, 2, 2 / 3, 3, {"invoice": 1, "return_request": 2}),
        ("p2", mon, 1, 1, 1.0, 1, {"return_request": 1}),
    ], CS_SIGNALS)
    # (a MAP column cannot be sorted on, so the rows are ordered here instead of ignore_row_order)
    assert_approx_df_equality(cs.orderBy("product_id"), expected_cs, 1e-9, ignore_nullable=True)


def test_signals_job_scores_every_review_and_chat_with_the_champions_into_whole_weekly_tables(spark, cfg):
    """`train-text` then `signals` through the CLI on a tiny lake (real Delta, the lake's own MLflow store)."""
    from brandlake.transforms.gold_tables import gold_path
    from brandlake.transforms.settlement import ORDER_LINE_SETTLEMENT
    from brandlake.transforms.text_signals import REVIEW_SCORES
    from chispa import assert_df_equality

    from brandlake import tables
    from brandlake.cli import main
    from tests.gold_inputs import frame, nullable
    from tests.report_inputs import silver_frame

    def day(d):
        return dt.date(2024, 3, d)

    # (review_id, product_id, day, rating, text, language); the last three are the latest 30 %, held out
    reviews = [("r1", "pA", 4, 5, "Great quality, love it", "en"), ("r2", "pA", 4, 1, "Wrong size, too small", "en"),
               ("r3", "pA", 5, 5, "Great quality", "en"), ("r4", "pB", 5, 1, "Too small, wrong size, returned", "en"),
               ("r5", "pB", 6, 5, "质量很好", "zh"), ("r6", "pB", 6, 1, "尺码偏小", "zh"),
               ("r7", "pA", 6, 3, "It is okay", "en"),
               ("r8", "pA", 11, 5, "Great quality!", "en"), ("r9", "pB", 11, 1, "Wrong size", "en"),
               ("r10", None, 11, 2, "尺码偏小了", "zh")]   # no product: scored, in no product's week
    tables.overwrite(silver_frame(spark, "reviews", [
        dict(review_id=r, platform_id="tmall", product_id=p, rating=rt, review_text=tx, language=lg,
             created_at=dt.datetime(2024, 3, d, 9), review_date=day(d)) for r, p, d, rt, tx, lg in reviews]),
        f"{cfg.lake.silver}/reviews")
    chats = [("ch1", "o1", 4, "return_request", "How do I return this item?"),
             ("ch2", "o1", 5, "where_is_my_order", "Where is my order?"),
             ("ch3", "o2", 5, "return_request", "How do I return it?"),
             ("ch4", None, 5, "size_advice", "Which size should I pick?"),   # pre-sales: about no product
             ("ch5", "o2", 6, "invoice", "Can I get an invoice?"),
             ("ch6", "o3", 11, "where_is_my_order", "Where is my parcel?"),
             ("ch7", "o3", 12, "return_request", "How can I return this item?")]
    tables.overwrite(silver_frame(spark, "cs_chats", [
        dict(chat_id=c, platform_id="tmall", order_id=o, started_at=dt.datetime(2024, 3, d, 9), chat_date=day(d),
             question=q, answer="-", intent=i, language="en") for c, o, d, i, q in chats]),
        f"{cfg.lake.silver}/cs_chats")
    lines = [("o1", "l1", "pA", 4), ("o2", "l1", "pA", 5), ("o2", "l2", "pB", 5), ("o3", "l1", "pB", 11)]
    tables.overwrite(frame(spark, nullable(ORDER_LINE_SETTLEMENT), [
        dict(order_id=o, line_id=ln, product_id=p, sku_id=p + "-s", order_date=day(d)) for o, ln, p, d in lines]),
        gold_path(cfg.lake.gold, "order_line_settlement"))

    common = ["--env", "test", "--lake-root", cfg.lake.root]
    assert main(["train-text", *common]) == 0
    assert main(["signals", *common]) == 0
    read = lambda name: tables.read(spark, gold_path(cfg.lake.gold, name))  # noqa: E731

    label = {1: "negative", 2: "negative", 3: "neutral", 5: "positive"}   # every text scored as its stars say
    topics = {"Great quality, love it": ["quality"], "Wrong size, too small": ["sizing"], "Great quality": ["quality"],
              "Too small, wrong size, returned": ["sizing"], "质量很好": ["quality"], "尺码偏小": ["sizing"],
              "It is okay": [], "Great quality!": ["quality"], "Wrong size": ["sizing"], "尺码偏小了": ["sizing"]}
    score = {"negative": -1.0, "neutral": 0.0, "positive": 1.0}
    expected_scores = spark.createDataFrame([
        (r, p, "tmall", lg, day(d), rt, label[rt], score[label[rt]], label[rt] == "negative", topics[tx],
         "review_sentiment/1") for r, p, d, rt, tx, lg in reviews], REVIEW_SCORES)
    assert_df_equality(read("review_scores"), expected_scores, ignore_row_order=True, ignore_nullable=True)

    mon, next_mon = day(4), day(11)
    # columns: reviews, avg_rating, sentiment, negative_share, topic shares (sizing, quality, delivery, price,
    # packaging, service, appearance), negative_topic_top
    expected_reviews = spark.createDataFrame([
        ("pA", mon, 4, 3.5, 0.25, 0.25, 0.25, 0.5, 0.0, 0.0, 0.0, 0.0, 0.0, "sizing"),
        ("pA", next_mon, 1, 5.0, 1.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, None),
        ("pB", mon, 3, 7 / 3, -1 / 3, 2 / 3, 2 / 3, 1 / 3, 0.0, 0.0, 0.0, 0.0, 0.0, "sizing"),
        ("pB", next_mon, 1, 1.0, -1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, "sizing"),
    ], REVIEW_SIGNALS)
    assert_approx_df_equality(read("review_signals").orderBy("product_id", "week"), expected_reviews, 1e-9,
                              ignore_nullable=True)
    # chats by predicted intent (each as recorded here); o2 holds both products; complaint rate per line sold
    cs = read("cs_signals")
    expected_cs = spark.createDataFrame([
        ("pA", mon, 4, 3, 1.5, 2, {"invoice": 1, "return_request": 2, "where_is_my_order": 1}),
        ("pB", mon, 2, 1, 1.0, 1, {"invoice": 1, "return_request": 1}),
        ("pB", next_mon, 2, 2, 2.0, 1, {"return_request": 1, "where_is_my_order": 1}),
    ], cs.schema)   # as stored: Delta keeps a MAP's values nullable, which ignore_nullable does not cover
    assert cs.schema.fieldNames() == CS_SIGNALS.fieldNames()
    assert_approx_df_equality(cs.orderBy("product_id", "week"), expected_cs, 1e-9, ignore_nullable=True)
