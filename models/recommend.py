"""Implicit-feedback collaborative filtering for recommendations: a Spark ML pipeline (person and product
string ids → integer indices → ALS with ``implicitPrefs``), top-k lists from a fitted pipeline (over every
product, or restricted to each brand's own catalogue) and the validation decision against the popularity
baseline (thresholds as code).

The pipeline is what MLflow logs and the registry aliases; a loaded champion is used the same way.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from brandlake.models.validation import Check, Decision
from pyspark.ml import Pipeline, PipelineModel
from pyspark.ml.feature import IndexToString, StringIndexer
from pyspark.ml.recommendation import ALS, ALSModel
from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

USER, ITEM = "user", "item"
DECISION_METRIC = "ndcg"


def als_pipeline(*, rank: int, reg_param: float, alpha: float, max_iter: int, seed: int) -> Pipeline:
    """person_id → ``user``, product_id → ``item`` (alphabetical indices, so the mapping does not depend on
    counts; an unseen id gets the extra index, which ALS drops as a cold start), then implicit ALS on
    FEEDBACK's ``weight``."""
    return Pipeline(stages=[
        StringIndexer(inputCol="person_id", outputCol=USER, handleInvalid="keep", stringOrderType="alphabetAsc"),
        StringIndexer(inputCol="product_id", outputCol=ITEM, handleInvalid="keep", stringOrderType="alphabetAsc"),
        ALS(userCol=USER, itemCol=ITEM, ratingCol="weight", implicitPrefs=True, rank=rank, regParam=reg_param,
            alpha=alpha, maxIter=max_iter, seed=seed, coldStartStrategy="drop", nonnegative=False),
    ])


def fit(feedback: DataFrame, **params) -> PipelineModel:
    """Fit ``als_pipeline(**params)`` on FEEDBACK rows (person_id, product_id, weight)."""
    return als_pipeline(**params).fit(feedback.select("person_id", "product_id", "weight"))


def _parts(model: PipelineModel):
    users, items, als = model.stages
    if not isinstance(als, ALSModel):
        raise TypeError(f"expected an ALS pipeline (indexer, indexer, ALSModel), found {model.stages}")
    return users, items, als


def _indexed_users(model: PipelineModel, persons: DataFrame) -> DataFrame:
    """(person_id, user) for the persons the model has factors for."""
    users, _, als = _parts(model)
    known = users.transform(persons.select("person_id").distinct()).select(
        "person_id", F.col(USER).cast("int").alias(USER))
    return known.join(als.userFactors.select(F.col("id").alias(USER)), USER, "left_semi")


def known_persons(model: PipelineModel, persons: DataFrame) -> DataFrame:
    """The persons of ``persons`` that the model has factors for (person_id)."""
    return _indexed_users(model, persons).select("person_id")


def recommend(model: PipelineModel, persons: DataFrame, *, k: int) -> DataFrame:
    """(person_id, rank, product_id, score): the top ``k`` products by ALS preference for every person of
    ``persons`` the model knows (others get no rows)."""
    users, items, als = _parts(model)
    ids = _indexed_users(model, persons)
    recs = als.recommendForUserSubset(ids.select(USER), k)
    flat = recs.select(USER, F.posexplode("recommendations").alias("_pos", "_rec")).select(
        USER, (F.col("_pos") + 1).cast("int").alias("rank"), F.col("_rec.item").cast("double").alias(ITEM),
        F.col("_rec.rating").cast("double").alias("score"))
    named = IndexToString(inputCol=ITEM, outputCol="product_id", labels=items.labelsArray[0]).transform(flat)
    return named.join(ids, USER).select("person_id", "rank", "product_id", "score")


def recommend_within_brands(model: PipelineModel, audience: DataFrame, *, catalogue: DataFrame, k: int) -> DataFrame:
    """(brand_id, person_id, rank, product_id, score): for each (brand_id, person_id) of ``audience`` the
    model knows, the top ``k`` of the brand's own products (``catalogue``: product_id, brand_id) by ALS
    preference (the dot product of the person's and the product's factors)."""
    _, items, als = _parts(model)
    people = _indexed_users(model, audience).join(audience.select("brand_id", "person_id"), "person_id").join(
        als.userFactors.select(F.col("id").alias(USER), F.col("features").alias("_uf")), USER)
    products = (items.transform(catalogue.select("product_id", "brand_id").distinct())
                .select("product_id", "brand_id", F.col(ITEM).cast("int").alias(ITEM))
                .join(als.itemFactors.select(F.col("id").alias(ITEM), F.col("features").alias("_if")), ITEM))
    dot = F.aggregate(F.zip_with("_uf", "_if", lambda x, y: x * y), F.lit(0.0).cast("double"),
                      lambda acc, v: acc + v.cast("double"))
    order = Window.partitionBy("brand_id", "person_id").orderBy(F.col("score").desc(), "product_id")
    return (
        people.join(products, "brand_id").withColumn("score", dot)
        .withColumn("rank", F.row_number().over(order)).where(F.col("rank") <= k)
        .select("brand_id", "person_id", F.col("rank").cast("int"), "product_id", "score")
    )


def _finite(v: float | None) -> bool:
    return v is not None and not math.isnan(v) and not math.isinf(v)


def decide(challenger: Mapping[str, float], *, baseline: Mapping[str, float], champion: Mapping[str, float] | None,
           target_ratio: float, metric: str = DECISION_METRIC) -> Decision:
    """Promote when ``metric`` (higher is better, e.g. NDCG@k) is at least ``target_ratio`` × the popularity
    baseline's on the same test users, is above zero, and is not below the champion's (when there is one)
    on the same split."""
    checks = []
    value, base = challenger.get(metric), baseline.get(metric)
    if not _finite(value) or not _finite(base):
        checks.append(Check(metric, "baseline", value, base, None, False,
                            f"{metric}: no value on the test split for the challenger or the baseline"))
    else:
        limit = target_ratio * base
        ok = value > 0 and (value >= limit or math.isclose(value, limit, rel_tol=1e-9))   # the target is inclusive
        ratio = f"{value / base:.2f}×" if base else "n/a (baseline 0)"
        checks.append(Check(metric, "baseline", value, base, limit, ok,
                            f"{metric} {value:.4f} is {ratio} the popularity baseline's {base:.4f} "
                            f"({'meets' if ok else 'misses'} the target {target_ratio:g}×, limit {limit:.4f})"))
    if champion is not None:
        ref = champion.get(metric)
        if not _finite(value) or not _finite(ref):
            checks.append(Check(metric, "champion", value, ref, None, False,
                                f"{metric}: no value on the test split for the challenger or the champion"))
        else:
            ok = value >= ref
            checks.append(Check(metric, "champion", value, ref, ref, ok,
                                f"{metric} {value:.4f} {'is not below' if ok else 'is below'} the champion's "
                                f"{ref:.4f} on the same split"))
    failed = [c.reason for c in checks if not c.passed]
    if failed:
        return Decision(False, tuple(failed), tuple(checks))
    reasons = [c.reason for c in checks] + ([] if champion is not None else ["no current champion"])
    return Decision(True, tuple(reasons), tuple(checks))


def history_lists(history: Mapping[str, list[tuple[str, float]]], *, fallback: Mapping[str, list[str]],
                  k: int) -> dict[str, list[str]]:
    """A reference, not a model: each person's own products from the training window by feedback weight
    (then product id), filled up to ``k`` from ``fallback`` (their popularity list). Shows how much of a
    ranking's score comes from re-buying what the person already looked at or bought."""
    out = {}
    for person in set(history) | set(fallback):
        own = [p for p, _ in sorted(history.get(person, []), key=lambda t: (-t[1], t[0]))]
        out[person] = list(dict.fromkeys(own + list(fallback.get(person, []))))[:k]
    return out
