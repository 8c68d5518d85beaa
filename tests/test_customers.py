"""Brand-scoped customer profiles, VIP service priority and campaign audiences on inline settled lines."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from brandlake.transforms import customers as cu
from chispa import assert_approx_df_equality, assert_df_equality

AS_OF = dt.date(2024, 3, 10)
SETTLEMENT = ("order_id string, line_id string, platform_id string, brand_id string, customer_id string, "
              "sku_id string, order_date date, settlement_status string, settled_amount_rpt decimal(18,2), "
              "gross_amount_rpt decimal(18,2), discount_amount_rpt decimal(18,2), reporting_currency string")


def line(order, platform, brand, customer, sku, day, settled, gross, discount="0", status="settled", ln="l1"):
    return (order, ln, platform, brand, customer, sku, day, status, Decimal(settled), Decimal(gross),
            Decimal(discount), "CNY")


def purchases(spark):
    d = dt.date
    settlement = spark.createDataFrame([
        line("o1", "tmall", "b1", "t1", "s_app", d(2024, 1, 10), "100", "120", "20"),
        line("o2", "jd", "b1", "j1", "s_bea", d(2024, 3, 1), "50", "50"),            # returned later
        line("o3", "tmall", "b1", "t2", "s_sho", d(2024, 2, 1), "300", "300"),
        line("o4", "tmall", "b1", "t3", "s_hom", d(2024, 3, 2), "0", "99", status="cancelled"),
        line("o5", "tmall", "b1", "t3", "s_hom", d(2024, 3, 5), "10", "10"),
        line("o6", "tmall", "b2", "t1", "s_ele", d(2024, 2, 20), "80", "80"),       # the same person, brand b2
        line("o7", "tmall", "b1", "t9", "s_hom", d(2024, 3, 5), "15", "15"),         # account without a person
        line("o8", "tmall", "b1", "t2", "s_hom", d(2024, 3, 11), "15", "15"),        # after the profile date
    ], SETTLEMENT)
    accounts = spark.createDataFrame([("tmall", "t1", "pA"), ("jd", "j1", "pA"), ("tmall", "t2", "pB"),
                                      ("tmall", "t3", "pC")], "platform_id string, customer_id string, person_id string")
    products = spark.createDataFrame([("s_app", "apparel"), ("s_bea", "beauty"), ("s_sho", "shoes"),
                                      ("s_hom", "home"), ("s_ele", "electronics")], "sku_id string, category string")
    returns = spark.createDataFrame([("o2", "l1", "approved"), ("o1", "l1", "rejected")],
                                    "order_id string, line_id string, status string")
    return cu.to_purchase_lines(settlement, accounts=accounts, products=products, returns=returns, as_of=AS_OF)


def test_profile_scores_rfm_within_each_brand_from_that_brands_paid_lines_only(spark):
    profile = cu.to_customer_profile(purchases(spark), as_of=AS_OF)
    d, m = dt.date, Decimal
    expected = spark.createDataFrame([
        ("b1", "pA", d(2024, 1, 10), d(2024, 3, 1), 9, 2, 2, m("150.00"), m("170.00"), m("20.00"), 20 / 170, 1, 0.5,
         ["apparel", "beauty"], ["jd", "tmall"], 3, 5, 3, "loyal", "silver", "CNY", AS_OF),
        ("b1", "pB", d(2024, 2, 1), d(2024, 2, 1), 38, 1, 1, m("300.00"), m("300.00"), m("0.00"), 0.0, 0, 0.0,
         ["shoes"], ["tmall"], 1, 1, 5, "hibernating", "none", "CNY", AS_OF),
        ("b1", "pC", d(2024, 3, 5), d(2024, 3, 5), 5, 1, 1, m("10.00"), m("10.00"), m("0.00"), 0.0, 0, 0.0,
         ["home"], ["tmall"], 5, 1, 1, "new", "none", "CNY", AS_OF),
        ("b2", "pA", d(2024, 2, 20), d(2024, 2, 20), 19, 1, 1, m("80.00"), m("80.00"), m("0.00"), 0.0, 0, 0.0,
         ["electronics"], ["tmall"], 1, 1, 1, "hibernating", "none", "CNY", AS_OF),
    ], cu.CUSTOMER_PROFILE)
    assert_approx_df_equality(profile, expected, 1e-9, ignore_row_order=True, ignore_nullable=True)


def test_vip_priority_and_audiences_list_only_the_brands_own_accounts_and_suppress_small_groups(spark):
    lines = purchases(spark)
    profile = cu.to_customer_profile(lines, as_of=AS_OF)
    accounts = cu.to_brand_accounts(lines)
    vip = cu.to_vip_service_priority(profile, brand_accounts=accounts)
    assert_df_equality(vip, spark.createDataFrame(
        [("b1", "pA", 1, "silver", "fast_lane", Decimal("150.00"), dt.date(2024, 3, 1), ["jd:j1", "tmall:t1"])],
        cu.VIP_SERVICE_PRIORITY), ignore_nullable=True)

    members = cu.to_audience_members(profile)
    audiences = cu.to_campaign_audiences(members, brand_accounts=accounts, min_size=1)
    expected = spark.createDataFrame([
        ("b1", "segment:loyal", "pA", ["jd:j1", "tmall:t1"], 1), ("b1", "vip:silver", "pA", ["jd:j1", "tmall:t1"], 1),
        ("b1", "category:apparel", "pA", ["jd:j1", "tmall:t1"], 1),
        ("b1", "segment:hibernating", "pB", ["tmall:t2"], 1), ("b1", "category:shoes", "pB", ["tmall:t2"], 1),
        ("b1", "segment:new", "pC", ["tmall:t3"], 1), ("b1", "category:home", "pC", ["tmall:t3"], 1),
        # in b2 the person is known only by the account that bought from b2
        ("b2", "segment:hibernating", "pA", ["tmall:t1"], 1), ("b2", "category:electronics", "pA", ["tmall:t1"], 1),
    ], cu.CAMPAIGN_AUDIENCES)
    assert_df_equality(audiences, expected, ignore_row_order=True, ignore_nullable=True)
    suppressed = cu.to_campaign_audiences(members, brand_accounts=accounts, min_size=2)
    assert_df_equality(suppressed, spark.createDataFrame([], cu.CAMPAIGN_AUDIENCES), ignore_nullable=True)
