"""The --py-files zip: deterministic, complete (code and conf YAML), and importable on its own."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import zipfile

import pytest

from brandlake import __version__
from brandlake.config import load_config
from brandlake.packaging import PACKAGES, PackagingError, build_zip, check_zip


def _tree(root):
    """A minimal source tree: every package, conf with a source mapping, and files that must not ship."""
    for pkg in PACKAGES:
        (root / pkg).mkdir(parents=True)
        (root / pkg / "__init__.py").write_text(f'"""{pkg}"""\n')
    (root / "conf" / "sources").mkdir()
    (root / "conf" / "base.yaml").write_text("a: 1\n")
    (root / "conf" / "sources" / "shopify.yaml").write_text("source: shopify\n")
    (root / "conf" / ".draft.yaml").write_text("hidden: true\n")
    (root / "jobs" / "__pycache__").mkdir()
    (root / "jobs" / "__pycache__" / "entry.cpython-311.pyc").write_bytes(b"\x00")
    (root / "jobs" / "entry.py").write_text("print('entry')\n")
    (root / "jobs" / "notes.md").write_text("not shipped\n")
    (root / "tests").mkdir()
    (root / "tests" / "test_x.py").write_text("")
    return root


def test_zip_ships_package_code_and_conf_yaml_only(tmp_path):
    path = build_zip(tmp_path / "dist", root=_tree(tmp_path / "src"))
    assert path == tmp_path / "dist" / f"brandlake-{__version__}.zip"
    assert zipfile.ZipFile(path).namelist() == [
        "brandlake/__init__.py",
        "conf/__init__.py",
        "conf/base.yaml",
        "conf/sources/shopify.yaml",
        "expectations/__init__.py",
        "jobs/__init__.py",
        "jobs/entry.py",
        "models/__init__.py",
        "transforms/__init__.py",
    ]


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
    with pytest.raises(PackagingError, match="package 'models' has no .*models/__init__.py"):
        build_zip(tmp_path / "dist", root=src)


def test_load_config_from_inside_the_zip_equals_the_source_tree_config(tmp_path):
    path = build_zip(tmp_path / "dist")
    report = check_zip(path, "test")
    assert report["config_module"] == str(path / "brandlake" / "config.py")
    assert report["conf_package"] == str(path / "conf" / "__init__.py")
    expected = dataclasses.asdict(load_config("test", overrides={"lake": {"root": "/lake"}}))
    assert report["config"] == json.loads(json.dumps(expected, default=str))


def test_conf_source_mappings_are_readable_from_the_zip_with_importlib_resources(tmp_path):
    path = build_zip(tmp_path / "dist", root=_tree(tmp_path / "src"))
    code = (
        "from importlib import resources; import conf\n"
        "d = resources.files('conf') / 'sources'\n"
        "print(conf.__file__, [(p.name, p.read_text()) for p in d.iterdir()])"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True,
        env={**os.environ, "PYTHONPATH": str(path)},
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"{path / 'conf' / '__init__.py'} [('shopify.yaml', 'source: shopify\\n')]"
