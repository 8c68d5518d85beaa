"""Delta Lake's jars: resolved from Maven Central once, cached locally, handed to Spark by path.

The Python package `delta-spark` carries no jar; the matching `io.delta` artifacts are fetched with
Maven into a cache folder so that a second run needs no network.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

log = logging.getLogger(__name__)

SCALA_BINARY = "2.13"


class JarFetchError(RuntimeError):
    """Delta's jars are not in the cache and could not be fetched."""


def delta_version() -> str:
    return version("delta-spark")


def required_artifacts(delta: str | None = None) -> list[tuple[str, str, str]]:
    v = delta or delta_version()
    return [("io.delta", f"delta-spark_{SCALA_BINARY}", v), ("io.delta", "delta-storage", v)]


def cache_dir() -> Path:
    return Path(os.environ.get("BRANDLAKE_JAR_CACHE", Path.home() / ".cache" / "brandlake" / "jars"))


def _jar_name(artifact: str, ver: str) -> str:
    return f"{artifact}-{ver}.jar"


def cached_jars(cache: Path | None = None) -> list[Path]:
    """Paths of the required jars if all are cached, else raise JarFetchError naming the missing ones."""
    cache = cache or cache_dir()
    paths = [cache / _jar_name(a, v) for _, a, v in required_artifacts()]
    missing = [p.name for p in paths if not p.is_file() or p.stat().st_size == 0]
    if missing:
        raise JarFetchError(
            f"Delta jars missing from {cache}: {', '.join(missing)}. Run `make setup` "
            f"(or `python -m brandlake.jars ensure`) on a machine that reaches Maven Central."
        )
    return paths


def ensure_jars(cache: Path | None = None) -> list[Path]:
    """Return the cached jar paths, fetching any that are missing with Maven (strict checksums)."""
    cache = cache or cache_dir()
    try:
        return cached_jars(cache)
    except JarFetchError:
        pass
    mvn = shutil.which("mvn")
    if mvn is None:
        raise JarFetchError(
            "Maven (`mvn`) is not on PATH, so Delta's jars cannot be fetched into "
            f"{cache}. Install Maven (Debian: `apt-get install maven`) and run `make setup` again."
        )
    cache.mkdir(parents=True, exist_ok=True)
    for group, artifact, ver in required_artifacts():
        target = cache / _jar_name(artifact, ver)
        if target.is_file() and target.stat().st_size > 0:
            continue
        coord = f"{group}:{artifact}:{ver}:jar"
        log.info("fetching %s", coord)
        proc = subprocess.run(
            [mvn, "-q", "-B", "-C", "dependency:copy", f"-Dartifact={coord}",
             f"-DoutputDirectory={cache}", "-Dmdep.overWriteReleases=true"],
            capture_output=True, text=True,
        )
        if proc.returncode != 0 or not target.is_file():
            tail = (proc.stdout + proc.stderr).strip().splitlines()[-15:]
            raise JarFetchError(
                f"could not fetch {coord} from Maven Central into {cache} (mvn exit {proc.returncode}).\n"
                + "\n".join(tail)
                + "\nCheck network access to Maven Central, or copy the jar into that folder "
                "(set BRANDLAKE_JAR_CACHE to use another one)."
            )
    return cached_jars(cache)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] != ["ensure"]:
        print("usage: python -m brandlake.jars ensure", file=sys.stderr)
        return 2
    try:
        paths = ensure_jars()
    except JarFetchError as e:
        print(f"brandlake: {e}", file=sys.stderr)
        return 1
    for p in paths:
        print(f"jar: {p}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
