"""`brandlake import`: a foreign export lands in bronze through its mapping; bad rows are quarantined with
reasons; re-importing changes nothing; a real Online Retail II sample matches figures computed in plain Python."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from pathlib import Path

import pytest
from brandlake.jobs import import_source as job
from brandlake.transforms.landing import SOURCES
from brandlake.transforms.mapping import IMPORT_QUARANTINE
from chispa import assert_df_equality
from pyspark.sql import functions as F
from pyspark.sql import types as T

from benchmarks.online_retail import OR_FILE, online_retail_figures, read_rows
from brandlake import tables
from brandlake.mappings import load_mapping
from brandlake.runtime import JobContext
from brandlake.summary import RunSummary

ROOT = Path(__file__).resolve().parents[1]
SHOP = ROOT / "tests" / "data" / "mappings" / "shop_export.yaml"
ONLINE_RETAIL = ROOT / "conf" / "sources" / "online_retail_ii.yaml"
INGESTED_AT = dt.datetime(2024, 6, 1, 12, 0)
RUN_ID = "run-1"

SHOP_CSV = """Bestellnr;Artikel;Bezeichnung;Menge;Einzelpreis;Datum;Kunde;Land;Währung;Status
A-100;SKU-1;Tasse groß;2;1.234,50;15/03/2024 10:30;K1;Deutschland;EUR;BEZAHLT
A-100;VERSAND;Versand;1;4,90;15/03/2024 10:30;K1;Deutschland;EUR;BEZAHLT
A-100;SKU-2;Teller;1;10,00;15/03/2024 10:31;K1;Deutschland;EUR;BEZAHLT
A-100;GUTSCHEIN;Gutschein;1;5,00;15/03/2024 10:31;K1;Deutschland;EUR;BEZAHLT
A-101;SKU-1;Tasse groß;1;1.234,50;01/04/2024 00:30;N/A;Österreich;eur;BEZAHLT
A-100;SKU-2;Teller;1;10,00;20/03/2024 09:00;K1;Deutschland;EUR;ERSTATTET
A-102;SKU-3;Glas;zwei;3,50;17/03/2024 08:00;K2;Schweiz;CHF;BEZAHLT
A-103;SKU-3;Glas;1;3,50;31/02/2024 08:00;K2;Schweiz;CHF;BEZAHLT
A-104;SKU-9;Glas;1;3,50;18/03/2024 08:00;K2;Schweiz;CHF;ERSTATTET
"""

META = [("_corrupt_record", T.StringType()), ("_source_file", T.StringType()), ("_landing_batch", T.IntegerType()),
        ("_ingested_at", T.TimestampType()), ("_run_id", T.StringType())]


def bronze_schema(source: str) -> T.StructType:
    return T.StructType([T.StructField(f, T.StringType()) for f in SOURCES[source].fields]
                        + [T.StructField(n, t) for n, t in META])


def bronze_rows(source: str, file: str, *rows: dict) -> list[tuple]:
    """Rows in the bronze layout: the given fields, the rest null, plus the import's bookkeeping values."""
    fields = SOURCES[source].fields
    for r in rows:
        assert set(r) <= set(fields), set(r) - set(fields)
    return [tuple(r.get(f) for f in fields) + (None, file, None, INGESTED_AT, RUN_ID) for r in rows]


def do_import(spark, cfg, mapping_path: Path, pattern: str, run_id: str = RUN_ID) -> dict[str, int]:
    ctx = JobContext(cfg=cfg, spark=spark, summary=RunSummary(run_id=run_id, command="import", env="test"))
    files = job.resolve_files(spark, pattern)
    return job.import_files(ctx, load_mapping(mapping_path), files, ingested_at=INGESTED_AT)


@pytest.fixture(scope="module")
def shop_import(spark, tmp_path_factory):
    """The shop export (ISO-8859-1) imported once into a lake of its own; module-scoped to keep Spark time low."""
    from brandlake.config import load_config

    root = tmp_path_factory.mktemp("shop")
    path = root / "export.csv"
    path.write_bytes(SHOP_CSV.encode("iso-8859-1"))
    cfg = load_config("test", overrides={"lake": {"root": str(root / "lake")}})
    counts = do_import(spark, cfg, SHOP, str(path))
    return cfg, f"file:{path}", counts


def test_shop_export_lands_as_bronze_order_payment_and_refund_events(spark, shop_import):
    cfg, file, _ = shop_import
    lines_100 = ('[{"line_id":"A-100-1","product_id":"SKU-1","sku_id":"SKU-1","quantity":2,"unit_price":1234.50,'
                 '"item_discount":0.00},{"line_id":"A-100-2","product_id":"SKU-2","sku_id":"SKU-2","quantity":1,'
                 '"unit_price":10.00,"item_discount":0.00}]')
    lines_101 = ('[{"line_id":"A-101-1","product_id":"SKU-1","sku_id":"SKU-1","quantity":1,"unit_price":1234.50,'
                 '"item_discount":0.00}]')
    common = {"event_type": "order_completed", "platform_id": "shop_de", "shop_id": "shop_de_web",
              "currency": "EUR", "order_status": "completed", "is_presale": "false"}
    expected_orders = spark.createDataFrame(bronze_rows(
        "order_events", file,
        {**common, "event_id": "shop_de:A-100:order_completed", "event_at": "2024-03-15T09:30:00Z",
         "order_id": "A-100", "customer_id": "K1", "lines": lines_100, "shipping_fee": "4.90",
         "order_discounts": '[{"promotion_id":"shop_export:GUTSCHEIN","discount_type":"coupon","amount":5.00,'
                            '"line_ids":["A-100-1","A-100-2"]}]', "ship_country": "DE"},
        # a guest ("N/A"); 00:30 Berlin summer time on 1 April is 22:30 UTC on 31 March
        {**common, "event_id": "shop_de:A-101:order_completed", "event_at": "2024-03-31T22:30:00Z",
         "order_id": "A-101", "customer_id": None, "lines": lines_101, "shipping_fee": "0.00",
         "order_discounts": "[]", "ship_country": "AT"},
    ), bronze_schema("order_events"))
    expected_payments = spark.createDataFrame(bronze_rows(
        "payment_events", file,
        {"event_id": "shop_de:A-100:payment", "event_at": "2024-03-15T09:30:00Z", "platform_id": "shop_de",
         "order_id": "A-100", "payment_id": "A-100-P1", "payment_kind": "full", "amount": "2478.90",
         "currency": "EUR", "status": "succeeded"},
        {"event_id": "shop_de:A-101:payment", "event_at": "2024-03-31T22:30:00Z", "platform_id": "shop_de",
         "order_id": "A-101", "payment_id": "A-101-P1", "payment_kind": "full", "amount": "1234.50",
         "currency": "EUR", "status": "succeeded"},
    ), bronze_schema("payment_events"))
    expected_refunds = spark.createDataFrame(bronze_rows(
        "refund_events", file,
        {"event_id": "shop_de:A-100-R1:refund", "event_at": "2024-03-20T08:00:00Z", "platform_id": "shop_de",
         "order_id": "A-100", "refund_id": "A-100-R1", "line_id": "A-100-2", "amount": "10.00",
         "currency": "EUR", "reason": "return on A-100", "status": "succeeded"},
    ), bronze_schema("refund_events"))
    bronze = cfg.lake.bronze
    assert_df_equality(tables.read(spark, f"{bronze}/order_events"), expected_orders,
                       ignore_row_order=True, ignore_nullable=True)
    assert_df_equality(tables.read(spark, f"{bronze}/payment_events"), expected_payments,
                       ignore_row_order=True, ignore_nullable=True)
    assert_df_equality(tables.read(spark, f"{bronze}/refund_events"), expected_refunds,
                       ignore_row_order=True, ignore_nullable=True)


def test_shop_export_snapshots_describe_customers_products_and_the_shop(spark, shop_import):
    cfg, file, _ = shop_import
    expected_customers = spark.createDataFrame(bronze_rows(
        "customers", file,
        {"platform_id": "shop_de", "customer_id": "K1", "country": "DE", "registered_at": "2024-03-15T09:30:00Z",
         "updated_at": "2024-03-15T09:31:00Z"},
    ), bronze_schema("customers"))
    expected_products = spark.createDataFrame(bronze_rows(
        "products", file,
        {"product_id": "SKU-1", "sku_id": "SKU-1", "brand_id": "beispiel", "list_price": "1234.50",
         "currency": "EUR", "launch_date": "2024-03-15", "updated_at": "2024-03-31T22:30:00Z"},
        {"product_id": "SKU-2", "sku_id": "SKU-2", "brand_id": "beispiel", "list_price": "10.00",
         "currency": "EUR", "launch_date": "2024-03-15", "updated_at": "2024-03-15T09:31:00Z"},
    ), bronze_schema("products"))
    expected_shops = spark.createDataFrame(bronze_rows(
        "shops", file,
        {"shop_id": "shop_de_web", "platform_id": "shop_de", "brand_id": "beispiel", "shop_name": "Beispiel Webshop",
         "seller_type": "brand", "country": "DE", "updated_at": "2024-03-15T09:30:00Z"},
    ), bronze_schema("shops"))
    bronze = cfg.lake.bronze
    for name, expected in (("customers", expected_customers), ("products", expected_products),
                           ("shops", expected_shops)):
        assert_df_equality(tables.read(spark, f"{bronze}/{name}"), expected, ignore_row_order=True,
                           ignore_nullable=True)


def test_unparseable_and_unmatched_rows_are_quarantined_with_reasons(spark, shop_import):
    cfg, file, counts = shop_import
    schema = T.StructType(IMPORT_QUARANTINE.fields + [T.StructField(n, t) for n, t in META[2:]])
    actual = tables.read(spark, f"{cfg.lake.bronze}/_import_quarantine").drop("import_id")
    raw = ('{{"Bestellnr":"{0}","Artikel":"{1}","Bezeichnung":"Glas","Menge":"{2}","Einzelpreis":"3,50",'
           '"Datum":"{3}","Kunde":"K2","Land":"Schweiz","Währung":"CHF","Status":"{4}"}}')
    expected = spark.createDataFrame([
        ("shop_export", None, file, 7, raw.format("A-102", "SKU-3", "zwei", "17/03/2024 08:00", "BEZAHLT"),
         "quarantined", "unparseable", "quantity: 'zwei' in column 'Menge' is not a whole number",
         None, INGESTED_AT, RUN_ID),
        ("shop_export", None, file, 8, raw.format("A-103", "SKU-3", "1", "31/02/2024 08:00", "BEZAHLT"),
         "quarantined", "unparseable", "ordered_at: '31/02/2024 08:00' in column 'Datum' does not match "
         "'dd/MM/yyyy HH:mm'", None, INGESTED_AT, RUN_ID),
        ("shop_export", None, file, 9, raw.format("A-104", "SKU-9", "1", "18/03/2024 08:00", "ERSTATTET"),
         "quarantined", "unmatched_return", "return of SKU-9 on A-104: no earlier sale line in this import "
         "with the same order_id, sku_id", None, INGESTED_AT, RUN_ID),
    ], schema).drop("import_id")
    assert_df_equality(actual, expected, ignore_row_order=True, ignore_nullable=True)
    assert counts == {"order_line:line": 3, "shipping_fee:shipping": 1, "order_discount:discount": 1,
                      "refund:return": 1, "quarantined:unparseable": 2, "quarantined:unmatched_return": 1}


def test_reimporting_the_same_file_leaves_bronze_unchanged(spark, shop_import):
    cfg, file, _ = shop_import
    names = job.TARGET_TABLES + (job.QUARANTINE_TABLE,)
    paths = {n: f"{cfg.lake.bronze}/{n}" for n in names}
    before = {n: (tables.latest_version(spark, p), sorted(tables.read(spark, p).collect())) for n, p in paths.items()}
    do_import(spark, cfg, SHOP, file, run_id="run-2")
    after = {n: (tables.latest_version(spark, p), sorted(tables.read(spark, p).collect())) for n, p in paths.items()}
    assert after == before


def test_a_mapped_column_missing_from_the_file_is_named_with_the_file(spark, cfg, tmp_path):
    path = tmp_path / "no_status.csv"
    path.write_bytes(SHOP_CSV.replace(";Status", "").encode("iso-8859-1"))
    with pytest.raises(job.ImportSourceError) as e:
        do_import(spark, cfg, SHOP, str(path))
    assert str(e.value) == (
        f"mapping shop_export: column(s) 'Status' (for status) not found in file:{path}; the file has columns "
        "['Bestellnr', 'Artikel', 'Bezeichnung', 'Menge', 'Einzelpreis', 'Datum', 'Kunde', 'Land', 'Währung']"
    )


# ---------------------------------------------------------------------------------------------------
# Online Retail II: a real sample, checked against figures computed here with the csv module only.

SAMPLE_ROWS = 2000


def online_retail_sample(tmp_path: Path) -> tuple[Path, dict]:
    """The first SAMPLE_ROWS rows of the real file as a CSV, and their figures computed in plain Python."""
    assert OR_FILE.is_file(), f"the real Online Retail II export is expected at {OR_FILE} (../shared/data)"
    head, rows = read_rows(SAMPLE_ROWS)
    sample = tmp_path / "online_retail_sample.csv"
    sample.write_text("".join(head), encoding="utf-8")
    return sample, online_retail_figures(rows)


def test_online_retail_sample_runs_through_silver_gold_marts_and_a_report_to_the_independent_net_sales(
        spark, tmp_path):
    """import → silver → gold → marts → report on the real export: bronze holds every figure plain Python
    computes from the sample (invoices, cancellations, guest lines, payments, refunds, exclusions), gold's
    settled money equals plain-Python net sales, and so does the brand report's sales trend; the sections the
    export cannot feed (no clickstream, no presales, one brand only, no buyer attributes) say so instead of
    showing empty charts."""
    import argparse
    import os

    import pandas as pd
    from brandlake.jobs import gold, marts, report, silver

    from brandlake.config import load_config
    from brandlake.runtime import job_context

    sample, expected = online_retail_sample(tmp_path)

    os.environ.setdefault("BRANDLAKE_PII_KEY", "test-only-pii-key")
    cfg = load_config("test", overrides={"lake": {"root": str(tmp_path / "lake")},
                                         "silver": {"reporting_currency": "GBP"},
                                         "reports": {"brands": {"online_retail_ii": {"tier": "pro"}}}})
    # bronze: every figure of the sample as plain Python computes it from the CSV
    counts = do_import(spark, cfg, ONLINE_RETAIL, str(sample))
    b = cfg.lake.bronze
    orders = tables.read(spark, f"{b}/order_events")
    guest_lines = orders.where(F.col("customer_id").isNull()).select(
        F.sum(F.size(F.from_json("lines", "array<struct<line_id:string>>")))).first()[0]
    paid = tables.read(spark, f"{b}/payment_events").select(F.sum(F.col("amount").cast("decimal(18,2)"))).first()[0]
    refunds = tables.read(spark, f"{b}/refund_events").select(
        F.count("*"), F.sum(F.col("amount").cast("decimal(18,2)"))).first()
    quarantine = tables.read(spark, f"{b}/_import_quarantine").withColumn(
        "invoice", F.get_json_object("raw_row", "$.Invoice"))
    returned = quarantine.where(F.col("invoice").startswith("C")).select("invoice").unionAll(
        tables.read(spark, f"{b}/refund_events").select(F.regexp_extract("reason", "^return on (.*)$", 1)))
    actual = {
        "invoices": orders.count(), "cancellation_invoices": returned.distinct().count(),
        "cancellation_lines": returned.count(), "guest_lines": guest_lines, "refunds": refunds[0],
        "excluded": quarantine.where("disposition = 'excluded'").count(),
        "quarantined": quarantine.where("disposition = 'quarantined'").count(),
        "paid": paid, "refunded": refunds[1], "net_sales": paid - refunds[1],
    }
    assert sum(counts.values()) == SAMPLE_ROWS
    assert actual == expected

    for module in (silver, gold):
        parser = argparse.ArgumentParser()
        module.add_arguments(parser)
        with job_context(cfg, module.__name__, spark=spark) as ctx:
            module.run(ctx, parser.parse_args([]))
    settlement = tables.read(spark, f"{cfg.lake.gold}/order_line_settlement")
    got = settlement.agg(
        F.count_distinct("order_id").alias("invoices"), F.sum("settled_amount").alias("net_sales"),
        F.sum("refunded_amount").alias("refunded"), F.sum("settled_amount_rpt").alias("net_sales_gbp"),
    ).first().asDict()
    assert got == {"invoices": expected["invoices"], "net_sales": expected["net_sales"],
                   "refunded": expected["refunded"], "net_sales_gbp": expected["net_sales"]}
    assert ctx.summary.details["gold"]["reconciliation_mismatches"] == 0

    # the brand report of the sample's month, every section of the pro tier
    with job_context(cfg, "marts", spark=spark) as ctx:
        marts.run(ctx, argparse.Namespace(full=False, as_of=None))
    out = tmp_path / "reports"
    with job_context(cfg, "report", spark=spark) as ctx:
        report.run(ctx, argparse.Namespace(brand=None, all=True, period="month:2009-12", out=str(out)))
    folder = out / "online_retail_ii" / "month_2009-12"
    trend = pd.read_csv(folder / "extracts" / "mart_sales_trend.csv")
    assert [(r.period_key, Decimal(str(r.settled_amount)).quantize(Decimal("0.01")), r.orders)
            for r in trend.itertuples()] == [("month:2009-12", expected["net_sales"], expected["invoices"])]
    page = (folder / "report.html").read_text(encoding="utf-8")
    missing = dict(re.findall(r'<section id="(\w+)">\s*<h2>[^<]*</h2>\s*<p class="missing">No data for this section: '
                              r"([^<]*)\.</p>", page))
    assert missing == {
        "funnel": "the data holds no clickstream sessions for this brand",
        "presale": "the brand had no presale orders in a sale event up to this period",
        # one brand in the lake: its peer tier has fewer than reports.m_min_brands brands
        "benchmarks": "every cell comes from fewer than 10 buyers (or peer brands) and is suppressed",
    }
    assert re.findall(r'<section id="(\w+)">', page) == cfg.reports.tiers["pro"]
