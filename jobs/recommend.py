"""`brandlake recommend`: implicit-feedback ALS recommendations with a popularity fallback → gold
`recommendations` (per person × rank) and `brand_recommendations` (per brand × person × rank, the brand's own
catalogue and its own visitors and buyers only).

One MLflow run: a time split (train: feedback in the ``window_days`` before the cut-off; test: purchases in
the last ``test_days`` up to ``--as-of``), precision/recall/MAP/NDCG@k of ALS and of the popularity baseline
on the same test persons (persons with training feedback; persons without any are scored by the popularity
fallback and reported apart), the ratio of NDCG@k, a personal-history reference, and the decision
(models/recommend.decide). The model that is logged, registered and promoted is the same pipeline refit on
the ``window_days`` up to ``--as-of`` (the evaluation fit never sees the test purchases; the served one does).
Gold is written with the new model when it passed validation, else with the current champion, else from
popularity alone. Both tables are rebuilt whole each run.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime as dt
import logging
import time
from dataclasses import dataclass

import mlflow
from brandlake.models import metrics as mx
from brandlake.models import recommend as rm
from brandlake.models import registry, tracking
from brandlake.transforms import recommend as rt
from brandlake.transforms.gold_tables import gold_path
from pyspark.ml import PipelineModel
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from brandlake import tables
from brandlake.config import RecommendConfig
from brandlake.runtime import JobContext

log = logging.getLogger(__name__)

RECOMMENDATIONS, BRAND_RECOMMENDATIONS = "recommendations", "brand_recommendations"
# the config fields a fit depends on: a champion trained with other values is refit with its own on this split
FIT_FIELDS = ("window_days", "view_weight", "cart_weight", "purchase_weight", "rank", "reg_param", "alpha",
              "max_iter", "seed")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--as-of", type=dt.date.fromisoformat, default=None,
                   help="last day of data used (YYYY-MM-DD; default: the latest order date in order_line_settlement)")


@dataclass(frozen=True)
class Split:
    """Dates of one run (windows are [start, end)): train [train_start, cutoff), test [cutoff, end),
    serving [serve_start, end); end = the day after as-of."""

    train_start: dt.date
    cutoff: dt.date
    end: dt.date
    serve_start: dt.date


def split_dates(as_of: dt.date, *, window_days: int, test_days: int) -> Split:
    end = as_of + dt.timedelta(days=1)
    cutoff = end - dt.timedelta(days=test_days)
    return Split(train_start=cutoff - dt.timedelta(days=window_days), cutoff=cutoff, end=end,
                 serve_start=end - dt.timedelta(days=window_days))


def als_params(c: RecommendConfig) -> dict:
    return {"rank": c.rank, "reg_param": c.reg_param, "alpha": c.alpha, "max_iter": c.max_iter, "seed": c.seed}


def read_inputs(ctx: JobContext) -> dict[str, DataFrame]:
    lake = ctx.cfg.lake
    return tables.read_required(
        ctx.spark, {**{n: f"{lake.silver}/{n}" for n in ("clickstream", "customers", "products")},
                    "order_line_settlement": gold_path(lake.gold, "order_line_settlement"),
                    "identity_accounts": gold_path(lake.gold, "identity_accounts")},
        command="recommend", hint="run `brandlake silver`, `brandlake gold` and `brandlake identity` first")


def feedback(inputs: dict[str, DataFrame], c: RecommendConfig, *, start: dt.date, end: dt.date) -> DataFrame:
    return rt.to_feedback(inputs["clickstream"], lines=inputs["order_line_settlement"],
                          accounts=inputs["identity_accounts"], start=start, end=end, view_weight=c.view_weight,
                          cart_weight=c.cart_weight, purchase_weight=c.purchase_weight)


def _lists(df: DataFrame) -> dict[str, list[str]]:
    """{person_id: [product_id by rank]} from (person_id, rank, product_id) rows."""
    out: dict[str, list[tuple[int, str]]] = {}
    for r in df.select("person_id", "rank", "product_id").collect():
        out.setdefault(r[0], []).append((r[1], r[2]))
    return {p: [item for _, item in sorted(v)] for p, v in out.items()}


def evaluate(ctx: JobContext, inputs: dict[str, DataFrame], c: RecommendConfig, split: Split) -> dict:
    """Fit on the training window and score ALS, popularity and the personal-history reference @eval_k on the
    test purchases (``score_split``)."""
    accounts = inputs["identity_accounts"]
    # the window from c (not split.train_start): a champion refit uses its own window_days
    train = feedback(inputs, c, start=split.cutoff - dt.timedelta(days=c.window_days), end=split.cutoff)
    test = rt.to_person_purchases(inputs["order_line_settlement"], accounts=accounts, start=split.cutoff,
                                  end=split.end).select("person_id", "product_id").distinct()
    segments = rt.to_person_segments(inputs["customers"], accounts=accounts, as_of=split.cutoff,
                                     known_before=split.cutoff)  # what was known at the cut-off only
    return score_split(train, test=test, segments=segments, c=c, step=ctx.step)


def score_split(train: DataFrame, *, test: DataFrame, segments: DataFrame, c: RecommendConfig,
                step=None) -> dict:
    """ALS fit on ``train`` (FEEDBACK) and the popularity baseline from it, both scored @eval_k on ``test``
    (person_id, product_id bought after the cut-off) for the same persons: those with training feedback
    (levels ``als``, ``popularity``, ``history``); persons without any get popularity (``cold_popularity``;
    ``all_blended`` / ``all_popularity`` over every test person). Returns {"levels": ..., "train_seconds": s}."""
    step = step or (lambda table, what: contextlib.nullcontext())
    k = c.eval_k
    train = train.persist()
    popularity = rt.to_segment_popularity(train, segments=segments, top_n=k,
                                          min_segment_persons=c.min_segment_persons).persist()
    started = time.perf_counter()
    with step(RECOMMENDATIONS, "fit ALS on the training window"):
        model = rm.fit(train, **als_params(c))
    train_seconds = time.perf_counter() - started
    with step(RECOMMENDATIONS, "score the test split"):
        test_persons = test.select("person_id").distinct()
        relevant: dict[str, set[str]] = {}
        for r in test.collect():
            relevant.setdefault(r[0], set()).add(r[1])
        warm = {r[0] for r in rm.known_persons(model, test_persons).collect()}
        als = _lists(rm.recommend(model, test_persons, k=k))
        popular = _lists(rt.to_popular_for_persons(test_persons, segments=segments, popularity=popularity, k=k))
        history: dict[str, list[tuple[str, float]]] = {}
        for r in train.join(test_persons, "person_id", "left_semi").select("person_id", "product_id",
                                                                           "weight").collect():
            history.setdefault(r[0], []).append((r[1], r[2]))
        data = {"train_rows": float(train.count()), "train_persons": float(train.select("person_id").distinct().count()),
                "train_products": float(train.select("product_id").distinct().count())}
    rel_warm = {p: v for p, v in relevant.items() if p in warm}
    rel_cold = {p: v for p, v in relevant.items() if p not in warm}
    levels = {
        "als": mx.ranking_metrics(als, rel_warm, k=k),
        "popularity": mx.ranking_metrics(popular, rel_warm, k=k),
        "history": mx.ranking_metrics(rm.history_lists(history, fallback=popular, k=k), rel_warm, k=k),
        "cold_popularity": mx.ranking_metrics(popular, rel_cold, k=k),
        "all_blended": mx.ranking_metrics({**popular, **als}, relevant, k=k),
        "all_popularity": mx.ranking_metrics(popular, relevant, k=k),
        "data": {**data, "test_persons": float(len(relevant)), "test_persons_warm": float(len(rel_warm)),
                 "test_persons_cold": float(len(rel_cold)),
                 "test_purchases": float(sum(len(v) for v in relevant.values())), "train_seconds": train_seconds},
    }
    base = levels["popularity"]["ndcg"]
    levels["ratio"] = {"ndcg": levels["als"]["ndcg"] / base if base else float("nan")}
    train.unpersist()
    popularity.unpersist()
    return {"levels": levels, "train_seconds": train_seconds}


def champion_config(c: RecommendConfig, params: dict[str, str]) -> RecommendConfig:
    """``c`` with the fit fields the champion's run logged (the run's params are the flattened config)."""
    changes = {}
    for name in FIT_FIELDS:
        if name in params:
            changes[name] = type(getattr(c, name))(params[name])
    return dataclasses.replace(c, **changes)


def champion_levels(ctx: JobContext, inputs: dict[str, DataFrame], c: RecommendConfig, split: Split,
                    challenger: dict) -> tuple[dict | None, str]:
    """The champion's configuration scored on this split (None without a champion) and how it was obtained:
    refit with its own fit parameters; when they equal this run's, the seeded fit is the same, so the
    challenger's figures stand for it."""
    mv = registry.alias_version(c.model_name, registry.CHAMPION)
    if mv is None:
        return None, "none"
    params = mlflow.MlflowClient().get_run(mv.run_id).data.params if mv.run_id else {}
    theirs = champion_config(c, params)
    if all(getattr(theirs, n) == getattr(c, n) for n in FIT_FIELDS):
        return challenger["levels"]["als"], f"{c.model_name}/{mv.version}: same fit parameters"
    return evaluate(ctx, inputs, theirs, split)["levels"]["als"], f"{c.model_name}/{mv.version}: refit"


def to_recommendations(model: PipelineModel | None, version: str | None, *, persons: DataFrame, serving: DataFrame,
                       segments: DataFrame, products: DataFrame, c: RecommendConfig, as_of: dt.date) -> DataFrame:
    """RECOMMENDATIONS: ALS for the persons ``model`` knows, segment popularity for the rest."""
    popularity = rt.to_segment_popularity(serving, segments=segments, top_n=c.top_n,
                                          min_segment_persons=c.min_segment_persons)
    als = None
    if model is not None:
        als = rm.recommend(model, persons, k=c.top_n).withColumn("source", F.lit("als")).withColumn(
            "model_version", F.lit(version))
        persons = persons.join(rm.known_persons(model, persons), "person_id", "left_anti")
    popular = (rt.to_popular_for_persons(persons, segments=segments, popularity=popularity, k=c.top_n)
               .withColumn("source", F.lit("popularity")).withColumn("model_version", F.lit(None).cast("string")))
    out = popular if als is None else als.unionByName(popular)
    return (out.join(rt.to_product_brands(products), "product_id", "left")
            .withColumn("as_of_date", F.lit(as_of))
            .select(*[F.col(f.name).cast(f.dataType) for f in rt.RECOMMENDATIONS.fields]))


def to_brand_recommendations(model: PipelineModel | None, version: str | None, *, serving: DataFrame,
                             products: DataFrame, c: RecommendConfig, as_of: dt.date) -> DataFrame:
    """BRAND_RECOMMENDATIONS: per brand, its audience (persons with feedback on its products) ranked over its
    own catalogue; the brand's own popularity for persons the model does not know."""
    audience = rt.to_brand_audience(serving, products=products)
    catalogue = rt.to_product_brands(products)
    als = None
    rest = audience
    if model is not None:
        als = (rm.recommend_within_brands(model, audience, catalogue=catalogue, k=c.top_n)
               .withColumn("source", F.lit("als")).withColumn("model_version", F.lit(version)))
        rest = audience.join(rm.known_persons(model, audience), "person_id", "left_anti")
    popular = (rest.join(rt.to_brand_popularity(serving, products=products, top_n=c.top_n), "brand_id")
               .select("brand_id", "person_id", "rank", "product_id", F.col("buyers").cast("double").alias("score"))
               .withColumn("source", F.lit("popularity")).withColumn("model_version", F.lit(None).cast("string")))
    out = popular if als is None else als.unionByName(popular)
    return (out.withColumn("as_of_date", F.lit(as_of))
            .select(*[F.col(f.name).cast(f.dataType) for f in rt.BRAND_RECOMMENDATIONS.fields]))


def run(ctx: JobContext, args: argparse.Namespace) -> None:
    spark, cfg, c = ctx.spark, ctx.cfg, ctx.cfg.recommend
    inputs = read_inputs(ctx)
    lines = inputs["order_line_settlement"]
    as_of = args.as_of or lines.agg(F.max("order_date")).first()[0]
    if as_of is None:
        raise ValueError("recommend: order_line_settlement has no order lines; run the pipeline first")
    split = split_dates(as_of, window_days=c.window_days, test_days=c.test_days)
    lake = cfg.lake
    used = [tracking.TrainingTable(n, p, tables.latest_version(spark, p)) for n, p in [
        ("order_line_settlement", gold_path(lake.gold, "order_line_settlement")),
        ("identity_accounts", gold_path(lake.gold, "identity_accounts")),
        *[(n, f"{lake.silver}/{n}") for n in ("clickstream", "customers", "products")]]]
    split_tags = {f"split.{k}": v.isoformat() for k, v in dataclasses.asdict(split).items()}
    with tracking.training_run(cfg, run_name="recommend", params=c, training_tables=used,
                               tags={**split_tags, "as_of": as_of.isoformat()}):
        result = evaluate(ctx, inputs, c, split)
        levels = result["levels"]
        tracking.log_level_metrics(levels)
        champion, champion_how = champion_levels(ctx, inputs, c, split, result)
        mlflow.set_tag("champion_comparison", champion_how)
        decision = rm.decide(levels["als"], baseline=levels["popularity"], champion=champion,
                             target_ratio=c.target_ndcg_ratio)
        serving = feedback(inputs, c, start=split.serve_start, end=split.end).persist()
        with ctx.step(RECOMMENDATIONS, "fit ALS on the serving window"):
            final = rm.fit(serving, **als_params(c))
        example = serving.select("person_id", "product_id").orderBy("person_id", "product_id").limit(5).toPandas()
        info = tracking.log_spark_model(final, registered_model_name=c.model_name, input_example=example)
        promotion = registry.promote(info, c.model_name, decision)

    if decision.promote:
        model, version = final, f"{c.model_name}/{promotion.version}"
    elif promotion.previous_champion is not None:
        model = mlflow.spark.load_model(registry.model_uri(c.model_name, registry.CHAMPION))
        version = f"{c.model_name}/{promotion.previous_champion}"
    else:
        model, version = None, None
    persons = inputs["identity_accounts"].select("person_id").distinct()
    segments = rt.to_person_segments(inputs["customers"], accounts=inputs["identity_accounts"], as_of=as_of)
    outputs = {
        RECOMMENDATIONS: (to_recommendations(model, version, persons=persons, serving=serving, segments=segments,
                                             products=inputs["products"], c=c, as_of=as_of), ()),
        BRAND_RECOMMENDATIONS: (to_brand_recommendations(model, version, serving=serving, products=inputs["products"],
                                                         c=c, as_of=as_of), ("brand_id",)),
    }
    counts = {}
    for name, (df, partition_by) in outputs.items():
        with ctx.step(name, "write"):
            counts[name] = tables.overwrite_counted(df, gold_path(lake.gold, name), partition_by=partition_by)
        ctx.summary.add_counts(name, rows_written=counts[name])
    serving.unpersist()
    ctx.summary.details["recommend"] = {
        "as_of": as_of.isoformat(), "split": {k: v.isoformat() for k, v in dataclasses.asdict(split).items()},
        "levels": levels, "decision": decision.summary(), "promoted": decision.promote,
        "registered_version": promotion.version, "aliases": list(promotion.aliases), "served_by": version,
        "champion_comparison": champion_how, **counts,
    }
    log.info("recommend: NDCG@%d ALS %.4f vs popularity %.4f (%.2f×, target %.2f×) on %d test persons; %s; "
             "served by %s; %s", c.eval_k, levels["als"]["ndcg"], levels["popularity"]["ndcg"],
             levels["ratio"]["ndcg"], c.target_ndcg_ratio, int(levels["data"]["test_persons_warm"]),
             decision.summary(), version or "popularity only", counts)
