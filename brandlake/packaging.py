"""Build ``dist/brandlake-<version>.zip``: the project's packages (and conf/expectations data) for
``spark-submit --py-files``, laid out as the one ``brandlake`` namespace that pyproject.toml's
``[tool.setuptools.package-dir]`` maps the top-level folders to (``jobs/`` ships as ``brandlake/jobs/``).
The synthetic generator is demo data, not a job dependency: it ships only with ``--with-generator``. The zip is deterministic (sorted entries, fixed timestamps and modes),
so building twice from the same tree yields the same bytes and an unchanged file is left alone.

    python -m brandlake.packaging [--out-dir dist] [--check]
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import os
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from pathlib import Path

log = logging.getLogger(__name__)

GENERATOR_PACKAGE = "brandlake.synthetic"
# Files shipped from inside the packages; conf/*.yaml and conf/sources/*.yaml are read with
# importlib.resources, which works from a zip (zipimport) as long as they are in it.
INCLUDE_SUFFIXES = (".py", ".yaml", ".yml", ".json")
SKIP_DIRS = {"__pycache__"}
FIXED_DATE = (1980, 1, 1, 0, 0, 0)  # the earliest date a zip entry can carry
FILE_MODE = 0o644
COMPRESS_LEVEL = 9


class PackagingError(RuntimeError):
    """The source tree cannot be packaged, or the built zip does not import."""


def project_root() -> Path:
    """The source tree this module was imported from (not usable when imported from the zip)."""
    root = Path(__file__).resolve().parents[1]
    if not (root / "pyproject.toml").is_file():
        raise PackagingError(f"{root} is not a brandlake source tree (no pyproject.toml); pass --root")
    return root


def package_version() -> str:
    from brandlake import __version__

    return __version__


def package_dirs(root: Path) -> dict[str, str]:
    """``{package: folder}`` of the top-level packages, from pyproject.toml's package-dir table."""
    pyproject = root / "pyproject.toml"
    try:
        setuptools_cfg = tomllib.loads(pyproject.read_text(encoding="utf-8"))["tool"]["setuptools"]
        mapping = setuptools_cfg["package-dir"]
    except (OSError, KeyError, tomllib.TOMLDecodeError) as e:
        raise PackagingError(f"{pyproject} has no readable [tool.setuptools.package-dir] table: {e}") from e
    if any(not pkg.startswith("brandlake") for pkg in mapping):
        raise PackagingError(f"{pyproject} maps packages outside the brandlake namespace: {sorted(mapping)}")
    return dict(mapping)


def collect_files(root: Path, *, with_generator: bool = False) -> list[tuple[str, Path]]:
    """(name inside the zip, file on disk) for every shipped file, sorted by name."""
    files: list[tuple[str, Path]] = []
    for pkg, folder in package_dirs(root).items():
        if pkg == GENERATOR_PACKAGE and not with_generator:
            continue
        pkg_dir = root / folder
        if not (pkg_dir / "__init__.py").is_file():
            raise PackagingError(f"package {pkg!r} has no {pkg_dir / '__init__.py'}; cannot ship it")
        arc_root = pkg.replace(".", "/")
        for dirpath, dirnames, filenames in os.walk(pkg_dir):
            dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS and not d.startswith("."))
            for name in filenames:
                if name.startswith(".") or not name.endswith(INCLUDE_SUFFIXES):
                    continue
                path = Path(dirpath) / name
                files.append((f"{arc_root}/{path.relative_to(pkg_dir).as_posix()}", path))
    return sorted(files)


def zip_bytes(files: list[tuple[str, Path]]) -> bytes:
    """The zip archive of ``files`` with every entry's metadata fixed, so the bytes depend on content only."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for arcname, path in files:
            info = zipfile.ZipInfo(arcname, date_time=FIXED_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # unix, so external_attr holds the mode
            info.external_attr = (0o100000 | FILE_MODE) << 16
            zf.writestr(info, path.read_bytes(), compresslevel=COMPRESS_LEVEL)
    return buf.getvalue()


def build_zip(
    out_dir: str | Path | None = None, *, root: str | Path | None = None, with_generator: bool = False
) -> Path:
    """Write ``<out_dir>/brandlake-<version>.zip`` (default ``<root>/dist``) and return its path.

    Idempotent: an existing zip with the same bytes is not rewritten; a different one is replaced
    atomically, so a concurrent spark-submit never reads half a file.
    """
    root = Path(root) if root is not None else project_root()
    out = Path(out_dir) if out_dir is not None else root / "dist"
    target = out / f"brandlake-{package_version()}.zip"
    data = zip_bytes(collect_files(root, with_generator=with_generator))
    if target.is_file() and target.read_bytes() == data:
        log.info("%s is up to date", target)
        return target
    out.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".brandlake-", suffix=".zip.tmp", dir=out)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, FILE_MODE)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    log.info("wrote %s (%d bytes)", target, len(data))
    return target


_CHECK_CODE = """
import dataclasses, json, sys
import brandlake.config, brandlake.conf as conf
from brandlake.config import load_config
cfg = load_config(sys.argv[1], overrides={"lake": {"root": "/lake"}})
print(json.dumps({
    "config_module": brandlake.config.__file__,
    "conf_package": str(conf.__spec__.origin),
    "config": dataclasses.asdict(cfg),
}, default=str))
"""


def check_zip(zip_path: str | Path, env: str = "test") -> dict:
    """Import brandlake from ``zip_path`` alone in a fresh interpreter and load config ``env`` there.

    Returns ``{config_module, conf_package, config}`` as reported by that interpreter; raises
    PackagingError when the modules did not come from the zip or loading failed.
    """
    zip_path = Path(zip_path).resolve()
    child_env = {k: v for k, v in os.environ.items() if k not in ("BRANDLAKE_CONF_DIR", "PYTHONPATH")}
    child_env["PYTHONPATH"] = str(zip_path)
    with tempfile.TemporaryDirectory() as cwd:  # an empty cwd, so nothing but the zip can shadow the packages
        proc = subprocess.run(
            [sys.executable, "-c", _CHECK_CODE, env], cwd=cwd, env=child_env, capture_output=True, text=True
        )
    if proc.returncode != 0:
        raise PackagingError(f"loading config {env!r} from {zip_path} failed:\n{proc.stderr.strip()}")
    report = json.loads(proc.stdout)
    for key in ("config_module", "conf_package"):
        if not report[key].startswith(str(zip_path) + os.sep):
            raise PackagingError(f"{key} was imported from {report[key]}, expected from inside {zip_path}")
    return report


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    p = argparse.ArgumentParser(prog="python -m brandlake.packaging", description=__doc__.splitlines()[0])
    p.add_argument("--root", default=None, help="source tree (default: the one this module lives in)")
    p.add_argument("--out-dir", default=None, help="output folder (default: <root>/dist)")
    p.add_argument("--with-generator", action="store_true", help="also ship brandlake.synthetic (generate on the cluster)")
    p.add_argument("--check", action="store_true", help="then import the zip alone and load every config env")
    args = p.parse_args(argv)
    try:
        path = build_zip(args.out_dir, root=args.root, with_generator=args.with_generator)
        if args.check:
            from brandlake.config import ENVIRONMENTS

            for env in ENVIRONMENTS:
                if env != "cluster":  # cluster reads required variables from the scheduler's environment
                    check_zip(path, env)
            log.info("config loads from inside %s", path)
    except PackagingError as e:
        print(f"brandlake: {e}", file=sys.stderr)
        return 1
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
