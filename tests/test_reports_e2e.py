"""End to end on a two-brand inline lake: `brandlake marts` (full, unchanged rerun, a late order) and
`brandlake report`; the report opened in Debian's headless Chromium; tenant isolation and the privacy floor
checked on every published file."""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import shutil
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from brandlake.jobs import marts, report
from brandlake.transforms.marts.build import MART_SALES_TREND, MARTS
from chispa import assert_df_equality
from pyspark.sql import functions as F

from brandlake import tables
from brandlake.config import load_config
from brandlake.runtime import job_context
from tests.delta_defaults import production_table_defaults
from tests.gold_schema import assert_gold_schema
from tests.report_inputs import LATE_ORDER, ORDERS, lake_inputs, write_lake

K = 3
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
# the population each mart's cells are computed from: the k floor (m for peer brands) applies to it
POPULATION = {
    "mart_sales_trend": "buyers", "mart_order_time": "buyers", "mart_delivery_regions": "buyers",
    "mart_buyer_groups": "buyers", "mart_products": "buyers", "mart_funnel": "visitors",
    "mart_lost_visitors": "lost_visitors", "mart_presale": "presale_buyers", "mart_repurchase": "cohort_buyers",
    "mart_cohort_retention": "active_buyers", "mart_category_totals": "buyers", "mart_benchmarks": "peer_brands",
}


def _cfg(root: Path, **lake):
    return load_config("test", overrides={
        "lake": {"root": str(root), **lake},
        "reports": {"k_min_buyers": K, "brands": {"brandA": {"tier": "pro"}}},
    })


def _run(cfg, spark, module, **kw):
    with job_context(cfg, module.__name__.rsplit(".", 1)[-1], spark=spark) as ctx:
        module.run(ctx, argparse.Namespace(**kw))
    return ctx


@pytest.fixture(scope="module", autouse=True)
def production_tables(spark):
    """The tables of this module record their changes and use deletion vectors, as in production (conf/base.yaml;
    off in conf/test.yaml)."""
    with production_table_defaults(spark):
        yield


@pytest.fixture(scope="module")
def lake(spark, tmp_path_factory):
    root = tmp_path_factory.mktemp("reports_lake")
    cfg = _cfg(root)
    write_lake(spark, cfg, lake_inputs(spark))
    _run(cfg, spark, marts, full=False, as_of=None)
    _run(cfg, spark, report, brand=None, all=True, period="month:2024-02", out=None)
    return cfg, root / "reports"


def _versions(spark, cfg) -> dict[str, int]:
    return {n: tables.latest_version(spark, f"{cfg.lake.gold}/{n}")
            for n in (*MARTS, marts.TRACKING, marts.EXCEPTIONS)}


def test_sales_trend_of_a_brand_compares_with_the_previous_month(spark, lake):
    cfg, _ = lake
    actual = tables.read(spark, f"{cfg.lake.gold}/mart_sales_trend").where(
        (F.col("brand_id") == "brandA") & (F.col("period_type") == "month"))
    D = Decimal
    expected = spark.createDataFrame([
        ("brandA", "month", "month:2024-01", "all", dt.date(2024, 1, 1), "CNY", D("515.00"), 5, 5, 5, D("103.00"),
         0.0, 0.0, None, None, None, None, None, False),
        ("brandA", "month", "month:2024-02", "all", dt.date(2024, 2, 1), "CNY", D("160.00"), 3, 3, 3, D("53.33"),
         0.0, 0.0, D("515.00"), -68.93, 5, None, None, False),
    ], MART_SALES_TREND)
    assert_df_equality(actual, expected, ignore_row_order=True, ignore_nullable=True)


def test_report_holds_nothing_of_another_brand_nor_any_customer_or_order_id(lake):
    _, out = lake
    files = sorted((out / "brandA").rglob("*"))
    assert {f.name for f in files if f.is_file()} >= {"report.html", "mart_sales_trend.csv", "mart_funnel.parquet"}
    for f in files:
        if not f.is_file():
            continue
        text = (f.read_text("utf-8") if f.suffix in (".html", ".csv")
                else pd.read_parquet(f).to_csv(index=False))
        for foreign in ("brandB", "Bravo", "777.77", "2333.31", "pB1", "cB1", "oB1", "shop-brandB"):
            assert foreign not in text, f"{foreign!r} of brand B found in {f}"
        for ident in ("cA1", "oA1", "sh-oA1", "s-oA1"):
            assert ident not in text, f"identifier {ident!r} found in {f}"


def test_every_published_cell_meets_the_k_floor_and_suppressed_cells_are_null_not_zero(lake):
    _, out = lake
    seen_suppressed = 0
    files = sorted(out.rglob("*.parquet"))
    assert {f.stem for f in files} == set(POPULATION)
    for f in files:
        df = pd.read_parquet(f)
        c, floor = POPULATION[f.stem], (5 if f.stem == "mart_benchmarks" else K)
        published, hidden = df[~df["is_suppressed"]], df[df["is_suppressed"]]
        assert (published[c] >= floor).all(), f"{f}: published {c} below {floor}"
        if f.stem != "mart_benchmarks":  # a benchmark row keeps the brand's own value; the peer figures go
            assert hidden[c].isna().all(), f"{f}: suppressed {c} is not null"
        else:
            assert hidden[["peer_p25", "peer_median", "peer_p75"]].isna().all().all()
        seen_suppressed += len(hidden)
    # brand A's February order-time cells hold 1 buyer each: they must be among the suppressed
    ot = pd.read_parquet(out / "brandA" / "month_2024-02" / "extracts" / "mart_order_time.parquet")
    ot = ot[ot["phase"] == "all"].sort_values(["weekday", "hour"])
    assert list(zip(ot["weekday"], ot["hour"], ot["is_suppressed"], strict=True)) == [
        (1, 21, True), (2, 9, True), (2, 21, True)]
    assert ot["orders"].isna().all() and ot["settled_amount"].isna().all()
    assert seen_suppressed > 0


def test_deliveries_record_each_report_with_its_tier_sections_and_checksum(spark, lake):
    cfg, out = lake
    rows = tables.read(spark, f"{cfg.lake.gold}/report_deliveries").select(
        "brand_id", "period_key", "tier", "sections", "language", "html_sha256").collect()
    got = sorted((r["brand_id"], r["period_key"], r["tier"], list(r["sections"]), r["language"], r["html_sha256"])
                 for r in rows)
    digest = {b: hashlib.sha256((out / b / "month_2024-02" / "report.html").read_bytes()).hexdigest()
              for b in ("brandA", "brandB")}
    pro = ["sales_trend", "order_time", "delivery_regions", "buyer_groups", "repurchase", "products", "funnel",
           "presale", "benchmarks"]
    assert got == [
        ("brandA", "month:2024-02", "pro", pro, "en", digest["brandA"]),
        ("brandB", "month:2024-02", "basic", ["sales_trend", "order_time", "delivery_regions", "products"], "zh",
         digest["brandB"]),
    ]
    assert_gold_schema(spark, cfg.lake.gold, "report_deliveries", *MARTS, marts.TRACKING, marts.EXCEPTIONS)


def test_report_renders_offline_in_headless_chromium_with_every_chart_drawn(lake):
    from playwright.sync_api import sync_playwright

    _, out = lake
    chromium = shutil.which("chromium")
    assert chromium, "chromium is missing: run scripts/setup_browser.sh (make test does)"
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        try:
            for brand in ("brandA", "brandB"):
                page = browser.new_page(viewport={"width": 1200, "height": 900})
                errors, requests = [], []
                page.on("console", lambda m, errors=errors: errors.append(m.text) if m.type == "error" else None)
                page.on("pageerror", lambda e, errors=errors: errors.append(str(e)))
                page.on("request", lambda r, requests=requests: requests.append(r.url))
                url = (out / brand / "month_2024-02" / "report.html").as_uri()
                page.goto(url, wait_until="load")
                # drawn: Plotly finished the layout and rendered the chart's SVG (a section whose cells are all
                # suppressed is drawn as empty axes); traced: the SVG holds at least one data trace
                drawn = "d => !!d._fullLayout && d.querySelector('svg.main-svg') !== null"
                traced = "d => d.querySelectorAll('svg.main-svg g.trace, svg.main-svg g.hm, svg.main-svg image').length > 0"
                page.wait_for_function(f"[...document.querySelectorAll('.plotly-graph-div')].every({drawn})",
                                       timeout=60000)
                charts = page.eval_on_selector_all(".plotly-graph-div", f"ds => ds.map(d => [d.id, ({drawn})(d)])")
                with_traces = page.eval_on_selector_all(".plotly-graph-div", f"ds => ds.filter({traced}).length")
                page.screenshot(path=str(ARTIFACTS / f"report_{brand}.png"), full_page=True)
                title = page.title()
                page.close()
                assert errors == []
                assert requests == [url], f"unexpected requests: {requests}"
                assert charts and all(drawn for _, drawn in charts), charts
                assert with_traces > 0, "no chart holds a data trace"
                assert ("Alpha" if brand == "brandA" else "Bravo") in title
        finally:
            browser.close()


def test_rerun_without_new_data_changes_no_table(spark, lake):
    cfg, _ = lake
    before = _versions(spark, cfg)
    ctx = _run(cfg, spark, marts, full=False, as_of=None)
    assert ctx.summary.details["marts"]["mode"] == "unchanged"
    assert _versions(spark, cfg) == before

    # marts written under an older layout of their keys (a state without its `_layout` row) are rebuilt whole,
    # to the same rows, and the state records the layout again
    state_path = f"{cfg.lake.gold}/{marts.STATE}"
    state = tables.read(spark, state_path)
    kept = spark.createDataFrame(state.where(F.col("source") != marts.LAYOUT_KEY).collect(), state.schema)
    tables.overwrite(kept, state_path)
    rows = {n: tables.read(spark, f"{cfg.lake.gold}/{n}").collect() for n in MARTS}
    ctx = _run(cfg, spark, marts, full=False, as_of=None)
    assert ctx.summary.details["marts"]["mode"] == "full"
    for name, was in rows.items():
        assert_df_equality(tables.read(spark, f"{cfg.lake.gold}/{name}"),
                           spark.createDataFrame(was, tables.read(spark, f"{cfg.lake.gold}/{name}").schema),
                           ignore_row_order=True, ignore_nullable=True)
    assert {r["source"]: r["version"] for r in tables.read(spark, state_path).collect()}[marts.LAYOUT_KEY] == \
        marts.LAYOUT


def test_late_order_rebuilds_only_its_periods_and_equals_a_full_build(spark, lake, tmp_path):
    """A delivery with a late order and, as real deliveries have, changed reference rows: one buyer's gender
    corrected, one SKU recategorised, the sale's threshold promotion extended by a day. The run stays
    incremental, rebuilds exactly the periods these touch, and equals a full build."""
    cfg, _ = lake
    changed = {"silver/orders": ("order_id",), "silver/payments": ("payment_id",),
               "silver/tracking_events": ("event_id",), "silver/clickstream": ("event_id",),
               "silver/customers": ("platform_id", "customer_id"), "silver/products": ("sku_id",),
               "silver/promotions": ("promotion_id",), "gold/order_line_settlement": ("order_id", "line_id")}
    inputs = lake_inputs(spark, orders=[*ORDERS, LATE_ORDER])
    later = F.lit(dt.datetime(2024, 3, 1))

    def change(name, where, **values):
        df = inputs[name]
        for col, value in {**values, "updated_at": later}.items():
            df = df.withColumn(col, F.when(where, F.lit(value).cast(df.schema[col].dataType)).otherwise(F.col(col)))
        inputs[name] = df

    change("silver/customers", F.col("customer_id") == "cB1", gender="male")               # bought 7 Feb
    change("silver/products", F.col("sku_id") == "pB1-s", category="fragrance")            # sold 7 Feb
    change("silver/promotions", F.col("promotion_id") == "thr", ends_at=dt.datetime(2024, 2, 13, 15))  # 10–13 Feb
    for key, keys in changed.items():   # upserted, as silver and gold write them: each table's change feed
        layer, name = key.split("/")    # holds the changed rows alone
        tables.merge_upsert(inputs[key], f"{getattr(cfg.lake, layer)}/{name}", keys=keys)
    ctx = _run(cfg, spark, marts, full=False, as_of=None)
    assert ctx.summary.details["marts"]["mode"] == "incremental"
    assert ctx.summary.details["marts"]["changes_read_from"] == {
        name.split("/")[1]: "change feed" for name in changed if name != "silver/promotions"}
    # the late order (9 Jan): its week and month, and February, which compares with January; 7 Feb: its week,
    # the sale event (presale phase); the promotion: the event and 10–13 Feb's weeks; 19 Feb's week compares
    # with 12 Feb's
    assert ctx.summary.details["marts"]["periods_rebuilt"] == [
        "event:2024 Spring Festival Sale", "month:2024-01", "month:2024-02", "week:2024-01-08", "week:2024-02-05",
        "week:2024-02-12", "week:2024-02-19"]
    # their own figures changed in all but 19 Feb's week, which only compares with 12 Feb's: it alone is not built
    # from lines; sales trend and products rewrite it from their own rows as written
    assert ctx.summary.details["marts"]["periods_changed"] == [
        "event:2024 Spring Festival Sale", "month:2024-01", "month:2024-02", "week:2024-01-08", "week:2024-02-05",
        "week:2024-02-12"]
    full_cfg = _cfg(Path(cfg.lake.root), gold=str(tmp_path / "gold_full"))
    write_lake(spark, full_cfg, inputs, only=("gold/order_line_settlement",))
    _run(full_cfg, spark, marts, full=True, as_of=None)
    for name in (*MARTS, marts.TRACKING, marts.EXCEPTIONS):
        inc = tables.read(spark, f"{cfg.lake.gold}/{name}")
        full = tables.read(spark, f"{full_cfg.lake.gold}/{name}")
        assert_df_equality(inc, full, ignore_row_order=True, ignore_nullable=True)
