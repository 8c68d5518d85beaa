"""`brandlake train-text`: train the review-sentiment and customer-service-intent classifiers on silver
`reviews` and `cs_chats`, each in its own MLflow run, register them, and promote a challenger to
`champion` only when it beats the majority-class baseline and the current champion on the held-out
(latest) text.

Labels: a review's sentiment is its own star rating (1–2 negative, 3 neutral, 4–5 positive); a chat's
intent is the one the agent recorded. The split is by time: the latest `signals.test_fraction` of each
dataset is held out.
"""

from __future__ import annotations

import argparse
import logging

import pandas as pd
from brandlake.models import registry, tracking, validation
from brandlake.models.text import TextClassifier, evaluate, fit_classifier, tokenize
from brandlake.transforms.text_signals import rating_sentiment
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from brandlake import tables
from brandlake.runtime import JobContext

log = logging.getLogger(__name__)

LANGUAGES = ("zh", "en", "de", "ja")
RULES = (validation.Rule("all.error"),)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--task", choices=("sentiment", "intent", "both"), default="both")


@F.pandas_udf(T.ArrayType(T.StringType()))
def tokens_udf(text: pd.Series, language: pd.Series) -> pd.Series:
    return pd.Series([tokenize(t, lg) for t, lg in zip(text, language, strict=True)])


def labelled_reviews(reviews: DataFrame) -> DataFrame:
    """id, at, language, text, label for reviews with text in a supported language and a rating."""
    return reviews.where(F.col("language").isin(*LANGUAGES) & F.col("review_text").isNotNull()
                         & F.col("rating").isNotNull()).select(
        F.col("review_id").alias("id"), F.col("created_at").alias("at"), "language",
        F.col("review_text").alias("text"), rating_sentiment(F.col("rating")).alias("label"))


def labelled_chats(chats: DataFrame) -> DataFrame:
    """id, at, language, text, label for chats with a question and an agent-recorded intent."""
    return chats.where(F.col("language").isin(*LANGUAGES) & F.col("question").isNotNull()
                       & F.col("intent").isNotNull()).select(
        F.col("chat_id").alias("id"), F.col("started_at").alias("at"), "language",
        F.col("question").alias("text"), F.col("intent").alias("label"))


def time_split(df: pd.DataFrame, test_fraction: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Oldest (1 − test_fraction) for training, the latest rest for testing (ties by id)."""
    d = df.sort_values(["at", "id"]).reset_index(drop=True)
    cut = int(round(len(d) * (1 - test_fraction)))
    return d.iloc[:cut], d.iloc[cut:]


def _train(ctx: JobContext, *, task: str, model_name: str, labelled: DataFrame,
           training_tables: list[tracking.TrainingTable]) -> dict:
    cfg = ctx.cfg.signals
    pdf = labelled.withColumn("tokens", tokens_udf("text", "language")).toPandas()
    if pdf.empty or pdf["label"].nunique() < 2:
        raise ValueError(f"train-text {task}: need labelled text with at least two classes; found {len(pdf)} rows "
                         f"and classes {sorted(pdf['label'].unique())}")
    train, test = time_split(pdf, cfg.test_fraction)
    with tracking.training_run(ctx.cfg, run_name=f"train-{task}", params=cfg, training_tables=training_tables,
                               tags={"task": task}):
        pipe = fit_classifier(train["tokens"].tolist(), train["label"].tolist(), num_features=cfg.num_features,
                              reg_param=cfg.reg_param)
        m = evaluate(pipe.predict(test["tokens"].tolist()), test, train)
        levels = m.as_levels()
        tracking.log_level_metrics(levels)
        example = test[["text", "language"]].head(5).reset_index(drop=True)
        model = TextClassifier(pipe)
        info = tracking.log_pyfunc_model(model, name="model", input_example=example,
                                         output_example=model.predict(None, example),
                                         registered_model_name=model_name,
                                         pip_requirements=_requirements())
        champ = registry.champion_metrics(model_name)
        decision = validation.validate(
            {"all.error": 1 - m.accuracy}, baseline={"all.error": 1 - m.baseline_accuracy},
            champion=_champion_error(model_name, champ, test, train), rules=RULES)
        promotion = registry.promote(info, model_name, decision)
    log.info("train-text %s: accuracy %.4f (majority baseline %.4f) on %d held-out texts; %s", task, m.accuracy,
             m.baseline_accuracy, m.n_test, decision.summary())
    return {"accuracy": m.accuracy, "baseline_accuracy": m.baseline_accuracy, "n_train": len(train),
            "n_test": m.n_test, "per_language": m.per_language, "version": promotion.version,
            "aliases": list(promotion.aliases)}


def _champion_error(model_name: str, champ, test: pd.DataFrame, train: pd.DataFrame) -> dict | None:
    """The current champion re-scored on THIS held-out set (same rows as the challenger)."""
    if champ is None:
        return None
    model, _ = registry.load_alias(model_name, registry.CHAMPION)
    pred = model.predict(test[["text", "language"]].reset_index(drop=True))["label"].tolist()
    return {"all.error": 1 - evaluate(pred, test, train).accuracy}


def _requirements() -> list[str]:
    return tracking.pinned_requirements("mlflow", "pandas", "numpy", "scikit-learn", "jieba")


def run(ctx: JobContext, args: argparse.Namespace) -> None:
    spark, cfg = ctx.spark, ctx.cfg
    out = {}
    if args.task in ("sentiment", "both"):
        path = f"{cfg.lake.silver}/reviews"
        used = [tracking.TrainingTable("reviews", path, tables.latest_version(spark, path))]
        out["sentiment"] = _train(ctx, task="sentiment", model_name=cfg.signals.model_name,
                                  labelled=labelled_reviews(tables.read(spark, path)), training_tables=used)
    if args.task in ("intent", "both"):
        path = f"{cfg.lake.silver}/cs_chats"
        used = [tracking.TrainingTable("cs_chats", path, tables.latest_version(spark, path))]
        out["intent"] = _train(ctx, task="intent", model_name=cfg.signals.intent_model_name,
                               labelled=labelled_chats(tables.read(spark, path)), training_tables=used)
    ctx.summary.details["train_text"] = out
