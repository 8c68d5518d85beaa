"""Sales forecast: inputs as of the origin, region mapping, and train-forecast → score-forecast end to end
through the embedded MLflow store (registry aliases, validation) into gold `sales_forecast`."""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
from decimal import Decimal as D

import mlflow
import numpy as np
import pandas as pd
import pytest
from brandlake.models import forecast as fm
from brandlake.models import tracking
from brandlake.transforms.forecast import DEMAND_PANEL, to_demand_panel
from chispa import assert_df_equality
from pandas.testing import assert_frame_equal
from pyspark.sql import Row
from pyspark.sql import types as T

from brandlake import tables
from brandlake.config import ForecastConfig, LightGbmConfig, load_config
from brandlake.runtime import job_context
from tests import forecast_data as fd
from tests.gold_schema import assert_gold_schema

REGIONS = {"CN/Shanghai": "WH-CN-SH", "CN": "WH-CN-BJ", "US": "WH-US-NJ"}


def test_features_as_of_the_origin_ignore_everything_later():
    demand, cal, pre = fd.demand_frame(), fd.calendar_frame(), fd.presale_series_frame()
    origin = pd.Timestamp("2024-06-06")          # inside the presale phase of the 9 June sale
    full = fm.prepare(demand, cal, pre, horizon=7)
    # the world as it was at the origin: no later sales, no later payments
    later = pre["deposit_paid_at"] >= origin + pd.Timedelta(days=1)
    cut_pre = pre[~later].assign(balance_paid_at=pre["balance_paid_at"].where(
        pre["balance_paid_at"] < origin + pd.Timedelta(days=1)))
    cut = fm.prepare(demand[demand["ds"] <= origin], cal, cut_pre, horizon=7, end=origin)
    a = fm.rows_at(full, origin, horizon=7, with_target=False)
    b = fm.rows_at(cut, origin, horizon=7, with_target=False)
    assert_frame_equal(a, b)
    # and the presale features are really there: deposits paid so far for the coming event
    assert a.groupby("h")["dep_units"].sum().tolist() == [17.0] * 7


def test_demand_panel_maps_destinations_to_the_warehouse_region_they_are_served_from(spark):
    schema = "brand_id string, product_id string, platform_id string, ship_country string, ship_province string, " \
             "order_date date, units long, gross_amount decimal(18,2), discount_amount decimal(18,2)"
    d = dt.date(2024, 3, 1)
    sales = spark.createDataFrame([(*r[:7], D(r[7]), D(r[8])) for r in [
        ("B1", "P1", "tmall", "CN", "Shanghai", d, 2, 20, 2),
        ("B1", "P1", "tmall", "CN", "Sichuan", d, 1, 10, 0),     # CN province not listed: CN's default
        ("B1", "P1", "tmall", "CN", "Beijing", d, 3, 30, 3),     # same region as Sichuan: summed
        ("B1", "P1", "amazon_us", "FR", None, d, 1, 9, 0),       # no warehouse configured: its own country
        ("B1", None, "tmall", "CN", "Shanghai", d, 5, 50, 0),    # no product: not product demand
    ]], schema)
    products = spark.createDataFrame([("S1", "P1", "B1", "apparel")], "sku_id string, product_id string, "
                                     "brand_id string, category string")
    out = to_demand_panel(sales, products=products, regions=REGIONS)
    expected = spark.createDataFrame([
        ("P1|amazon_us|FR", "P1", "B1", "apparel", "amazon_us", "FR", d, 1, D("9.00"), D("0.00")),
        ("P1|tmall|WH-CN-BJ", "P1", "B1", "apparel", "tmall", "WH-CN-BJ", d, 4, D("40.00"), D("3.00")),
        ("P1|tmall|WH-CN-SH", "P1", "B1", "apparel", "tmall", "WH-CN-SH", d, 2, D("20.00"), D("2.00")),
    ], DEMAND_PANEL)
    assert_df_equality(out, expected, ignore_row_order=True, ignore_nullable=True)


# ---------------------------------------------------------------------------------------------------
# End to end

def _write_inputs(spark, cfg) -> None:
    sales = pd.DataFrame(fd.sales_rows())
    sales_schema = T.StructType([
        T.StructField("brand_id", T.StringType()), T.StructField("product_id", T.StringType()),
        T.StructField("platform_id", T.StringType()), T.StructField("ship_country", T.StringType()),
        T.StructField("ship_province", T.StringType()), T.StructField("order_date", T.DateType()),
        T.StructField("units", T.LongType()), T.StructField("gross_amount", T.DoubleType()),
        T.StructField("discount_amount", T.DoubleType())])
    tables.overwrite(spark.createDataFrame(sales[sales_schema.fieldNames()].to_dict("records"), sales_schema),
                     f"{cfg.lake.gold}/sales_daily")
    silver = cfg.lake.silver
    tables.overwrite(spark.createDataFrame([Row(sku_id=f"{p}-S", product_id=p, brand_id=b, category=c,
                                                updated_at=dt.datetime(2024, 1, 1))
                                            for p, b, c in {(p, b, c) for p, b, c, _d, _x in fd.SERIES}]),
                     f"{silver}/products")
    tables.overwrite(spark.createDataFrame([Row(platform_id="tmall", timezone="Asia/Shanghai")]), f"{silver}/platforms")
    promos = []
    for name, s, e in fd.EVENTS:
        local = lambda d, h=0: dt.datetime.combine(d, dt.time()) - dt.timedelta(hours=8 - h)  # noqa: E731
        promos.append(Row(promotion_id=f"{name}-THR", platform_id="tmall", promotion_type="threshold",
                          event_name=name, starts_at=local(s), ends_at=local(e + dt.timedelta(days=1)) -
                          dt.timedelta(seconds=1), discount_pct=None))
        promos.append(Row(promotion_id=f"{name}-PRE", platform_id="tmall", promotion_type="presale",
                          event_name=name, starts_at=local(s - dt.timedelta(days=fd.PRESALE_DAYS)),
                          ends_at=local(s) - dt.timedelta(seconds=1), discount_pct=20.0))
    promo_schema = "promotion_id string, platform_id string, promotion_type string, event_name string, " \
                   "starts_at timestamp, ends_at timestamp, discount_pct double"
    tables.overwrite(spark.createDataFrame(promos, promo_schema), f"{silver}/promotions")
    pre = fd.presale_frame()
    orders, lines, pays = [], [], []
    for r in pre.itertuples(index=False):
        product, _plat, dest = r.series_id.split("|")
        country, province = dest.split("/")
        paid = r.deposit_paid_at.to_pydatetime()
        orders.append((r.order_id, "tmall", True, paid.date(), country, province))
        lines.append((r.order_id, "L1", product, int(r.quantity)))
        pays.append((f"{r.order_id}-D", r.order_id, "deposit", "success", paid))
        if pd.notna(r.balance_paid_at):
            pays.append((f"{r.order_id}-B", r.order_id, "balance", "success", r.balance_paid_at.to_pydatetime()))
    tables.overwrite(spark.createDataFrame(orders, "order_id string, platform_id string, is_presale boolean, "
                                           "order_date date, ship_country string, ship_province string"),
                     f"{silver}/orders")
    tables.overwrite(spark.createDataFrame(lines, "order_id string, line_id string, product_id string, quantity int"),
                     f"{silver}/order_lines")
    tables.overwrite(spark.createDataFrame(pays, "payment_id string, order_id string, payment_kind string, "
                                           "status string, paid_at timestamp"), f"{silver}/payments")


@pytest.fixture(scope="module")
def scored(spark, base_cfg, tmp_path_factory):
    """A lake with the small sales history, the forecast trained, registered and scored (twice: the rerun's
    MERGE replaces its own rows) through the embedded MLflow store."""
    cfg = load_config("test", overrides={"lake": {"root": str(tmp_path_factory.mktemp("forecast") / "lake")}})
    small = ForecastConfig(horizon=7, cutoffs=2, cutoff_step_days=7, train_origins=6, train_origin_step_days=7,
                           min_history_days=28, min_nonzero_days=2, model_name="test_sales_forecast",
                           lightgbm=LightGbmConfig(num_leaves=7, learning_rate=0.2, n_estimators=60,
                                                   min_child_samples=5, num_threads=1),
                           regions={"CN/Shanghai": "WH-CN-SH", "CN/Beijing": "WH-CN-BJ"})
    cfg = cfg.with_overrides(forecast=small, mlflow=dataclasses.replace(cfg.mlflow, tracking_uri=""))
    _write_inputs(spark, cfg)
    from brandlake.jobs import score_forecast, train_forecast

    with job_context(cfg, "train-forecast", spark=spark) as ctx:
        train_forecast.run(ctx, argparse.Namespace(as_of=None))
        trained = ctx.summary.details["train_forecast"]
    with job_context(cfg, "score-forecast", spark=spark) as ctx:
        score_forecast.run(ctx, argparse.Namespace(as_of=None, alias="champion"))
    with job_context(cfg, "score-forecast", spark=spark) as ctx:   # rerun: MERGE replaces its own rows
        score_forecast.run(ctx, argparse.Namespace(as_of=None, alias="champion"))
    return cfg, trained


def test_train_then_score_publishes_coherent_forecasts_from_the_champion(spark, scored):
    cfg, trained = scored
    tracking.configure(cfg)
    client = mlflow.MlflowClient()
    assert str(client.get_model_version_by_alias("test_sales_forecast", "champion").version) == "1"  # int on SQLite
    run = client.get_run(trained["mlflow_run_id"])
    assert {k: run.data.tags[k] for k in ("delta.version.sales_daily", "delta.version.payments")} == {
        "delta.version.sales_daily": "0", "delta.version.payments": "0"}
    assert (run.data.params["forecast.horizon"], run.data.tags["validation_status"]) == ("7", "passed")
    assert {"product_region.seasonal_naive.rmsse", "brand.lgbm.event_rmsse", "total.selected.coverage_95"} <= set(
        run.data.metrics)

    fc = tables.read(spark, f"{cfg.lake.gold}/sales_forecast").toPandas()
    last = dt.date(2024, 1, 1) + dt.timedelta(days=fd.DAYS - 1)
    keys = fc[["forecast_date", "level", "series_key"]].drop_duplicates().sort_values(["level", "series_key"])
    expected_keys = pd.DataFrame({"forecast_date": last, "level": [
        "brand", "brand", "category", "category", "platform", "product_platform_region", "product_platform_region",
        "product_platform_region", "product_platform_region", "product_region", "product_region", "product_region",
        "product_region", "total", "warehouse", "warehouse"], "series_key": [
        "B1", "B2", "apparel", "beauty", "tmall", "P1|tmall|WH-CN-BJ", "P1|tmall|WH-CN-SH", "P2|tmall|WH-CN-BJ",
        "P2|tmall|WH-CN-SH", "P1|WH-CN-BJ", "P1|WH-CN-SH", "P2|WH-CN-BJ", "P2|WH-CN-SH", "total", "WH-CN-BJ",
        "WH-CN-SH"]})
    assert_frame_equal(keys.reset_index(drop=True), expected_keys)
    assert len(fc) == 16 * 7   # one row per key and target day, also after the rerun
    # coherent: every level sums to the same total on every target day
    sums = fc.groupby(["level", "target_date"])["units_forecast"].sum().unstack("level")
    for level in sums.columns:
        assert (sums[level] - sums["total"]).abs().max() < 1e-6, level
    assert ((fc["units_lo_95"] <= fc["units_lo_80"]) & (fc["units_lo_80"] <= fc["units_forecast"])
            & (fc["units_forecast"] <= fc["units_hi_80"]) & (fc["units_hi_80"] <= fc["units_hi_95"])).all()
    assert_gold_schema(spark, cfg.lake.gold, "sales_forecast", "forecast_backtest", "forecast_series_status")
    status = tables.read(spark, f"{cfg.lake.gold}/forecast_series_status").toPandas()
    assert sorted(zip(status["series_id"], status["status"], strict=True)) == [
        ("P1|tmall|WH-CN-BJ", "fitted"), ("P1|tmall|WH-CN-SH", "fitted"), ("P2|tmall|WH-CN-BJ", "fitted"),
        ("P2|tmall|WH-CN-SH", "fitted")]


def _local(day: dt.date, hour: int = 0) -> dt.datetime:
    """UTC time of a local (Asia/Shanghai, UTC+8) hour."""
    return dt.datetime.combine(day, dt.time()) + dt.timedelta(hours=hour - 8)


def _write_planning_inputs(spark, cfg) -> None:
    """What plan-logistics reads besides the forecast, as of 18 June 2024 12:00 UTC (the last order update):
    the orders, inventory snapshots, scans and sessions of the plans, and a coming sale (Mid-year Sale 2024,
    22–23 June, inside the forecast's horizon) whose previous occurrence (Mid-year Sale 2023) had sessions."""
    silver, D, T_ = cfg.lake.silver, dt.date, dt.datetime
    tables.overwrite(spark.createDataFrame([
        ("O1", "tmall", "shipped", "CN", "Shanghai", T_(2024, 6, 10, 8), T_(2024, 6, 11, 9)),
        ("O2", "tmall", "paid", "CN", "Shanghai", T_(2024, 6, 18, 8), T_(2024, 6, 18, 8)),
        ("O3", "tmall", "paid", "CN", "Beijing", T_(2024, 6, 17, 10), T_(2024, 6, 18, 12)),
        ("O4", "tmall", "delivered", "CN", "Beijing", T_(2024, 6, 1, 10), T_(2024, 6, 5)),
        ("O5", "tmall", "delivered", "CN", "Shanghai", T_(2024, 2, 1), T_(2024, 2, 5)),     # before the 90 days
        ("O6", "tmall", "delivered", "CN", "Shanghai", T_(2023, 6, 24, 20, 30), T_(2023, 6, 28)),  # in the 2023 sale
        ("O7", "tmall", "delivered", "CN", "Shanghai", T_(2023, 6, 5), T_(2023, 6, 9)),    # the 28 days before it
    ], "order_id string, platform_id string, order_status string, ship_country string, ship_province string, "
       "ordered_at timestamp, updated_at timestamp"), f"{silver}/orders")
    tables.overwrite(spark.createDataFrame([
        ("O1", "L1", "P1", "P1-S", 2), ("O2", "L1", "P1", "P1-M", 1), ("O3", "L1", "P2", "P2-S", 3),
        ("O4", "L1", "P1", "P1-S", 1), ("O4", "L2", "P1", "P1-M", 1), ("O5", "L1", "P1", "P1-M", 50),
    ], "order_id string, line_id string, product_id string, sku_id string, quantity int"), f"{silver}/order_lines")
    tables.overwrite(spark.createDataFrame([
        ("E1", "O1", "WH-CN-SH", "pickup", T_(2024, 6, 11, 9)), ("E2", "O1", "WH-CN-SH", "delivered", T_(2024, 6, 12)),
        ("E3", "O4", "WH-CN-BJ", "pickup", T_(2024, 6, 2, 9)),    # before the snapshot: already counted in it
        ("E4", "O5", "WH-CN-SH", "pickup", T_(2024, 2, 2)),
    ], "event_id string, order_id string, warehouse_id string, scan_type string, event_at timestamp"),
        f"{silver}/tracking_events")
    tables.overwrite(spark.createDataFrame([
        (D(2024, 6, 1), "WH-CN-SH", "P1-S", 99, 0),     # superseded by 10 June's
        (D(2024, 6, 10), "WH-CN-SH", "P1-S", 40, 5), (D(2024, 6, 10), "WH-CN-SH", "P1-M", 10, 0),
        (D(2024, 6, 10), "WH-CN-BJ", "P1-S", 7, None), (D(2024, 6, 10), "WH-CN-BJ", "P2-S", 30, 2),
        (D(2024, 6, 20), "WH-CN-SH", "P1-S", 1, 0),     # after as_of
    ], "snapshot_date date, warehouse_id string, sku_id string, on_hand int, reserved int"), f"{silver}/inventory")
    tables.overwrite(spark.createDataFrame([("WH-CN-SH", 100), ("WH-CN-BJ", 1_000_000)],
                                           "warehouse_id string, capacity_units int"), f"{silver}/warehouses")
    promos = tables.read(spark, f"{silver}/promotions")
    sale = [(f"MY{y}", "tmall", "threshold", f"Mid-year Sale {y}", _local(D(y, 6, d0)),
             _local(D(y, 6, d0 + 2)) - dt.timedelta(seconds=1), None) for y, d0 in ((2023, 23), (2024, 22))]
    tables.overwrite(promos.unionByName(spark.createDataFrame(sale, promos.schema)), f"{silver}/promotions")
    clicks = [("b1", T_(2023, 6, 1)), ("b2", T_(2023, 6, 10)),                        # 28 days before the 2023 sale
              ("e1", T_(2023, 6, 23, 10, 5)), ("e1", T_(2023, 6, 23, 11)), ("e2", T_(2023, 6, 23, 10, 40)),
              ("e3", T_(2023, 6, 24, 20, 1)),                                          # in it
              ("r1", T_(2024, 5, 25)), ("r2", T_(2024, 6, 1)), ("r3", T_(2024, 6, 10)), ("r4", T_(2024, 6, 18, 9))]
    tables.overwrite(spark.createDataFrame([("tmall", s, t) for s, t in clicks],
                                           "platform_id string, session_id string, event_at timestamp"),
                     f"{silver}/clickstream")


def test_plan_logistics_turns_the_scored_forecast_into_the_four_plans(spark, scored):
    from brandlake.jobs import plan_logistics
    from brandlake.transforms.planning import z_of

    cfg, _ = scored
    _write_planning_inputs(spark, cfg)
    with job_context(cfg, "plan-logistics", spark=spark) as ctx:
        plan_logistics.run(ctx, argparse.Namespace(as_of=None))
        details = ctx.summary.details["plan_logistics"]
    D, as_of = dt.date, dt.datetime(2024, 6, 18, 12)

    def read(name: str) -> pd.DataFrame:
        return tables.read(spark, f"{cfg.lake.gold}/{name}").toPandas()

    # available to ship: 10 June's snapshots, less O1's pickup after it, reservations, and paid orders not
    # picked up yet (O2 from Shanghai, O3 from Beijing)
    ats = read("available_to_ship").sort_values(["warehouse_id", "sku_id"]).reset_index(drop=True)
    assert ats.drop(columns=["snapshot_date", "as_of"]).values.tolist() == [
        ["WH-CN-BJ", "P1-S", 7, 0, 0, 0, 7], ["WH-CN-BJ", "P2-S", 30, 0, 2, 3, 25],
        ["WH-CN-SH", "P1-M", 10, 0, 0, 1, 9], ["WH-CN-SH", "P1-S", 40, 2, 5, 0, 33]]
    assert set(ats["snapshot_date"]) == {D(2024, 6, 10)} and set(ats["as_of"]) == {pd.Timestamp(as_of)}

    fc = read("sales_forecast")
    fc = fc[fc["forecast_date"] == fc["forecast_date"].max()]
    # pre-positioning for the coming sale (22–23 June, local): the region's product forecast over the sale days,
    # split by the SKUs' units of the last 90 days (P1: 3 of P1-S, 2 of P1-M; O5's 50 units are older), plus
    # z·σ·√lead time, less the stock there
    z, lead = z_of(cfg.planning.service_level), cfg.planning.lead_time_days
    pr = fc[(fc["level"] == "product_region") & fc["target_date"].isin([D(2024, 6, 22), D(2024, 6, 23)])].copy()
    pr[["product_id", "warehouse_id"]] = pr["series_key"].str.split("|", expand=True)
    pr["var"] = ((pr["units_hi_95"] - pr["units_lo_95"]) / (2 * 1.959963984540054)) ** 2
    ev = pr.groupby(["warehouse_id", "product_id"]).agg(demand=("units_forecast", "sum"), var=("var", "mean"))
    stock = {(r.warehouse_id, r.sku_id): r.available_to_ship for r in ats.itertuples()}
    expected = []
    for (wh, product), r in ev.iterrows():
        for sku, share in ({"P1": {"P1-S": 0.6, "P1-M": 0.4}, "P2": {"P2-S": 1.0}}[product]).items():
            demand, safety = r["demand"] * share, z * np.sqrt(r["var"]) * share * np.sqrt(lead)
            have = stock.get((wh, sku), 0)
            expected.append([wh, sku, "Mid-year Sale 2024", D(2024, 6, 22), demand, safety, have,
                             max(int(np.ceil(demand + safety - have)), 0), D(2024, 6, 22) - dt.timedelta(days=lead)])
    plan = read("prepositioning_plan").sort_values(["warehouse_id", "sku_id"]).reset_index(drop=True)
    assert_frame_equal(plan, pd.DataFrame(sorted(expected, key=lambda e: (e[0], e[1])), columns=plan.columns),
                       check_dtype=False, rtol=1e-9)
    assert len(plan) == 6 and (plan["units_to_move"] > 0).any()

    # capacity: parcels = the warehouse forecast ÷ units per parcel of its last 90 days' orders (Shanghai: O1, O2 →
    # 1.5; Beijing: O3, O4 → 2.5), against capacity_units ÷ turn days; Shanghai's 5 parcels a day overflow
    upp, cap = {"WH-CN-SH": 1.5, "WH-CN-BJ": 2.5}, {"WH-CN-SH": 100, "WH-CN-BJ": 1_000_000}
    wh = fc[fc["level"] == "warehouse"]
    expected = pd.DataFrame({
        "warehouse_id": wh["series_key"], "target_date": wh["target_date"],
        "parcels_forecast": wh["units_forecast"] / wh["series_key"].map(upp),
        "parcels_hi_95": wh["units_hi_95"] / wh["series_key"].map(upp),
        "capacity_parcels": wh["series_key"].map(cap) / cfg.planning.capacity_turn_days})
    expected["overflow_parcels"] = (expected["parcels_hi_95"] - expected["capacity_parcels"]).clip(lower=0)
    expected["is_overflow"] = expected["overflow_parcels"] > 0
    capacity = read("capacity_forecast").sort_values(["warehouse_id", "target_date"]).reset_index(drop=True)
    assert_frame_equal(capacity, expected[capacity.columns].sort_values(["warehouse_id", "target_date"])
                       .reset_index(drop=True), check_dtype=False, rtol=1e-9)
    overflowing = capacity.groupby("warehouse_id")["is_overflow"].sum().to_dict()
    assert overflowing == {"WH-CN-BJ": 0, "WH-CN-SH": 7} and details["overflow_days"] == 7

    # peak load: Mid-year Sale 2023's hourly sessions and orders, moved to 2024's days and scaled by growth
    # (sessions: 4 in the 28 days before as_of against 2 before the 2023 sale; orders: 4 against 1)
    peak = read("peak_load_forecast").sort_values("hour_at").reset_index(drop=True)
    assert peak.values.tolist() == [
        ["tmall", "Mid-year Sale 2024", D(2024, 6, 22), pd.Timestamp(2024, 6, 22, 10), 4.0, 0.0, 4.0, 4.0],
        ["tmall", "Mid-year Sale 2024", D(2024, 6, 22), pd.Timestamp(2024, 6, 23, 20), 2.0, 4.0, 4.0, 4.0]]
    assert {k: details[k] for k in ("available_to_ship", "prepositioning_plan", "capacity_forecast",
                                    "peak_load_forecast")} == {"available_to_ship": 4, "prepositioning_plan": 6,
                                                               "capacity_forecast": 14, "peak_load_forecast": 2}


def test_event_uplift_comes_from_the_same_event_a_year_earlier_named_with_its_year():
    days = pd.date_range("2023-01-01", "2024-12-31", freq="D")
    totals = np.full((1, len(days)), 10.0)
    for lo, hi, level in (("2023-11-10", "2023-11-11", 40.0), ("2023-12-28", "2023-12-28", 90.0)):
        totals[0, days.get_loc(pd.Timestamp(lo)):days.get_loc(pd.Timestamp(hi)) + 1] = level
    calendar = pd.DataFrame([
        ("tmall", name, None, pd.Timestamp(s), pd.Timestamp(e), None) for name, s, e in (
            ("Double 11 2023", "2023-11-10", "2023-11-11"), ("Year End Sale 2023", "2023-12-28", "2023-12-28"),
            ("Double 11 2024", "2024-11-10", "2024-11-11"), ("Year End Sale 2024", "2024-12-28", "2024-12-28"))],
        columns=["platform_id", "event_name", "presale_start", "event_start", "event_end", "discount_pct"])
    cal = fm.build_calendar(calendar, platforms=["tmall"], days=days, horizon=7)
    boosts = fm.event_boosts(cal, totals, days)
    uplift = dict(zip(cal.events["event_name"], boosts[:, 0], strict=True))
    known = dict(zip(cal.events["event_name"], boosts[:, 1], strict=True))
    assert np.isnan(uplift["Double 11 2023"]) and np.isnan(uplift["Year End Sale 2023"])   # no earlier one
    # 2024's Double 11 takes 2023's Double 11 (40 a day against 10 before it), not the later Year End Sale 2023
    assert (uplift["Double 11 2024"], uplift["Year End Sale 2024"]) == (4.0, 9.0)
    assert known["Double 11 2024"] == days.get_loc(pd.Timestamp("2023-11-11"))


def test_training_origins_include_the_same_season_a_year_earlier():
    origins = fm.training_origins("2025-11-04", horizon=28, n_origins=2, step=14, season_origins=3)
    # the two latest whose 28 days end by the cut-off, and three 52 weeks back around the one whose horizon
    # (5 Nov – 2 Dec 2024) matches the coming one: Double 11 2024 is in the training rows for Double 11 2025
    assert [o.date() for o in origins] == [dt.date(2025, 10, 7), dt.date(2025, 9, 23), dt.date(2024, 10, 22),
                                           dt.date(2024, 11, 5), dt.date(2024, 11, 19)]
    assert fm.training_origins("2025-11-04", horizon=28, n_origins=1, step=14) == [pd.Timestamp("2025-10-07")]


def test_an_export_without_a_sale_calendar_trains_on_no_events():
    # an imported retailer's export has no promotions: an empty calendar, no presale lines
    inp = fm.prepare(fd.demand_frame(), fd.calendar_frame().iloc[0:0], None, horizon=7)
    rows = fm.training_rows(inp, pd.Timestamp("2024-06-01"), horizon=7, n_origins=2, step=7, season_origins=2)
    assert len(rows) == 2 * 7 * 4      # two origins × 7 days ahead × 4 series
    assert (rows["is_event"] == 0).all() and rows["event_ly_boost"].isna().all()


def test_series_with_an_unknown_region_or_category_get_their_own_key_at_every_level():
    series = pd.DataFrame({"product_id": ["p1", "p2", "p3"], "platform_id": ["tm", "tm", "jd"],
                           "region": ["CN-31", None, float("nan")], "brand_id": ["b1", "b1", "b2"],
                           "category": [None, "toys", "toys"]}).astype({"region": "str"})
    keys = {level: fm.level_keys(series, level).tolist() for level in fm.LEVELS}
    assert keys == {
        "product_platform_region": ["p1|tm|CN-31", f"p2|tm|{fm.UNKNOWN_KEY}", f"p3|jd|{fm.UNKNOWN_KEY}"],
        "product_region": ["p1|CN-31", f"p2|{fm.UNKNOWN_KEY}", f"p3|{fm.UNKNOWN_KEY}"],
        "brand": ["b1", "b1", "b2"],
        "category": [fm.UNKNOWN_KEY, "toys", "toys"],
        "platform": ["tm", "tm", "jd"],
        "warehouse": ["CN-31", fm.UNKNOWN_KEY, fm.UNKNOWN_KEY],
        "total": ["total", "total", "total"],
    }


def test_the_hindsight_oracle_of_the_ceiling_benchmark_splits_each_platform_day_by_local_shares():
    from benchmarks.forecast_ceiling import oracle_bottom, window_sums

    A = np.arange(12, dtype=float).reshape(2, 6) ** 2
    brute = np.array([[A[r, max(t - 2, 0): t + 3].sum() for t in range(6)] for r in range(2)])
    np.testing.assert_allclose(window_sums(A, 2), brute)

    inp = fm.prepare(fd.demand_frame(), fd.calendar_frame(), None, horizon=14)
    cutoff = inp.panel.days[120]
    bottom = oracle_bottom(inp, cutoff, 14)
    # every series on each of the 14 days after the cut-off, and per day the shares add up to the platform's
    # actual total (one platform here): the oracle knows the day, not the series' own noise
    assert len(bottom) == len(inp.panel.series) * 14
    per_day = bottom.groupby("ds")["oracle"].sum().to_numpy()
    np.testing.assert_allclose(per_day, inp.plat_totals[0, 121:135])
    series_share = inp.panel.Y[:, 121 - 28: 121 + 29].sum(1) / inp.plat_totals[0, 121 - 28: 121 + 29].sum()
    first_day = bottom[bottom["ds"] == inp.panel.days[121]].sort_values("series_idx")["oracle"].to_numpy()
    np.testing.assert_allclose(first_day, series_share * inp.plat_totals[0, 121])


def test_per_series_fits_sum_a_days_rows_fill_days_without_sales_and_skip_origins_before_the_first_sale():
    from brandlake.models.statistical import fit_predict_group, forecast_series

    rng = np.random.default_rng(5)
    days = pd.date_range("2024-01-01", "2024-03-31", freq="D")
    sold = days[rng.uniform(size=len(days)) < 0.6]
    units = rng.integers(1, 6, len(sold)).astype(float)
    # two rows on one day (two destinations of one warehouse region), rows in no order
    pdf = pd.DataFrame({"series_id": "p1|tmall|CN-east", "ds": list(sold.date) + [sold[3].date()],
                        "units": list(units) + [4.0]}).sample(frac=1, random_state=1)
    origins = [pd.Timestamp("2023-12-15"), pd.Timestamp("2024-01-10"), pd.Timestamp("2024-03-01")]
    kw = dict(horizon=7, season_length=7, min_history_days=28, min_nonzero_days=2)
    out = fit_predict_group(pdf, origins=origins, **kw)

    dense = pd.Series(units, index=sold).reindex(days, fill_value=0.0)
    dense[sold[3]] += 4.0
    expected = []
    for o in origins[1:]:   # nothing sold by 15 Dec 2023: no forecast from that origin
        fc, method, status = forecast_series(dense[sold[0]:o].to_numpy(), **kw)
        expected.append(pd.DataFrame({"series_id": "p1|tmall|CN-east", "origin": o,
                                      "ds": pd.date_range(o + pd.Timedelta(days=1), periods=7),
                                      "yhat_stat": fc, "method": method, "status": status}))
    expected = pd.concat(expected, ignore_index=True)
    assert out["status"].tolist() == ["too_short"] * 7 + ["fitted"] * 7   # 10 days of history, then 61
    assert (out.loc[:6, "yhat_stat"] == 0).all() and (out.loc[7:, "yhat_stat"] > 0).all()
    assert_frame_equal(out, expected, check_dtype=False)
