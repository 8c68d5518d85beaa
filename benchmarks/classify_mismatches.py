"""Why do orders in gold `settlement_mismatches` not reconcile? Classify each against the generator's truth.

An order is *spoiled* (docs/generator.md) when one of its landed records carries a defect other than
late_event / duplicate_event: its payment, refund or order event was nulled, cut, given an unknown enum or a
bad amount, so silver quarantined it and the money identities cannot hold. Every mismatch should be one of
those; anything else is a settlement bug. Reads Delta and Parquet with the `deltalake`/pyarrow packages
(no Spark). Usage: python benchmarks/classify_mismatches.py LAKE_ROOT
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
from pathlib import Path

import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.delta_arrow import read_arrow  # noqa: E402


def classify(root: Path) -> dict:
    mismatches = read_arrow(root / "gold" / "settlement_mismatches").to_pylist()
    defects = pq.read_table(root / "truth" / "defects").to_pylist()
    spoiling: dict[str, set[str]] = collections.defaultdict(set)
    for d in defects:
        if d["order_id"] and d["defect_type"] not in ("late_event", "duplicate_event"):
            spoiling[d["order_id"]].add(f"{d['source']}:{d['defect_type']}")
    by_cause: collections.Counter[str] = collections.Counter()
    unexplained = []
    for m in mismatches:
        causes = spoiling.get(m["order_id"])
        if causes:
            by_cause[" + ".join(sorted(causes))] += 1
        else:
            unexplained.append(m)
    return {
        "mismatched_orders": len(mismatches),
        "explained_by_spoiling_defects": len(mismatches) - len(unexplained),
        "unexplained": len(unexplained),
        "unexplained_examples": unexplained[:20],
        "by_cause": dict(by_cause.most_common()),
        "by_reason": dict(collections.Counter(m["reason"] for m in mismatches)),
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("lake_root")
    report = classify(Path(p.parse_args().lake_root))
    print(json.dumps(report, indent=2, default=str))
    return 0 if report["unexplained"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
