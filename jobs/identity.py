"""`brandlake identity`: silver customers → gold `identity_accounts` (account → person_id),
`identity_links` (evidence and score per linked pair), `person_redirects` and `identity_fs_parameters`.

Incremental: only accounts that are new or have a newer silver version than the one last matched are
compared (against every account); a new account joins an existing person or links persons, and a merge
keeps the oldest person id and records the others as redirects. The first run (or ``--full``, which
re-compares every account but still keeps existing ids) estimates the Fellegi–Sunter parameters by EM;
later runs reuse them. Reads only keyed hashes and coarse attributes — never raw phone or address.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging

from brandlake.models.identity_em import estimate_m, estimate_u
from brandlake.transforms import identity as idt
from brandlake.transforms.gold_tables import gold_path
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from brandlake import tables
from brandlake.errors import DataHeldBackError
from brandlake.runtime import JobContext

log = logging.getLogger(__name__)

ACCOUNTS, LINKS, REDIRECTS, PARAMETERS = (
    "identity_accounts", "identity_links", "person_redirects", "identity_fs_parameters",
)
LINK_KEYS = ("left_platform_id", "left_customer_id", "right_platform_id", "right_customer_id")


class IdentityNotConvergedError(DataHeldBackError):
    """Connected components did not settle within identity.max_label_iterations (nothing was written
    to identity_accounts)."""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--full", action="store_true",
                   help="compare every account again and re-estimate the match parameters (ids are kept)")


def _estimate_parameters(accounts: DataFrame, pairs: DataFrame, *, sample_size: int):
    levels = {c.name: len(c.levels) for c in idt.COMPARISONS}
    def collect(df: DataFrame) -> list[tuple[tuple, int]]:
        return [(tuple(r[g] for g in idt.GAMMA_COLUMNS), int(r["pairs"])) for r in idt.to_pattern_counts(df).collect()]
    random_pairs = idt.to_random_pairs(accounts, sample_size=sample_size).transform(idt.with_comparison_levels)
    u = estimate_u(collect(random_pairs), levels)
    return estimate_m(collect(pairs), levels, u=u)


def _components(ctx: JobContext, labels: DataFrame, edges: DataFrame, max_iterations: int) -> tuple[DataFrame, int]:
    """Min-label propagation until no label changes (each step checkpointed to keep plans short)."""
    if edges.isEmpty():
        return labels, 0
    edges = edges.localCheckpoint()
    labels = labels.localCheckpoint()
    for step in range(1, max_iterations + 1):
        nxt = idt.propagate_min_label(labels, edges=edges).localCheckpoint()
        changed = nxt.join(labels.withColumnRenamed("label", "_old"), "node").where(F.col("label") != F.col("_old"))
        if changed.isEmpty():
            return nxt, step
        labels = nxt
    raise IdentityNotConvergedError(f"person components still changing after {max_iterations} label-propagation "
                                    "steps; raise identity.max_label_iterations")


def run(ctx: JobContext, args: argparse.Namespace) -> None:
    spark, cfg, icfg = ctx.spark, ctx.cfg, ctx.cfg.identity
    paths = {n: gold_path(cfg.lake.gold, n) for n in (ACCOUNTS, LINKS, REDIRECTS, PARAMETERS)}
    silver = tables.read_required(spark, {"customers": f"{cfg.lake.silver}/customers"}, command="identity",
                                  hint="run `brandlake silver` first")
    run_at = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
    run_id = ctx.summary.run_id

    accounts = idt.to_match_accounts(silver["customers"]).persist()
    existing = tables.read_or_empty(spark, paths[ACCOUNTS], idt.IDENTITY_ACCOUNTS).persist()
    first = not tables.exists(spark, paths[ACCOUNTS])
    full = first or args.full or not tables.exists(spark, paths[PARAMETERS])
    seen = existing.select(idt.account_key(F.col("platform_id"), F.col("customer_id")).alias("account_key"),
                           F.col("source_updated_at").alias("updated_at"))
    changed = accounts if full else accounts.join(seen, ["account_key", "updated_at"], "left_anti")
    changed = changed.select("account_key").persist()
    n_accounts, n_changed = accounts.count(), changed.count()
    log.info("identity: %d accounts, %d to match (%s run)", n_accounts, n_changed, "full" if full else "incremental")
    if n_changed == 0:  # nothing new or changed since the last run: every table stays as it is
        ctx.summary.add_counts(ACCOUNTS, rows_read=n_accounts, rows_written=0)
        ctx.summary.details["identity"] = {"mode": "incremental", "accounts": n_accounts, "accounts_matched": 0,
                                           "candidate_pairs": 0, "links": 0, "links_by_rule": {}, "label_steps": 0,
                                           "redirects": 0, "persons": None}
        for df in (accounts, existing, changed):
            df.unpersist()
        return

    pairs = (idt.to_candidate_pairs(accounts, blocking_rules=icfg.blocking_rules, changed=None if full else changed)
             .transform(idt.with_comparison_levels).persist())
    if full:
        fs = _estimate_parameters(accounts, pairs, sample_size=icfg.u_sample_size)
        params, prior = fs.pairs(), fs.prior
        tables.overwrite(spark.createDataFrame(idt.parameters_frame_rows(params, prior), idt.FS_PARAMETERS),
                         paths[PARAMETERS])
        ctx.summary.details["identity_em"] = {"iterations": fs.iterations, "converged": fs.converged,
                                              "prior": prior}
    else:
        rows = tables.read(spark, paths[PARAMETERS]).collect()
        prior = next(r["m"] for r in rows if r["comparison"] == idt.PRIOR)
        params = {c.name: [(r["m"], r["u"]) for r in sorted((r for r in rows if r["comparison"] == c.name),
                                                            key=lambda r: r["level"])] for c in idt.COMPARISONS}

    scored = pairs.transform(idt.with_match_scores, params=params, prior=prior).transform(
        idt.with_link_rule, threshold=icfg.match_threshold)
    links = idt.to_links(scored, linked_at=run_at, run_id=run_id).persist()
    n_pairs, n_links = pairs.count(), links.count()
    rules = {r["rule"]: r["n"] for r in links.groupBy("rule").agg(F.count(F.lit(1)).alias("n")).collect()}

    # persons: components over nodes (existing person ids, or new:<account> for unassigned accounts)
    nodes = idt.account_nodes(accounts, existing=existing).persist()
    edges = idt.to_node_edges(links, nodes=nodes)
    start = (nodes.join(changed, "account_key", "left_semi").select("node")
             .unionByName(edges.select(F.col("src").alias("node"))).unionByName(edges.select(F.col("dst").alias("node")))
             .distinct().withColumn("label", F.col("node")))
    components, steps = _components(ctx, start, edges, icfg.max_label_iterations)
    person_created = existing.groupBy("person_id").agg(F.min("person_created_at").alias("person_created_at"))
    assignments = idt.to_person_assignments(components, person_created=person_created, run_at=run_at).persist()
    redirects = idt.to_redirects(assignments, redirected_at=run_at, run_id=run_id).persist()

    changed_rows = (
        nodes.join(changed, "account_key", "left_semi").join(assignments, "node")
        .join(accounts.select("account_key", "platform_id", "customer_id", F.col("updated_at").alias("source_updated_at")),
              "account_key")
        .select("platform_id", "customer_id", "person_id", "person_created_at", "source_updated_at")
    )
    moved_rows = (
        existing.join(redirects.select(F.col("from_person_id").alias("person_id"), F.col("to_person_id")), "person_id")
        .join(assignments.select(F.col("person_id").alias("to_person_id"), F.col("person_created_at").alias("_pc"))
              .distinct(), "to_person_id")
        .select("platform_id", "customer_id", F.col("to_person_id").alias("person_id"),
                F.col("_pc").alias("person_created_at"), "source_updated_at")
        .join(changed_rows.select("platform_id", "customer_id"), ["platform_id", "customer_id"], "left_anti")
    )
    account_rows = (changed_rows.unionByName(moved_rows)
                    .withColumn("assigned_at", F.lit(run_at).cast("timestamp"))
                    .withColumn("run_id", F.lit(run_id))
                    .select(*[F.col(f.name).cast(f.dataType) for f in idt.IDENTITY_ACCOUNTS.fields]))
    n_redirects = redirects.count()

    if first:
        tables.overwrite(links, paths[LINKS])
    else:
        tables.merge_upsert(links, paths[LINKS], keys=LINK_KEYS)
    if n_redirects or not tables.exists(spark, paths[REDIRECTS]):
        old_redirects = tables.read_or_empty(spark, paths[REDIRECTS], idt.PERSON_REDIRECTS)
        tables.merge_upsert(idt.resolve_redirect_chains(old_redirects, new=redirects).localCheckpoint(),
                            paths[REDIRECTS], keys=("from_person_id",))
    tables.merge_upsert(account_rows.localCheckpoint(), paths[ACCOUNTS], keys=("platform_id", "customer_id"))
    persons = tables.read(spark, paths[ACCOUNTS]).select("person_id").distinct().count()

    ctx.summary.add_counts(ACCOUNTS, rows_read=n_accounts, rows_written=n_changed)
    ctx.summary.add_counts(LINKS, rows_written=n_links)
    ctx.summary.details["identity"] = {
        "mode": "full" if full else "incremental", "accounts": n_accounts, "accounts_matched": n_changed,
        "candidate_pairs": n_pairs, "links": n_links, "links_by_rule": rules, "label_steps": steps,
        "redirects": n_redirects, "persons": persons,
    }
    log.info("identity: %d candidate pairs, %d links %s, %d redirects, %d persons", n_pairs, n_links, rules,
             n_redirects, persons)
    for df in (accounts, existing, changed, pairs, links, nodes, assignments, redirects):
        df.unpersist()
