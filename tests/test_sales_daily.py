"""sales_daily: demand from live lines, money kept and returned from every line, per brand × product ×
platform × region × day."""

from __future__ import annotations

from brandlake.transforms.sales import SALES_DAILY, to_sales_daily
from brandlake.transforms.settlement import ORDER_LINE_SETTLEMENT
from chispa import assert_df_equality

from tests.gold_inputs import DAY, frame, m, nullable


def settled_line(order_id: str, line_id: str, *, customer_id: str | None, quantity: int, gross: str, discount: str,
                 settled: str | None, refunded: str, status: str, ship_province: str | None = "Zhejiang") -> dict:
    return dict(order_id=order_id, line_id=line_id, platform_id="tmall", brand_id="brandA", product_id="p1",
                sku_id="sku1", customer_id=customer_id, ship_country="CN", ship_province=ship_province,
                currency="CNY", quantity=quantity, settlement_status=status, is_presale=False, order_date=DAY,
                reporting_currency="CNY", gross_amount_rpt=m(gross), discount_amount_rpt=m(discount),
                settled_amount_rpt=m(settled), refunded_amount_rpt=m(refunded))


def test_sales_daily_counts_demand_from_live_lines_and_money_from_all_lines(spark):
    settlement = frame(spark, nullable(ORDER_LINE_SETTLEMENT), [
        settled_line("o1", "l1", customer_id="c1", quantity=2, gross="20.00", discount="2.00", settled="18.00",
                     refunded="0.00", status="settled"),
        settled_line("o1", "l2", customer_id="c1", quantity=1, gross="10.00", discount="0.00", settled="7.00",
                     refunded="3.00", status="partially_refunded"),
        settled_line("o2", "l1", customer_id="c2", quantity=1, gross="10.00", discount="1.00", settled=None,
                     refunded="0.00", status="pending"),
        # a presale cancelled with its deposit forfeited: no demand, but the kept deposit is money settled
        settled_line("o3", "l1", customer_id="c3", quantity=5, gross="50.00", discount="0.00", settled="5.00",
                     refunded="0.00", status="cancelled"),
        settled_line("o4", "l1", customer_id=None, quantity=1, gross="8.00", discount="0.00", settled="8.00",
                     refunded="0.00", status="settled", ship_province=None),
    ])
    expected = spark.createDataFrame([
        ("brandA", "p1", "tmall", "CN", "Zhejiang", DAY, "CNY", 4, m("40.00"), m("3.00"), m("30.00"), m("3.00"), 2, 2),
        ("brandA", "p1", "tmall", "CN", None, DAY, "CNY", 1, m("8.00"), m("0.00"), m("8.00"), m("0.00"), 1, 0),
    ], SALES_DAILY)
    assert_df_equality(to_sales_daily(settlement), expected, ignore_row_order=True, ignore_nullable=True)
