"""Layered configuration: conf/base.yaml plus one overlay (local, test, cluster), parsed once into
frozen, validated dataclasses. A missing, unknown or ill-typed key fails at start, naming the key.

Values may reference the environment as ``${VAR}`` or ``${VAR:-default}``; secrets never live here.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import re
import types
import typing
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal, TypeVar

import yaml

from brandlake.errors import UsageError

ENVIRONMENTS = ("local", "test", "cluster")
T = TypeVar("T")


class ConfigError(UsageError):
    """The configuration is missing a key, has an unknown one, or holds a value of the wrong type."""


# ---------------------------------------------------------------------------------------------------
# Sections. Each field is required unless it has a default; base.yaml sets every field explicitly.


@dataclass(frozen=True)
class SparkConfig:
    master: str
    app_name: str
    shuffle_partitions: int
    driver_memory: str
    log_level: str
    conf: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class LakeConfig:
    """Where the lake lives. Every layer is a folder (or URI prefix) under ``root`` unless overridden."""

    root: str
    landing: str = ""
    truth: str = ""
    bronze: str = ""
    silver: str = ""
    gold: str = ""
    checkpoints: str = ""
    runs: str = ""
    data_docs: str = ""

    def __post_init__(self) -> None:
        root = self.root.rstrip("/")
        for name in ("landing", "truth", "bronze", "silver", "gold", "checkpoints", "runs", "data_docs"):
            if not getattr(self, name):
                default = f"{root}/_checkpoints" if name == "checkpoints" else f"{root}/{name}"
                default = f"{root}/_runs" if name == "runs" else default
                object.__setattr__(self, name, default)


@dataclass(frozen=True)
class MlflowConfig:
    tracking_uri: str
    experiment: str


@dataclass(frozen=True)
class DefectRates:
    """Fractions of records the generator spoils on purpose (see docs/generator.md)."""

    duplicate_event: float
    late_event: float
    null_required: float
    unknown_enum: float
    bad_amount: float
    malformed_line: float
    schema_drift_from_batch: int


@dataclass(frozen=True)
class GenerateConfig:
    scale: float
    seed: int
    start_date: dt.date
    days: int
    batch_days: int
    defects: DefectRates


@dataclass(frozen=True)
class IngestConfig:
    max_files_per_trigger: int


Severity = Literal["warn", "quarantine", "fail"]


@dataclass(frozen=True)
class SilverConfig:
    reporting_currency: str
    pii_key_env: str              # name of the environment variable that holds the PII hash key
    allow_local_pii_key: bool     # local/test only: keep a generated key under the lake when unset


@dataclass(frozen=True)
class DqConfig:
    build_data_docs: bool
    # table -> rule name -> severity; a rule missing here is an error at start of the silver job
    severities: dict[str, dict[str, Severity]] = field(default_factory=dict)


@dataclass(frozen=True)
class SettlementConfig:
    rounding: Literal["half_up", "half_even"]
    unpaid_balance_rule: Literal["forfeit_deposit", "refund_deposit"]
    balance_grace_days: int


@dataclass(frozen=True)
class IdentityConfig:
    match_threshold: float               # probabilistic link when the FS match probability reaches this
    u_sample_size: int                   # accounts per side of the random pairs that estimate u
    max_label_iterations: int            # connected components: min-label propagation steps at most
    # each rule: columns that must all be equal (and not null) for two accounts to be compared
    blocking_rules: list[list[str]] = field(default_factory=lambda: [
        ["phone_hash"], ["address_hash"]])


@dataclass(frozen=True)
class CustomersConfig:
    min_audience_size: int               # campaign audiences with fewer people are not published


@dataclass(frozen=True)
class Config:
    env: str
    spark: SparkConfig
    lake: LakeConfig
    mlflow: MlflowConfig
    generate: GenerateConfig
    ingest: IngestConfig
    silver: SilverConfig
    dq: DqConfig
    settlement: SettlementConfig
    identity: IdentityConfig
    customers: CustomersConfig

    def with_overrides(self, **sections: Any) -> Config:
        return dataclasses.replace(self, **sections)


# ---------------------------------------------------------------------------------------------------
# Loading

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def _interpolate(value: Any, where: str) -> Any:
    if isinstance(value, dict):
        return {k: _interpolate(v, f"{where}.{k}" if where else str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [_interpolate(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if not isinstance(value, str):
        return value

    def sub(m: re.Match[str]) -> str:
        name, default = m.group(1), m.group(2)
        if name in os.environ:
            return os.environ[name]
        if default is not None:
            return default
        raise ConfigError(f"config key '{where}' needs environment variable {name}, which is not set")

    return _ENV_REF.sub(sub, value)


def deep_merge(base: dict[str, Any], overlay: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in overlay.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = v
    return out


def _coerce(tp: Any, value: Any, where: str) -> Any:
    origin = typing.get_origin(tp)
    if tp is Any:
        return value
    if dataclasses.is_dataclass(tp):
        return build(tp, value, where)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return _coerce(inner[0], value, where)
    if origin is Literal:
        allowed = typing.get_args(tp)
        if value not in allowed:
            raise ConfigError(f"config key '{where}' must be one of {list(allowed)}, found {value!r}")
        return value
    if origin is dict:
        kt, vt = typing.get_args(tp)
        if not isinstance(value, dict):
            raise ConfigError(f"config key '{where}' must be a mapping, found {type(value).__name__}")
        return {_coerce(kt, k, where): _coerce(vt, v, f"{where}.{k}") for k, v in value.items()}
    if origin in (list, tuple):
        (it, *_) = typing.get_args(tp)
        if not isinstance(value, list):
            raise ConfigError(f"config key '{where}' must be a list, found {type(value).__name__}")
        items = [_coerce(it, v, f"{where}[{i}]") for i, v in enumerate(value)]
        return tuple(items) if origin is tuple else items
    if tp is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
            return int(value)
    elif tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                pass
    elif tp is str:
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            return str(value)
    elif tp is dt.date:
        if isinstance(value, dt.date):
            return value
        if isinstance(value, str):
            try:
                return dt.date.fromisoformat(value)
            except ValueError:
                pass
    else:
        raise ConfigError(f"config key '{where}' has an unsupported type {tp!r}")
    raise ConfigError(f"config key '{where}' must be {getattr(tp, '__name__', tp)}, found {value!r}")


def build(cls: type[T], data: Any, where: str = "") -> T:
    """Build dataclass ``cls`` from a mapping, naming the exact key on any problem."""
    if not isinstance(data, dict):
        raise ConfigError(f"config key '{where or '<root>'}' must be a mapping, found {data!r}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(data) - set(fields))
    if unknown:
        names = ", ".join(f"'{where + '.' if where else ''}{k}'" for k in unknown)
        raise ConfigError(f"unknown config key(s) {names}; expected some of {sorted(fields)}")
    kwargs = {}
    for name, f in fields.items():
        key = f"{where}.{name}" if where else name
        if name not in data:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise ConfigError(f"missing config key '{key}'")
            continue
        kwargs[name] = _coerce(hints[name], data[name], key)
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as e:
        raise ConfigError(f"config section '{where or '<root>'}' is invalid: {e}") from e


def _read_yaml(text: str, origin: str) -> dict[str, Any]:
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as e:
        raise ConfigError(f"{origin} is not valid YAML: {e}") from e
    if not isinstance(data, dict):
        raise ConfigError(f"{origin} must hold a mapping at the top level")
    return data


def _conf_text(conf_dir: Path | None, name: str) -> tuple[str, str]:
    if conf_dir is not None:
        p = Path(conf_dir) / name
        if not p.is_file():
            raise ConfigError(f"config file {p} does not exist")
        return p.read_text(encoding="utf-8"), str(p)
    res = resources.files("brandlake.conf").joinpath(name)
    if not res.is_file():
        raise ConfigError(f"config file conf/{name} is not packaged")
    return res.read_text(encoding="utf-8"), f"conf/{name}"


def _unwrap_optional(tp: Any) -> Any:
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        return next(a for a in typing.get_args(tp) if a is not type(None))
    return tp


def _settings_path(key: str) -> list[str]:
    """Split a dotted ``--set`` key along the config's structure (mapping keys may contain dots)."""
    parts, tp, path = key.split("."), Config, []
    while parts:
        if dataclasses.is_dataclass(tp):
            hints = typing.get_type_hints(tp)
            name = parts.pop(0)
            path.append(name)
            if name not in hints:
                raise ConfigError(f"--set: unknown config key '{'.'.join(path)}'; expected some of {sorted(hints)}")
            tp = _unwrap_optional(hints[name])
        elif typing.get_origin(tp) is dict:
            vt = _unwrap_optional(typing.get_args(tp)[1])
            if (typing.get_origin(vt) is dict or dataclasses.is_dataclass(vt)) and len(parts) > 1:
                name = parts.pop(0)
            else:
                name, parts = ".".join(parts), []
            path.append(name)
            tp = vt
        else:
            raise ConfigError(f"--set: config key '{'.'.join(path)}' has no sub-keys ('{key}')")
    return path


def parse_settings(items: list[str] | tuple[str, ...]) -> dict[str, Any]:
    """``["silver.reporting_currency=GBP", "spark.conf.spark.sql.shuffle.partitions=4"]`` -> nested overrides.

    The dotted key follows the config's sections; inside a mapping-valued key (``spark.conf``) the rest of the
    key is one name. Values are read as YAML scalars (``8`` is an int, ``true`` a bool) and then validated by
    ``load_config`` like any other key.
    """
    out: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key or any(not part for part in key.split(".")):
            raise ConfigError(f"--set expects KEY=VALUE with a dotted config key, found {item!r}")
        try:
            value = yaml.safe_load(raw) if raw.strip() else ""
        except yaml.YAMLError as e:
            raise ConfigError(f"--set {key}: value {raw!r} is not a YAML scalar: {e}") from e
        if isinstance(value, (dict, list)):
            raise ConfigError(f"--set {key}: value must be a scalar, found {raw!r}")
        path = _settings_path(key)
        node = out
        for name in path[:-1]:
            node = node.setdefault(name, {})
        node[path[-1]] = value
    return out


def load_config(
    env: str = "local",
    *,
    conf_dir: str | Path | None = None,
    overrides: dict[str, Any] | None = None,
) -> Config:
    """Read base.yaml, merge the ``env`` overlay and ``overrides`` (nested dict), validate."""
    if env not in ENVIRONMENTS:
        raise ConfigError(f"unknown environment {env!r}; expected one of {list(ENVIRONMENTS)}")
    conf_dir = Path(conf_dir) if conf_dir is not None else (
        Path(os.environ["BRANDLAKE_CONF_DIR"]) if "BRANDLAKE_CONF_DIR" in os.environ else None
    )
    base = _read_yaml(*_conf_text(conf_dir, "base.yaml"))
    overlay = _read_yaml(*_conf_text(conf_dir, f"{env}.yaml"))
    merged = deep_merge(deep_merge(base, overlay), overrides or {})
    merged["env"] = env
    return build(Config, _interpolate(merged, ""))
