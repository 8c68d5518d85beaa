"""The synthetic marketplace generator: deterministic landing files in the contract layout, money identities
for every unspoiled order, defects at their rates and all listed in the ground truth."""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import re
from collections import Counter, defaultdict
from decimal import Decimal
from pathlib import Path

import pytest
from brandlake.jobs import generate
from brandlake.synthetic import constants as C
from brandlake.synthetic.export import batch_of, to_lines
from brandlake.synthetic.params import WorldParams
from brandlake.synthetic.people import format_phone
from brandlake.transforms.landing import SOURCES
from chispa import assert_df_equality
from pyspark.sql import functions as F

from brandlake.config import load_config
from brandlake.runtime import JobContext, job_context

FILE_RE = re.compile(r"^batch=(\d{5})/part-(\d{5})\.(jsonl|csv)$")


def run_generate(spark, root: Path, **flags) -> JobContext:
    cfg = load_config("test", overrides={"lake": {"root": str(root)}})
    parser = argparse.ArgumentParser()
    generate.add_arguments(parser)
    args = parser.parse_args([f"--{k.replace('_', '-')}={v}" for k, v in flags.items()])
    with job_context(cfg, "generate", run_id="t", spark=spark) as ctx:  # ends its marks' progress lines
        generate.run(ctx, args)
    return ctx


def snapshot(landing: Path) -> dict[str, bytes]:
    return {str(p.relative_to(landing)): p.read_bytes() for p in sorted(landing.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def world(spark, generated_world):
    """One full test-scale run (shared with the end-to-end tests); its landing files, truth and run summary."""
    ctx = generated_world
    root = Path(ctx.cfg.lake.root)
    landing = Path(ctx.cfg.lake.landing)
    truth = ctx.cfg.lake.truth
    defects = [r.asDict() for r in spark.read.parquet(f"{truth}/defects").collect()]
    person_map = [r.asDict() for r in spark.read.parquet(f"{truth}/person_map").collect()]
    return {"ctx": ctx, "root": root, "landing": landing, "files": snapshot(landing), "defects": defects,
            "person_map": person_map}


def records(world, source: str):
    """(batch, raw line, parsed dict or None) for every landed line of ``source``."""
    out = []
    for name, data in world["files"].items():
        src, rel = name.split("/", 1)
        if src != source:
            continue
        batch = int(FILE_RE.match(rel).group(1))
        text = data.decode("utf-8")
        if SOURCES[source].fmt == "csv":
            rows = list(csv.reader(io.StringIO(text)))
            header = rows[0]
            out += [(batch, None, dict(zip(header, r, strict=True))) for r in rows[1:]]
        else:
            for line in text.splitlines():
                try:
                    out.append((batch, line, json.loads(line)))
                except json.JSONDecodeError:
                    out.append((batch, line, None))
    return out


# ---------------------------------------------------------------------------------------------------
# Small pure pieces


def test_phone_spellings_of_one_number_differ_only_in_format(spark):
    df = spark.createDataFrame(
        [("13800138000", "CN", 0), ("13800138000", "CN", 1), ("13800138000", "CN", 2), ("13800138000", "CN", 4),
         ("4155550134", "US", 0), (None, "US", 3)], "digits string, country string, v int")
    actual = df.select("digits", "country", "v", format_phone(F.col("digits"), F.col("country"), F.col("v"))
                       .alias("phone"))
    expected = spark.createDataFrame(
        [("13800138000", "CN", 0, "+86 138-0013-8000"), ("13800138000", "CN", 1, "0086 13800138000"),
         ("13800138000", "CN", 2, "138 0013 8000"), ("13800138000", "CN", 4, "１３８ ００１３ ８０００"),
         ("4155550134", "US", 0, "+1 415-555-0134"), (None, "US", 3, None)],
        "digits string, country string, v int, phone string")
    assert_df_equality(actual, expected, ignore_nullable=True)


def test_batch_is_taken_from_arrival_time_with_exclusive_upper_bound(spark):
    import datetime as dt
    p = WorldParams(seed=1, scale=0.001, start_date=dt.date(2024, 1, 1), days=90, batch_days=30)
    rows = [(p.t0 - 5,), (p.t0,), (p.t0 + 30 * 86400 - 1,), (p.t0 + 30 * 86400,), (p.t0 + 89 * 86400,)]
    df = spark.createDataFrame(rows, "arrival long")
    actual = df.select("arrival", batch_of(F.col("arrival"), p).alias("batch"))
    expected = spark.createDataFrame([(r[0], b) for r, b in zip(rows, [1, 1, 1, 2, 3], strict=True)],
                                     "arrival long, batch int")
    assert_df_equality(actual, expected, ignore_nullable=True)


def test_csv_lines_quote_commas_and_quotes_and_leave_nulls_empty(spark):
    import datetime as dt
    p = WorldParams(seed=1, scale=0.001, start_date=dt.date(2024, 1, 1), days=60, batch_days=30)
    src = SOURCES["warehouses"]
    rec = spark.createDataFrame(
        [("W1", 'Big "A" DC', "CN", "Shanghai", "Shanghai", "10", "2024-01-01T00:00:00Z", p.t0, "W1|0"),
         ("W2", "Edison, NJ", "US", None, "Edison", "5", "2024-01-02T00:00:00Z", p.t0 + 40 * 86400, "W2|0")],
        "warehouse_id string, name string, country string, province string, city string, capacity_units string, "
        "updated_at string, _arrival long, _rid string",
    ).withColumn("_event", F.col("_arrival")).withColumn("_order_id", F.lit(None).cast("string")).select(
        "*", *[F.lit(None).cast("string").alias(c) for c in ("_defect", "_defect_field", "_defect_detail")],
        F.lit(False).alias("_dup"), F.lit(1).alias("_event_batch"))
    actual = to_lines(rec, src=src, p=p, n_parts=1).select("batch", "line")
    expected = spark.createDataFrame(
        [(1, 'W1,"Big ""A"" DC",CN,Shanghai,Shanghai,10,2024-01-01T00:00:00Z'),
         (2, 'W2,"Edison, NJ",US,,Edison,5,2024-01-02T00:00:00Z')], "batch int, line string")
    assert_df_equality(actual, expected, ignore_nullable=True)


# ---------------------------------------------------------------------------------------------------
# The landing zone of a full run


def test_every_source_lands_in_contract_layout_with_exactly_its_fields(world):
    files = world["files"]
    by_source = defaultdict(set)
    for name in files:
        src, rel = name.split("/", 1)
        m = FILE_RE.match(rel)
        assert m, f"unexpected file {name}"
        assert m.group(3) == SOURCES[src].extension
        by_source[src].add(int(m.group(1)))
    assert set(by_source) == set(SOURCES)
    assert by_source["order_events"] == {1, 2, 3, 4}
    drift = load_config("test").generate.defects.schema_drift_from_batch
    for name in SOURCES:
        fields = list(SOURCES[name].fields)
        for batch, _line, rec in records(world, name):
            if rec is None:
                continue
            keys = list(rec)
            if name == "order_events" and keys == fields + ["device_type"]:
                assert batch >= drift, "device_type only from the drift batch on"
            else:
                assert keys == fields, f"{name}: {keys}"
    drifted = [r for b, _, r in records(world, "order_events") if r and b >= drift and "device_type" in r]
    assert drifted, "order events from the drift batch carry device_type"


def test_test_scale_contains_every_platform_promotion_type_and_order_fate(world):
    ev = [r for _, _, r in records(world, "order_events") if r]
    assert {r["platform_id"] for r in ev} >= set(C.PLATFORM_IDS)
    promo_types = {r["promotion_type"] for _, _, r in records(world, "promotions") if r}
    assert promo_types == {"threshold", "percentage", "coupon", "cross_shop", "presale"}
    used = {d["discount_type"] for r in ev if r["order_discounts"] for d in r["order_discounts"]}
    assert used == {"threshold", "coupon", "cross_shop"}
    assert any(Decimal(x["item_discount"]) > 0 for r in ev if r["lines"] for x in r["lines"])
    presale = {r["order_id"] for r in ev if r["is_presale"] == "true"}
    cancelled = {r["order_id"] for r in ev if r["event_type"] == "order_cancelled"}
    assert presale and presale & cancelled and presale - cancelled
    assert {r["status"] for _, _, r in records(world, "returns") if r} >= {"requested", "approved", "refunded"}
    assert {r["scan_type"] for _, _, r in records(world, "logistics_events") if r} >= {
        "pickup", "hub_scan", "out_for_delivery", "delivered", "exception"}
    assert {r["record_type"] for _, _, r in records(world, "seller_records") if r} >= {
        "customs_clearance", "fx_collection", "dispute"}
    assert {r["seller_type"] for _, _, r in records(world, "shops") if r} == {"official", "reseller", "cross_border"}
    assert {r["currency"] for _, _, r in records(world, "fx_rates")} == set(C.CURRENCIES)
    assert len(records(world, "fx_rates")) == 120 * len(C.CURRENCIES)
    assert records(world, "refund_events") and records(world, "reviews") and records(world, "cs_chats")
    assert world["ctx"].summary["tables"]["landing.order_events"]["rows_written"] == len(records(world, "order_events"))


def test_chats_phrase_their_intent_in_several_ways_and_agents_answer_in_two_styles(world):
    chats = [r for _, _, r in records(world, "cs_chats") if r and r.get("intent") in C.CHAT_TEXT
             and r.get("question") and r.get("answer") and r.get("language") in C.CHAT_OPENERS]
    styles = []
    for r in chats:
        lg, (phrasings, answers) = r["language"], C.CHAT_TEXT[r["intent"]][r["language"]]
        said = {o + q + c for o in C.CHAT_OPENERS[lg] for q in phrasings for c in C.CHAT_CLOSERS[lg]}
        assert r["question"] in said, r
        replies = {g + a: k for k, a in enumerate(answers) for g in C.AGENT_GREETINGS[lg]}
        assert r["answer"] in replies, r
        styles.append(replies[r["answer"]])
    pairs = {(r["intent"], r["language"]) for r in chats}
    assert len(chats) > 20 and len({r["question"] for r in chats}) > 2 * len(pairs)
    assert 0.6 < styles.count(0) / len(styles) < 0.9      # the house answer, HOUSE_ANSWER_SHARE of the time


def test_reviews_praise_or_complain_aspect_by_aspect_in_keeping_with_their_stars_mostly(world):
    said = {}   # language -> text -> the polarities of its sentences
    for lg, aspects in C.REVIEW_ASPECTS.items():
        sep = " " if lg in ("en", "de") else ""
        one = {t: k for pair in aspects.values() for k in (0, 1) for t in pair[k]}
        said[lg] = {t: (k,) for t, k in one.items()} | {t: (2,) for t in C.REVIEW_NEUTRAL[lg]}
        said[lg] |= {a + sep + b: (ka, kb) for a, ka in one.items() for b, kb in one.items() if a != b}
    reviews = [r for _, _, r in records(world, "reviews") if r and r.get("language") in said and r.get("review_text")
               and r.get("rating") in ("1", "2", "3", "4", "5")]
    polarity = [said[r["language"]].get(r["review_text"]) for r in reviews]
    assert None not in polarity and len(reviews) > 30
    good = [p for p, r in zip(polarity, reviews, strict=True) if int(r["rating"]) >= 4]
    bad = [p for p, r in zip(polarity, reviews, strict=True) if int(r["rating"]) <= 2]
    assert good and bad
    assert sum(set(p) == {0} for p in good) / len(good) > 0.85      # praise only, but for a few mismatched ones
    assert sum(set(p) == {1} for p in bad) / len(bad) > 0.85
    assert len({r["review_text"] for r in reviews}) > 20


def _spoiled_orders(world) -> set[str]:
    return {d["order_id"] for d in world["defects"]
            if d["order_id"] and d["defect_type"] not in ("late_event", "duplicate_event")}


def test_money_identities_hold_to_the_cent_for_every_unspoiled_order(world):
    spoiled = _spoiled_orders(world)
    latest = {}
    for _, _, r in records(world, "order_events"):
        if r and r["order_id"] not in spoiled and r["event_at"]:
            cur = latest.get(r["order_id"])
            if cur is None or r["event_at"] >= cur["event_at"]:
                latest[r["order_id"]] = r
    payments = defaultdict(dict)
    for _, _, r in records(world, "payment_events"):
        if r and r["order_id"] not in spoiled and r["status"] == "success":
            payments[r["order_id"]][r["payment_kind"]] = Decimal(r["amount"])
    by_refund_id = {r["refund_id"]: (r["line_id"], Decimal(r["amount"]))  # a duplicate repeats its refund_id
                    for _, _, r in records(world, "refund_events") if r and r["order_id"] not in spoiled}
    refunds = defaultdict(Decimal)
    for line_id, amount in by_refund_id.values():
        refunds[line_id] += amount
    checked = presale_checked = 0
    for oid, o in latest.items():
        line_amt = {x["line_id"]: int(x["quantity"]) * Decimal(x["unit_price"]) - Decimal(x["item_discount"])
                    for x in o["lines"]}
        disc = sum((Decimal(d["amount"]) for d in o["order_discounts"]), Decimal(0))
        payable = sum(line_amt.values()) - disc + Decimal(o["shipping_fee"])
        paid = payments.get(oid, {})
        if o["is_presale"] == "true":
            x, y = Decimal(o["deposit_amount"]), Decimal(o["deposit_value"])
            assert paid.get("deposit") == x and y >= x
            if "balance" in paid:
                assert paid["balance"] == payable - y, oid
                presale_checked += 1
        elif "full" in paid:
            assert paid["full"] == payable, oid
            checked += 1
        infl = (Decimal(o["deposit_value"]) - Decimal(o["deposit_amount"])) if o["is_presale"] == "true" else 0
        goods = sum(line_amt.values())
        for lid, amt in line_amt.items():
            if lid in refunds:  # settled ≥ exact share of goods after discounts and inflation − 1 cent
                assert 0 < refunds[lid] <= amt * (goods - disc - infl) / goods - Decimal("0.01"), lid
    assert checked > 50 and presale_checked > 0


def test_injected_defects_are_near_their_rates_and_all_listed_in_truth(world):
    rates = load_config("test").generate.defects
    defects = world["defects"]
    by_type = Counter(d["defect_type"] for d in defects)
    n_events = sum(len(records(world, s)) for s in C.EVENT_SOURCES)
    n_checked = sum(len(records(world, s)) for s in C.REQUIRED)
    for kind, rate, n in [("duplicate_event", rates.duplicate_event, n_events), ("late_event", rates.late_event,
                                                                                 n_events),
                          ("null_required", rates.null_required, n_checked),
                          ("malformed_line", rates.malformed_line, n_checked)]:
        exp = rate * n
        assert abs(by_type[kind] - exp) <= 4 * math.sqrt(exp) + 3, (kind, by_type[kind], exp)
    # every malformed line in the landing zone is listed with its exact text
    malformed = {(s, b, line) for s in SOURCES if SOURCES[s].fmt == "jsonl"
                 for b, line, r in records(world, s) if r is None}
    listed = {(d["source"], d["batch"], d["detail"]) for d in defects if d["defect_type"] == "malformed_line"}
    assert malformed == listed and malformed
    # every repeated event id is a listed duplicate
    for s in C.EVENT_SOURCES:
        ids = Counter(line for _, line, r in records(world, s) if r)
        dup_lines = sum(n - 1 for n in ids.values() if n > 1)
        assert dup_lines == sum(1 for d in defects if d["source"] == s and d["defect_type"] == "duplicate_event"
                                and d["record_key"] not in {x["record_key"] for x in defects
                                                            if x["defect_type"] == "malformed_line"})
    # every null in a required field and every unknown enum is listed
    for s, req in C.REQUIRED.items():
        nulls = sum(1 for _, _, r in records(world, s) if r and any(r[f] is None for f in req))
        listed_nulls = sum(1 for d in defects if d["source"] == s and d["defect_type"] == "null_required")
        assert nulls >= listed_nulls - 3  # a null copy of a listed record may be cut off at the end
        field, value = C.UNKNOWN_ENUM[s]
        unknown = sum(1 for _, _, r in records(world, s) if r and r[field] == value)
        assert unknown == sum(1 for d in defects if d["source"] == s and d["defect_type"] == "unknown_enum")
    assert set(by_type) == {"duplicate_event", "late_event", "null_required", "unknown_enum", "bad_amount",
                            "malformed_line"}


def test_same_person_has_accounts_on_several_platforms_with_differently_spelled_phones(world):
    full_width = str.maketrans("０１２３４５６７８９", "0123456789")
    phones = {(r["platform_id"], r["customer_id"]): r["phone"] for _, _, r in records(world, "customers") if r}
    by_person = defaultdict(list)
    for m in world["person_map"]:
        by_person[m["person_id"]].append((m["platform_id"], m["customer_id"], m["country"]))
    multi = {pid: accts for pid, accts in by_person.items() if len({a[0] for a in accts}) >= 2}
    assert len(multi) >= 3
    spellings = set()
    for accts in multi.values():
        digits = set()
        for plat, cust, country in accts:
            raw = phones[(plat, cust)]
            spellings.add(raw)
            d = re.sub(r"\D", "", raw.translate(full_width))
            cc = C.COUNTRY_CODE[country]
            d = d[2 + len(cc):] if d.startswith("00" + cc) else d[len(cc):] if raw.startswith("+") else d
            digits.add(d)
        assert len(digits) == 1, accts
    assert len(spellings) > len(multi)


# ---------------------------------------------------------------------------------------------------
# Determinism


def test_rerun_with_same_seed_replaces_landing_with_the_identical_prefix_until_batch(spark, world, tmp_path):
    """Same seed and scale: the rerun (landing batches 1..3 only) replaces the landing zone with exactly the
    full run's files of those batches — same names, same bytes — and batch 4 is gone."""
    import shutil

    root = tmp_path / "world"
    shutil.copytree(world["root"], root)  # the shared world stays whole for the end-to-end tests
    ctx = run_generate(spark, root, until_batch=3)
    expected = {k: v for k, v in world["files"].items() if int(FILE_RE.match(k.split("/", 1)[1]).group(1)) <= 3}
    assert len(expected) < len(world["files"])
    assert snapshot(Path(ctx.cfg.lake.landing)) == expected


def test_a_different_seed_gives_different_people(spark):
    import datetime as dt

    from brandlake.synthetic.people import persons
    a = WorldParams(seed=1, scale=0.0005, start_date=dt.date(2024, 1, 1), days=60, batch_days=30)
    b = WorldParams(seed=2, scale=0.0005, start_date=dt.date(2024, 1, 1), days=60, batch_days=30)
    cols = ["person_id", "country", "phone_digits", "birth_year"]
    same = persons(spark, p=a).select(cols).exceptAll(persons(spark, p=b).select(cols)).isEmpty()
    assert not same
    assert persons(spark, p=a).select(cols).exceptAll(persons(spark, p=a).select(cols)).isEmpty()
