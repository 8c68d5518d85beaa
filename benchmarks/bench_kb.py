"""Issue 13 §3 on its own: the knowledge base measured on a time split of conversations, next to two simple
baselines measured the same way.

    BRANDLAKE_PII_KEY=bench python -m benchmarks.bench_kb --lake-root ./lake_bench [--cutoff 2025-07-01]

Needs silver `cs_chats`, `products` and gold `order_line_settlement` (`brandlake pipeline`). The cut-off
defaults to the time before which (1 − signals.test_fraction) of the answered chats started. Both the intent
classifier (models/text.py, the config's hyperparameters, as `train-text` fits it) and the KB
(models/kb.py `cluster_answers`, as `build-kb` clusters) learn only from chats before the cut-off; every
later chat is asked through `jobs.kb.answer_question`, the function `brandlake ask` calls, without order facts
(the agent's answer is compared with the KB answer, not with a filled template). Measured per system:

- intent accuracy: the predicted intent is the agent-recorded one (hand-offs included);
- answered: share with confidence ≥ kb.handoff_threshold (answered without hand-off);
- answer accuracy: the returned KB entry is the cluster the agent's own answer joins (the first cluster of its
  intent × category × language within kb.similarity_threshold, the rule `build-kb` applies); over all test
  chats and over the answered ones.

Baselines: `majority` answers every chat with the most frequent training intent and its KB answer;
`nearest_question` takes the intent and the answer cluster of the training chat whose question shares the
most tokens (Jaccard) with the new one in the same language (among equals, one of the same product category),
with that similarity as its confidence.
Prints JSON and writes benchmarks/out/kb.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import time
from pathlib import Path

import pandas as pd


class _Loaded:
    """The fitted TextClassifier behind the pyfunc interface `answer_question` calls (predict(df))."""

    def __init__(self, model) -> None:
        self.model = model

    def predict(self, df: pd.DataFrame) -> pd.DataFrame:
        return self.model.predict(None, df)


class _Fixed:
    """A classifier that always returns one label with one confidence (the majority baseline)."""

    def __init__(self, label: str, confidence: float) -> None:
        self.label, self.confidence = label, confidence

    def predict(self, df: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame({"label": [self.label] * len(df), "confidence": [self.confidence] * len(df)})


def agent_cluster(clusters, ch, threshold: float) -> str | None:
    """kb_id of the cluster the agent's answer of ``ch`` joins (None: it would start a new one)."""
    from brandlake.models import kb

    toks = kb.answer_tokens(ch["answer"], ch["language"])
    for c in clusters:
        if (c.intent, c.category, c.language) == (ch["intent"], ch["category"], ch["language"]) and \
                kb.jaccard(toks, kb.answer_tokens(c.answer, c.language)) >= threshold:
            return c.kb_id
    return None


def score(rows: list[tuple[bool, bool, bool]]) -> dict:
    n = len(rows)
    if not n:
        return {"chats": 0}
    answered = [r for r in rows if r[1]]
    return {"chats": n, "intent_accuracy": round(sum(r[0] for r in rows) / n, 4),
            "answered_without_handoff": round(len(answered) / n, 4),
            "answer_accuracy_all": round(sum(r[2] for r in rows) / n, 4),
            "answer_accuracy_of_answered": round(sum(r[2] for r in answered) / len(answered), 4) if answered
            else None}


def default_cutoff(chats: pd.DataFrame, test_fraction: float) -> dt.datetime:
    """The start time of the first chat of the latest ``test_fraction`` of the chats."""
    ordered = chats["started_at"].sort_values().reset_index(drop=True)
    return ordered.iloc[min(int(round(len(ordered) * (1 - test_fraction))), len(ordered) - 1)].to_pydatetime()


def evaluate(chats: pd.DataFrame, *, cutoff: dt.datetime, cfg) -> dict:
    """The KB and the baselines on ``chats`` (chats_with_category rows with question, answer, intent)."""
    from brandlake.jobs.kb import answer_question
    from brandlake.models import kb
    from brandlake.models.text import TextClassifier, fit_classifier, tokenize

    chats = chats.sort_values(["started_at", "chat_id"]).reset_index(drop=True)
    train = chats[chats["started_at"] < cutoff]
    test = chats[chats["started_at"] >= cutoff]
    sig, th, sim = cfg.signals, cfg.kb.handoff_threshold, cfg.kb.similarity_threshold
    t0 = time.time()
    model = _Loaded(TextClassifier(fit_classifier(
        [tokenize(q, lg) for q, lg in zip(train["question"], train["language"], strict=True)],
        train["intent"].tolist(), num_features=sig.num_features, reg_param=sig.reg_param)))
    clusters = kb.cluster_answers(train.to_dict("records"), threshold=sim)
    entries = [dict(kb_id=c.kb_id, intent=c.intent, category=c.category, language=c.language, answer=c.answer,
                    uses=c.uses) for c in clusters]
    fit_s = time.time() - t0
    major = train["intent"].value_counts().index[0]
    majority = _Fixed(major, 1.0)
    train_q = [(kb.answer_tokens(ch["question"], ch["language"]), ch["language"], ch["intent"],
                agent_cluster(clusters, ch, sim), ch["category"]) for ch in train.to_dict("records")]
    out = {name: [] for name in ("kb", "majority", "nearest_question")}
    t0 = time.time()
    for ch in test.to_dict("records"):
        truth = agent_cluster(clusters, ch, sim)
        for name, m in (("kb", model), ("majority", majority)):
            a = answer_question(ch["question"], language=ch["language"], intent_model=m, entries=entries,
                                handoff_threshold=th, category=ch["category"])
            out[name].append((a["intent"] == ch["intent"], not a["is_handoff"],
                              truth is not None and a["kb_id"] == truth))
        q = kb.answer_tokens(ch["question"], ch["language"])
        # among equally similar questions, one of the same product category (answers cluster per category)
        best = max(((kb.jaccard(q, tq), i, cl, cat == ch["category"]) for tq, lg, i, cl, cat in train_q
                    if lg == ch["language"]), default=(0.0, None, None, False), key=lambda x: (x[0], x[3]))
        out["nearest_question"].append((best[1] == ch["intent"], best[0] >= th,
                                        best[0] >= th and truth is not None and best[2] == truth))
    ask_s = time.time() - t0
    unseen = (~test["question"].isin(set(train["question"]))).tolist()
    return {
        "cutoff": cutoff.isoformat(), "train_chats": len(train), "test_chats": len(test),
        "kb_entries": len(clusters), "handoff_threshold": th, "similarity_threshold": sim,
        "distinct_questions_train": int(train["question"].nunique()),
        "distinct_answers_train": int(train["answer"].nunique()),
        "test_questions_seen_in_train": round(float(test["question"].isin(set(train["question"])).mean()), 4),
        "test_answers_without_a_cluster": round(sum(agent_cluster(clusters, ch, sim) is None
                                                    for ch in test.to_dict("records")) / max(len(test), 1), 4),
        "majority_intent": major,
        "test_intents": test["intent"].value_counts().to_dict(),
        "results": {k: score(v) for k, v in out.items()},
        # the same on the chats whose question text never appeared before the cut-off (a new phrasing)
        "results_on_new_questions": {k: score([x for x, new in zip(v, unseen, strict=True) if new])
                                     for k, v in out.items()},
        "seconds": {"fit_model_and_kb": round(fit_s, 1), "ask_all_test_chats": round(ask_s, 1)},
    }


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lake-root", required=True)
    ap.add_argument("--env", default="local")
    ap.add_argument("--cutoff", type=dt.datetime.fromisoformat, default=None,
                    help="UTC time: learn from chats before it, ask the ones from it on (default: by test_fraction)")
    a = ap.parse_args(argv)
    from brandlake.jobs.kb import chats_with_category
    from brandlake.jobs.text_models import LANGUAGES

    from brandlake.config import load_config
    from brandlake.session import get_spark

    cfg = load_config(a.env, overrides={"lake": {"root": a.lake_root}})
    spark = get_spark(cfg.spark)
    t0 = time.time()
    chats = chats_with_category(spark, cfg.lake)[0].where(
        "answer IS NOT NULL AND intent IS NOT NULL AND question IS NOT NULL").toPandas()
    chats = chats[chats["language"].isin(LANGUAGES)]
    read_s = time.time() - t0
    cutoff = a.cutoff or default_cutoff(chats, cfg.signals.test_fraction)
    result = evaluate(chats, cutoff=cutoff, cfg=cfg)
    result["seconds"]["read_chats"] = round(read_s, 1)
    text = json.dumps(result, indent=2, default=str, ensure_ascii=False)
    out = Path(__file__).resolve().parent / "out"
    out.mkdir(exist_ok=True)
    (out / "kb.json").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
