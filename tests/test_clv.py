"""Customer lifetime value: the brand-scoped purchase summary on inline settled lines, and the per-brand
BG/NBD + Gamma–Gamma models on a panel simulated from known BG/NBD parameters."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import numpy as np
import pandas as pd
from brandlake.models import clv as cm
from brandlake.transforms import clv as ct
from brandlake.transforms import customers as cu
from chispa import assert_df_equality

CUTOFF, HOLDOUT_END = dt.date(2024, 3, 1), dt.date(2024, 3, 31)
SETTLEMENT = ("order_id string, line_id string, platform_id string, brand_id string, customer_id string, "
              "sku_id string, order_date date, settlement_status string, settled_amount_rpt decimal(18,2), "
              "gross_amount_rpt decimal(18,2), discount_amount_rpt decimal(18,2), reporting_currency string")


def line(order, platform, brand, customer, day, settled, status="settled", ln="l1"):
    amount = None if settled is None else Decimal(settled)
    return (order, ln, platform, brand, customer, "s1", day, status, amount, amount, Decimal("0"), "CNY")


def test_summary_counts_purchase_days_of_each_brands_own_buyers_up_to_the_cutoff_and_holdout_after(spark):
    d = dt.date
    settlement = spark.createDataFrame([
        # pA in b1: two accounts on one day make one purchase day (120); a refunded order is no purchase
        line("o1", "tmall", "b1", "t1", d(2024, 1, 10), "100"),
        line("o2", "jd", "b1", "j1", d(2024, 1, 10), "20"),
        line("o3", "tmall", "b1", "t1", d(2024, 2, 9), "50"),
        line("o4", "tmall", "b1", "t1", d(2024, 2, 20), "0", status="refunded"),
        line("o5", "tmall", "b1", "t1", d(2024, 3, 10), "40"),                       # holdout
        # pA in b2: one purchase, nothing of b1 in it
        line("o6", "tmall", "b2", "t1", d(2024, 2, 20), "80"),
        # pB in b1: two lines of one order are one day; a line without a reporting amount is no purchase
        line("o7", "tmall", "b1", "t2", d(2024, 2, 1), "30"),
        line("o7", "tmall", "b1", "t2", d(2024, 2, 1), "15", ln="l2"),
        line("o8", "tmall", "b1", "t2", d(2024, 2, 10), None),
        line("o9", "tmall", "b1", "t2", d(2024, 2, 15), "25.50", status="partially_refunded"),
        line("o10", "tmall", "b1", "t2", d(2024, 2, 25), "10"),
        line("o11", "tmall", "b1", "t2", d(2024, 3, 5), "0", status="cancelled"),   # not paid
        line("o12", "tmall", "b1", "t2", d(2024, 4, 2), "70"),                       # after the holdout
        # pC first buys in the holdout window: not in the calibration split
        line("o13", "tmall", "b1", "t3", d(2024, 3, 5), "60"),
        line("o14", "tmall", "b1", "t9", d(2024, 2, 5), "15"),                       # account without a person
    ], SETTLEMENT)
    accounts = spark.createDataFrame([("tmall", "t1", "pA"), ("jd", "j1", "pA"), ("tmall", "t2", "pB"),
                                      ("tmall", "t3", "pC")], "platform_id string, customer_id string, person_id string")
    products = spark.createDataFrame([("s1", "home")], "sku_id string, category string")
    returns = spark.createDataFrame([], "order_id string, line_id string, status string")
    purchases = cu.to_purchase_lines(settlement, accounts=accounts, products=products, returns=returns,
                                     as_of=HOLDOUT_END)

    actual = ct.to_calibration_holdout(ct.to_purchase_days(purchases), cutoff=CUTOFF, holdout_end=HOLDOUT_END)

    m = Decimal
    expected = spark.createDataFrame([
        ("b1", "pA", d(2024, 1, 10), d(2024, 2, 9), 1, 30, 51, m("170.00"), m("50.00"), "CNY", CUTOFF, 1, m("40.00"),
         HOLDOUT_END),
        ("b1", "pB", d(2024, 2, 1), d(2024, 2, 25), 2, 24, 29, m("80.50"), m("17.75"), "CNY", CUTOFF, 0, m("0.00"),
         HOLDOUT_END),
        ("b2", "pA", d(2024, 2, 20), d(2024, 2, 20), 0, 0, 10, m("80.00"), None, "CNY", CUTOFF, 0, m("0.00"),
         HOLDOUT_END),
    ], ct.CALIBRATION_HOLDOUT)
    assert_df_equality(actual, expected, ignore_row_order=True, ignore_nullable=True)


# ---------------------------------------------------------------------------------------------------
# Models on a simulated panel: BG/NBD with r=0.8, alpha=40 (days), a=0.8, b=2.5; spend Gamma-Gamma-like

CAL_END, HOLDOUT = 240.0, 120.0


def simulate(n: int, seed: int) -> pd.DataFrame:
    """One brand's people: each joins at a uniform time in [0, 180) with a first purchase, buys as a Poisson
    process (rate λ ~ Gamma(r, 1/alpha)) and after each purchase drops out with probability p ~ Beta(a, b);
    spend per purchase ~ Gamma around a person-level mean. Summarised at CAL_END, holdout (CAL_END, +HOLDOUT]."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        lam, p = rng.gamma(0.8, 1 / 40.0), rng.beta(0.8, 2.5)
        mean_spend = rng.gamma(6.0, 15.0)
        t, times = rng.uniform(0, 180), []
        times.append(t)
        while rng.uniform() >= p:      # alive after this purchase
            t += rng.exponential(1 / lam)
            if t > CAL_END + HOLDOUT:
                break
            times.append(t)
        days = np.floor(np.array(times))
        spend = rng.gamma(4.0, mean_spend / 4.0, size=len(days))
        cal = days <= CAL_END
        cd, cs = days[cal], spend[cal]
        hold = (days > CAL_END) & (days <= CAL_END + HOLDOUT)
        freq = len(cd) - 1
        rows.append({"brand_id": "b1", "person_id": f"p{i}", "frequency": freq, "recency_days": cd[-1] - cd[0],
                     "age_days": CAL_END - cd[0], "total_value": cs.sum(),
                     "avg_repeat_value": cs[1:].mean() if freq else np.nan,
                     "holdout_purchases": int(hold.sum()), "holdout_value": float(spend[hold].sum())})
    return pd.DataFrame(rows)


FIT = dict(penalizer=0.0, spend_penalizer=0.0, min_repeat_buyers=30)


def test_models_rank_active_buyers_above_lapsed_ones_and_beat_the_constant_rate_baseline_on_the_holdout():
    panel = simulate(1500, seed=7)
    models = cm.fit_brands(panel, **FIT)
    b1 = models["b1"]
    assert b1.status == cm.FITTED and b1.spend is not None
    assert all(0.05 < b1.purchase[k] < 10 for k in ("r", "a", "b"))

    # same history length and purchases: the one who bought lately vs the one who stopped 200 days ago
    probe = pd.DataFrame({"brand_id": ["b1", "b1", "b1"], "person_id": ["active", "lapsed", "other_brand"],
                          "frequency": [8, 8, 8], "recency_days": [229, 28, 229], "age_days": [230, 230, 230],
                          "avg_repeat_value": [90.0, 90.0, 90.0]})
    probe.loc[2, "brand_id"] = "b9"
    pred = cm.predict(probe, models, horizon_days=365).set_index("person_id")
    assert pred.loc["active", "expected_purchases"] > 5 * pred.loc["lapsed", "expected_purchases"]
    assert pred.loc["active", "probability_alive"] > 0.8 > 0.2 > pred.loc["lapsed", "probability_alive"]
    assert pred.loc["active", "expected_value"] > pred.loc["lapsed", "expected_value"]
    assert pred.loc["other_brand", "model_status"] == "unknown_brand"
    assert np.isnan(pred.loc["other_brand", "expected_purchases"])     # never scored with b1's parameters

    bt = cm.backtest(panel, models, holdout_days=HOLDOUT)
    deciles = bt.deciles
    assert list(deciles["decile"]) == list(range(1, 11)) and deciles["people"].sum() == len(panel)
    # people ranked higher bought more in the holdout, and each decile's mean is close to what it bought
    assert deciles["actual_purchases"].rank().corr(deciles["decile"]) > 0.9
    assert deciles["actual_purchases"].iloc[-1] > 5 * deciles["actual_purchases"].iloc[:5].mean()
    assert (deciles["predicted_purchases"] - deciles["actual_purchases"]).abs().max() < 0.5
    model, base = bt.metrics["holdout"], bt.metrics["baseline_holdout"]
    assert model["purchases_mae"] < base["purchases_mae"] and model["spend_mae"] < base["spend_mae"]
    assert abs(model["purchases_bias"]) < 0.25
    challenger, baseline = cm.decision_metrics(bt), cm.decision_metrics(bt, "baseline_holdout")
    assert set(challenger) == {"holdout.purchases_rmse", "holdout.spend_rmse", "holdout.purchases_decile_mae"}
    assert all(challenger[k] < baseline[k] for k in challenger)


def test_a_brand_with_too_few_repeat_buyers_is_not_fitted_nor_pooled_and_its_people_get_no_prediction():
    big = simulate(400, seed=3)
    small = simulate(40, seed=4).assign(brand_id="b2")
    models = cm.fit_brands(pd.concat([big, small], ignore_index=True), **FIT)
    assert models["b2"].status == cm.TOO_FEW and models["b2"].purchase is None
    assert models["b2"].reason.endswith("< clv.min_repeat_buyers 30")
    pred = cm.predict(cm.model_input(small.head(3)), models, horizon_days=365)
    assert list(pred["model_status"]) == [cm.TOO_FEW] * 3 and pred["expected_purchases"].isna().all()
    bt = cm.backtest(pd.concat([big, small], ignore_index=True), models, holdout_days=HOLDOUT)
    assert set(bt.people["brand_id"]) == {"b1"} and bt.metrics["brands"] == {"fitted": 1.0, "skipped": 1.0}
