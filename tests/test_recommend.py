"""Recommendations: implicit feedback, segment popularity with fallbacks, ranking metrics @k, ALS on a
constructed co-purchase world, and the validation decision."""

from __future__ import annotations

import datetime as dt
import math

import pytest
from brandlake.models import recommend as rm
from brandlake.models.metrics import ranking_metrics
from brandlake.transforms import recommend as rt
from chispa import assert_df_equality

D = dt.date(2024, 3, 1)
START, END = dt.date(2024, 2, 1), dt.date(2024, 3, 8)   # the window [START, END)
CLICKS = "platform_id string, customer_id string, product_id string, event_type string, event_date date"
LINES = "platform_id string, customer_id string, product_id string, order_date date, settlement_status string"
ACCOUNTS = "platform_id string, customer_id string, person_id string"


def test_feedback_weights_views_carts_and_paid_lines_of_persons_within_the_window(spark):
    clicks = spark.createDataFrame([
        ("tmall", "t1", "p1", "view", D),
        ("tmall", "t1", "p1", "view", D + dt.timedelta(days=1)),
        ("jd", "j1", "p1", "cart", D),                       # the same person on another platform
        ("tmall", None, "p1", "view", D),                    # a guest: no person
        ("tmall", "t2", "p2", "view", D),
        ("tmall", "t2", "p2", "purchase", D),                # the paid line counts, not the click
        ("tmall", "t2", None, "view", D),                    # a page without a product
        ("tmall", "t2", "p3", "view", END),                  # the window's end is excluded
        ("tmall", "t9", "p1", "cart", D),                    # an account without a person
    ], CLICKS)
    lines = spark.createDataFrame([
        ("tmall", "t2", "p2", D, "settled"),
        ("jd", "j1", "p1", D, "refunded"),                   # paid, refunded later: still a purchase
        ("tmall", "t2", "p2", D, "cancelled"),               # never paid
        ("tmall", "t2", "p3", D, "pending"),
        ("tmall", "t1", "p4", START - dt.timedelta(days=1), "settled"),   # before the window
        ("tmall", "t1", "p5", START, "partially_refunded"),
    ], LINES)
    accounts = spark.createDataFrame([("tmall", "t1", "pA"), ("jd", "j1", "pA"), ("tmall", "t2", "pB")], ACCOUNTS)
    actual = rt.to_feedback(clicks, lines=lines, accounts=accounts, start=START, end=END, view_weight=1.0,
                            cart_weight=3.0, purchase_weight=10.0)
    expected = spark.createDataFrame([
        ("pA", "p1", 2, 1, 1, 15.0),
        ("pA", "p5", 0, 0, 1, 10.0),
        ("pB", "p2", 1, 0, 1, 11.0),
    ], rt.FEEDBACK)
    assert_df_equality(actual, expected, ignore_row_order=True, ignore_nullable=True)


def test_person_segment_comes_from_the_latest_account_with_age_band_and_known_gender_only(spark):
    customers = spark.createDataFrame([
        ("tmall", "t1", "female", 1995, "CN", "Zhejiang", dt.datetime(2024, 1, 1)),
        ("jd", "j1", "female", 1995, "CN", "Shanghai", dt.datetime(2024, 2, 1)),   # pA's latest: moved
        ("tmall", "t2", "unknown", None, "US", None, dt.datetime(2024, 1, 1)),
        ("tmall", "t3", "male", 1960, None, None, dt.datetime(2024, 1, 1)),
    ], "platform_id string, customer_id string, gender string, birth_year int, country string, province string, "
       "updated_at timestamp")
    accounts = spark.createDataFrame([("tmall", "t1", "pA"), ("jd", "j1", "pA"), ("tmall", "t2", "pB"),
                                      ("tmall", "t3", "pC")], ACCOUNTS)
    actual = rt.to_person_segments(customers, accounts=accounts, as_of=D)
    expected = spark.createDataFrame([
        ("pA", "CN/Shanghai", "25-34", "female"),
        ("pB", "US", None, None),
        ("pC", None, "55+", "male"),
    ], rt.PERSON_SEGMENTS)
    assert_df_equality(actual, expected, ignore_row_order=True, ignore_nullable=True)

    # at a split's cut-off of 2024-01-15, pA's move (updated 2024-02-01) is not known yet: the account it
    # had then is the one that counts; an account updated after the cut-off alone gives no attributes
    customers_later = customers.union(spark.createDataFrame(
        [("jd", "j4", "male", 1980, "DE", None, dt.datetime(2024, 1, 15))], customers.schema))
    accounts_later = accounts.union(spark.createDataFrame([("jd", "j4", "pD")], ACCOUNTS))
    at_cutoff = rt.to_person_segments(customers_later, accounts=accounts_later, as_of=D,
                                      known_before=dt.date(2024, 1, 15))
    assert_df_equality(at_cutoff, spark.createDataFrame([
        ("pA", "CN/Zhejiang", "25-34", "female"),
        ("pB", "US", None, None),
        ("pC", None, "55+", "male"),
    ], rt.PERSON_SEGMENTS), ignore_row_order=True, ignore_nullable=True)


def test_popularity_falls_back_from_region_and_demographic_to_region_to_global(spark):
    segments = spark.createDataFrame([
        ("pA", "CN/Zhejiang", "25-34", "female"),
        ("pB", "CN/Zhejiang", "25-34", "female"),
        ("pC", "CN/Zhejiang", "55+", "male"),     # a segment of one: too small, falls back to the region
        ("pD", "US/CA", None, None),              # no demographic, and a region of one: global
    ], rt.PERSON_SEGMENTS)
    feedback = spark.createDataFrame([
        ("pA", "x1", 0, 0, 1, 10.0), ("pA", "x2", 0, 0, 1, 10.0),
        ("pB", "x1", 0, 0, 1, 10.0), ("pB", "x3", 1, 0, 0, 1.0),      # viewed only: not a buyer of x3
        ("pC", "x3", 0, 0, 1, 10.0),
        ("pD", "x4", 0, 0, 1, 10.0),
    ], rt.FEEDBACK)
    popularity = rt.to_segment_popularity(feedback, segments=segments, top_n=4, min_segment_persons=2)
    persons = spark.createDataFrame([("pA",), ("pC",), ("pD",), ("pE",)], "person_id string")   # pE: no segment
    actual = rt.to_popular_for_persons(persons, segments=segments, popularity=popularity, k=4)
    # region_demo CN/Zhejiang|25-34|female: x1 (2 buyers), x2 (1); region CN/Zhejiang: x1, x3 (1 buyer, weight
    # 11), x2 (1, weight 10); global: x1, x3, x2, x4 (1, weight 10, then by id)
    expected = spark.createDataFrame([
        ("pA", 1, "x1", 2.0), ("pA", 2, "x2", 1.0), ("pA", 3, "x3", 1.0), ("pA", 4, "x4", 1.0),
        ("pC", 1, "x1", 2.0), ("pC", 2, "x3", 1.0), ("pC", 3, "x2", 1.0), ("pC", 4, "x4", 1.0),
        ("pD", 1, "x1", 2.0), ("pD", 2, "x3", 1.0), ("pD", 3, "x2", 1.0), ("pD", 4, "x4", 1.0),
        ("pE", 1, "x1", 2.0), ("pE", 2, "x3", 1.0), ("pE", 3, "x2", 1.0), ("pE", 4, "x4", 1.0),
    ], "person_id string, rank int, product_id string, score double")
    assert_df_equality(actual, expected, ignore_row_order=True, ignore_nullable=True)


def test_ranking_metrics_at_k_by_hand_and_as_spark_computes_them(spark):
    from pyspark.mllib.evaluation import RankingMetrics

    recommended = {"u1": ["a", "x", "b"], "u2": ["x", "y", "c"], "u4": ["a"]}
    relevant = {"u1": {"a", "b"}, "u2": {"c"}, "u3": {"d"}, "u4": set()}   # u3: no list; u4: nothing bought
    actual = ranking_metrics(recommended, relevant, k=3)
    # u1 hits at 1 and 3, u2 at 3, u3 none; u4 is not averaged over
    ndcg_u1 = (1 + 1 / math.log2(4)) / (1 + 1 / math.log2(3))
    assert actual == pytest.approx({
        "precision": (2 / 3 + 1 / 3 + 0) / 3,
        "recall": (1 + 1 + 0) / 3,
        "map": ((1 / 1 + 2 / 3) / 2 + (1 / 3) / 1 + 0) / 3,
        "ndcg": (ndcg_u1 + 0.5 + 0) / 3,
        "users": 3.0,
    })
    rows = [(recommended.get(u, []), sorted(v)) for u, v in relevant.items() if v]
    spark_metrics = RankingMetrics(spark.sparkContext.parallelize(rows))
    assert [spark_metrics.precisionAt(3), spark_metrics.recallAt(3), spark_metrics.meanAveragePrecisionAt(3),
            spark_metrics.ndcgAt(3)] == pytest.approx([actual[m] for m in ("precision", "recall", "map", "ndcg")])


def _purchases(person: str, *items: str) -> list[tuple]:
    return [(person, item, 0, 0, 1, 10.0) for item in items]


def test_als_recommends_the_co_bought_item_over_popular_unrelated_ones_and_beats_popularity(spark):
    # group A buys a1, a2, a3 together; group B (larger) buys b1..b4 and p; two A buyers also bought p.
    # u bought a1 and a2 and, in the test period, a3.
    rows = []
    for i in range(6):
        rows += _purchases(f"A{i}", "a1", "a2", "a3", *(["p"] if i < 2 else []))
    for i in range(10):
        rows += _purchases(f"B{i}", "b1", "b2", "b3", "b4", "p")
    rows += _purchases("u", "a1", "a2")
    feedback = spark.createDataFrame(rows, rt.FEEDBACK)
    model = rm.fit(feedback, rank=4, reg_param=0.01, alpha=10.0, max_iter=15, seed=7)
    u = spark.createDataFrame([("u",), ("stranger",)], "person_id string")

    recs = rm.recommend(model, u, k=8).collect()
    assert {r["person_id"] for r in recs} == {"u"}                  # the stranger is cold: popularity's job
    ranked = [r["product_id"] for r in sorted(recs, key=lambda r: r["rank"])]
    assert ranked.index("a3") < min(ranked.index(x) for x in ("b1", "b2", "b3", "b4", "p"))

    segments = spark.createDataFrame([], rt.PERSON_SEGMENTS)
    popular = rt.to_popular_for_persons(u.where("person_id = 'u'"), segments=segments, k=3, popularity=(
        rt.to_segment_popularity(feedback, segments=segments, top_n=3, min_segment_persons=1)))
    pop_list = [r["product_id"] for r in popular.orderBy("rank").collect()]
    assert pop_list == ["p", "b1", "b2"]
    test = {"u": {"a3"}}
    als_ndcg = ranking_metrics({"u": ranked[:3]}, test, k=3)["ndcg"]
    pop_ndcg = ranking_metrics({"u": pop_list}, test, k=3)["ndcg"]
    assert als_ndcg > 0 and pop_ndcg == 0

    catalogue = spark.createDataFrame([(x, "brandA") for x in ("a1", "a2", "a3")]
                                      + [(x, "brandB") for x in ("b1", "b2", "b3", "b4", "p")],
                                      "product_id string, brand_id string")
    audience = spark.createDataFrame([("brandA", "u"), ("brandB", "B0")], "brand_id string, person_id string")
    within = rm.recommend_within_brands(model, audience, catalogue=catalogue, k=20).collect()
    assert {(r["brand_id"], r["person_id"], r["product_id"]) for r in within} == {
        ("brandA", "u", x) for x in ("a1", "a2", "a3")} | {("brandB", "B0", x) for x in ("b1", "b2", "b3", "b4", "p")}
    assert sorted(r["rank"] for r in within if r["brand_id"] == "brandA") == [1, 2, 3]


def test_decision_needs_the_target_ratio_over_popularity_and_no_loss_to_the_champion():
    passed = rm.decide({"ndcg": 0.30}, baseline={"ndcg": 0.20}, champion=None, target_ratio=1.5)
    assert passed.promote and "1.50×" in passed.reasons[0]
    missed = rm.decide({"ndcg": 0.29}, baseline={"ndcg": 0.20}, champion=None, target_ratio=1.5)
    assert not missed.promote and "misses the target 1.5×" in missed.reasons[0]
    worse = rm.decide({"ndcg": 0.30}, baseline={"ndcg": 0.10}, champion={"ndcg": 0.31}, target_ratio=1.5)
    assert not worse.promote and [c.passed for c in worse.checks] == [True, False]
    nothing = rm.decide({"ndcg": 0.0}, baseline={"ndcg": 0.0}, champion=None, target_ratio=1.5)
    assert not nothing.promote
