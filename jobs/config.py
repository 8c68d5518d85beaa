"""`brandlake config show|validate`: the effective configuration (base.yaml + overlay + ``--set``), with
secrets masked; or a check of the configuration and of every source mapping. Neither starts Spark.

``show`` prints YAML that ``load_config`` would accept back (masked values aside). ``validate`` exits 0
when everything is valid and 2 (a usage/configuration error) naming each problem otherwise.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import os
import re
import sys
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import yaml

from brandlake.config import Config, ConfigError
from brandlake.errors import EXIT_OK, EXIT_USAGE

NEEDS_SPARK = False
MASK = "***"
# A key whose name says it holds a secret (e.g. spark.hadoop.fs.s3a.secret.key, a token, a password).
SECRET_KEY = re.compile(r"secret|passw(or)?d|token|credential|access[._-]?key|private[._-]?key|api[._-]?key|"
                        r"sas[._-]?key|account[._-]?key", re.IGNORECASE)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", choices=("show", "validate"),
                   help="show: print the effective configuration; validate: check it and every source mapping")
    p.add_argument("--mapping", action="append", default=[], metavar="PATH",
                   help="validate: also check this source mapping file (repeatable)")


def main(cfg: Config, args: argparse.Namespace) -> int:
    if args.action == "show":
        sys.stdout.write(show(cfg))
        return EXIT_OK
    problems, checked = validate(cfg, conf_dir=args.conf_dir, extra_mappings=args.mapping)
    for line in checked:
        print(line)
    for p in problems:
        print(f"invalid: {p}", file=sys.stderr)
    print(f"config {cfg.env}: {'valid' if not problems else f'{len(problems)} problem(s)'}")
    return EXIT_USAGE if problems else EXIT_OK


# ---- show ----------------------------------------------------------------------------------------------


def mask(value: Any, key: str = "") -> Any:
    """``value`` with secrets replaced by ``***``: values under a key that names a secret, and the password
    in a URI's user info (``https://user:***@host``)."""
    if isinstance(value, dict):
        return {k: mask(v, str(k)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [mask(v, key) for v in value]
    if key and SECRET_KEY.search(key) and value not in (None, ""):
        return MASK
    if isinstance(value, str) and "@" in value and "://" in value:
        parts = urlsplit(value)
        if parts.password:
            netloc = f"{parts.username}:{MASK}@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
            return urlunsplit(parts._replace(netloc=netloc))
    return value


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def show(cfg: Config) -> str:
    """The effective configuration as YAML, secrets masked, with a comment per secret read from the
    environment saying whether it is set (never its value)."""
    data = mask(_plain(dataclasses.asdict(cfg)))
    env = data.pop("env")
    pii = cfg.silver.pii_key_env
    header = (f"# brandlake effective configuration, env: {env}\n"
              f"# {pii} (PII hash key): {'set' if os.environ.get(pii) else 'not set'}\n")
    return header + yaml.safe_dump(data, sort_keys=False, allow_unicode=True, default_flow_style=False)


# ---- validate ------------------------------------------------------------------------------------------


def dq_severity_problems(cfg: Config) -> list[str]:
    """Each ``dq.severities`` override checked against its table's contract, as the silver job would at
    start (a table or rule the contracts do not have, a grain rule set to warn)."""
    from brandlake.expectations.gate import severities_for
    from brandlake.expectations.rules import rules_from_suite
    from brandlake.expectations.suites import suite_for
    from brandlake.transforms.silver.registry import SILVER_TABLES

    problems = []
    unknown = sorted(set(cfg.dq.severities) - set(SILVER_TABLES))
    if unknown:
        problems.append(f"dq.severities names unknown silver table(s) {unknown}; known: {sorted(SILVER_TABLES)}")
    for name in sorted(set(cfg.dq.severities) & set(SILVER_TABLES)):
        try:
            severities_for(cfg.dq, name, rules_from_suite(suite_for(name)), keys=SILVER_TABLES[name].keys)
        except ConfigError as e:
            problems.append(str(e))
    return problems


def mapping_files(conf_dir: str | None) -> list[tuple[str, str]]:
    """(label, YAML text) of every source mapping under conf/sources (or ``<conf_dir>/sources``)."""
    if conf_dir is not None:
        folder = Path(conf_dir) / "sources"
        return [(str(p), p.read_text(encoding="utf-8")) for p in sorted(folder.glob("*.yaml"))]
    folder = resources.files("brandlake.conf").joinpath("sources")
    files = sorted((f for f in folder.iterdir() if f.name.endswith(".yaml")), key=lambda f: f.name)
    return [(f"conf/sources/{f.name}", f.read_text(encoding="utf-8")) for f in files]


def validate(cfg: Config, *, conf_dir: str | None, extra_mappings: list[str]) -> tuple[list[str], list[str]]:
    """(problems, lines for what was checked). The config itself was validated when it was loaded; here
    the secrets it needs from the environment, the data-quality severity overrides against the contracts,
    and every source mapping are checked."""
    from brandlake.mappings import MappingError, parse_mapping

    problems: list[str] = []
    checked = [f"ok   config (env {cfg.env})"]
    pii = cfg.silver.pii_key_env
    if not os.environ.get(pii) and not cfg.silver.allow_local_pii_key:
        problems.append(f"environment variable {pii} (the PII hash key) is not set and "
                        "silver.allow_local_pii_key is false")
    severity_problems = dq_severity_problems(cfg)
    problems += severity_problems
    if not severity_problems:
        checked.append(f"ok   dq.severities (overrides for {len(cfg.dq.severities)} table(s))")
    files = mapping_files(conf_dir) + [(p, Path(p).read_text(encoding="utf-8")) if Path(p).is_file() else (p, None)
                                       for p in extra_mappings]
    for label, text in files:
        if text is None:
            problems.append(f"mapping file {label} does not exist")
            continue
        try:
            m = parse_mapping(text, origin=label)
        except MappingError as e:
            problems.append(str(e))
        else:
            checked.append(f"ok   mapping {label} (source {m.name})")
    return problems, checked
