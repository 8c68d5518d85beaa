"""A tiny two-brand lake for the marts and report tests: silver tables and gold settlement, written inline.

Brand A (`brandA`, "Alpha") has five buyers in January 2024 and three of them buy again in February, two
during the presale phase of a sale event; brand B (`brandB`, "Bravo") has three buyers in February, each
paying the distinctive 777.77, so a figure of B is easy to spot in A's report.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from brandlake.transforms.settlement import ORDER_LINE_SETTLEMENT
from brandlake.transforms.silver.registry import SILVER_TABLES, published_schema
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import types as T

from brandlake import tables

TZ = "Asia/Shanghai"


def _nullable(schema: T.StructType) -> T.StructType:
    return T.StructType([T.StructField(f.name, f.dataType, True) for f in schema.fields])


def _frame(spark: SparkSession, schema: T.StructType, rows: list[dict]) -> DataFrame:
    unknown = {k for r in rows for k in r} - set(schema.fieldNames())
    assert not unknown, unknown
    return spark.createDataFrame([tuple(r.get(f.name) for f in schema.fields) for r in rows], _nullable(schema))


def silver_frame(spark: SparkSession, name: str, rows: list[dict]) -> DataFrame:
    return _frame(spark, published_schema(SILVER_TABLES[name]), rows)


def at(day: dt.date, hour: int) -> dt.datetime:
    """UTC instant of ``hour`` o'clock local (UTC+8) on ``day``."""
    return dt.datetime.combine(day, dt.time(0)) + dt.timedelta(hours=hour - 8)


def d(s: str) -> dt.date:
    return dt.date.fromisoformat(s)


# (order_id, brand, buyer, product, local day, local hour, settled, is_presale)
ORDERS = [
    *[(f"oA{i}", "brandA", f"cA{i}", "pA1", d("2024-01-08"), 20, Decimal(f"{100 + i}.00"), False) for i in range(1, 6)],
    ("oA6", "brandA", "cA1", "pA2", d("2024-02-05"), 21, Decimal("50.00"), True),
    ("oA7", "brandA", "cA2", "pA2", d("2024-02-06"), 21, Decimal("50.00"), True),
    ("oA8", "brandA", "cA3", "pA1", d("2024-02-20"), 9, Decimal("60.00"), False),
    *[(f"oB{i}", "brandB", f"cB{i}", "pB1", d("2024-02-07"), 12, Decimal("777.77"), False) for i in range(1, 4)],
]
LATE_ORDER = ("oA9", "brandA", "cA4", "pA1", d("2024-01-09"), 20, Decimal("90.00"), False)


def settlement_row(o) -> dict:
    order_id, brand, buyer, product, day, hour, settled, presale = o
    return dict(
        order_id=order_id, line_id="l1", platform_id="tmall", shop_id=f"shop-{brand}", brand_id=brand,
        product_id=product, sku_id=f"{product}-s", customer_id=buyer, ship_country="CN", ship_province="Zhejiang",
        currency="CNY", quantity=1, unit_price_amount=settled, gross_amount=settled,
        item_discount_amount=Decimal("0.00"), line_amount=settled, threshold_discount=Decimal("0.00"),
        coupon_discount=Decimal("0.00"), cross_shop_discount=Decimal("0.00"), deposit_inflation=Decimal("0.00"),
        discount_amount=Decimal("0.00"), shipping_allocated=Decimal("0.00"), refunded_amount=Decimal("0.00"),
        deposit_refund_amount=Decimal("0.00"), settled_amount=settled, settled_unit_price=settled,
        settlement_status="settled", is_presale=presale, order_date=day, settled_at=at(day, hour),
        reporting_currency="CNY", gross_amount_rpt=settled, discount_amount_rpt=Decimal("0.00"),
        refunded_amount_rpt=Decimal("0.00"), settled_amount_rpt=settled,
    )


def order_row(o) -> dict:
    order_id, brand, buyer, product, day, hour, settled, presale = o
    return dict(order_id=order_id, platform_id="tmall", shop_id=f"shop-{brand}", customer_id=buyer, currency="CNY",
                order_status="completed", ordered_at=at(day, hour), order_date=day, updated_at=at(day, hour),
                is_presale=presale, deposit_amount=Decimal("10.00") if presale else None,
                deposit_value=Decimal("20.00") if presale else None, shipping_fee_amount=Decimal("0.00"),
                ship_country="CN", ship_province="Zhejiang", ship_city="Hangzhou",
                deposit_amount_rpt=Decimal("10.00") if presale else None, shipping_fee_amount_rpt=Decimal("0.00"),
                reporting_currency="CNY")


def lake_inputs(spark: SparkSession, orders=ORDERS) -> dict[str, DataFrame]:
    pay = []
    for o in orders:
        kinds = ("deposit", "balance") if o[7] else ("full",)
        pay += [dict(payment_id=f"pay-{o[0]}-{k}", order_id=o[0], platform_id="tmall", payment_kind=k,
                     amount=o[6], currency="CNY", status="success", paid_at=at(o[4], o[5]), paid_date=o[4],
                     amount_rpt=o[6], reporting_currency="CNY") for k in kinds]
    scans = []
    for o in orders:
        day = o[4]
        scans += [dict(event_id=f"ev-{o[0]}-{n}", shipment_id=f"sh-{o[0]}", order_id=o[0], platform_id="tmall",
                       carrier="sf", warehouse_id="WH-CN-SH", scan_type=s, location="Hangzhou",
                       event_at=at(day, o[5]) + dt.timedelta(hours=h), event_date=day)
                  for n, (s, h) in enumerate((("pickup", 10), ("delivered", 40 if o[1] == "brandA" else 90)))]
    clicks = []
    for o in orders:
        for n, t in enumerate(("view", "cart", "purchase")):
            clicks.append(dict(event_id=f"ck-{o[0]}-{t}", session_id=f"s-{o[0]}", platform_id="tmall",
                               customer_id=o[2], product_id=o[3], event_type=t,
                               event_at=at(o[4], o[5]) - dt.timedelta(minutes=10 - n), event_date=o[4],
                               channel="search", device="ios"))
    for i in range(1, 4):  # guests who viewed brand A's product and left
        clicks.append(dict(event_id=f"ck-g{i}", session_id=f"s-g{i}", platform_id="tmall", customer_id=None,
                           product_id="pA1", event_type="view", event_at=at(d("2024-01-08"), 10),
                           event_date=d("2024-01-08"), channel="search", device="ios"))
    customers = [dict(platform_id="tmall", customer_id=c, gender="female" if c[-1] in "135" else "male",
                      birth_year=1995, country="CN", province="Zhejiang", city="Hangzhou",
                      updated_at=dt.datetime(2023, 1, 1)) for c in sorted({o[2] for o in orders})]
    products = [dict(sku_id=f"{p}-s", product_id=p, brand_id=b, category="beauty", updated_at=dt.datetime(2023, 1, 1))
                for p, b in (("pA1", "brandA"), ("pA2", "brandA"), ("pB1", "brandB"))]
    promo = dict(platform_id="tmall", event_name="Spring Festival Sale", currency="CNY", updated_at=dt.datetime(2023, 12, 1))
    promotions = [
        dict(promo, promotion_id="pre", promotion_type="presale", starts_at=at(d("2024-02-01"), 0),
             ends_at=at(d("2024-02-09"), 23)),
        dict(promo, promotion_id="thr", promotion_type="threshold", starts_at=at(d("2024-02-10"), 0),
             ends_at=at(d("2024-02-12"), 23)),
    ]
    return {
        "silver/orders": silver_frame(spark, "orders", [order_row(o) for o in orders]),
        "silver/payments": silver_frame(spark, "payments", pay),
        "silver/customers": silver_frame(spark, "customers", customers),
        "silver/products": silver_frame(spark, "products", products),
        "silver/platforms": silver_frame(spark, "platforms", [dict(
            platform_id="tmall", name="Tmall", market="domestic", country="CN", currency="CNY", timezone=TZ,
            updated_at=dt.datetime(2023, 1, 1))]),
        "silver/brands": silver_frame(spark, "brands", [
            dict(brand_id="brandA", name="Alpha", home_country="US", category_focus="beauty",
                 updated_at=dt.datetime(2023, 1, 1)),
            dict(brand_id="brandB", name="Bravo", home_country="CN", category_focus="beauty",
                 updated_at=dt.datetime(2023, 1, 1))]),
        "silver/returns": silver_frame(spark, "returns", [dict(
            return_id="r1", order_id="oA1", line_id="l1", platform_id="tmall", status="refunded", quantity=1,
            updated_at=at(d("2024-01-15"), 10))]),
        "silver/reviews": silver_frame(spark, "reviews", [dict(
            review_id=f"rv{i}", platform_id="tmall", order_id=f"oA{i}", line_id="l1", product_id="pA1",
            customer_id=f"cA{i}", rating=3 + i % 3, created_at=at(d("2024-01-20"), 10), review_date=d("2024-01-20"))
            for i in range(1, 6)]),
        "silver/promotions": silver_frame(spark, "promotions", promotions),
        "silver/clickstream": silver_frame(spark, "clickstream", clicks),
        "silver/tracking_events": silver_frame(spark, "tracking_events", scans),
        "silver/warehouses": silver_frame(spark, "warehouses", [dict(
            warehouse_id="WH-CN-SH", name="Shanghai", country="CN", updated_at=dt.datetime(2023, 1, 1))]),
        "gold/order_line_settlement": _frame(spark, ORDER_LINE_SETTLEMENT, [settlement_row(o) for o in orders]),
    }


def write_lake(spark: SparkSession, cfg, inputs: dict[str, DataFrame], *, only: tuple[str, ...] = ()) -> None:
    for key, df in inputs.items():
        if only and key not in only:
            continue
        layer, name = key.split("/")
        tables.overwrite(df, f"{getattr(cfg.lake, layer)}/{name}")
