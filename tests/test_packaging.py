"""The --py-files zip: deterministic, complete (code and conf YAML), and importable on its own."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

from brandlake import __version__
from brandlake.config import load_config
from brandlake.packaging import PackagingError, build_zip, check_zip, package_dirs

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = {
    "brandlake": "brandlake", "brandlake.jobs": "jobs", "brandlake.transforms": "transforms",
    "brandlake.models": "models", "brandlake.expectations": "expectations", "brandlake.conf": "conf",
    "brandlake.synthetic": "synthetic",
}
PYPROJECT = "[tool.setuptools.package-dir]\n" + "".join(f'"{p}" = "{d}"\n' for p, d in FOLDERS.items())


def _tree(root):
    """A minimal source tree: every package, conf with a source mapping, and files that must not ship."""
    root.mkdir(parents=True)
    (root / "pyproject.toml").write_text(PYPROJECT)
    for folder in FOLDERS.values():
        (root / folder).mkdir()
        (root / folder / "__init__.py").write_text(f'"""{folder}"""\n')
    (root / "conf" / "sources").mkdir()
    (root / "conf" / "base.yaml").write_text("a: 1\n")
    (root / "conf" / "sources" / "shopify.yaml").write_text("source: shopify\n")
    (root / "conf" / ".draft.yaml").write_text("hidden: true\n")
    (root / "jobs" / "__pycache__").mkdir()
    (root / "jobs" / "__pycache__" / "entry.cpython-311.pyc").write_bytes(b"\x00")
    (root / "jobs" / "entry.py").write_text("print('entry')\n")
    (root / "jobs" / "notes.md").write_text("not shipped\n")
    (root / "synthetic" / "world.py").write_text("")
    (root / "tests").mkdir()
    (root / "tests" / "test_x.py").write_text("")
    return root


def test_zip_ships_package_code_and_conf_yaml_only_under_the_brandlake_namespace(tmp_path):
    path = build_zip(tmp_path / "dist", root=_tree(tmp_path / "src"))
    assert path == tmp_path / "dist" / f"brandlake-{__version__}.zip"
    assert zipfile.ZipFile(path).namelist() == [
        "brandlake/__init__.py",
        "brandlake/conf/__init__.py",
        "brandlake/conf/base.yaml",
        "brandlake/conf/sources/shopify.yaml",
        "brandlake/expectations/__init__.py",
        "brandlake/jobs/__init__.py",
        "brandlake/jobs/entry.py",
        "brandlake/models/__init__.py",
        "brandlake/transforms/__init__.py",
    ]
    with_generator = build_zip(tmp_path / "gen", root=tmp_path / "src", with_generator=True)
    assert sorted(set(zipfile.ZipFile(with_generator).namelist()) - set(zipfile.ZipFile(path).namelist())) == [
        "brandlake/synthetic/__init__.py",
        "brandlake/synthetic/world.py",
    ]


def test_every_package_folder_of_the_project_is_listed_once_in_pyproject():
    setuptools_cfg = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    mapping = package_dirs(ROOT)
    found = set()
    for pkg, folder in mapping.items():
        for init in (ROOT / folder).rglob("__init__.py"):
            rel = init.parent.relative_to(ROOT / folder).parts
            found.add(".".join((pkg, *rel)))
    assert sorted(setuptools_cfg["packages"]) == sorted(found)


def test_built_wheel_and_zip_hold_no_top_level_package_but_brandlake(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path), str(ROOT)],
        check=True, capture_output=True,
    )
    (wheel,) = tmp_path.glob("brandlake-*.whl")
    wheel_top = {n.split("/")[0] for n in zipfile.ZipFile(wheel).namelist() if not n.split("/")[0].endswith(".dist-info")}
    zip_top = {n.split("/")[0] for n in zipfile.ZipFile(build_zip(tmp_path / "dist", with_generator=True)).namelist()}
    assert (wheel_top, zip_top) == ({"brandlake"}, {"brandlake"})
    wheel_modules = {n for n in zipfile.ZipFile(wheel).namelist() if n.endswith((".py", ".yaml"))}
    assert {"brandlake/jobs/entry.py", "brandlake/conf/base.yaml", "brandlake/synthetic/world.py"} <= wheel_modules


def test_zip_bytes_depend_on_content_only_and_an_unchanged_zip_is_not_rewritten(tmp_path):
    src = _tree(tmp_path / "src")
    first = build_zip(tmp_path / "a", root=src).read_bytes()
    for p in src.rglob("*"):
        os.utime(p, (1_700_000_000, 1_700_000_000))  # other file times, same content
    again = build_zip(tmp_path / "a", root=src)
    stat_before = again.stat()
    assert again.read_bytes() == first
    assert build_zip(tmp_path / "a", root=src).stat().st_mtime_ns == stat_before.st_mtime_ns
    (src / "conf" / "base.yaml").write_text("a: 2\n")
    assert build_zip(tmp_path / "a", root=src).read_bytes() != first


def test_a_package_without_init_is_refused_naming_it(tmp_path):
    src = _tree(tmp_path / "src")
    (src / "models" / "__init__.py").unlink()
    with pytest.raises(PackagingError, match="package 'brandlake.models' has no .*models/__init__.py"):
        build_zip(tmp_path / "dist", root=src)


def test_load_config_from_inside_the_zip_equals_the_source_tree_config(tmp_path):
    path = build_zip(tmp_path / "dist")
    report = check_zip(path, "test")
    assert report["config_module"] == str(path / "brandlake" / "config.py")
    assert report["conf_package"] == str(path / "brandlake" / "conf" / "__init__.py")
    expected = dataclasses.asdict(load_config("test", overrides={"lake": {"root": "/lake"}}))
    assert report["config"] == json.loads(json.dumps(expected, default=str))


def test_conf_source_mappings_are_readable_from_the_zip_with_importlib_resources(tmp_path):
    path = build_zip(tmp_path / "dist", root=_tree(tmp_path / "src"))
    code = (
        "from importlib import resources; import brandlake.conf as conf\n"
        "d = resources.files('brandlake.conf') / 'sources'\n"
        "print(conf.__file__, [(p.name, p.read_text()) for p in d.iterdir()])"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True,
        env={**os.environ, "PYTHONPATH": str(path)},
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"{path / 'brandlake' / 'conf' / '__init__.py'} [('shopify.yaml', 'source: shopify\\n')]"
