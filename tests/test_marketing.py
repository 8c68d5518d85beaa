"""Lost visitors: viewed or carted a brand's product and did not buy it afterwards, per brand."""

from __future__ import annotations

import datetime as dt

from brandlake.transforms import marketing as mk
from chispa import assert_df_equality

CLICKS = ("session_id string, platform_id string, customer_id string, product_id string, event_type string, "
          "event_at timestamp, channel string")


def at(day, hour=10, minute=0):
    return dt.datetime(2024, 1, day, hour, minute)


def test_lost_visitors_are_brand_scoped_and_guests_are_known_only_by_their_session(spark):
    clicks = spark.createDataFrame([
        ("s1", "tmall", "t1", "p1", "view", at(1), "search"),
        ("s1", "tmall", "t1", "p1", "cart", at(1, 10, 5), "search"),
        ("s1", "tmall", "t1", None, "view", at(1, 10, 6), "search"),          # a page without a product
        ("s2", "jd", "j1", "p2", "view", at(2), "ads"),                        # same person, bought it
        ("s2", "jd", "j1", "p2", "purchase", at(2, 10, 9), "ads"),
        ("s3", "jd", "j1", "p3", "view", at(3), "social"),                     # brand b2's product
        ("g1", "tmall", None, "p1", "view", at(4), "ads"),                     # a guest
        ("g1", "tmall", None, "p1", "view", at(4, 10, 2), "ads"),
        ("s4", "tmall", "t2", "p1", "purchase", at(1), "email"),               # bought before looking again
        ("s5", "tmall", "t2", "p1", "view", at(5), "email"),
    ], CLICKS)
    accounts = spark.createDataFrame([("tmall", "t1", "pA"), ("jd", "j1", "pA"), ("tmall", "t2", "pB")],
                                     "platform_id string, customer_id string, person_id string")
    products = spark.createDataFrame([("p1", "b1"), ("p2", "b1"), ("p3", "b2")], "product_id string, brand_id string")
    actual = mk.to_lost_visitors(clicks, accounts=accounts, products=products)
    expected = spark.createDataFrame([
        ("b1", "pA", "person", "p1", 1, True, at(1), at(1, 10, 5), "search", ["search"], ["tmall"]),
        ("b2", "pA", "person", "p3", 1, False, at(3), at(3), "social", ["social"], ["jd"]),
        ("b1", "session:g1", "session", "p1", 2, False, at(4), at(4, 10, 2), "ads", ["ads"], ["tmall"]),
        ("b1", "pB", "person", "p1", 1, False, at(5), at(5), "email", ["email"], ["tmall"]),
    ], mk.LOST_VISITORS)
    assert_df_equality(actual, expected, ignore_row_order=True, ignore_nullable=True)


def test_channel_credit_by_last_first_linear_and_markov_removal_effect(spark):
    from brandlake.jobs.attribution import markov_rows
    from brandlake.models.attribution import markov_credit
    from pytest import approx

    # pA: search → ads → buys (one journey), then social without buying; guest g1: ads → buys
    clicks = spark.createDataFrame([
        ("s1", "tmall", "t1", "p1", "view", at(1), "search"),
        ("s2", "tmall", "t1", "p1", "purchase", at(2), "ads"),
        ("s3", "tmall", "t1", "p1", "view", at(3), "social"),
        ("g1", "tmall", None, "p1", "purchase", at(2), "ads"),
    ], CLICKS)
    accounts = spark.createDataFrame([("tmall", "t1", "pA")], "platform_id string, customer_id string, person_id string")
    products = spark.createDataFrame([("p1", "b1")], "product_id string, brand_id string")
    journeys = mk.to_journeys(mk.to_brand_sessions(clicks, accounts=accounts, products=products))
    month = dt.date(2024, 1, 1)
    heuristic = mk.to_heuristic_attribution(journeys)
    expected = spark.createDataFrame([
        ("b1", month, "last_touch", "ads", 2.0, 1.0),
        ("b1", month, "first_touch", "search", 1.0, 0.5), ("b1", month, "first_touch", "ads", 1.0, 0.5),
        ("b1", month, "linear", "search", 0.5, 0.25), ("b1", month, "linear", "ads", 1.5, 0.75),
    ], mk.CHANNEL_ATTRIBUTION)
    assert_df_equality(heuristic, expected, ignore_row_order=True, ignore_nullable=True)

    transitions = mk.to_transition_counts(journeys).collect()
    assert sorted((r["from_state"], r["to_state"], r["transitions"]) for r in transitions) == [
        ("ads", "conversion", 2), ("search", "ads", 1), ("social", "null", 1), ("start", "ads", 1),
        ("start", "search", 1), ("start", "social", 1)]
    # search only leads to ads, which always converts: removing ads loses everything, search half
    assert markov_rows(transitions) == [("b1", month, "markov", "ads", approx(4 / 3)),
                                        ("b1", month, "markov", "search", approx(2 / 3)),
                                        ("b1", month, "markov", "social", 0.0)]
    # hand-solved chain: start→A 2, start→B 1, A→conv 1, A→B 1, B→null 1, B→conv 1 → RE_A 0.75, RE_B 0.5
    chain = {("start", "A"): 2, ("start", "B"): 1, ("A", "conversion"): 1, ("A", "B"): 1, ("B", "null"): 1,
             ("B", "conversion"): 1}
    assert markov_credit(chain, 2) == approx({"A": 1.2, "B": 0.8})
