"""`brandlake report --brand B --period P` (or `--all`): per brand and period, one self-contained offline
HTML report and CSV + Parquet extracts of every section, from the gold marts; every delivered report is
recorded in gold `report_deliveries` (brand, period, tier, sections, file checksum, run id).

Files: `<reports.out_dir or lake.root/reports>/<brand_id>/<period>/report.html` and `extracts/<table>.csv|.parquet`.
The tier (config `reports.brands.<brand>.tier`, else `reports.default_tier`) decides the sections; the
language is the brand's (`reports.brands.<brand>.language`, else `default_language`; `auto` = zh for
brands at home in CN).
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import logging
import re
import time
from pathlib import Path

from brandlake.transforms.gold_tables import gold_path
from brandlake.transforms.marts.build import MARTS
from brandlake.transforms.marts.report_data import REPORT_DELIVERIES, sections_for_tier, to_report_sections
from pyspark.sql import functions as F

from brandlake import tables
from brandlake.errors import UsageError
from brandlake.runtime import JobContext

log = logging.getLogger(__name__)

DELIVERIES = "report_deliveries"


def add_arguments(p: argparse.ArgumentParser) -> None:
    who = p.add_mutually_exclusive_group(required=True)
    who.add_argument("--brand", action="append", default=None, help="brand id (repeatable)")
    who.add_argument("--all", action="store_true", help="every brand with sales in the period")
    p.add_argument("--period", default=None,
                   help="period key: week:YYYY-MM-DD (its Monday), month:YYYY-MM or 'event:YYYY Name' "
                        "(default: the latest month in the marts)")
    p.add_argument("--out", default=None, help="output folder (default: reports.out_dir or <lake.root>/reports)")


def _slug(period_key: str) -> str:
    return re.sub(r"[^0-9A-Za-z_-]+", "_", period_key).strip("_")


def brand_settings(cfg, brand_id: str, home_country: str | None) -> tuple[str, str]:
    """(tier, language) of a brand from config."""
    rc = cfg.reports
    own = rc.brands.get(brand_id)
    tier = (own.tier if own and own.tier else None) or rc.default_tier
    lang = (own.language if own and own.language else None) or rc.default_language
    if lang == "auto":
        lang = "zh" if home_country == "CN" else "en"
    return tier, lang


def run(ctx: JobContext, args: argparse.Namespace) -> None:
    from brandlake.report import render_html

    spark, cfg = ctx.spark, ctx.cfg
    marts = tables.read_required(spark, {name: gold_path(cfg.lake.gold, name) for name in MARTS}, command="report",
                                 hint="run `brandlake marts` first")
    trend = marts["mart_sales_trend"]
    period = args.period
    if period is None:
        row = trend.where(F.col("period_type") == "month").agg(F.max("period_key")).first()
        if row[0] is None:
            raise UsageError("the marts hold no month yet; pass --period")
        period = row[0]
    p = trend.where(F.col("period_key") == period).agg(F.min("period_start"), F.first("period_type")).first()
    if p[0] is None:
        raise UsageError(f"no period {period!r} in the marts (keys look like month:2024-03, week:2024-03-04, "
                         "'event:2024 Double 11')")
    period_start, period_type = p[0], p[1]
    in_period = trend.where(F.col("period_key") == period)
    brands = sorted(r[0] for r in in_period.select("brand_id").distinct().collect()) if args.all else args.brand
    known = {r[0] for r in in_period.select("brand_id").distinct().collect()}
    unknown = [b for b in brands if b not in known]
    if unknown:
        raise UsageError(f"brand(s) {unknown} have no sales in {period}")
    silver_brands = f"{cfg.lake.silver}/brands"
    info = ({r["brand_id"]: (r["name"], r["home_country"])
             for r in tables.read(spark, silver_brands).select("brand_id", "name", "home_country").collect()}
            if tables.exists(spark, silver_brands) else {})
    out_root = Path(args.out or cfg.reports.out_dir or f"{tables.local_path(cfg.lake.root)}/reports")
    currency_row = in_period.select("currency").first()
    currency = currency_row[0] if currency_row else cfg.silver.reporting_currency

    deliveries = []
    timings = {}
    for brand_id in brands:
        t0 = time.perf_counter()
        name, home = info.get(brand_id, (brand_id, None))
        tier, language = brand_settings(cfg, brand_id, home)
        sections = sections_for_tier(tier, cfg.reports.tiers)
        data = to_report_sections(marts, brand_id=brand_id, period_key=period, period_type=period_type,
                                  period_start=period_start, sections=sections)
        frames = {s: {t: df.toPandas() for t, df in d.items()} for s, d in data.items()}
        folder = out_root / brand_id / _slug(period)
        (folder / "extracts").mkdir(parents=True, exist_ok=True)
        for tbls in frames.values():
            for tname, pdf in tbls.items():
                pdf.to_csv(folder / "extracts" / f"{tname}.csv", index=False)
                pdf.to_parquet(folder / "extracts" / f"{tname}.parquet", index=False)
        page = render_html(brand_name=name or brand_id, brand_id=brand_id, period_key=period, tier=tier,
                           language=language, currency=currency, k=cfg.reports.k_min_buyers, sections=frames)
        html_path = folder / "report.html"
        html_path.write_text(page, encoding="utf-8")
        digest = hashlib.sha256(page.encode("utf-8")).hexdigest()
        deliveries.append((brand_id, period, tier, sections, language, str(html_path), digest, ctx.summary.run_id,
                           dt.datetime.now(dt.UTC).replace(tzinfo=None)))
        timings[brand_id] = round(time.perf_counter() - t0, 2)
        log.info("report: %s %s (%s, %s) -> %s in %.1f s", brand_id, period, tier, language, html_path,
                 timings[brand_id])
    if deliveries:
        tables.merge_upsert(spark.createDataFrame(deliveries, REPORT_DELIVERIES), gold_path(cfg.lake.gold, DELIVERIES),
                            keys=("brand_id", "period_key", "run_id"))
    ctx.summary.add_counts(DELIVERIES, rows_written=len(deliveries))
    ctx.summary.details["report"] = {"period": period, "brands": len(deliveries), "out": str(out_root),
                                     "seconds_per_brand": timings}
