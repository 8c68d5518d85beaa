"""Text classifiers for review sentiment and customer-service intent in zh, en, de and ja.

Tokens: Chinese is segmented with jieba (its dictionary ships in the package, nothing is downloaded);
Japanese has no offline segmenter here, so it becomes character unigrams and bigrams; English and
German are lower-cased words. Every token list starts with a ``__lang_<code>`` token. The jobs build
the token column in Spark (``tokenize`` in a pandas UDF); the classifier is scikit-learn (hashed token
and token-bigram counts → TF-IDF → multinomial logistic regression), wrapped as an MLflow pyfunc that
tokenizes raw text itself, so `brandlake ask` and batch scoring share one code path.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass

import mlflow
import numpy as np
import pandas as pd

log = logging.getLogger(__name__)

_WORD = re.compile(r"\w+", re.UNICODE)
_CJK_PUNCT = re.compile(r"[\s\u3000-\u303f\uff00-\uffef!-/:-@\[-`{-~]+")
_jieba = None


def _segment_zh(text: str) -> list[str]:
    global _jieba
    if _jieba is None:
        import jieba

        jieba.setLogLevel(logging.WARNING)
        _jieba = jieba
    return [t for t in _jieba.lcut(text) if not _CJK_PUNCT.fullmatch(t)]


def tokenize(text: str | None, language: str | None) -> list[str]:
    """Tokens of ``text`` in ``language`` (zh, ja, en, de; anything else is treated like en)."""
    lang = (language or "unknown").lower()
    tokens = [f"__lang_{lang}"]
    if not text:
        return tokens
    if lang == "zh":
        tokens += _segment_zh(text)
    elif lang == "ja":
        chars = [c for c in text if not _CJK_PUNCT.fullmatch(c)]
        tokens += chars + [a + b for a, b in zip(chars, chars[1:], strict=False)]
    else:
        tokens += [w.lower() for w in _WORD.findall(text)]
    return tokens


def tokens_as_is(tokens):
    """The analyzer of the vectorizer: the tokens were already built (picklable, unlike a lambda)."""
    return list(tokens) + [a + " " + b for a, b in zip(tokens, tokens[1:], strict=False)]


def fit_classifier(tokens: Sequence[Sequence[str]], labels: Sequence[str], *, num_features: int, reg_param: float):
    """A fitted scikit-learn pipeline: hashed counts → TF-IDF → logistic regression."""
    from sklearn.feature_extraction.text import HashingVectorizer, TfidfTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    pipe = Pipeline([
        ("hash", HashingVectorizer(analyzer=tokens_as_is, n_features=num_features, alternate_sign=False,
                                   norm=None)),
        ("tfidf", TfidfTransformer()),
        ("lr", LogisticRegression(C=1.0 / max(reg_param, 1e-6), max_iter=2000)),
    ])
    pipe.fit(list(tokens), list(labels))
    return pipe


@dataclass(frozen=True)
class TextMetrics:
    """Accuracy per language of the model and of the per-language majority class (same held-out rows)."""

    per_language: dict[str, dict[str, float]]   # language -> {accuracy, baseline_accuracy, n}
    accuracy: float
    baseline_accuracy: float
    n_test: int

    def as_levels(self) -> dict[str, dict[str, float]]:
        levels = {f"lang_{k}": v for k, v in self.per_language.items()}
        levels["all"] = {"accuracy": self.accuracy, "baseline_accuracy": self.baseline_accuracy,
                         "error": 1 - self.accuracy, "n": float(self.n_test)}
        return levels


def evaluate(predicted: Sequence[str], test: pd.DataFrame, train: pd.DataFrame) -> TextMetrics:
    """Accuracy of ``predicted`` against ``test.label`` per ``test.language``, next to predicting the
    most frequent training label of that language (the majority-class baseline)."""
    t = test.assign(pred=list(predicted))
    majority = train.groupby("language")["label"].agg(lambda s: s.value_counts().index[0]).to_dict()
    overall_major = train["label"].value_counts().index[0]
    t["base"] = t["language"].map(majority).fillna(overall_major)
    per = {}
    for lang, g in t.groupby("language"):
        per[str(lang)] = {"accuracy": float((g["pred"] == g["label"]).mean()),
                          "baseline_accuracy": float((g["base"] == g["label"]).mean()), "n": float(len(g))}
    return TextMetrics(per, float((t["pred"] == t["label"]).mean()) if len(t) else float("nan"),
                       float((t["base"] == t["label"]).mean()) if len(t) else float("nan"), len(t))


class TextClassifier(mlflow.pyfunc.PythonModel):
    """pyfunc: input columns ``text`` and ``language``; output ``label`` and ``confidence`` (the top
    class probability)."""

    def __init__(self, pipeline) -> None:
        self.pipeline = pipeline

    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        toks = [tokenize(t, lg) for t, lg in zip(model_input["text"], model_input["language"], strict=True)]
        if not toks:
            return pd.DataFrame({"label": pd.Series([], dtype=str), "confidence": pd.Series([], dtype=float)})
        proba = self.pipeline.predict_proba(toks)
        best = np.argmax(proba, axis=1)
        return pd.DataFrame({"label": self.pipeline.classes_[best].astype(str),
                             "confidence": proba[np.arange(len(best)), best].astype(float)})
