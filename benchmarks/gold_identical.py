"""Gold before and after a code change, on the same landing data: proof that a speed-up changed no output.

Runs ``brandlake ingest``, ``silver`` and ``gold`` twice on copies of one landing zone: once with the code of
``--before`` (a commit, checked out into a git worktree and put first on PYTHONPATH, laid out as the one
``brandlake`` namespace that pyproject.toml's package-dir table describes) and once with this tree's code. Then
compares every gold table (and every silver table) of the two lakes with DuckDB over their current Parquet files:
the same columns, the same row count, and no row in one that is not in the other (``EXCEPT ALL`` both ways, so
duplicates count). Columns that a run stamps by itself (its run id, its time) are left out of the comparison and
listed in the output.

    BRANDLAKE_PII_KEY=bench python -m benchmarks.gold_identical --before 4173c6e --scale 0.1 --out /tmp/gold_id

``--compare-lakes BEFORE AFTER`` only compares two lakes already built from one landing zone (for example the
lakes of two ``benchmarks/run.py`` runs, one per commit), without building anything.

Not a test: the result goes to ``<out>/gold_identical.json`` and into BENCHMARKS.md by hand. Exit 1 when a table
differs.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.delta_arrow import load_delta

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
# Stamped by the run itself, not derived from the data: never equal between two runs. A quarantined row's raw
# record holds its bronze row as JSON, with the landing file's path (under each lake's own root) and its
# ingestion time; its hash is of that record.
RUN_STAMPED = ("_run_id", "_ingested_at", "_source_file", "run_id", "evaluated_at", "quarantined_at", "raw_record",
               "record_hash")


def namespace_tree(src: Path, dest: Path) -> Path:
    """``dest/brandlake/...`` as symlinks into the source tree ``src``, following its package-dir table."""
    from brandlake.packaging import package_dirs

    mapping = package_dirs(src)  # the package-dir table of that tree's own pyproject.toml
    top = dest / "brandlake"
    shutil.rmtree(dest, ignore_errors=True)
    top.mkdir(parents=True)
    for entry in (src / mapping["brandlake"]).iterdir():
        (top / entry.name).symlink_to(entry)
    for package, folder in mapping.items():
        if package != "brandlake":
            (top / package.split(".", 1)[1]).symlink_to(src / folder)
    return dest


def run_pipeline(lake: Path, pythonpath: Path | None, log_file: Path) -> dict:
    env = dict(os.environ)
    if pythonpath is not None:
        env["PYTHONPATH"] = f"{pythonpath}{os.pathsep}{env.get('PYTHONPATH', '')}"
    seconds = {}
    with log_file.open("w") as log:
        for stage in ("ingest", "silver", "gold"):
            t0 = time.perf_counter()
            rc = subprocess.run([PY, "-m", "brandlake.cli", stage, "--env", "local", "--lake-root", str(lake)],
                                stdout=log, stderr=subprocess.STDOUT, env=env, cwd=str(lake.parent)).returncode
            seconds[stage] = round(time.perf_counter() - t0, 1)
            if rc not in (0, 3):  # 3: data held back (quarantined) is an expected outcome on generated defects
                raise SystemExit(f"{stage} exited {rc} on {lake}; see {log_file}")
    return seconds


def delta_tables(layer: Path) -> list[str]:
    """The data tables of a layer (a job's own state tables, named ``_…``, record the versions it read)."""
    if not layer.is_dir():
        return []
    return sorted(p.name for p in layer.iterdir() if (p / "_delta_log").is_dir() and not p.name.startswith("_"))


def compare_table(con, a: Path, b: Path) -> dict:
    from deltalake import DeltaTable

    ta, tb = DeltaTable(str(a)), DeltaTable(str(b))
    cols_a = [f.name for f in ta.schema().fields]
    cols_b = [f.name for f in tb.schema().fields]
    if cols_a != cols_b:
        return {"equal": False, "why": f"columns differ: {cols_a} vs {cols_b}"}
    kept = [c for c in cols_a if c not in RUN_STAMPED]
    for view, table in (("a", ta), ("b", tb)):
        load_delta(con, view, table, columns=kept)
    n_a = con.execute("SELECT count(*) FROM a").fetchone()[0]
    n_b = con.execute("SELECT count(*) FROM b").fetchone()[0]
    only_a = con.execute("SELECT count(*) FROM (SELECT * FROM a EXCEPT ALL SELECT * FROM b)").fetchone()[0]
    only_b = con.execute("SELECT count(*) FROM (SELECT * FROM b EXCEPT ALL SELECT * FROM a)").fetchone()[0]
    return {"equal": n_a == n_b and only_a == 0 and only_b == 0, "rows": n_a, "rows_after": n_b,
            "only_before": only_a, "only_after": only_b,
            "left_out": [c for c in cols_a if c in RUN_STAMPED]}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--before", help="the commit whose code builds the 'before' lake (required unless --compare-lakes)")
    p.add_argument("--scale", type=float, default=0.1, help="generate this scale (ignored with --landing)")
    p.add_argument("--landing", help="an existing landing folder to use instead of generating one")
    p.add_argument("--out", help="where the two lakes are built (required unless --compare-lakes)")
    p.add_argument("--compare-lakes", nargs=2, metavar=("BEFORE", "AFTER"),
                   help="only compare two lakes already built from one landing zone (e.g. two benchmark runs)")
    a = p.parse_args()
    if a.compare_lakes:
        result = compare_lakes(*(Path(x).resolve() for x in a.compare_lakes))
        print(json.dumps(result, indent=2))
        return 1 if any(t.startswith("gold.") for t in result["differing"]) else 0
    if not a.out or not a.before:
        p.error("--before and --out are required unless --compare-lakes")
    out = Path(a.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    if "BRANDLAKE_PII_KEY" not in os.environ:
        raise SystemExit("set BRANDLAKE_PII_KEY (both runs must hash PII with the same key)")
    landing = Path(a.landing).resolve() if a.landing else out / "source" / "landing"
    if not a.landing and not landing.is_dir():
        (out / "source").mkdir(exist_ok=True)
        subprocess.run([PY, "-m", "brandlake.cli", "generate", "--env", "local", "--lake-root",
                        str(out / "source"), "--scale", str(a.scale)], check=True)
    worktree = out / "src_before"
    if not worktree.is_dir():
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(worktree), a.before], check=True)
    commit = subprocess.run(["git", "-C", str(worktree), "rev-parse", "HEAD"], capture_output=True, text=True,
                            check=True).stdout.strip()
    after_commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True,
                                  check=True).stdout.strip()
    dirty = bool(subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"],
                                capture_output=True, text=True, check=True).stdout.strip())
    pkg = namespace_tree(worktree, out / "pkg_before")
    result: dict = {"before": commit, "after": after_commit + (" with uncommitted changes" if dirty else ""),
                    "landing": str(landing), "seconds": {}}
    for side, path in (("before", pkg), ("after", None)):
        lake = out / f"lake_{side}"
        shutil.rmtree(lake, ignore_errors=True)
        lake.mkdir()
        shutil.copytree(landing, lake / "landing", copy_function=os.link)  # hard links: same bytes, no copy
        result["seconds"][side] = run_pipeline(lake, path, out / f"{side}.log")
    result.update(compare_lakes(out / "lake_before", out / "lake_after"))
    (out / "gold_identical.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
    return 1 if any(t.startswith("gold.") for t in result["differing"]) else 0


def compare_lakes(before: Path, after: Path) -> dict:
    """Every gold and silver table of two lakes, row for row (run-stamped columns left out)."""
    import duckdb

    def connection():  # one per table: a connection holding a registered frame refuses the next one
        con = duckdb.connect()
        con.execute("SET threads TO 2")
        return con

    tables: dict = {}
    for layer in ("gold", "silver"):
        names = sorted(set(delta_tables(before / layer)) | set(delta_tables(after / layer)))
        for name in names:
            a_path, b_path = before / layer / name, after / layer / name
            if not (a_path / "_delta_log").is_dir() or not (b_path / "_delta_log").is_dir():
                tables[f"{layer}.{name}"] = {"equal": False, "why": "in one lake only"}
                continue
            tables[f"{layer}.{name}"] = compare_table(connection(), a_path, b_path)
    return {"tables": tables, "differing": [t for t, r in tables.items() if not r["equal"]]}


if __name__ == "__main__":
    sys.exit(main())
