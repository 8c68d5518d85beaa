"""Gold `order_line_settlement`: the actual transaction price of every order line.

One row per order line (order_id, line_id): its line amount less its penny-exact shares of the order's
discounts and presale deposit inflation, plus its share of shipping, less its refunds; see
docs/contracts.md "Money identities". `reconcile` checks the result against payments and refunds.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from brandlake.transforms import fx
from brandlake.transforms.columns import require_columns
from brandlake.transforms.enums import DISCOUNT_TYPES
from brandlake.transforms.money import MONEY, allocate_largest_remainder, round_money
from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

# silver normalises status synonyms (paid, succeeded, completed, ...) to "success"
OK_PAYMENT_STATUSES = ("success",)
OK_REFUND_STATUSES = ("success",)
UNPAID_BALANCE_RULES = ("forfeit_deposit", "refund_deposit")

PENDING, SETTLED, PARTIALLY_REFUNDED, REFUNDED, CANCELLED = (
    "pending", "settled", "partially_refunded", "refunded", "cancelled",
)

_S, _TS, _D, _I, _B = T.StringType(), T.TimestampType(), T.DateType(), T.IntegerType(), T.BooleanType()

ORDER_LINE_SETTLEMENT = T.StructType([T.StructField(n, t, nullable) for n, t, nullable in [
    ("order_id", _S, False), ("line_id", _S, False), ("platform_id", _S, False), ("shop_id", _S, True),
    ("brand_id", _S, True), ("product_id", _S, True), ("sku_id", _S, True), ("customer_id", _S, True),
    ("ship_country", _S, True), ("ship_province", _S, True), ("currency", _S, False),
    ("quantity", _I, False), ("unit_price_amount", MONEY, False), ("gross_amount", MONEY, False),
    ("item_discount_amount", MONEY, False), ("line_amount", MONEY, False),
    ("threshold_discount", MONEY, False), ("coupon_discount", MONEY, False),
    ("cross_shop_discount", MONEY, False), ("deposit_inflation", MONEY, False),
    ("discount_amount", MONEY, False), ("shipping_allocated", MONEY, False),
    ("refunded_amount", MONEY, False), ("deposit_refund_amount", MONEY, False),
    ("settled_amount", MONEY, True), ("settled_unit_price", MONEY, True),
    ("settlement_status", _S, False), ("is_presale", _B, False), ("order_date", _D, False),
    ("settled_at", _TS, True), ("reporting_currency", _S, False), ("gross_amount_rpt", MONEY, True),
    ("discount_amount_rpt", MONEY, True), ("refunded_amount_rpt", MONEY, True),
    ("settled_amount_rpt", MONEY, True),
]])
"""One row per order line. `discount_amount` = item discount + threshold + coupon + cross-shop + deposit
inflation; `settled_amount` is null while `pending`; `deposit_refund_amount` is the deposit still owed back
to the buyer of a presale cancelled under `refund_deposit`; `*_rpt` are in `reporting_currency`."""

RPT_COLUMNS = ("gross_amount", "discount_amount", "refunded_amount", "settled_amount")

RECONCILIATION = T.StructType([T.StructField(n, t, nullable) for n, t, nullable in [
    ("order_id", _S, False), ("settled_amount", MONEY, True), ("paid_amount", MONEY, False),
    ("refunded_amount", MONEY, False), ("deposit_refund_amount", MONEY, False),
    ("difference_amount", MONEY, True), ("reason", _S, False),
]])
"""One row per order whose settlement does not reconcile with its payments and refunds."""


def is_ok_status(col: Column, statuses: Sequence[str]) -> Column:
    """True when ``col`` (case-insensitive) is one of ``statuses``."""
    return F.lower(F.trim(col)).isin(*statuses)


# ---------------------------------------------------------------------------------------------------
# Allocations


def to_discount_allocations(lines: DataFrame, *, discounts: DataFrame) -> DataFrame:
    """One row per order line: its share of each order-level discount type (threshold, coupon,
    cross_shop). Each discount is split across ITS `line_ids` (all lines of the order when empty) in
    proportion to line_amount, penny-exact; lines named but absent are skipped."""
    require_columns(discounts, ("order_id", "promotion_id", "discount_type", "discount_amount", "line_ids"),
                    what="order_discounts")
    targets = (
        discounts.select(
            "order_id", "promotion_id", F.lower(F.trim("discount_type")).alias("discount_type"),
            "discount_amount", F.array_distinct("line_ids").alias("line_ids"),
        )
        .join(lines.select("order_id", "line_id", "line_amount"), "order_id")
        .where((F.coalesce(F.size("line_ids"), F.lit(0)) <= 0) | F.array_contains("line_ids", F.col("line_id")))
    )
    shares = allocate_largest_remainder(
        targets, group_cols=("order_id", "promotion_id"), total_col="discount_amount",
        weight_col="line_amount", out_col="share", tiebreak_cols=("line_id",),
    )
    return shares.groupBy("order_id", "line_id").agg(*[
        F.sum(F.when(F.col("discount_type") == t, F.col("share"))).cast(MONEY).alias(f"{t}_discount")
        for t in DISCOUNT_TYPES
    ])


def with_order_allocations(lines: DataFrame) -> DataFrame:
    """Add `deposit_inflation`, `shipping_allocated` and `deposit_allocated`: the order's Y − X (presale),
    shipping fee and deposit X split across all its lines by line_amount, penny-exact."""
    presale = F.coalesce(F.col("is_presale"), F.lit(False))
    out = (
        lines.withColumn(
            "_inflation_total",
            F.when(presale, F.coalesce(F.col("deposit_value") - F.col("deposit_amount"), F.lit(0))).otherwise(0),
        )
        .withColumn("_shipping_total", F.coalesce(F.col("shipping_fee_amount"), F.lit(0)))
        .withColumn("_deposit_total", F.when(presale, F.coalesce(F.col("deposit_amount"), F.lit(0))).otherwise(0))
    )
    for total, share in (("_inflation_total", "deposit_inflation"), ("_shipping_total", "shipping_allocated"),
                         ("_deposit_total", "deposit_allocated")):
        out = allocate_largest_remainder(
            out, group_cols=("order_id",), total_col=total, weight_col="line_amount", out_col=share,
            tiebreak_cols=("line_id",),
        )
    return out.drop("_inflation_total", "_shipping_total", "_deposit_total")


def to_payment_state(payments: DataFrame, *, ok_statuses: Sequence[str] = OK_PAYMENT_STATUSES) -> DataFrame:
    """One row per order with successful payments: which kinds arrived and when the last one did."""
    require_columns(payments, ("order_id", "payment_kind", "amount", "status", "paid_at"), what="payments")
    kind = F.lower(F.trim("payment_kind"))
    return (
        payments.where(is_ok_status(F.col("status"), ok_statuses))
        .groupBy("order_id")
        .agg(
            (F.max((kind == "full").cast("int")) == 1).alias("has_full"),
            (F.max((kind == "deposit").cast("int")) == 1).alias("has_deposit"),
            (F.max((kind == "balance").cast("int")) == 1).alias("has_balance"),
            F.max("paid_at").alias("last_paid_at"),
        )
    )


def to_line_refunds(refunds: DataFrame, *, ok_statuses: Sequence[str] = OK_REFUND_STATUSES) -> DataFrame:
    """One row per refunded order line: the sum of its successful refunds."""
    require_columns(refunds, ("order_id", "line_id", "amount", "status"), what="refunds")
    return (
        refunds.where(is_ok_status(F.col("status"), ok_statuses))
        .groupBy("order_id", "line_id")
        .agg(F.sum("amount").alias("refunded_amount"))
    )


def to_sku_brands(products: DataFrame) -> DataFrame:
    """One row per sku_id: its product_id and brand_id (the current row when products keeps versions:
    `is_current` if present, else the latest `updated_at`, ties by brand_id)."""
    require_columns(products, ("sku_id", "product_id", "brand_id"), what="products")
    if "is_current" in products.columns:
        products = products.where(F.coalesce(F.col("is_current"), F.lit(False)))
    order = [F.col("updated_at").desc_nulls_last()] if "updated_at" in products.columns else []
    latest = Window.partitionBy("sku_id").orderBy(*order, F.col("brand_id").asc_nulls_last(),
                                                  F.col("product_id").asc_nulls_last())
    return (
        products.withColumn("_rank", F.row_number().over(latest))
        .where(F.col("_rank") == 1)
        .select("sku_id", "product_id", "brand_id")
    )


# ---------------------------------------------------------------------------------------------------
# Status and settled amount


def with_settlement(
    lines: DataFrame,
    *,
    as_of: dt.datetime,
    unpaid_balance_rule: str,
    balance_grace_days: int,
    rounding: str,
) -> DataFrame:
    """Add `settlement_status`, `settled_amount`, `deposit_refund_amount`, `settled_unit_price`, `settled_at`.

    Paid (full, or presale balance) → settled (partially_refunded / refunded once refunds arrive).
    Presale without its balance past `balance_due_at + balance_grace_days` (as of ``as_of``), or an
    unpaid order whose status is cancelled → cancelled: under forfeit_deposit the paid deposit's share
    is the settled amount; under refund_deposit settled is 0 and the share still to be returned is
    `deposit_refund_amount`. Anything else is pending (settled null).
    """
    if unpaid_balance_rule not in UNPAID_BALANCE_RULES:
        raise ValueError(f"unpaid_balance_rule must be one of {UNPAID_BALANCE_RULES}, found {unpaid_balance_rule!r}")
    presale = F.coalesce(F.col("is_presale"), F.lit(False))
    has_deposit = F.coalesce(F.col("has_deposit"), F.lit(False))
    paid = F.coalesce(F.col("has_full"), F.lit(False)) | F.coalesce(F.col("has_balance"), F.lit(False))
    cancel_at = F.col("balance_due_at") + F.make_dt_interval(days=F.lit(balance_grace_days))
    past_due = presale & F.col("balance_due_at").isNotNull() & (F.lit(as_of).cast("timestamp") > cancel_at)
    cancelled_by_status = F.lower(F.col("order_status")) == "cancelled"
    base = (
        F.when(paid, F.lit(SETTLED))
        .when(past_due | cancelled_by_status, F.lit(CANCELLED))
        .otherwise(F.lit(PENDING))
    )
    kept_paid = (
        F.col("line_amount") - F.col("threshold_discount") - F.col("coupon_discount")
        - F.col("cross_shop_discount") - F.col("deposit_inflation") + F.col("shipping_allocated")
    )
    deposit_share = F.when(presale & has_deposit, F.col("deposit_allocated")).otherwise(F.lit(0))
    refund_deposit = F.lit(unpaid_balance_rule == "refund_deposit")
    refunded = F.col("refunded_amount")
    settled = (
        F.when(F.col("_base") == PENDING, F.lit(None))
        .when(F.col("_base") == SETTLED, kept_paid - refunded)
        .when(refund_deposit, F.lit(0))
        .otherwise(deposit_share - refunded)
    )
    status = (
        F.when((F.col("_base") == SETTLED) & (refunded > 0),
               F.when(F.col("settled_amount") <= 0, F.lit(REFUNDED)).otherwise(F.lit(PARTIALLY_REFUNDED)))
        .otherwise(F.col("_base"))
    )
    settled_at = (
        F.when(F.col("_base") == SETTLED, F.col("last_paid_at"))
        .when(past_due & ~paid, cancel_at)
        .when(F.col("_base") == CANCELLED, F.col("updated_at"))
    )
    return (
        lines.withColumn("_base", base)
        .withColumn("settled_amount", settled.cast(MONEY))
        .withColumn(
            "deposit_refund_amount",
            F.when((F.col("_base") == CANCELLED) & refund_deposit, deposit_share - refunded)
            .otherwise(F.lit(0)).cast(MONEY),
        )
        .withColumn("settlement_status", status)
        .withColumn("settled_at", settled_at)
        .withColumn(
            "settled_unit_price",
            round_money(F.try_divide(F.col("settled_amount"), F.col("quantity")), rounding=rounding),
        )
        .drop("_base")
    )


# ---------------------------------------------------------------------------------------------------
# Reporting currency


def with_reporting_amounts(
    df: DataFrame,
    *,
    fx_rates: DataFrame,
    reporting_currency: str,
    rounding: str,
    columns: Sequence[str] = RPT_COLUMNS,
) -> DataFrame:
    """Add `reporting_currency` and `<column>_rpt` for each money column, converted at the order_date's
    rate by transforms.fx (the last earlier rate when that day has none); null when no rate is known."""
    return fx.with_reporting_amounts(
        df, fx_rates, columns=columns, currency_col="currency", date_col="order_date",
        reporting_currency=reporting_currency, rounding=rounding,
    ).withColumn("reporting_currency", F.lit(reporting_currency))


# ---------------------------------------------------------------------------------------------------
# The whole table


def settle_order_lines(
    lines: DataFrame,
    *,
    orders: DataFrame,
    discounts: DataFrame,
    payments: DataFrame,
    refunds: DataFrame,
    products: DataFrame,
    fx_rates: DataFrame,
    as_of: dt.datetime,
    reporting_currency: str,
    rounding: str = "half_up",
    unpaid_balance_rule: str = "forfeit_deposit",
    balance_grace_days: int = 0,
    ok_payment_statuses: Sequence[str] = OK_PAYMENT_STATUSES,
    ok_refund_statuses: Sequence[str] = OK_REFUND_STATUSES,
) -> DataFrame:
    """`order_line_settlement` (schema ORDER_LINE_SETTLEMENT) for every line in ``lines`` that has an order;
    give it all the silver rows of the orders to settle (an order is always settled whole)."""
    require_columns(lines, ("order_id", "line_id", "platform_id", "product_id", "sku_id", "quantity",
                            "unit_price_amount", "item_discount_amount", "line_amount", "currency"),
                    what="order_lines")
    require_columns(orders, ("order_id", "shop_id", "customer_id", "order_status", "order_date", "updated_at",
                             "is_presale", "deposit_amount", "deposit_value", "balance_due_at",
                             "shipping_fee_amount", "ship_country", "ship_province"), what="orders")
    order_cols = orders.select(
        "order_id", "shop_id", "customer_id", "order_status", "order_date", "updated_at",
        F.coalesce(F.col("is_presale"), F.lit(False)).alias("is_presale"), "deposit_amount", "deposit_value",
        "balance_due_at", "shipping_fee_amount", "ship_country", "ship_province",
    )
    brands = to_sku_brands(products).withColumnRenamed("product_id", "_product_id")
    zero = F.lit(0).cast(MONEY)
    settled = (
        lines.select("order_id", "line_id", "platform_id", "product_id", "sku_id", "quantity",
                     "unit_price_amount", "item_discount_amount", "line_amount", "currency")
        .join(order_cols, "order_id")
        .join(to_discount_allocations(lines, discounts=discounts), ["order_id", "line_id"], "left")
        .join(to_payment_state(payments, ok_statuses=ok_payment_statuses), "order_id", "left")
        .join(to_line_refunds(refunds, ok_statuses=ok_refund_statuses), ["order_id", "line_id"], "left")
        .join(brands, "sku_id", "left")
        .withColumn("product_id", F.coalesce("product_id", "_product_id"))
        .fillna(0, subset=[f"{t}_discount" for t in DISCOUNT_TYPES] + ["refunded_amount"])
        .transform(with_order_allocations)
        .transform(with_settlement, as_of=as_of, unpaid_balance_rule=unpaid_balance_rule,
                   balance_grace_days=balance_grace_days, rounding=rounding)
        .withColumn("gross_amount", (F.col("quantity") * F.col("unit_price_amount")).cast(MONEY))
        .withColumn("discount_amount", (
            F.col("item_discount_amount") + F.col("threshold_discount") + F.col("coupon_discount")
            + F.col("cross_shop_discount") + F.col("deposit_inflation")
        ).cast(MONEY))
        .withColumn("refunded_amount", F.coalesce(F.col("refunded_amount"), zero))
        .transform(with_reporting_amounts, fx_rates=fx_rates, reporting_currency=reporting_currency,
                   rounding=rounding)
    )
    return settled.select(*[F.col(f.name).cast(f.dataType) for f in ORDER_LINE_SETTLEMENT.fields])


def reconcile(
    settlement: DataFrame,
    payments: DataFrame,
    refunds: DataFrame,
    *,
    ok_payment_statuses: Sequence[str] = OK_PAYMENT_STATUSES,
    ok_refund_statuses: Sequence[str] = OK_REFUND_STATUSES,
) -> DataFrame:
    """Orders (schema RECONCILIATION) where Σ settled_amount ≠ Σ successful payments − Σ successful refunds
    − Σ deposit still owed back, to the cent. Orders with a pending line are not final and are skipped;
    payments of an order without settled lines are a mismatch."""
    zero = F.lit(0).cast(MONEY)
    per_order = settlement.groupBy("order_id").agg(
        F.sum(F.coalesce("settled_amount", zero)).alias("settled_amount"),
        F.sum("deposit_refund_amount").alias("deposit_refund_amount"),
        F.max((F.col("settlement_status") == PENDING).cast("int")).alias("_pending"),
    )
    paid = (payments.where(is_ok_status(F.col("status"), ok_payment_statuses))
            .groupBy("order_id").agg(F.sum("amount").alias("paid_amount")))
    refunded = (refunds.where(is_ok_status(F.col("status"), ok_refund_statuses))
                .groupBy("order_id").agg(F.sum("amount").alias("refunded_amount")))
    joined = (
        per_order.join(paid, "order_id", "full")
        .join(refunded, "order_id", "left")
        .fillna(0, subset=["paid_amount", "refunded_amount", "deposit_refund_amount"])
        .where(F.coalesce(F.col("_pending"), F.lit(0)) == 0)
        .withColumn("difference_amount", F.col("settled_amount") - (
            F.col("paid_amount") - F.col("refunded_amount") - F.col("deposit_refund_amount")))
    )
    reason = (
        F.when(F.col("settled_amount").isNull(), F.lit("payments for an order without settled lines"))
        .otherwise(F.lit("settled amount differs from payments - refunds"))
    )
    return (
        joined.where(F.col("settled_amount").isNull() | (F.col("difference_amount") != 0))
        .withColumn("reason", reason)
        .select(*[F.col(f.name).cast(f.dataType) for f in RECONCILIATION.fields])
    )


def find_orphan_orders(lines: DataFrame, *, orders: DataFrame) -> DataFrame:
    """Orders (schema RECONCILIATION) that have lines but no order row: their lines cannot be settled."""
    return (
        lines.select("order_id").distinct()
        .join(orders.select("order_id"), "order_id", "left_anti")
        .select(
            "order_id", F.lit(None).cast(MONEY).alias("settled_amount"), F.lit(0).cast(MONEY).alias("paid_amount"),
            F.lit(0).cast(MONEY).alias("refunded_amount"), F.lit(0).cast(MONEY).alias("deposit_refund_amount"),
            F.lit(None).cast(MONEY).alias("difference_amount"), F.lit("order lines without an order").alias("reason"),
        )
    )
