"""Inline silver rows for the gold tests, built from the schema constants in transforms/schemas.py.

Each builder takes the fields a test cares about; the rest get plain defaults (an ordinary, unpaid CNY order
on 2024-03-01 on platform `tmall`)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from brandlake.transforms.schemas import (
    SILVER_FX_RATES,
    SILVER_ORDER_DISCOUNTS,
    SILVER_ORDER_LINES,
    SILVER_ORDERS,
    SILVER_PAYMENTS,
    SILVER_REFUNDS,
)
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import types as T

PRODUCTS = T.StructType([
    T.StructField("sku_id", T.StringType(), False), T.StructField("product_id", T.StringType(), True),
    T.StructField("brand_id", T.StringType(), True),
])

DAY = dt.date(2024, 3, 1)
AT = dt.datetime(2024, 3, 1, 10, 0, 0)


def m(x: str | None) -> Decimal | None:
    return None if x is None else Decimal(x)


def nullable(schema: T.StructType) -> T.StructType:
    """``schema`` with every field nullable, for rows that leave fields a test does not use empty."""
    return T.StructType([T.StructField(f.name, f.dataType, True) for f in schema.fields])


def frame(spark: SparkSession, schema: T.StructType, rows: list[dict]) -> DataFrame:
    return spark.createDataFrame([tuple(r.get(f.name) for f in schema.fields) for r in rows], schema)


def order(order_id: str, **kw) -> dict:
    row = dict(
        order_id=order_id, platform_id="tmall", shop_id="shop1", customer_id=f"c-{order_id}", currency="CNY",
        order_status="paid", ordered_at=AT, order_date=DAY, updated_at=AT, is_presale=False,
        shipping_fee_amount=m("0.00"), ship_country="CN", ship_province="Zhejiang", ship_city="Hangzhou",
    )
    row.update({k: m(v) if k.endswith(("_amount", "_value")) and isinstance(v, str) else v for k, v in kw.items()})
    return row


def line(order_id: str, line_id: str, line_amount: str, *, quantity: int = 1, sku_id: str = "sku1",
         item_discount: str = "0.00", currency: str = "CNY", platform_id: str = "tmall") -> dict:
    unit = (Decimal(line_amount) + Decimal(item_discount)) / quantity if quantity else Decimal(line_amount)
    return dict(order_id=order_id, line_id=line_id, platform_id=platform_id, product_id=f"p-{sku_id}",
                sku_id=sku_id, quantity=quantity, unit_price_amount=unit.quantize(Decimal("0.01")),
                item_discount_amount=m(item_discount), line_amount=m(line_amount), currency=currency)


def discount(order_id: str, promotion_id: str, discount_type: str, amount: str, line_ids: list[str]) -> dict:
    return dict(order_id=order_id, promotion_id=promotion_id, discount_type=discount_type,
                discount_amount=m(amount), line_ids=line_ids, currency="CNY")


def payment(order_id: str, kind: str, amount: str, *, paid_at: dt.datetime = AT, status: str = "success",
            currency: str = "CNY") -> dict:
    return dict(payment_id=f"pay-{order_id}-{kind}", order_id=order_id, platform_id="tmall", payment_kind=kind,
                amount=m(amount), currency=currency, method="alipay", status=status, paid_at=paid_at)


def refund(order_id: str, line_id: str, amount: str, *, refund_id: str | None = None,
           refunded_at: dt.datetime = AT) -> dict:
    return dict(refund_id=refund_id or f"ref-{order_id}-{line_id}", order_id=order_id, line_id=line_id,
                platform_id="tmall", amount=m(amount), currency="CNY", reason="damaged", status="success",
                refunded_at=refunded_at)


def fx(rate_date: dt.date, currency: str, per_usd: str) -> dict:
    return dict(rate_date=rate_date, currency=currency, per_usd=m(per_usd))


def product(sku_id: str, brand_id: str = "brandA") -> dict:
    return dict(sku_id=sku_id, product_id=f"p-{sku_id}", brand_id=brand_id)


def silver(spark: SparkSession, *, orders=(), lines=(), discounts=(), payments=(), refunds=(), fx_rates=(),
           products=()) -> dict[str, DataFrame]:
    """The silver inputs of the settlement as DataFrames, keyed like the silver table names."""
    return {
        "orders": frame(spark, SILVER_ORDERS, list(orders)),
        "order_lines": frame(spark, SILVER_ORDER_LINES, list(lines)),
        "order_discounts": frame(spark, SILVER_ORDER_DISCOUNTS, list(discounts)),
        "payments": frame(spark, SILVER_PAYMENTS, list(payments)),
        "refunds": frame(spark, SILVER_REFUNDS, list(refunds)),
        "fx_rates": frame(spark, SILVER_FX_RATES, list(fx_rates) or [fx(DAY, "CNY", "7.20000000")]),
        "products": frame(spark, PRODUCTS, list(products) or [product("sku1")]),
    }
