"""Online Retail II (../shared/data): where the real export lives, and the import's figures for it computed
with the csv module only, independently of Spark and of brandlake's code (used by tests/test_import.py and
benchmarks/bench_online_retail.py)."""

from __future__ import annotations

import csv
import gzip
import itertools
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CENT = Decimal("0.01")

# ../shared beside the clone (CI and developers); /work/shared when the checkout lives elsewhere
OR_FILE = next(
    (p / "data" / "online_retail_ii" / "online_retail_ii_2009_2010.csv.gz"
     for p in (ROOT.parent / "shared", Path("/work/shared")) if (p / "data").is_dir()),
    ROOT.parent / "shared" / "data" / "online_retail_ii" / "online_retail_ii_2009_2010.csv.gz",
)


def online_retail_figures(rows: list[dict]) -> dict:
    """The import's documented rules, re-implemented in plain Python (docs/import.md)."""
    shipping, discount = {"POST", "DOT", "C2", "BANK CHARGES"}, {"D"}
    excluded = {"AMAZONFEE", "B", "ADJUST", "ADJUST2", "TEST001", "TEST002", "S"}
    seen, sale, returns = set(), [], []
    out = defaultdict(int)
    for n, r in enumerate(rows, start=1):
        key = tuple(r.values())
        qty, price = int(r["Quantity"]), Decimal(r["Price"]).quantize(CENT, ROUND_HALF_UP)
        cust = r["Customer ID"].removesuffix(".0") or None
        row = {"n": n, "inv": r["Invoice"], "sku": r["StockCode"], "qty": qty, "price": price, "cust": cust,
               "at": r["InvoiceDate"]}
        if key in seen or r["StockCode"] in excluded or (qty < 0 and not r["Invoice"].startswith("C")):
            out["excluded"] += 1
        elif r["Invoice"].startswith("C"):
            if qty > 0:
                out["quarantined"] += 1
            elif price == 0:
                out["excluded"] += 1
            elif r["StockCode"] in shipping | discount:
                out["quarantined"] += 1
            else:
                returns.append(row)
        else:
            sale.append(row)
        seen.add(key)
    orders = defaultdict(list)
    for row in sale:
        orders[row["inv"]].append(row)
    lines, payable = [], {}
    for inv, rs in orders.items():
        goods = [r for r in rs if r["sku"] not in shipping | discount]
        amount = {k: sum((r["qty"] * r["price"] for r in rs if r["sku"] in codes), Decimal(0))
                  for k, codes in (("ship", shipping), ("disc", discount))}
        g = sum((r["qty"] * r["price"] for r in goods), Decimal(0))
        charges = [r for r in rs if r["sku"] in shipping | discount]
        if not goods:
            out["quarantined"] += len(charges)
            continue
        if amount["disc"] > g + amount["ship"]:
            out["quarantined"] += sum(r["sku"] in discount for r in charges)
            amount["disc"] = Decimal(0)
        payable[inv] = g + amount["ship"] - amount["disc"]
        for i, r in enumerate(goods, start=1):
            lines.append({**r, "line_no": i, "amount": r["qty"] * r["price"]})
        out["guest_lines"] += sum(r["cust"] is None for r in goods)
    by_match = defaultdict(list)  # (customer, sku) -> sale lines; guests never match
    for ln in lines:
        if ln["cust"] is not None:
            by_match[(ln["cust"], ln["sku"])].append(ln)
    refunded = defaultdict(Decimal)
    refunds = []
    for ret in sorted(returns, key=lambda r: (r["at"], r["n"])):
        cands = [ln for ln in by_match.get((ret["cust"], ret["sku"]), ()) if ln["at"] <= ret["at"]]
        if not cands:
            out["quarantined"] += 1
            continue
        best = max(cands, key=lambda ln: (ln["at"], ln["inv"], ln["line_no"]))
        amount = -ret["qty"] * ret["price"]
        refunded[(best["inv"], best["line_no"])] += amount
        if refunded[(best["inv"], best["line_no"])] > best["amount"]:
            out["quarantined"] += 1
        else:
            refunds.append(amount)
    return {
        "invoices": len(payable), "cancellation_invoices": len({r["Invoice"] for r in rows if r["Invoice"][0] == "C"}),
        "cancellation_lines": sum(r["Invoice"].startswith("C") for r in rows), "guest_lines": out["guest_lines"],
        "refunds": len(refunds), "excluded": out["excluded"], "quarantined": out["quarantined"],
        "paid": sum(payable.values(), Decimal(0)), "refunded": sum(refunds, Decimal(0)),
        "net_sales": sum(payable.values(), Decimal(0)) - sum(refunds, Decimal(0)),
    }


def read_rows(limit: int | None = None) -> tuple[list[str], list[dict]]:
    """The file's raw lines (header included, up to ``limit`` data rows) and the same rows as dicts."""
    with gzip.open(OR_FILE, "rt", encoding="utf-8", newline="") as fh:
        head = list(itertools.islice(fh, None if limit is None else limit + 1))
    return head, list(csv.DictReader(head))
