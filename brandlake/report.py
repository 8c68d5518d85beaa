"""Renders one brand report: a self-contained offline HTML page (Plotly charts with plotly.js inlined, a
Jinja2 template, no network request) and a short narrative in the brand's language.

Only formats what it is given: the rows are already the brand's own, entitled and privacy-checked
(transforms/marts/report_data.py); a suppressed value arrives as null with `is_suppressed` set and is
shown as "suppressed", never as zero.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping
from functools import lru_cache
from importlib import resources

import jinja2
import pandas as pd
import plotly.graph_objects as go
import plotly.offline

WEEKDAYS = {"en": ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"], "zh": ["周一", "周二", "周三", "周四", "周五", "周六", "周日"]}

TEXT = {
    "en": {
        "title": "Brand trend report", "period": "Period", "tier": "Tier", "currency": "Currency",
        "summary": "What changed", "suppressed": "suppressed", "no_data": "No data for this section",
        "all_suppressed": "every cell comes from fewer than {k} buyers (or peer brands) and is suppressed",
        "generated": "Built from the platform's gold marts; cells from fewer than {k} buyers are suppressed.",
        "sections": {
            "sales_trend": "Sales trend", "order_time": "Order time (platform local time)",
            "delivery_regions": "Delivery regions", "buyer_groups": "Buyer groups", "repurchase": "Repurchase",
            "products": "Products", "funnel": "Funnel and lost visitors", "presale": "Presale",
            "benchmarks": "Market benchmarks",
        },
        "why_missing": {
            "funnel": "the data holds no clickstream sessions for this brand",
            "delivery_regions": "the data holds no orders with a ship region in this period",
            "presale": "the brand had no presale orders in a sale event up to this period",
            "benchmarks": "no peer or market figures for this period",
            "buyer_groups": "no buyer attributes for this period",
            "default": "the data for this period does not feed this section",
        },
        "settled_amount": "settled sales", "orders": "orders", "buyers": "buyers",
    },
    "zh": {
        "title": "品牌趋势报告", "period": "周期", "tier": "版本", "currency": "币种",
        "summary": "主要变化", "suppressed": "已隐藏", "no_data": "本节无数据",
        "all_suppressed": "所有单元格的买家（或同行品牌）少于 {k} 个，均已隐藏",
        "generated": "数据来自平台黄金层数据集市；少于 {k} 位买家的单元格已隐藏。",
        "sections": {
            "sales_trend": "销售趋势", "order_time": "下单时间（平台当地时间）", "delivery_regions": "配送地区",
            "buyer_groups": "人群画像", "repurchase": "复购", "products": "商品", "funnel": "转化漏斗与流失访客",
            "presale": "预售", "benchmarks": "市场对标",
        },
        "why_missing": {
            "funnel": "数据中没有该品牌的浏览会话",
            "delivery_regions": "本周期没有带收货地区的订单",
            "presale": "截至本周期该品牌在大促中没有预售订单",
            "benchmarks": "本周期没有同行或市场数据",
            "buyer_groups": "本周期没有买家属性",
            "default": "本周期的数据无法支持本节",
        },
        "settled_amount": "成交额", "orders": "订单", "buyers": "买家",
    },
}


def _fmt_pct(x: float | None) -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:+.1f}%"


def _num(x) -> float | None:
    if x is None:
        return None
    try:
        f = float(x)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) else f


def _published(df: pd.DataFrame) -> pd.DataFrame:
    return df[~df["is_suppressed"].astype(bool)] if "is_suppressed" in df.columns else df


def narrative(sections: Mapping[str, Mapping[str, pd.DataFrame]], *, period_key: str, language: str,
              currency: str) -> list[str]:
    """A few sentences on notable changes, computed from the section rows (only published values)."""
    zh = language == "zh"
    out: list[str] = []
    trend = sections.get("sales_trend", {}).get("mart_sales_trend")
    if trend is not None and len(trend):
        cur = trend[(trend["period_key"] == period_key) & (trend["phase"] == "all")]
        if len(cur) and not bool(cur.iloc[0]["is_suppressed"]):
            r = cur.iloc[0]
            amount, chg, yoy = _num(r["settled_amount"]), _num(r["settled_change_pct"]), _num(r["settled_yoy_pct"])
            if zh:
                s = f"本期成交额 {amount:,.2f} {currency}"
                s += f"，环比 {_fmt_pct(chg)}" if chg is not None else "，无可比上期"
                s += f"，同比 {_fmt_pct(yoy)}。" if yoy is not None else "，无去年同期数据。"
            else:
                s = f"Settled sales were {amount:,.2f} {currency}"
                s += f", {_fmt_pct(chg)} versus the previous period" if chg is not None else " (no comparable previous period)"
                s += f" and {_fmt_pct(yoy)} versus a year earlier." if yoy is not None else "; no year-earlier figure."
            out.append(s)
        elif len(cur):
            out.append("本期买家少于隐私下限，销售数据已隐藏。" if zh else
                       "This period had fewer buyers than the privacy floor; its sales figures are suppressed.")
    rep = sections.get("repurchase", {}).get("mart_repurchase")
    if rep is not None:
        r90 = _published(rep).dropna(subset=["repurchase_90d_rate"]).sort_values("period_start")
        if len(r90) >= 2:
            last, prev = r90.iloc[-1], r90.iloc[-2]
            diff = (float(last["repurchase_90d_rate"]) - float(prev["repurchase_90d_rate"])) * 100
            month = str(last["period_key"]).removeprefix("month:")
            out.append(f"{month} 首购人群 90 天复购率 {float(last['repurchase_90d_rate']) * 100:.1f}%，"
                       f"较上一批 {diff:+.1f} 个百分点。" if zh else
                       f"The 90-day repurchase rate of the {month} cohort was "
                       f"{float(last['repurchase_90d_rate']) * 100:.1f}%, {diff:+.1f} points versus the cohort before.")
    bench = sections.get("benchmarks", {}).get("mart_benchmarks")
    if bench is not None:
        for _, b in _published(bench).dropna(subset=["brand_quartile"]).iterrows():
            q = int(b["brand_quartile"])
            if q in (1, 4):
                names = {"growth_pct": ("growth", "增长"), "conversion_rate": ("conversion", "转化率"),
                         "repurchase_90d_rate": ("90-day repurchase", "90 天复购率"),
                         "return_rate": ("return rate", "退货率")}[b["metric"]]
                where = ("lowest", "最低") if q == 1 else ("highest", "最高")
                out.append(f"{names[1]}处于同规模同类目品牌的{where[1]}四分位。" if zh else
                           f"Its {names[0]} is in the {where[0]} quartile of its peer tier.")
    prod = sections.get("products", {}).get("mart_products")
    if prod is not None:
        top = _published(prod)
        top = top[(top["period_key"] == period_key) & (top["phase"] == "all")].dropna(subset=["sales_rank"])
        if len(top):
            t = top.sort_values("sales_rank").iloc[0]
            g = _num(t["growth_pct"])
            out.append(f"销量第一的商品是 {t['product_id']}" + (f"（环比 {_fmt_pct(g)}）。" if g is not None else "。")
                       if zh else f"The top product was {t['product_id']}"
                       + (f" ({_fmt_pct(g)} versus the previous period)." if g is not None else "."))
    lost = sections.get("funnel", {}).get("mart_funnel")
    if lost is not None:
        f = _published(lost)
        f = f[(f["period_key"] == period_key) & (f["phase"] == "all")]
        if len(f):
            n = int(f["lost_visitors"].fillna(0).sum())
            out.append(f"有 {n:,} 位访客浏览或加购后未购买。" if zh else
                       f"{n:,} visitors viewed or carted without buying.")
    return out


def _table(df: pd.DataFrame, label: str, max_rows: int = 40) -> str:
    shown = df.drop(columns=[c for c in ("brand_id",) if c in df.columns]).head(max_rows).copy()
    if "is_suppressed" in shown.columns:
        mask = shown["is_suppressed"].astype(bool)
        for c in shown.columns:
            if c != "is_suppressed":
                shown[c] = shown[c].astype(object)
                shown.loc[mask & shown[c].isna(), c] = label
    return shown.to_html(index=False, na_rep="", classes="data", border=0, escape=True)


def _fig_html(fig: go.Figure, div_id: str) -> str:
    fig.update_layout(template="plotly_white", height=360, margin=dict(l=40, r=20, t=40, b=40))
    # fixed div ids: the same data renders byte-identical HTML (stable checksums)
    return fig.to_html(full_html=False, include_plotlyjs=False, div_id=div_id,
                       config={"displaylogo": False, "responsive": True})


def _charts(section: str, tables: Mapping[str, pd.DataFrame], *, period_key: str, language: str) -> list[go.Figure]:
    t = TEXT[language]
    if section == "sales_trend":
        d = tables["mart_sales_trend"]
        d = d[d["phase"] == "all"].sort_values("period_start")
        fig = go.Figure([go.Scatter(x=d["period_start"].astype(str), y=d["settled_amount"].astype(float),
                                    mode="lines+markers", name=t["settled_amount"])])
        fig.add_trace(go.Bar(x=d["period_start"].astype(str), y=d["buyers"].astype(float), name=t["buyers"],
                             yaxis="y2", opacity=0.35))
        fig.update_layout(yaxis2=dict(overlaying="y", side="right"), title=t["sections"][section])
        return [fig]
    if section == "order_time":
        d = tables["mart_order_time"]
        d = d[d["phase"] == "all"]
        z = [[None] * 24 for _ in range(7)]
        for _, r in d.iterrows():
            z[int(r["weekday"]) - 1][int(r["hour"])] = _num(r["orders"])
        return [go.Figure(go.Heatmap(z=z, x=list(range(24)), y=WEEKDAYS[language], colorscale="Blues",
                                     hoverongaps=False))]
    if section == "delivery_regions":
        d = _published(tables["mart_delivery_regions"])
        d = d[d["phase"] == "all"].sort_values("orders", ascending=False).head(15)
        label = d["ship_country"] + " " + d["ship_province"] + " " + d["ship_city"]
        return [go.Figure([go.Bar(x=label, y=d["delivery_hours_p50"].astype(float), name="p50 h"),
                           go.Bar(x=label, y=d["delivery_hours_p90"].astype(float), name="p90 h")])]
    if section == "buyer_groups":
        d = _published(tables["mart_buyer_groups"])
        d = d[(d["phase"] == "all") & d["dimension"].isin(["gender", "age_band", "buyer_type", "country"])]
        label = d["dimension"] + ": " + d["group_value"]
        return [go.Figure([go.Bar(x=label, y=d["buyer_share"].astype(float), name="brand"),
                           go.Bar(x=label, y=d["market_buyer_share"].astype(float), name="market")])]
    if section == "repurchase":
        d = _published(tables["mart_repurchase"]).sort_values("period_start")
        fig = go.Figure([go.Scatter(x=d["period_start"].astype(str), y=d[c].astype(float), mode="lines+markers",
                                    name=c.removeprefix("repurchase_").removesuffix("_rate"))
                         for c in ("repurchase_30d_rate", "repurchase_90d_rate", "repurchase_180d_rate")])
        r = tables["mart_cohort_retention"]
        piv = r.pivot_table(index="period_key", columns="months_since_first", values="retention_rate", aggfunc="first")
        heat = go.Figure(go.Heatmap(z=piv.astype(float).values.tolist(), x=[str(c) for c in piv.columns],
                                    y=list(piv.index), colorscale="Greens", hoverongaps=False))
        return [fig, heat]
    if section == "products":
        d = _published(tables["mart_products"])
        d = d[(d["period_key"] == period_key) & (d["phase"] == "all")].sort_values("sales_rank").head(15)
        return [go.Figure(go.Bar(x=d["product_id"], y=d["settled_amount"].astype(float), name=t["settled_amount"]))]
    if section == "funnel":
        d = _published(tables["mart_funnel"])
        d = d[d["phase"] == "all"]
        steps = [float(d[c].fillna(0).sum()) for c in ("view_sessions", "cart_sessions", "purchase_sessions")]
        lost = _published(tables["mart_lost_visitors"])
        lost = lost[(lost["phase"] == "all") & (lost["breakdown"] == "channel")]
        return [go.Figure(go.Funnel(y=["view", "cart", "purchase"], x=steps)),
                go.Figure(go.Bar(x=lost["breakdown_value"], y=lost["lost_visitors"].astype(float)))]
    if section == "presale":
        d = _published(tables["mart_presale"]).sort_values("period_start")
        return [go.Figure([go.Bar(x=d["period_key"].str.removeprefix("event:"), y=d[c].astype(float), name=c)
                           for c in ("deposits_paid", "balances_paid", "deposits_forfeited")])]
    if section == "benchmarks":
        d = tables["mart_benchmarks"]
        fig = go.Figure()
        for _, r in d.iterrows():
            if _num(r["peer_median"]) is not None:
                fig.add_trace(go.Box(name=r["metric"], q1=[_num(r["peer_p25"])], median=[_num(r["peer_median"])],
                                     q3=[_num(r["peer_p75"])], lowerfence=[_num(r["peer_p25"])],
                                     upperfence=[_num(r["peer_p75"])], showlegend=False))
            if _num(r["brand_value"]) is not None:
                fig.add_trace(go.Scatter(x=[r["metric"]], y=[_num(r["brand_value"])], mode="markers",
                                         marker=dict(size=12, symbol="diamond"), showlegend=False))
        return [fig]
    return []


@lru_cache(maxsize=1)
def _template() -> jinja2.Template:
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    return env.from_string(resources.files("brandlake").joinpath("templates/report.html.j2").read_text("utf-8"))


def has_rows(tables: Mapping[str, pd.DataFrame]) -> bool:
    return any(len(_published(df)) for df in tables.values())


def render_html(
    *, brand_name: str, brand_id: str, period_key: str, tier: str, language: str, currency: str, k: int,
    sections: Mapping[str, Mapping[str, pd.DataFrame]],
) -> str:
    """The whole report page as one HTML string (plotly.js inlined, no external reference)."""
    t = TEXT[language]
    blocks = []
    for section, tables in sections.items():
        block = {"id": section, "title": t["sections"][section], "charts": [], "tables": [], "missing": None}
        if not has_rows(tables):
            all_hidden = any(len(df) for df in tables.values())
            block["missing"] = (t["all_suppressed"].format(k=k) if all_hidden
                                else t["why_missing"].get(section, t["why_missing"]["default"]))
        else:
            for i, fig in enumerate(_charts(section, tables, period_key=period_key, language=language)):
                block["charts"].append(_fig_html(fig, f"chart-{section}-{i}"))
            for name, df in tables.items():
                block["tables"].append({"name": name, "html": _table(df, t["suppressed"])})
        blocks.append(block)
    return _template().render(
        lang=language, t=t, brand_name=brand_name, brand_id=brand_id, period=period_key, tier=tier,
        currency=currency, footer=t["generated"].format(k=k),
        narrative=narrative(sections, period_key=period_key, language=language, currency=currency),
        blocks=blocks, plotly_js=plotly.offline.get_plotlyjs(), esc=html.escape,
    )
