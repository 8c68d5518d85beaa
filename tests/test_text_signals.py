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
