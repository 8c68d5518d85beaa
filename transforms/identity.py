"""Identity resolution: platform customer accounts → persons (`person_id`), from silver's keyed PII
hashes and coarse attributes only — no raw phone or address is read or written here.

Candidate pairs come from blocking rules (same phone hash, same address hash, same coarse attributes);
each pair gets a comparison vector (one level per comparison), a Fellegi–Sunter match weight from
m/u parameters (models/identity_em.py estimates them by EM) and a rule: ``phone`` (same normalised
phone), ``address`` (same normalised address and no conflicting gender/birth year), or
``probabilistic`` (match probability at or above the threshold). Linked accounts form persons by
connected components (min-label propagation); a component keeps the oldest existing person id.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from brandlake.transforms.columns import require_columns
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

_S, _TS, _D, _I = T.StringType(), T.TimestampType(), T.DoubleType(), T.IntegerType()

ACCOUNT_COLUMNS = ("platform_id", "customer_id", "phone_hash", "address_hash", "country", "province", "city",
                   "gender", "birth_year", "updated_at")

IDENTITY_ACCOUNTS = T.StructType([T.StructField(n, t, nullable) for n, t, nullable in [
    ("platform_id", _S, False), ("customer_id", _S, False), ("person_id", _S, False),
    ("person_created_at", _TS, False), ("source_updated_at", _TS, True), ("assigned_at", _TS, False),
    ("run_id", _S, False),
]])
"""One row per platform customer account: the person it belongs to. ``person_created_at`` is when that
person id was first issued (the older id survives a merge); ``source_updated_at`` is the silver
customers version last matched (a newer one is matched again)."""

IDENTITY_LINKS = T.StructType([T.StructField(n, t, nullable) for n, t, nullable in [
    ("left_platform_id", _S, False), ("left_customer_id", _S, False),
    ("right_platform_id", _S, False), ("right_customer_id", _S, False),
    ("rule", _S, False), ("match_weight", _D, False), ("match_probability", _D, False),
    ("evidence", T.ArrayType(_S), False), ("linked_at", _TS, False), ("run_id", _S, False),
]])
"""One row per linked pair of accounts (left < right by ``platform_id:customer_id``): the rule that
linked them, the Fellegi–Sunter match weight (log2 odds) and probability, and the evidence
(``comparison=level`` of every comparison that could be made)."""

PERSON_REDIRECTS = T.StructType([T.StructField(n, t, nullable) for n, t, nullable in [
    ("from_person_id", _S, False), ("to_person_id", _S, False), ("redirected_at", _TS, False),
    ("run_id", _S, False),
]])
"""One row per retired person id: the surviving person id it now means (chains resolved)."""

FS_PARAMETERS = T.StructType([T.StructField(n, t, nullable) for n, t, nullable in [
    ("comparison", _S, False), ("level", _I, False), ("level_name", _S, False), ("m", _D, False),
    ("u", _D, False),
]])
"""One row per comparison level (plus ``comparison='_prior'``, level 0, m = λ the match share among
candidate pairs): the estimated m and u probabilities."""

PRIOR = "_prior"
PHONE, ADDRESS, PROBABILISTIC = "phone", "address", "probabilistic"
NEW_NODE_PREFIX = "new:"


def _side(name: str, side: str) -> Column:
    return F.col(f"{side}_{name}")


def _exact(name: str) -> Column:
    left, right = _side(name, "l"), _side(name, "r")
    return F.when(left.isNull() | right.isNull(), F.lit(None)).when(left == right, 1).otherwise(0)


def _city() -> Column:
    same_province = (_side("country", "l") == _side("country", "r")) & (_side("province", "l") == _side("province", "r"))
    return (
        F.when(_side("city", "l").isNull() | _side("city", "r").isNull(), F.lit(None))
        .when(same_province & (_side("city", "l") == _side("city", "r")), 2)
        .when(same_province, 1)
        .otherwise(0)
    )


def _birth_year() -> Column:
    gap = F.abs(_side("birth_year", "l") - _side("birth_year", "r"))
    return F.when(gap.isNull(), F.lit(None)).when(gap == 0, 2).when(gap == 1, 1).otherwise(0)


@dataclass(frozen=True)
class Comparison:
    name: str
    levels: tuple[str, ...]          # level names; the index is the level value, 0 = disagree
    gamma: Callable[[], Column]      # level from the l_*/r_* columns of a pair; null = cannot compare


COMPARISONS: tuple[Comparison, ...] = (
    Comparison("phone", ("differ", "exact"), lambda: _exact("phone_hash")),
    Comparison("address", ("differ", "exact"), lambda: _exact("address_hash")),
    # country is left out: the city level already implies it, and FS assumes independent comparisons
    Comparison("city", ("differ", "same_province", "same_city"), _city),
    Comparison("birth_year", ("differ", "within_1", "exact"), _birth_year),
    Comparison("gender", ("differ", "exact"), lambda: _exact("gender")),
)
GAMMA_COLUMNS = tuple(f"gamma_{c.name}" for c in COMPARISONS)

DEFAULT_BLOCKING_RULES: tuple[tuple[str, ...], ...] = (
    ("phone_hash",), ("address_hash",),
)


def account_key(platform: Column, customer: Column) -> Column:
    return F.concat_ws(":", platform, customer)


def to_match_accounts(customers: DataFrame) -> DataFrame:
    """Silver customers → one row per account with ``account_key`` and the columns matching uses."""
    require_columns(customers, ACCOUNT_COLUMNS, what="customers")
    return customers.select(
        account_key(F.col("platform_id"), F.col("customer_id")).alias("account_key"),
        *ACCOUNT_COLUMNS,
    )


def _flatten_pairs(pairs: DataFrame) -> DataFrame:
    """(a, b) account structs → l_*/r_* columns with l the smaller account key; one row per pair."""
    a_first = F.col("a.account_key") < F.col("b.account_key")
    ordered = pairs.select(F.when(a_first, F.col("a")).otherwise(F.col("b")).alias("l"),
                           F.when(a_first, F.col("b")).otherwise(F.col("a")).alias("r"))
    names = ("account_key",) + ACCOUNT_COLUMNS
    return (
        ordered.select(*[F.col(f"l.{n}").alias(f"l_{n}") for n in names],
                       *[F.col(f"r.{n}").alias(f"r_{n}") for n in names])
        .dropDuplicates(["l_account_key", "r_account_key"])
    )


def to_candidate_pairs(
    accounts: DataFrame,
    *,
    blocking_rules: Sequence[Sequence[str]] = DEFAULT_BLOCKING_RULES,
    changed: DataFrame | None = None,
) -> DataFrame:
    """One row per candidate pair of accounts on different platforms that agree on every column of at
    least one blocking rule (nulls never agree). With ``changed`` (account_key), only pairs with at
    least one changed account — the incremental case."""
    acct = accounts.select(*[F.col(c) for c in accounts.columns],
                           F.struct(*[F.col(c) for c in ("account_key",) + ACCOUNT_COLUMNS]).alias("s"))
    left = acct if changed is None else acct.join(changed.select("account_key"), "account_key", "left_semi")
    parts = []
    for rule in blocking_rules:
        if not rule:
            raise ValueError("a blocking rule needs at least one column")
        cond = [F.col(f"x.{c}") == F.col(f"y.{c}") for c in rule]
        cond += [F.col("x.platform_id") != F.col("y.platform_id")]
        if changed is None:
            cond.append(F.col("x.account_key") < F.col("y.account_key"))
        joined = left.alias("x").join(acct.alias("y"), on=[c for c in cond])
        parts.append(joined.select(F.col("x.s").alias("a"), F.col("y.s").alias("b")))
    union = parts[0]
    for p in parts[1:]:
        union = union.unionByName(p)
    return _flatten_pairs(union)


def to_random_pairs(accounts: DataFrame, *, sample_size: int) -> DataFrame:
    """Pairs of two deterministic pseudo-random samples of accounts (by hash), for estimating u:
    almost every random pair is two different people."""
    def sample(salt: str) -> DataFrame:
        return (accounts.orderBy(F.xxhash64(F.lit(salt), F.col("account_key")), "account_key").limit(sample_size)
                .select(F.struct(*[F.col(c) for c in ("account_key",) + ACCOUNT_COLUMNS]).alias("s")))
    pairs = (sample("u_left").alias("x").crossJoin(sample("u_right").alias("y"))
             .where(F.col("x.s.account_key") != F.col("y.s.account_key"))
             .select(F.col("x.s").alias("a"), F.col("y.s").alias("b")))
    return _flatten_pairs(pairs)


def with_comparison_levels(pairs: DataFrame) -> DataFrame:
    """Add one ``gamma_<comparison>`` INT column per comparison (null when either side is missing)."""
    for c in COMPARISONS:
        pairs = pairs.withColumn(f"gamma_{c.name}", c.gamma().cast("int"))
    return pairs


def to_pattern_counts(pairs: DataFrame) -> DataFrame:
    """One row per distinct comparison vector among ``pairs`` (with gamma columns) and its count."""
    return pairs.groupBy(*GAMMA_COLUMNS).agg(F.count(F.lit(1)).alias("pairs"))


def parameters_frame_rows(params: Mapping[str, Sequence[tuple[float, float]]], prior: float) -> list[tuple]:
    """FS_PARAMETERS rows from ``{comparison: [(m, u) per level]}`` and the prior λ."""
    rows = [(PRIOR, 0, "match_share", float(prior), float(1 - prior))]
    for c in COMPARISONS:
        for level, (m, u) in enumerate(params[c.name]):
            rows.append((c.name, level, c.levels[level], float(m), float(u)))
    return rows


def with_match_scores(pairs: DataFrame, *, params: Mapping[str, Sequence[tuple[float, float]]],
                      prior: float) -> DataFrame:
    """Add ``match_weight`` = log2(λ/(1−λ)) + Σ log2(m/u) over comparable comparisons, and
    ``match_probability`` = 2^w / (1 + 2^w); plus ``evidence`` (``comparison=level`` per comparable one)."""
    if not 0 < prior < 1:
        raise ValueError(f"prior match share must be in (0, 1), found {prior}")
    weight = F.lit(math.log2(prior / (1 - prior)))
    evidence = []
    for c in COMPARISONS:
        g = F.col(f"gamma_{c.name}")
        level_weight = F.lit(0.0)
        level_name = F.lit(None).cast("string")
        for level, (m, u) in enumerate(params[c.name]):
            level_weight = F.when(g == level, F.lit(math.log2(m / u))).otherwise(level_weight)
            level_name = F.when(g == level, F.lit(f"{c.name}={c.levels[level]}")).otherwise(level_name)
        weight = weight + F.coalesce(level_weight, F.lit(0.0))
        evidence.append(level_name)
    w = F.col("match_weight")
    return (
        pairs.withColumn("match_weight", weight)
        .withColumn("match_probability", F.when(w > 60, F.lit(1.0)).when(w < -60, F.lit(0.0))
                    .otherwise(F.pow(F.lit(2.0), w) / (F.lit(1.0) + F.pow(F.lit(2.0), w))))
        .withColumn("evidence", F.filter(F.array(*evidence), lambda x: x.isNotNull()))
    )


def with_link_rule(pairs: DataFrame, *, threshold: float) -> DataFrame:
    """Add ``rule``: phone (same phone hash), address (same address hash, gender and birth year not
    conflicting), probabilistic (match probability ≥ ``threshold``), else null (not linked)."""
    compatible = (F.coalesce(F.col("gamma_gender"), F.lit(1)) > 0) & (F.coalesce(F.col("gamma_birth_year"), F.lit(1)) > 0)
    return pairs.withColumn(
        "rule",
        F.when(F.col("gamma_phone") == 1, F.lit(PHONE))
        .when((F.col("gamma_address") == 1) & compatible, F.lit(ADDRESS))
        .when(F.col("match_probability") >= threshold, F.lit(PROBABILISTIC)),
    )


def to_links(scored: DataFrame, *, linked_at, run_id: str) -> DataFrame:
    """IDENTITY_LINKS rows for the scored pairs that have a rule."""
    return scored.where(F.col("rule").isNotNull()).select(
        F.col("l_platform_id").alias("left_platform_id"), F.col("l_customer_id").alias("left_customer_id"),
        F.col("r_platform_id").alias("right_platform_id"), F.col("r_customer_id").alias("right_customer_id"),
        "rule", "match_weight", "match_probability", "evidence",
        F.lit(linked_at).cast("timestamp").alias("linked_at"), F.lit(run_id).alias("run_id"),
    )


# ---------------------------------------------------------------------------------------------------
# Persons


def account_nodes(accounts: DataFrame, *, existing: DataFrame) -> DataFrame:
    """One row per account (account_key): its graph node — its current person_id, or ``new:<key>``."""
    current = existing.select(account_key(F.col("platform_id"), F.col("customer_id")).alias("account_key"),
                              "person_id")
    return (accounts.select("account_key").join(current, "account_key", "left")
            .select("account_key", F.coalesce("person_id", F.concat(F.lit(NEW_NODE_PREFIX), "account_key"))
                    .alias("node")))


def to_node_edges(links: DataFrame, *, nodes: DataFrame) -> DataFrame:
    """Links between accounts → distinct edges (src, dst) between their nodes (src ≠ dst)."""
    left = nodes.select(F.col("account_key").alias("lk"), F.col("node").alias("src"))
    right = nodes.select(F.col("account_key").alias("rk"), F.col("node").alias("dst"))
    return (
        links.select(account_key(F.col("left_platform_id"), F.col("left_customer_id")).alias("lk"),
                     account_key(F.col("right_platform_id"), F.col("right_customer_id")).alias("rk"))
        .join(left, "lk").join(right, "rk")
        .where(F.col("src") != F.col("dst"))
        .select("src", "dst").distinct()
    )


def propagate_min_label(labels: DataFrame, *, edges: DataFrame) -> DataFrame:
    """One step of min-label propagation: each node (node, label) takes the smallest label among itself
    and its neighbours (edges are undirected). Repeated until nothing changes → connected components."""
    both = edges.select("src", "dst").unionByName(edges.select(F.col("dst").alias("src"), F.col("src").alias("dst")))
    offered = both.join(labels.withColumnRenamed("node", "src"), "src").select(F.col("dst").alias("node"), "label")
    return labels.unionByName(offered).groupBy("node").agg(F.min("label").alias("label"))


def to_person_assignments(components: DataFrame, *, person_created: DataFrame, run_at) -> DataFrame:
    """Per node (node, label = component): the surviving ``person_id`` and its ``person_created_at``.

    A component keeps its oldest existing person (earliest ``person_created_at``, then the smaller id);
    a component of new accounts only gets ``P`` + 16 hex of SHA-256 of its smallest account key, so
    the id does not depend on the run."""
    existing = components.join(person_created.withColumnRenamed("person_id", "node"), "node", "left")
    ranked = existing.where(F.col("person_created_at").isNotNull()).groupBy("label").agg(
        F.min(F.struct("person_created_at", "node")).alias("oldest"))
    fresh = components.where(F.col("node").startswith(NEW_NODE_PREFIX)).groupBy("label").agg(
        F.min(F.substring(F.col("node"), len(NEW_NODE_PREFIX) + 1, 10_000)).alias("min_key"))
    survivors = (
        ranked.join(fresh, "label", "full")
        .select("label",
                F.coalesce(F.col("oldest.node"),
                           F.concat(F.lit("P"), F.substring(F.sha2(F.col("min_key"), 256), 1, 16))).alias("person_id"),
                F.coalesce(F.col("oldest.person_created_at"), F.lit(run_at).cast("timestamp"))
                .alias("person_created_at"))
    )
    return components.join(survivors, "label").select("node", "person_id", "person_created_at")


def to_redirects(assignments: DataFrame, *, redirected_at, run_id: str) -> DataFrame:
    """PERSON_REDIRECTS rows: every existing person node whose component kept another id."""
    return assignments.where(~F.col("node").startswith(NEW_NODE_PREFIX) & (F.col("node") != F.col("person_id"))).select(
        F.col("node").alias("from_person_id"), F.col("person_id").alias("to_person_id"),
        F.lit(redirected_at).cast("timestamp").alias("redirected_at"), F.lit(run_id).alias("run_id"),
    )


def resolve_redirect_chains(existing: DataFrame, *, new: DataFrame) -> DataFrame:
    """Existing redirects whose target was just retired, pointed at the new survivor (A→B, B→C ⇒ A→C),
    plus the new redirects."""
    moved = (existing.join(new.select(F.col("from_person_id").alias("to_person_id"),
                                      F.col("to_person_id").alias("_to"), F.col("redirected_at").alias("_at"),
                                      F.col("run_id").alias("_run")), "to_person_id")
             .select("from_person_id", F.col("_to").alias("to_person_id"), F.col("_at").alias("redirected_at"),
                     F.col("_run").alias("run_id")))
    return moved.unionByName(new.select(*PERSON_REDIRECTS.fieldNames()))
