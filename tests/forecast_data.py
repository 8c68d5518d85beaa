"""Small deterministic sales history for forecast tests: 2 products × 1 platform × 2 regions, 170 days,
a weekly pattern and a 2-day big sale (with a 5-day presale) every 4 weeks."""

from __future__ import annotations

import datetime as dt

import pandas as pd

START = dt.date(2024, 1, 1)
DAYS = 170
# a 2-day sale every 4 weeks, so that the global model sees sales before each backtest cut-off
EVENTS = [(f"sale_{k}", dt.date(2024, 1, 21) + dt.timedelta(days=28 * k),
           dt.date(2024, 1, 22) + dt.timedelta(days=28 * k)) for k in range(6)]
PRESALE_DAYS = 5
SERIES = [("P1", "B1", "apparel", "CN/Shanghai", 6.0), ("P1", "B1", "apparel", "CN/Beijing", 3.0),
          ("P2", "B2", "beauty", "CN/Shanghai", 2.0), ("P2", "B2", "beauty", "CN/Beijing", 1.0)]
WEEKLY = (0.9, 0.95, 1.0, 1.0, 1.05, 1.2, 1.3)


def sales_rows() -> list[dict]:
    """sales_daily-shaped rows (only the columns the forecast reads)."""
    rows = []
    for k, (product, brand, _cat, dest, base) in enumerate(SERIES):
        country, province = dest.split("/")
        for d in range(DAYS):
            day = START + dt.timedelta(days=d)
            mult = WEEKLY[day.weekday()] * (1 + d / 400)
            for _, s, e in EVENTS:
                if s <= day <= e:
                    mult *= 4.0
            units = int(round(base * mult + ((d * 7 + k * 3) % 5 - 2) * 0.4))
            if units > 0:
                rows.append({"brand_id": brand, "product_id": product, "platform_id": "tmall",
                             "ship_country": country, "ship_province": province, "order_date": day,
                             "units": units, "gross_amount": units * 100.0, "discount_amount": units * 10.0})
    return rows


def calendar_frame() -> pd.DataFrame:
    return pd.DataFrame([{"platform_id": "tmall", "event_name": n, "presale_start": s - dt.timedelta(days=PRESALE_DAYS),
                          "event_start": s, "event_end": e, "discount_pct": 20.0} for n, s, e in EVENTS])


def presale_frame() -> pd.DataFrame:
    """Presale order lines: deposits paid over the presale days before each event, balance on day 1."""
    rows = []
    for name, s, _e in EVENTS:
        for k, (product, _b, _c, dest, base) in enumerate(SERIES):
            for j in range(int(base * 2)):
                paid = pd.Timestamp(s - dt.timedelta(days=PRESALE_DAYS - (j % PRESALE_DAYS))) + pd.Timedelta(hours=10)
                rows.append({"series_id": f"{product}|tmall|{dest}", "platform_id": "tmall",
                             "order_id": f"{name}-{k}-{j}", "quantity": 1, "event_start": pd.Timestamp(s),
                             "deposit_paid_at": paid,
                             "balance_paid_at": pd.Timestamp(s) + pd.Timedelta(hours=2) if j % 4 else pd.NaT})
    return pd.DataFrame(rows)


def demand_frame() -> pd.DataFrame:
    """DEMAND_PANEL-shaped pandas frame (region = the destination's warehouse, here the destination)."""
    regions = {"CN/Shanghai": "WH-CN-SH", "CN/Beijing": "WH-CN-BJ"}
    cats = {p: c for p, _b, c, _d, _x in SERIES}
    out = []
    for r in sales_rows():
        region = regions[f"{r['ship_country']}/{r['ship_province']}"]
        out.append({"series_id": f"{r['product_id']}|tmall|{region}", "product_id": r["product_id"],
                    "brand_id": r["brand_id"], "category": cats[r["product_id"]], "platform_id": "tmall",
                    "region": region, "ds": pd.Timestamp(r["order_date"]), "units": r["units"],
                    "gross_amount": r["gross_amount"], "discount_amount": r["discount_amount"]})
    return pd.DataFrame(out)


def presale_series_frame() -> pd.DataFrame:
    regions = {"CN/Shanghai": "WH-CN-SH", "CN/Beijing": "WH-CN-BJ"}
    p = presale_frame()
    p["series_id"] = [s.rsplit("|", 1)[0] + "|" + regions[s.rsplit("|", 1)[1]] for s in p["series_id"]]
    return p
