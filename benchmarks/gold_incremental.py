"""Gold's incremental run before and after a code change, replayed on a copy of one lake's last gold run.

Takes a lake whose gold was built and then brought up to date by one incremental run (the SF 1 marts benchmark
lake of ``benchmarks/bench_reports.py --resume``: batches 1-24, then batch 25 alone), copies its gold tables, and
takes each copy back to the version before that last run by cutting its newest commit off the copy's Delta log
(the last incremental run wrote one commit to each: the settlement MERGE, the mismatches and state overwrites, the
sales days' replace). Then the same incremental ``brandlake gold`` runs twice on fresh copies, with the code of
``--before`` (a commit, laid out as in ``benchmarks/gold_identical.py``) and with this tree's; silver is the lake's
own, linked and only read. Reports each run's wall time (one JVM each, started by the run) and its summary (each
step's time is in ``<out>/gold_<side>.log``), and compares the gold tables the two runs wrote with DuckDB (the same
rows, ``EXCEPT ALL`` both ways).

    BRANDLAKE_PII_KEY=bench python -m benchmarks.gold_incremental --lake L --before de706ff --out /tmp/gold_inc

Not a test: the result goes to ``<out>/gold_incremental.json`` and into BENCHMARKS.md by hand. Exit 1 when a
table differs.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import time
from pathlib import Path

from benchmarks.gold_identical import PY, ROOT, compare_table, namespace_tree

TABLES = ("order_line_settlement", "sales_daily", "settlement_mismatches", "_gold_state")


def cut_last_commit(table: Path) -> int:
    """Remove the newest commit from ``table``'s Delta log (a copy): the table reads as of the version before.
    Returns that version. Refuses a table whose newest commit is covered by a checkpoint."""
    log = table / "_delta_log"
    commits = sorted(log.glob("[0-9]" * 20 + ".json"))
    if len(commits) < 2:
        raise SystemExit(f"{table} has {len(commits)} commit(s): no incremental run to replay")
    last = int(commits[-1].stem)
    checkpoint = log / "_last_checkpoint"
    if checkpoint.exists() and json.loads(checkpoint.read_text())["version"] >= last:
        raise SystemExit(f"{table}: version {last} is checkpointed; cannot cut it off the log")
    for f in [*log.glob(f"{last:020d}.*"), *log.glob(f".{last:020d}.*")]:  # and the local file system's .crc
        f.unlink()
    return last - 1


def replay(base: Path, lake: Path, pythonpath: Path | None, log_file: Path) -> dict:
    shutil.rmtree(lake, ignore_errors=True)
    lake.mkdir(parents=True)
    shutil.copytree(base / "gold", lake / "gold")
    (lake / "silver").symlink_to(base / "silver")
    shutil.copytree(base / "_secrets", lake / "_secrets")
    env = dict(os.environ)
    if pythonpath is not None:
        env["PYTHONPATH"] = f"{pythonpath}{os.pathsep}{env.get('PYTHONPATH', '')}"
    t0 = time.perf_counter()
    with log_file.open("w") as log:
        rc = subprocess.run([PY, "-m", "brandlake.cli", "gold", "--env", "local", "--lake-root", str(lake)],
                            stdout=log, stderr=subprocess.STDOUT, env=env, cwd=str(lake.parent)).returncode
    seconds = round(time.perf_counter() - t0, 1)
    if rc != 0:
        raise SystemExit(f"gold exited {rc} on {lake}; see {log_file}")
    summary = json.loads((lake / "_runs" / "latest.json").read_text())
    return {"wall_s": seconds, "gold": summary.get("details", {}).get("gold")}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--lake", required=True, help="a lake whose last gold run was incremental")
    p.add_argument("--before", required=True, help="the commit whose code runs first")
    p.add_argument("--out", required=True)
    a = p.parse_args()
    if "BRANDLAKE_PII_KEY" not in os.environ:
        raise SystemExit("set BRANDLAKE_PII_KEY to the key the lake's silver was hashed with")
    source, out = Path(a.lake).resolve(), Path(a.out).resolve()
    base = out / "base"
    shutil.rmtree(base, ignore_errors=True)
    (base / "gold").mkdir(parents=True)
    (base / "silver").symlink_to(source / "silver")
    shutil.copytree(source / "_secrets", base / "_secrets")
    versions = {}
    for name in TABLES:
        shutil.copytree(source / "gold" / name, base / "gold" / name)
        versions[name] = cut_last_commit(base / "gold" / name)
    worktree = out / "src_before"
    if not worktree.is_dir():
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(worktree), a.before], check=True)
    commit = subprocess.run(["git", "-C", str(worktree), "rev-parse", "HEAD"], capture_output=True, text=True,
                            check=True).stdout.strip()
    dirty = bool(subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"],
                                capture_output=True, text=True, check=True).stdout.strip())
    after = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True,
                           check=True).stdout.strip() + (" with uncommitted changes" if dirty else "")
    pkg = namespace_tree(worktree, out / "pkg_before")
    result: dict = {"lake": str(source), "gold_versions_replayed_from": versions, "before": commit, "after": after,
                    "runs": {}}
    for side, path in (("before", pkg), ("after", None)):
        result["runs"][side] = replay(base, out / f"lake_{side}", path, out / f"gold_{side}.log")
        print(side, json.dumps(result["runs"][side]["gold"]), result["runs"][side]["wall_s"], "s", flush=True)
    import duckdb

    result["tables"] = {name: compare_table(duckdb.connect(), out / "lake_before" / "gold" / name,
                                            out / "lake_after" / "gold" / name)
                        for name in TABLES if not name.startswith("_")}
    b, f = result["runs"]["before"]["wall_s"], result["runs"]["after"]["wall_s"]
    result["after_over_before"] = round(f / b, 3) if b else None
    (out / "gold_incremental.json").write_text(json.dumps(result, indent=2, default=str))
    print(json.dumps({k: result[k] for k in ("tables", "after_over_before")}, indent=2))
    return 0 if all(t["equal"] for t in result["tables"].values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
