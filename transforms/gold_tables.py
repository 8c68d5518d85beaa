"""The registry of gold tables: the one list that docs/data_dictionary.md is generated from
(`brandlake docs dictionary`, jobs/docs.py), so the dictionary cannot drift from the schemas.

To add a gold table (a mart, a forecast, ...):
1. define its schema as an ``UPPER_SNAKE`` ``StructType`` constant in its transforms module, followed by a
   docstring whose first sentence states the grain ("One row per ...");
2. add a ``GoldTable`` entry to ``GOLD_TABLES`` below: name, the dotted path of that constant, its key
   columns, the command that writes it, and one meaning per column;
3. run ``brandlake docs dictionary`` and commit docs/data_dictionary.md (tests/test_docs.py fails while the
   committed file differs from a fresh generation, or while a column has no meaning).

Jobs reach every gold table through ``gold_path``, which refuses a name that is not registered here (a
static test refuses any other way of forming a gold path in jobs/), and the job tests that write a table
compare its Delta schema with the registered constant (tests/gold_schema.py), so neither an unregistered
table nor a schema drifting from its constant goes unnoticed.
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


class UnregisteredGoldTableError(LookupError):
    """A job asked for a gold table that is not in GOLD_TABLES (register it first: see this module)."""


STATE_PREFIX = "_"
"""Gold folders starting with ``_`` hold a job's own bookkeeping (e.g. ``_gold_state``): not data products,
not in the dictionary."""


def gold_path(gold_root: str, name: str) -> str:
    """``<gold_root>/<name>`` for a registered gold table (or a job's ``_`` state table); an unregistered
    name raises UnregisteredGoldTableError naming it."""
    if name not in GOLD_TABLES and not name.startswith(STATE_PREFIX):
        raise UnregisteredGoldTableError(
            f"gold table {name!r} is not registered in brandlake.transforms.gold_tables.GOLD_TABLES; register its "
            "schema constant there (and regenerate docs/data_dictionary.md) before a job writes or reads it")
    return f"{gold_root}/{name}"


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


def _register(*tables: GoldTable) -> None:
    for t in tables:
        if t.name in GOLD_TABLES:
            raise ValueError(f"gold table {t.name!r} registered twice")
        GOLD_TABLES[t.name] = t


# ---------------------------------------------------------------------------------------------------
# brandlake marts: parcel tracking and the brand report marts; brandlake report: the delivery record

_MARTS = "brandlake.transforms.marts.build"
_PERIOD = {
    "brand_id": "brand the row describes (the report's owner)",
    "period_type": "week, month or event",
    "period_key": "the period: week:YYYY-MM-DD (its Monday), month:YYYY-MM or 'event:YYYY Name'",
    "phase": "all for weeks and months; presale, main or all (presale + main) for a sale event",
    "period_start": "first local day of the period (of the phase, for an event)",
}
_SUPPRESSED = "true when the row's cells are withheld by the privacy floor (then null, never zero)"
_CUR = "the reporting currency every amount is in"
_PREV = "the same value in the previous period (null when unknown or suppressed)"


def _mart(name: str, constant: str, keys: tuple[str, ...], **columns: str) -> GoldTable:
    base = {c: m for c, m in _PERIOD.items()}
    return GoldTable(name=name, schema=f"{_MARTS}.{constant}", keys=keys, written_by="brandlake marts",
                     columns={**base, **columns, "is_suppressed": _SUPPRESSED})


def _only(mapping: Mapping[str, str], *names: str) -> dict[str, str]:
    return {n: mapping[n] for n in names}


_P3 = ("brand_id", "period_key", "phase")

_register(
    GoldTable(
        name="parcel_tracking", schema="brandlake.transforms.tracking.PARCEL_TRACKING", keys=("shipment_id",),
        written_by="brandlake marts",
        columns={
            "shipment_id": "the parcel (silver tracking_events.shipment_id)",
            "order_id": "order the parcel ships (null when the scans name none)",
            "platform_id": "marketplace platform",
            "carrier": "logistics carrier",
            "warehouse_id": "warehouse the parcel left from",
            "ship_country": "destination country, ISO 3166 alpha-2",
            "route": "route that sets the promise: cross-border route, else the ship country, else domestic",
            "scan_path": "every scan in scan-time order: seq (from 1), scan_type, location, scanned_at (UTC)",
            "scan_count": "number of scans",
            "current_status": "type of the latest scan",
            "last_scan_at": "time of the latest scan (UTC)",
            "last_location": "location of the latest scan",
            "ordered_at": "when the order was created (UTC)",
            "picked_up_at": "time of the pickup scan (UTC)",
            "promised_at": "pickup + the route's promised days (tracking.promise_days)",
            "delivered_at": "time of the delivered scan (UTC); null while undelivered",
            "is_delivered": "true once a delivered scan exists",
            "has_exception": "true when any scan is an exception",
            "order_to_pickup_hours": "hours from order to pickup",
            "pickup_to_delivered_hours": "hours from pickup to delivery",
            "order_to_delivered_hours": "hours from order to delivery",
            "leg_hours": "hours between consecutive scans: from_scan, to_scan, hours",
            "is_sla_breached": "delivered after promised_at (null while undelivered)",
        },
    ),
    GoldTable(
        name="logistics_exceptions", schema="brandlake.transforms.tracking.LOGISTICS_EXCEPTIONS",
        keys=("shipment_id",), written_by="brandlake marts",
        columns={
            "shipment_id": "the open parcel",
            "order_id": "order the parcel ships",
            "platform_id": "marketplace platform",
            "carrier": "logistics carrier",
            "current_status": "type of the latest scan",
            "last_scan_at": "time of the latest scan (UTC)",
            "promised_at": "the promise (pickup + the route's promised days)",
            "hours_since_last_scan": "hours from the latest scan to as_of",
            "hours_late": "hours past promised_at at as_of (null when not late)",
            "reason": "late, stuck or late_and_stuck",
            "as_of": "the time the exception was judged at (UTC)",
        },
    ),
    _mart("mart_sales_trend", "MART_SALES_TREND", _P3,
          currency=_CUR, settled_amount="money kept on the brand's lines in the period", units="units sold",
          orders="distinct orders", buyers="distinct buyers", avg_order_value="settled_amount / orders",
          discount_depth="discount / gross amount", refund_rate="refunded / (settled + refunded)",
          settled_amount_prev=_PREV, settled_change_pct="change of settled_amount against the previous period, %",
          buyers_prev=_PREV, settled_amount_year_ago="settled_amount in the same period a year earlier",
          settled_yoy_pct="change of settled_amount against a year earlier, %"),
    _mart("mart_order_time", "MART_ORDER_TIME", (*_P3, "weekday", "hour"),
          weekday="local weekday, 1 = Monday", hour="local hour of day (0–23)", currency=_CUR,
          orders="distinct orders placed in that weekday × hour", buyers="distinct buyers",
          settled_amount="money kept on those orders' lines"),
    _mart("mart_delivery_regions", "MART_DELIVERY_REGIONS", (*_P3, "ship_country", "ship_province", "ship_city"),
          ship_country="ship-to country, ISO 3166 alpha-2", ship_province="ship-to province or region",
          ship_city="ship-to city", currency=_CUR, orders="distinct orders", buyers="distinct buyers",
          settled_amount="money kept on the region's lines", delivered_orders="orders with a delivered parcel",
          delivery_hours_p50="median hours from order to the delivered scan",
          delivery_hours_p90="90th percentile of hours from order to the delivered scan",
          on_time_share="share of delivered parcels delivered by their promise",
          exception_share="share of shipped parcels with an exception scan"),
    _mart("mart_buyer_groups", "MART_BUYER_GROUPS", (*_P3, "dimension", "group_value"),
          dimension="gender, age_band, buyer_type (new/returning), country or country_category",
          group_value="the group within the dimension", currency=_CUR, buyers="the brand's buyers in the group",
          orders="their distinct orders", settled_amount="money kept on their lines",
          buyer_share="the group's share of the brand's buyers",
          market_buyer_share="the group's share of all buyers in the market",
          index_vs_market="100 × buyer_share / market_buyer_share (100 = like the market)"),
    _mart("mart_repurchase", "MART_REPURCHASE", ("brand_id", "period_key"),
          cohort_buyers="buyers whose first purchase of the brand fell in the month",
          repurchase_30d_rate="share who bought again within 30 days (null while the window is open)",
          repurchase_90d_rate="share who bought again within 90 days (null while the window is open)",
          repurchase_180d_rate="share who bought again within 180 days (null while the window is open)",
          median_days_between="median days between consecutive purchase days of the cohort's buyers"),
    GoldTable(
        name="mart_cohort_retention", schema=f"{_MARTS}.MART_COHORT_RETENTION",
        keys=("brand_id", "period_key", "months_since_first"), written_by="brandlake marts",
        columns={**_only(_PERIOD, "brand_id"), "period_key": "the cohort: month:YYYY-MM of the first purchase",
                 "period_start": "first day of the cohort month",
                 "months_since_first": "months after the cohort month (0 = the cohort month)",
                 "active_buyers": "cohort buyers who bought in that month",
                 "retention_rate": "active_buyers / cohort buyers", "is_suppressed": _SUPPRESSED},
    ),
    _mart("mart_products", "MART_PRODUCTS", (*_P3, "product_id"),
          product_id="the brand's own product", category="product category", currency=_CUR,
          sales_rank="rank by settled_amount within the brand and period (1 = best)",
          settled_amount="money kept on the product's lines", units="units sold", buyers="distinct buyers",
          settled_amount_prev=_PREV, growth_pct="change of settled_amount against the previous period, %",
          return_rate="units returned / units sold", avg_rating="average rating of its reviews in the period",
          reviews="reviews in the period"),
    _mart("mart_funnel", "MART_FUNNEL", (*_P3, "channel", "device"),
          channel="traffic channel of the session", device="device of the session",
          visitors="distinct visitors (customers, or the session for guests)",
          sessions="sessions touching the brand's products", view_sessions="sessions with a view",
          cart_sessions="sessions with a cart", purchase_sessions="sessions with a purchase",
          lost_visitors="visitors who viewed or carted and bought nothing of the brand within 24 h",
          view_to_cart_rate="cart_sessions / view_sessions", cart_to_purchase_rate="purchase_sessions / cart_sessions",
          conversion_rate="purchase_sessions / sessions"),
    _mart("mart_lost_visitors", "MART_LOST_VISITORS", (*_P3, "breakdown", "breakdown_value"),
          breakdown="channel or product", breakdown_value="the channel or product id",
          lost_visitors="lost visitors (see mart_funnel)"),
    _mart("mart_presale", "MART_PRESALE", ("brand_id", "period_key"),
          currency=_CUR, presale_orders="presale orders with a paid deposit", presale_buyers="their distinct buyers",
          deposits_paid="deposits paid", deposit_amount="sum of the deposits paid",
          balances_paid="presale orders whose balance was paid",
          balance_conversion_rate="balances_paid / deposits_paid",
          deposits_forfeited="deposits whose balance was never paid",
          forfeited_deposit_amount="sum of the forfeited deposits",
          presale_settled_amount="money kept on presale orders",
          event_settled_amount="money kept on all the brand's orders in the event",
          presale_share="presale_settled_amount / event_settled_amount"),
    GoldTable(
        name="mart_category_totals", schema=f"{_MARTS}.MART_CATEGORY_TOTALS",
        keys=("period_key", "phase", "category"), written_by="brandlake marts",
        columns={**_only(_PERIOD, "period_type", "period_key", "phase", "period_start"),
                 "category": "product category", "currency": _CUR,
                 "settled_amount": "money kept on the category's lines, whole market", "units": "units sold",
                 "buyers": "distinct buyers", "brands": "distinct brands selling in the category",
                 "is_suppressed": "true when fewer than k buyers or m brands (cells then null)"},
    ),
    GoldTable(
        name="mart_benchmarks", schema=f"{_MARTS}.MART_BENCHMARKS", keys=("brand_id", "period_key", "metric"),
        written_by="brandlake marts",
        columns={**_only(_PERIOD, "brand_id", "period_type", "period_key", "period_start"),
                 "main_category": "the brand's main category (by all-time settled sales)",
                 "size_tier": "the brand's peer tier by all-time settled sales within its main category",
                 "metric": "growth_pct, conversion_rate, repurchase_90d_rate or return_rate",
                 "brand_value": "the brand's value of the metric", "peer_brands": "peer brands with a value",
                 "peer_p25": "25th percentile among the peers", "peer_median": "median among the peers",
                 "peer_p75": "75th percentile among the peers",
                 "brand_quartile": "quartile of the brand among its peers (1 = lowest)",
                 "is_suppressed": "true when the tier has fewer than m brands with a value (peer cells null)"},
    ),
    GoldTable(
        name="report_deliveries", schema="brandlake.transforms.marts.report_data.REPORT_DELIVERIES",
        keys=("brand_id", "period_key", "run_id"), written_by="brandlake report",
        columns={
            "brand_id": "brand the report was written for",
            "period_key": "period reported (see the marts' period_key)",
            "tier": "the brand's report tier (reports.brands.<brand>.tier or default_tier)",
            "sections": "report sections included, chosen by the tier",
            "language": "language the report is written in",
            "html_path": "where the HTML report was written",
            "html_sha256": "SHA-256 of the HTML file's bytes",
            "run_id": "the report run",
            "delivered_at": "when the report was written (UTC)",
        },
    ),
)


# ---------------------------------------------------------------------------------------------------
# brandlake identity, customers, lost-visitors, channel-attribution, seller-credit

_IDT = "brandlake.transforms.identity"
_CU = "brandlake.transforms.customers"
_MK = "brandlake.transforms.marketing"
_RUN = "the run that wrote the row"

_register(
    GoldTable(
        name="identity_accounts", schema=f"{_IDT}.IDENTITY_ACCOUNTS", keys=("platform_id", "customer_id"),
        written_by="brandlake identity",
        columns={
            "platform_id": "platform of the account",
            "customer_id": "the account on that platform",
            "person_id": "the person the account belongs to (stable; a merged-away id redirects)",
            "person_created_at": "when that person id was first issued (UTC)",
            "source_updated_at": "updated_at of the silver customers row last matched",
            "assigned_at": "when the account was (re)assigned to the person (UTC)",
            "run_id": _RUN,
        },
    ),
    GoldTable(
        name="identity_links", schema=f"{_IDT}.IDENTITY_LINKS",
        keys=("left_platform_id", "left_customer_id", "right_platform_id", "right_customer_id"),
        written_by="brandlake identity",
        columns={
            "left_platform_id": "platform of the first account (the smaller platform_id:customer_id)",
            "left_customer_id": "the first account",
            "right_platform_id": "platform of the second account",
            "right_customer_id": "the second account",
            "rule": "what linked them: phone, address (deterministic) or probabilistic",
            "match_weight": "Fellegi–Sunter match weight (log2 odds)",
            "match_probability": "match probability from the weight and the prior",
            "evidence": "comparison=level of every comparison that could be made",
            "linked_at": "when the link was made (UTC)",
            "run_id": _RUN,
        },
    ),
    GoldTable(
        name="person_redirects", schema=f"{_IDT}.PERSON_REDIRECTS", keys=("from_person_id",),
        written_by="brandlake identity",
        columns={
            "from_person_id": "a retired person id (merged into another person)",
            "to_person_id": "the surviving person id it now means (chains resolved)",
            "redirected_at": "when it was retired (UTC)",
            "run_id": _RUN,
        },
    ),
    GoldTable(
        name="identity_fs_parameters", schema=f"{_IDT}.FS_PARAMETERS", keys=("comparison", "level"),
        written_by="brandlake identity",
        columns={
            "comparison": "compared field (or _prior for the match share)",
            "level": "agreement level of the comparison (0 = disagree)",
            "level_name": "the level's name",
            "m": "P(level | the pair is a match) (for _prior: λ, the match share among candidate pairs)",
            "u": "P(level | the pair is not a match)",
        },
    ),
    GoldTable(
        name="customer_profile", schema=f"{_CU}.CUSTOMER_PROFILE", keys=("brand_id", "person_id"),
        written_by="brandlake customers",
        columns={
            "brand_id": "the brand (partition; a brand sees only its own rows)",
            "person_id": "the buyer as a person (identity_accounts)",
            "first_purchase_date": "date of the first paid line of the brand",
            "last_purchase_date": "date of the latest paid line of the brand",
            "recency_days": "days from last_purchase_date to as_of_date",
            "frequency": "distinct orders",
            "lines": "paid order lines",
            "monetary_rpt": "Σ settled amount after refunds, in reporting_currency",
            "gross_rpt": "Σ gross amount, in reporting_currency",
            "discount_rpt": "Σ discounts, in reporting_currency",
            "discount_share": "discount / gross (price sensitivity); null when gross is zero",
            "returned_lines": "lines with a return that took goods back",
            "return_rate": "returned_lines / lines",
            "favourite_categories": "the top 3 categories by settled value",
            "platforms": "platforms the person bought this brand on",
            "r_score": "recency quintile within the brand (5 = most recent)",
            "f_score": "frequency quintile within the brand (5 = most orders)",
            "m_score": "monetary quintile within the brand (5 = most value)",
            "rfm_segment": "champions, loyal, new, at_risk, hibernating or potential (module rules)",
            "vip_tier": "platinum, gold, silver or none (module rules)",
            "reporting_currency": "currency of the _rpt columns",
            "as_of_date": "the profile date: purchases up to it count",
        },
    ),
    GoldTable(
        name="vip_service_priority", schema=f"{_CU}.VIP_SERVICE_PRIORITY", keys=("brand_id", "person_id"),
        written_by="brandlake customers",
        columns={
            "brand_id": "the brand (partition)",
            "person_id": "the VIP person",
            "priority_rank": "1 is served first (tier, then settled value, then the latest purchase)",
            "vip_tier": "platinum, gold or silver",
            "service_level": "dedicated_agent, priority_queue or fast_lane (by tier)",
            "monetary_rpt": "Σ settled amount after refunds, in the reporting currency",
            "last_purchase_date": "date of the latest paid line of the brand",
            "platform_accounts": "the person's platform:customer_id accounts that bought from the brand",
        },
    ),
    GoldTable(
        name="campaign_audiences", schema=f"{_CU}.CAMPAIGN_AUDIENCES", keys=("brand_id", "audience", "person_id"),
        written_by="brandlake customers",
        columns={
            "brand_id": "the brand (partition)",
            "audience": "segment:<rfm_segment>, vip:<tier> or category:<favourite category>",
            "person_id": "a member of the audience",
            "platform_accounts": "the person's platform:customer_id accounts that bought from the brand",
            "audience_size": "members of the audience (at least customers.min_audience_size)",
        },
    ),
    GoldTable(
        name="lost_visitors", schema=f"{_MK}.LOST_VISITORS", keys=("brand_id", "visitor_id", "product_id"),
        written_by="brandlake lost-visitors",
        columns={
            "brand_id": "brand of the product (partition)",
            "visitor_id": "a person_id, or session:<id> for a guest",
            "visitor_kind": "person or guest",
            "product_id": "product viewed or carted and not bought afterwards",
            "views": "views of the product",
            "is_carted": "true when the product was put in the cart",
            "first_seen_at": "first view or cart (UTC)",
            "last_seen_at": "latest view or cart (UTC)",
            "last_channel": "traffic channel of the latest view or cart",
            "channels": "every traffic channel the visitor came by",
            "platforms": "platforms the visitor saw the product on",
        },
    ),
    GoldTable(
        name="channel_attribution", schema=f"{_MK}.CHANNEL_ATTRIBUTION", keys=("brand_id", "month", "model", "channel"),
        written_by="brandlake channel-attribution",
        columns={
            "brand_id": "the brand (partition)",
            "month": "first day of the conversions' month",
            "model": "last_touch, first_touch, linear or markov (removal effect)",
            "channel": "traffic channel",
            "conversions": "conversions credited to the channel (fractional for linear and markov)",
            "share": "the channel's share of the month's conversions under the model",
        },
    ),
    GoldTable(
        name="seller_credit", schema="brandlake.transforms.seller_credit.SELLER_CREDIT",
        keys=("shop_id", "quarter_start"), written_by="brandlake seller-credit",
        columns={
            "shop_id": "the cross-border shop",
            "platform_id": "its platform",
            "quarter_start": "first day of the calendar quarter",
            "customs_weeks": "weeks of the quarter with a customs clearance record",
            "customs_value_rpt": "customs value shipped, in the reporting currency",
            "fx_collected_rpt": "FX collected (money brought home), in the reporting currency",
            "tax_refund_rpt": "export tax refunds, in the reporting currency",
            "orders": "orders in the quarter",
            "disputes": "disputes in the quarter",
            "dispute_rate": "disputes / orders (null without orders)",
            "tenure_quarters": "quarters since the shop's first record",
            "dispute_rate_shortfall": "dispute-rate shortfall, 0 best … 1 worst",
            "customs_regularity_shortfall": "1 − share of weeks with a customs record",
            "fx_collection_shortfall": "1 − min(1, FX collected / customs value)",
            "tax_refund_shortfall": "distance of the tax refund rate from the expected rate, 0 … 1",
            "dispute_trend_shortfall": "rise of the dispute rate against the previous quarter, 0 … 1",
            "tenure_shortfall": "1 − min(1, tenure / the tenure that earns every point)",
            "dispute_rate_points_lost": "shortfall × 250",
            "customs_regularity_points_lost": "shortfall × 200",
            "fx_collection_points_lost": "shortfall × 200",
            "tax_refund_points_lost": "shortfall × 150",
            "dispute_trend_points_lost": "shortfall × 100",
            "tenure_points_lost": "shortfall × 100",
            "score": "1000 − points lost (0–1000; higher is more trustworthy)",
            "reason_codes": "up to three components that cost the most points",
        },
    ),
)


# ---------------------------------------------------------------------------------------------------
# brandlake train-forecast, score-forecast, plan-logistics

_FT = "brandlake.transforms.forecast_tables"
_PL = "brandlake.transforms.planning"

_register(
    GoldTable(
        name="sales_forecast", schema=f"{_FT}.SALES_FORECAST",
        keys=("forecast_date", "target_date", "level", "series_key"), written_by="brandlake score-forecast",
        columns={
            "forecast_date": "last day of history the forecast was made from",
            "target_date": "the day forecast",
            "level": "product_platform_region, product_region, brand, category, platform, warehouse or total",
            "series_key": "the series within the level (e.g. product|platform|region)",
            "horizon_days": "target_date − forecast_date",
            "units_forecast": "forecast units",
            "units_lo_80": "lower bound of the 80 % interval",
            "units_hi_80": "upper bound of the 80 % interval",
            "units_lo_95": "lower bound of the 95 % interval",
            "units_hi_95": "upper bound of the 95 % interval",
            "model_name": "registered model that made the forecast",
            "model_version": "its registry version (the champion)",
            "candidate": "the candidate method the champion uses for this level",
            "scored_at": "when the forecast was written (UTC)",
        },
    ),
    GoldTable(
        name="forecast_backtest", schema=f"{_FT}.FORECAST_BACKTEST", keys=("level", "candidate", "metric"),
        written_by="brandlake train-forecast",
        columns={
            "level": "aggregation level backtested",
            "candidate": "forecast method (seasonal naive, per-series methods, global LightGBM, ...)",
            "metric": "backtest metric (e.g. wMAPE, bias, interval coverage)",
            "value": "the metric's value (null when it cannot be computed)",
            "is_best_for_level": "true for the level's best candidate",
            "is_published": "true when the run's model was promoted to champion",
            "mlflow_run_id": "the MLflow run that holds the backtest",
        },
    ),
    GoldTable(
        name="forecast_series_status", schema=f"{_FT}.FORECAST_SERIES_STATUS", keys=("series_id",),
        written_by="brandlake train-forecast",
        columns={
            "series_id": "bottom series: product × platform × warehouse region",
            "product_id": "its product",
            "platform_id": "its platform",
            "region": "its warehouse region",
            "status": "fitted, or why not: too_short, too_sparse, inactive",
            "method": "per-series method fitted",
            "reason": "why that method or status",
            "as_of_date": "the last training origin",
            "mlflow_run_id": "the training run",
        },
    ),
    GoldTable(
        name="available_to_ship", schema=f"{_PL}.AVAILABLE_TO_SHIP", keys=("warehouse_id", "sku_id"),
        written_by="brandlake plan-logistics",
        columns={
            "warehouse_id": "the warehouse",
            "sku_id": "the stock-keeping unit",
            "snapshot_date": "date of the latest inventory snapshot on or before as_of",
            "on_hand": "units on hand in that snapshot",
            "shipped_since_snapshot": "units picked up from the warehouse since the snapshot day",
            "reserved": "units reserved",
            "paid_not_shipped": "units of paid, unshipped orders this warehouse will ship",
            "available_to_ship": "on_hand − shipped_since_snapshot − reserved − paid_not_shipped",
            "as_of": "the time the plan was computed for (UTC)",
        },
    ),
    GoldTable(
        name="prepositioning_plan", schema=f"{_PL}.PREPOSITIONING_PLAN", keys=("warehouse_id", "sku_id", "event_name"),
        written_by="brandlake plan-logistics",
        columns={
            "warehouse_id": "the platform warehouse",
            "sku_id": "the stock-keeping unit",
            "event_name": "the coming big-sale event",
            "event_start": "its first day",
            "event_demand_units": "forecast demand of the warehouse's region over the event days",
            "safety_stock_units": "z · σ · √lead time",
            "stock_units": "units already there (available to ship)",
            "units_to_move": "units to move in: demand + safety stock − stock, at least 0",
            "move_by_date": "day the units must arrive by",
        },
    ),
    GoldTable(
        name="capacity_forecast", schema=f"{_PL}.CAPACITY_FORECAST", keys=("warehouse_id", "target_date"),
        written_by="brandlake plan-logistics",
        columns={
            "warehouse_id": "the warehouse",
            "target_date": "the forecast day",
            "parcels_forecast": "parcels to ship (forecast units of its region ÷ units per parcel)",
            "parcels_hi_95": "the 95 % upper bound of parcels",
            "capacity_parcels": "the warehouse's daily parcel capacity (null when unknown)",
            "is_overflow": "true when parcels_hi_95 exceeds capacity",
            "overflow_parcels": "parcels_hi_95 − capacity when overflowing, else 0",
        },
    ),
    GoldTable(
        name="peak_load_forecast", schema=f"{_PL}.PEAK_LOAD_FORECAST", keys=("platform_id", "hour_at"),
        written_by="brandlake plan-logistics",
        columns={
            "platform_id": "the platform",
            "event_name": "its next big sale",
            "event_start": "the sale's first day",
            "hour_at": "the hour forecast (UTC)",
            "sessions_forecast": "sessions expected in the hour",
            "orders_forecast": "orders expected in the hour",
            "sessions_p95": "95th percentile of the event's hourly sessions",
            "orders_p95": "95th percentile of the event's hourly orders",
        },
    ),
)


# ---------------------------------------------------------------------------------------------------
# brandlake signals, lifecycle, score-returns, build-kb

_TS = "brandlake.transforms.text_signals"
_LC = "brandlake.transforms.lifecycle"
_PRODUCT_MONTH = {
    "product_id": "the product",
    "brand_id": "its brand",
    "category": "its category",
    "month": "first day of the month",
}

_register(
    GoldTable(
        name="review_scores", schema=f"{_TS}.REVIEW_SCORES", keys=("review_id",), written_by="brandlake signals",
        columns={
            "review_id": "the review (silver reviews)",
            "product_id": "product reviewed",
            "platform_id": "platform of the review",
            "language": "language of the review text",
            "review_date": "local date of the review",
            "rating": "star rating given",
            "sentiment_label": "predicted label: positive, neutral or negative",
            "sentiment": "predicted sentiment score in [−1, 1]",
            "is_negative": "true when the predicted label is negative",
            "topics": "lexicon topics found in the text",
            "model_version": "review_sentiment model version that scored it",
        },
    ),
    GoldTable(
        name="review_signals", schema=f"{_TS}.REVIEW_SIGNALS", keys=("product_id", "week"),
        written_by="brandlake signals",
        columns={
            "product_id": "the product",
            "week": "Monday of the reviews' week",
            "reviews": "reviews in the week",
            "avg_rating": "mean rating",
            "sentiment": "mean predicted sentiment",
            "negative_share": "share of negative reviews",
            **{f"topic_{t}_share": f"share of reviews about {t}" for t in (
                "sizing", "quality", "delivery", "price", "packaging", "service", "appearance")},
            "negative_topic_top": "most frequent topic among the week's negative reviews",
        },
    ),
    GoldTable(
        name="cs_signals", schema=f"{_TS}.CS_SIGNALS", keys=("product_id", "week"), written_by="brandlake signals",
        columns={
            "product_id": "the product",
            "week": "Monday of the chats' week",
            "chats": "conversations about orders holding the product",
            "complaint_chats": "of which with a complaint intent",
            "complaint_rate": "complaint_chats / lines sold that week",
            "lines": "order lines of the product sold that week",
            "intent_counts": "chats per predicted intent",
        },
    ),
    GoldTable(
        name="product_lifecycle", schema=f"{_LC}.PRODUCT_LIFECYCLE", keys=("product_id", "month"),
        written_by="brandlake lifecycle",
        columns={
            **_PRODUCT_MONTH,
            "age_months": "months since the product's first month with sales (from 0)",
            "days": "days of the month counted (up to the as-of date in the last month)",
            "lines": "order lines",
            "units": "units sold",
            "revenue_rpt": "settled amount, in the reporting currency",
            "velocity": "units per day of the month",
            "returned_lines": "lines with a return request (not cancelled)",
            "return_rate": "returned_lines / lines",
            "reviews": "reviews in the month",
            "avg_rating": "mean rating",
            "sentiment": "mean review sentiment in [−1, 1]",
            "negative_reviews": "negative reviews",
            "negative_review_share": "negative_reviews / reviews",
            "complaint_chats": "complaint conversations about orders with the product",
            "complaint_rate": "complaint_chats / lines",
            "velocity_3m": "units per day over the last three months",
            "growth": "velocity_3m / velocity_3m of the three months before − 1",
            "peak_velocity_3m": "highest velocity_3m so far",
            "stage": "introduction, growth, maturity or decline (transforms/lifecycle.py rules)",
        },
    ),
    GoldTable(
        name="product_alerts", schema=f"{_LC}.PRODUCT_ALERTS", keys=("product_id", "month", "metric", "against"),
        written_by="brandlake lifecycle",
        columns={
            **_PRODUCT_MONTH,
            "metric": "return_rate, negative_review_share or complaint_rate",
            "against": "own_history or category",
            "value": "the metric in the month",
            "baseline": "the metric's baseline (own history or the category)",
            "numerator": "returned lines, negative reviews or complaint chats",
            "denominator": "lines or reviews",
            "evidence_topics": "topics of the month's negative reviews with their counts",
            "evidence_intents": "complaint intents of the month's chats with their counts",
            "evidence_review_ids": "up to 5 negative review ids (lowest rating first)",
        },
    ),
    GoldTable(
        name="return_risk", schema="brandlake.transforms.returns.RETURN_RISK", keys=("order_id", "line_id"),
        written_by="brandlake score-returns",
        columns={
            "order_id": "the open order",
            "line_id": "the line",
            "product_id": "product on the line",
            "customer_id": "buyer (platform customer id)",
            "stage": "order (before pickup) or shipment (after)",
            "predict_at": "the prediction time the features were built as of",
            "probability_return": "predicted probability the line is returned",
            "threshold": "cost-matrix threshold of the stage's champion",
            "is_flagged": "probability_return ≥ threshold",
            "model_version": "the champion model version that scored it",
            "scored_at": "when it was scored (UTC)",
        },
    ),
    GoldTable(
        name="cs_kb", schema="brandlake.transforms.kb.CS_KB", keys=("kb_id",), written_by="brandlake build-kb",
        columns={
            "kb_id": "the canonical answer",
            "intent": "customer intent it answers",
            "category": "product category (any for chats without an order)",
            "language": "language of the answer",
            "answer": "the most used answer text of the cluster",
            "uses": "times the cluster's answers were used",
            "answer_variants": "each near-duplicate answer text with its count",
            "source_chat_ids": "up to 10 source conversations",
            "first_seen_at": "first use (UTC)",
            "last_seen_at": "latest use (UTC)",
            "template": "answer template with order facts, for questions naming an order",
            "processed_through": "latest chat time the builds so far have learned from",
            "processed_chats_version": "the silver cs_chats Delta version the build that wrote the row read",
        },
    ),
)

# ---------------------------------------------------------------------------------------------------
# brandlake recommend

_RC = "brandlake.transforms.recommend"
_REC = {
    "rank": "1 = the best recommendation, up to recommend.top_n",
    "product_id": "the recommended product",
    "score": "ALS preference (source als; comparable within one person's list only) or the segment's distinct "
             "buyers in the feedback window (source popularity)",
    "source": "als (collaborative filtering) or popularity (the person is unknown to the model)",
    "model_version": "registered ALS model/version that scored the row (null for popularity rows)",
    "as_of_date": "last day of the data the recommendations use",
}

_register(
    GoldTable(
        name="recommendations", schema=f"{_RC}.RECOMMENDATIONS", keys=("person_id", "rank"),
        written_by="brandlake recommend",
        columns={
            "person_id": "the person (identity_accounts)",
            "brand_id": "brand of the product (silver products)",
            **_REC,
        },
    ),
    GoldTable(
        name="brand_recommendations", schema=f"{_RC}.BRAND_RECOMMENDATIONS", keys=("brand_id", "person_id", "rank"),
        written_by="brandlake recommend",
        columns={
            "brand_id": "the brand whose own catalogue is ranked",
            "person_id": "a person who viewed, carted or bought one of the brand's products in the feedback window",
            **{**_REC, "score": "ALS preference (source als) or the brand product's distinct buyers in the feedback "
                                "window (source popularity)",
               "source": "als, or popularity (the brand's own best sellers) when the model does not know the person"},
        },
    ),
)


# brandlake clv: customer lifetime value per brand × person (issue 14)

_register(
    GoldTable(
        name="customer_lifetime_value", schema="brandlake.transforms.clv.CUSTOMER_LIFETIME_VALUE",
        keys=("brand_id", "person_id"), written_by="brandlake clv",
        columns={
            "brand_id": "the brand (partition; a brand sees only its own buyers, fitted on them alone)",
            "person_id": "the buyer as a person (identity_accounts)",
            "first_purchase_date": "first purchase day of the brand (a day with a positive settled amount)",
            "last_purchase_date": "latest purchase day of the brand up to as_of_date",
            "frequency": "repeat purchase days (purchase days − 1)",
            "recency_days": "days from first_purchase_date to last_purchase_date",
            "age_days": "days from first_purchase_date to as_of_date (the models' T)",
            "total_value_rpt": "Σ settled amount of the purchase days, in reporting_currency",
            "avg_repeat_value_rpt": "mean settled amount of the repeat purchase days (null without one)",
            "expected_purchases_12m": "BG/NBD expected purchase days in the clv.horizon_days after as_of_date",
            "probability_alive": "BG/NBD probability that the person is still a customer of the brand",
            "expected_avg_value_rpt": "Gamma-Gamma expected settled amount of one purchase day (the brand's mean repeat value when fitted_mean_spend)",
            "clv_12m_rpt": "expected_purchases_12m × expected_avg_value_rpt (undiscounted)",
            "model_status": "fitted, fitted_mean_spend, too_few_repeat_buyers or fit_failed (brand level)",
            "model_version": "registered model name/version@alias that scored the row",
            "reporting_currency": "currency of the _rpt columns",
            "as_of_date": "purchases up to this date count",
        },
    ),
)
