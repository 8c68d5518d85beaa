"""Sales forecast: inputs as of the origin, region mapping, and train-forecast → score-forecast end to end
through the embedded MLflow store (registry aliases, validation) into gold `sales_forecast`."""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
from decimal import Decimal as D

import mlflow
import pandas as pd
from brandlake.models import forecast as fm
from brandlake.transforms.forecast import DEMAND_PANEL, to_demand_panel
from chispa import assert_df_equality
from pandas.testing import assert_frame_equal
from pyspark.sql import Row
from pyspark.sql import types as T

from brandlake import tables
from brandlake.config import ForecastConfig, LightGbmConfig
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


def test_train_then_score_publishes_coherent_forecasts_from_the_champion(spark, cfg):
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
