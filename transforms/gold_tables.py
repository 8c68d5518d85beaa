"""The registry of gold tables: the one list that docs/data_dictionary.md is generated from
(`brandlake docs dictionary`, jobs/docs.py), so the dictionary cannot drift from the schemas.

To add a gold table (a mart, a forecast, ...):
1. define its schema as an ``UPPER_SNAKE`` ``StructType`` constant in its transforms module, followed by a
   docstring whose first sentence states the grain ("One row per ...");
2. add a ``GoldTable`` entry to ``GOLD_TABLES`` below: name, the dotted path of that constant, its key
   columns, the command that writes it, and one meaning per column;
3. run ``brandlake docs dictionary`` and commit docs/data_dictionary.md (tests/test_docs.py fails while the
   committed file differs from a fresh generation, or while a column has no meaning).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class GoldTable:
    name: str                     # folder under <lake.gold>
    schema: str                   # dotted path of the StructType constant, e.g. brandlake.transforms.sales.SALES_DAILY
    keys: tuple[str, ...]         # the grain's key columns
    written_by: str               # the command that builds it
    columns: Mapping[str, str]    # column -> meaning, for every column of the schema


_RPT = "in reporting_currency, converted at the order_date's rate (null when no rate is known)"

GOLD_TABLES: dict[str, GoldTable] = {
    "order_line_settlement": GoldTable(
        name="order_line_settlement",
        schema="brandlake.transforms.settlement.ORDER_LINE_SETTLEMENT",
        keys=("order_id", "line_id"),
        written_by="brandlake gold",
        columns={
            "order_id": "the order (silver orders.order_id)",
            "line_id": "the line within the order",
            "platform_id": "marketplace platform the order was placed on",
            "shop_id": "shop that sold the line",
            "brand_id": "brand of the product (from silver products; null when the sku is unknown)",
            "product_id": "product sold",
            "sku_id": "stock-keeping unit sold",
            "customer_id": "buyer (platform customer id)",
            "ship_country": "ship-to country, ISO 3166 alpha-2 (null when unknown)",
            "ship_province": "ship-to province or region",
            "currency": "ISO 4217 currency of every amount without _rpt",
            "quantity": "units ordered",
            "unit_price_amount": "list price of one unit",
            "gross_amount": "quantity × unit price",
            "item_discount_amount": "the line's own discount",
            "line_amount": "gross_amount − item_discount_amount",
            "threshold_discount": "the line's share of order-level threshold promotions",
            "coupon_discount": "the line's share of order-level coupons",
            "cross_shop_discount": "the line's share of cross-shop promotions",
            "deposit_inflation": "the line's share of a presale's deposit inflation (value Y − deposit X)",
            "discount_amount": "item + threshold + coupon + cross-shop discount + deposit inflation",
            "shipping_allocated": "the line's share of the order's shipping fee",
            "refunded_amount": "sum of the line's successful refunds",
            "deposit_refund_amount": "presale deposit still owed back to the buyer (refund_deposit rule)",
            "settled_amount": "money the seller keeps for the line; null while pending",
            "settled_unit_price": "settled_amount / quantity: the actual transaction price of one unit",
            "settlement_status": "pending, settled, partially_refunded, refunded or cancelled",
            "is_presale": "true for a presale (deposit + balance) order",
            "order_date": "order date in the platform's local time zone",
            "settled_at": "when the line's payments completed (UTC); null while pending",
            "reporting_currency": "currency of the _rpt columns (silver.reporting_currency)",
            "gross_amount_rpt": f"gross_amount {_RPT}",
            "discount_amount_rpt": f"discount_amount {_RPT}",
            "refunded_amount_rpt": f"refunded_amount {_RPT}",
            "settled_amount_rpt": f"settled_amount {_RPT}",
        },
    ),
    "sales_daily": GoldTable(
        name="sales_daily",
        schema="brandlake.transforms.sales.SALES_DAILY",
        keys=("brand_id", "product_id", "platform_id", "ship_country", "ship_province", "order_date"),
        written_by="brandlake gold",
        columns={
            "brand_id": "brand",
            "product_id": "product",
            "platform_id": "marketplace platform",
            "ship_country": "ship-to country, ISO 3166 alpha-2 (null when unknown)",
            "ship_province": "ship-to province or region",
            "order_date": "order date in the platform's local time zone",
            "currency": "the reporting currency all amounts are in",
            "units": "units on lines that are not cancelled",
            "gross_amount": "gross amount of lines that are not cancelled",
            "discount_amount": "discounts of lines that are not cancelled",
            "settled_amount": "money kept, every line (a forfeited presale deposit counts)",
            "refund_amount": "money returned, every line",
            "orders": "distinct orders with a line that is not cancelled",
            "buyers": "distinct customers with a line that is not cancelled",
        },
    ),
    "settlement_mismatches": GoldTable(
        name="settlement_mismatches",
        schema="brandlake.transforms.settlement.RECONCILIATION",
        keys=("order_id",),
        written_by="brandlake gold",
        columns={
            "order_id": "the order that does not reconcile",
            "settled_amount": "Σ settled_amount of its lines (null when it has none)",
            "paid_amount": "Σ successful payments",
            "refunded_amount": "Σ successful refunds",
            "deposit_refund_amount": "Σ presale deposit owed back to the buyer",
            "difference_amount": "settled − (paid − refunded − deposit owed back)",
            "reason": "why it is listed (amounts differ, payments without settled lines, lines without order)",
        },
    ),
}
