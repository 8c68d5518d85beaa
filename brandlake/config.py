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
    """MLflow store (see models/tracking.py): an empty ``tracking_uri`` means the embedded default,
    ``sqlite:///<lake.root>/mlflow.db`` with artefacts under ``<lake.root>/mlflow-artifacts``."""

    tracking_uri: str
    experiment: str
    artifact_location: str = ""   # empty: under the lake (local store) or the tracking server's own


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
    # A micro-batch's bound: new landing files per micro-batch, or (instead; Spark takes one of the two) their
    # total bytes, so that the first ingest of a large landing zone is cut into batches that fit in memory.
    max_files_per_trigger: int | None = None
    max_bytes_per_trigger: int | None = None

    def __post_init__(self) -> None:
        if (self.max_files_per_trigger is None) == (self.max_bytes_per_trigger is None):
            raise ValueError("set exactly one of ingest.max_files_per_trigger and ingest.max_bytes_per_trigger, "
                             f"found {self.max_files_per_trigger!r} and {self.max_bytes_per_trigger!r}")
        for name in ("max_files_per_trigger", "max_bytes_per_trigger"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"ingest.{name} must be positive, found {value}")

    def read_limit(self) -> tuple[str, int]:
        """The file stream source's option that bounds a micro-batch, and its value."""
        if self.max_bytes_per_trigger is not None:
            return "maxBytesPerTrigger", self.max_bytes_per_trigger
        return "maxFilesPerTrigger", int(self.max_files_per_trigger)  # validation: exactly one of the two is set


Severity = Literal["warn", "quarantine", "fail"]


@dataclass(frozen=True)
class SilverConfig:
    reporting_currency: str
    pii_key_env: str              # name of the environment variable that holds the PII hash key
    allow_local_pii_key: bool     # local/test only: keep a generated key under the lake when unset
    # a micro-batch reads at most about this many bytes of new bronze files (Delta's maxBytesPerTrigger, a soft
    # bound: at least one file); None: all new files in one micro-batch. conf/base.yaml sets 64 MB (BENCHMARKS.md)
    max_bytes_per_trigger: int | None = None

    def __post_init__(self) -> None:
        if self.max_bytes_per_trigger is not None and self.max_bytes_per_trigger < 1:
            raise ValueError(f"silver.max_bytes_per_trigger must be positive, found {self.max_bytes_per_trigger}")


@dataclass(frozen=True)
class DqConfig:
    build_data_docs: bool
    # overrides only: table -> rule name -> severity; defaults are declared beside each rule in
    # expectations/suites.py, and an override naming an unknown rule stops the silver job at start
    severities: dict[str, dict[str, Severity]] = field(default_factory=dict)


@dataclass(frozen=True)
class SettlementConfig:
    rounding: Literal["half_up", "half_even"]
    unpaid_balance_rule: Literal["forfeit_deposit", "refund_deposit"]
    balance_grace_days: int


def _default_regions() -> dict[str, str]:
    return {
        "CN/Shanghai": "WH-CN-SH", "CN/Zhejiang": "WH-CN-SH", "CN/Jiangsu": "WH-CN-SH",
        "CN/Guangdong": "WH-CN-GZ", "CN/Sichuan": "WH-CN-GZ", "CN/Beijing": "WH-CN-BJ",
        "CN/Heilongjiang": "WH-CN-BJ", "CN": "WH-CN-SH", "US": "WH-US-NJ", "DE": "WH-DE-LE",
        "FR": "WH-DE-LE", "GB": "WH-GB-MK", "JP": "WH-JP-CB",
    }


@dataclass(frozen=True)
class LightGbmConfig:
    num_leaves: int = 31
    learning_rate: float = 0.05
    n_estimators: int = 300
    min_child_samples: int = 20
    num_threads: int = 2


@dataclass(frozen=True)
class ForecastConfig:
    """Sales forecast (jobs/train_forecast.py, models/forecast.py). ``regions`` maps a ship destination,
    ``COUNTRY/Province`` or ``COUNTRY``, to the warehouse whose region serves it."""

    horizon: int = 28                 # days ahead
    season_length: int = 7            # weekly seasonality (seasonal naive, RMSSE/MASE scales)
    cutoffs: int = 3                  # rolling-origin backtest: this many forecast origins
    cutoff_step_days: int = 28        # days between backtest origins
    train_origins: int = 8            # global model: training origins before each cut-off
    train_origin_step_days: int = 14
    train_season_origins: int = 4     # ... and around the same time a year earlier (yearly sales)
    min_history_days: int = 28        # a bottom series with less history is "too_short"
    min_nonzero_days: int = 2         # ... with fewer selling days "too_sparse"
    model_name: str = "brandlake_sales_forecast"
    presale_features: bool = True
    lightgbm: LightGbmConfig = field(default_factory=LightGbmConfig)
    regions: dict[str, str] = field(default_factory=_default_regions)


@dataclass(frozen=True)
class PlanningConfig:
    """Logistics plans from the forecast (transforms/planning.py)."""

    service_level: float = 0.95       # pre-positioning safety stock z
    lead_time_days: int = 7           # days to move stock into a platform warehouse
    parcels_per_order: float = 1.0
    peak_quantile: float = 0.95
    capacity_turn_days: float = 20.0  # daily parcel capacity = capacity_units / this (storage turned over)


@dataclass(frozen=True)
class RunConfig:
    """How a run reports itself while it works."""

    progress_seconds: float = 30.0  # a progress line per running step this often (0: none)
    parallel_writes: int = 4        # independent tables a job writes at once in its one session (1: one by one)
    # ... and only while the MB their inputs read add up to no more than this (a larger table is built alone):
    # four SF 1 silver tables side by side (order events 352 MB of bronze) ran a 4 GB driver out of heap; 0: no bound
    parallel_input_mb: float = 128.0
    # a job whose input is smaller (MB of files) evaluates Spark expressions interpreted: on small data, compiling
    # Java for every query costs more than it saves (BENCHMARKS.md: silver at SF 0.01, 10 MB of bronze). Gold's
    # 25 MB of silver at SF 0.1 already ran faster compiled; 0: always generate code
    interpreted_below_mb: float = 16.0


@dataclass(frozen=True)
class HoldBackLimits:
    """One table's own limits (None: the hold_back default)."""

    max_quarantined_share: float | None = None
    max_mismatches: int | None = None


@dataclass(frozen=True)
class HoldBackConfig:
    """How much a run may keep back before it exits 3 (DataHeldBackError), tables left as written.

    Checked at the end of every job against its run summary: quarantined landing files, each table's
    (or import file's) share of rows quarantined, and reconciliation mismatches. ``tables`` keys are run
    summary table names, e.g. ``silver.orders`` or ``import.online_retail_ii``.
    """

    max_files_quarantined: int = 0
    max_quarantined_share: float = 0.5
    # None: mismatches are reported (kept-back line, gold settlement_mismatches) but never fail a run; the
    # generated demo data plants defects that always leave a few, so a number belongs in a deployment's overlay.
    max_mismatches: int | None = None
    tables: dict[str, HoldBackLimits] = field(default_factory=dict)


@dataclass(frozen=True)
class TrackingConfig:
    """Parcel tracking: the carrier promise per route (days from pickup) and when an open parcel is stuck."""

    # route -> promised days: 'cross_border', 'domestic', or a ship country with its own promise (e.g. CN)
    promise_days: dict[str, int] = field(default_factory=lambda: {"cross_border": 15, "domestic": 5, "CN": 3})
    stuck_hours: int = 72

    def __post_init__(self) -> None:
        missing = {"cross_border", "domestic"} - set(self.promise_days)
        if missing:
            raise ValueError(f"tracking.promise_days needs {sorted(missing)}")


@dataclass(frozen=True)
class BrandReportConfig:
    tier: str | None = None
    language: Literal["zh", "en"] | None = None


@dataclass(frozen=True)
class ReportsConfig:
    """Paid brand reports: the privacy floor, tiers (sections each tier receives) and per-brand settings."""

    k_min_buyers: int = 10          # a cell from fewer distinct buyers is suppressed
    m_min_brands: int = 5           # a benchmark from fewer brands is suppressed
    default_tier: str = "basic"
    default_language: Literal["zh", "en", "auto"] = "auto"   # auto: zh for brands at home in CN, else en
    tiers: dict[str, list[str]] = field(default_factory=lambda: {
        "basic": ["sales_trend", "order_time", "delivery_regions", "products"],
        "pro": ["sales_trend", "order_time", "delivery_regions", "buyer_groups", "repurchase", "products",
                "funnel", "presale", "benchmarks"],
    })
    brands: dict[str, BrandReportConfig] = field(default_factory=dict)
    out_dir: str = ""               # default: <lake.root>/reports

    def __post_init__(self) -> None:
        if self.k_min_buyers < 1 or self.m_min_brands < 1:
            raise ValueError("reports.k_min_buyers and reports.m_min_brands must be at least 1")
        if self.default_tier not in self.tiers:
            raise ValueError(f"reports.default_tier {self.default_tier!r} is not one of {sorted(self.tiers)}")
        for b, bc in self.brands.items():
            if bc.tier is not None and bc.tier not in self.tiers:
                raise ValueError(f"reports.brands.{b}.tier {bc.tier!r} is not one of {sorted(self.tiers)}")


@dataclass(frozen=True)
class LifecycleConfig:
    """Product lifecycle stage rules and alert thresholds (transforms/lifecycle.py)."""

    intro_months: int = 3
    growth_threshold: float = 0.2          # velocity_3m up ≥ 20 % on the three months before
    decline_threshold: float = 0.2         # velocity_3m down ≥ 20 % ...
    decline_peak_ratio: float = 0.7        # ... and at most 70 % of the product's peak so far
    complaint_intents: tuple[str, ...] = ("return_request", "where_is_my_order")
    alert_history_months: int = 6
    alert_min_volume: int = 5              # lines (or reviews) in the month before a rate can alert
    alert_min_increase: float = 0.1        # absolute jump of the rate over its baseline
    alert_ratio: float = 1.5               # and relative: value ≥ 1.5 × baseline


@dataclass(frozen=True)
class SignalsConfig:
    """Review sentiment/topic and customer-service intent models (models/text.py)."""

    model_name: str = "review_sentiment"
    intent_model_name: str = "cs_intent"
    num_features: int = 4096               # hashed n-gram features
    reg_param: float = 0.01
    test_fraction: float = 0.3             # the latest 30 % of labelled text (by time) is held out


@dataclass(frozen=True)
class ReturnsConfig:
    """Return-risk models (models/returns.py): split dates by fraction of time, cost matrix."""

    model_name: str = "return_risk"
    valid_fraction: float = 0.15           # the last 30 % of order time: 15 % validation, 15 % test
    test_fraction: float = 0.15
    label_days: int = 45                   # lines ordered in the last 45 days have no settled label yet
    max_iter: int = 100                    # GBT rounds
    max_depth: int = 2                     # shallow trees and big leaves: chosen on the validation window
    min_instances_per_node: int = 200      # (BENCHMARKS.md, return risk at SF 0.1)
    cost_of_return: float = 60.0           # handling + reverse logistics + write-down per returned line (CNY)
    cost_of_intervention: float = 4.0      # cost of acting on a flagged line (size check call, note)
    intervention_effect: float = 0.25      # share of returns an intervention prevents
    min_auc_loss_gain: float = 0.0         # 1 - ROC-AUC must be this fraction below the baseline's and the champion's


@dataclass(frozen=True)
class RecommendConfig:
    """Recommendations (brandlake recommend; transforms/recommend.py, models/recommend.py): implicit
    feedback weights, the time split, ALS parameters and the validation target."""

    model_name: str = "recommendations_als"
    window_days: int = 365                 # feedback from the window_days before the cut-off (and before as-of)
    test_days: int = 28                    # test: purchases in the last test_days up to the as-of date
    view_weight: float = 1.0               # implicit feedback: purchase > cart > view
    cart_weight: float = 3.0
    purchase_weight: float = 10.0
    rank: int = 16                         # ALS latent factors
    reg_param: float = 0.1
    alpha: float = 10.0                    # confidence = 1 + alpha × weight
    max_iter: int = 10
    seed: int = 42
    top_n: int = 20                        # rows per person (and per brand × person) in gold
    eval_k: int = 10                       # precision/recall/MAP/NDCG @ eval_k
    min_segment_persons: int = 20          # a popularity segment needs this many persons with feedback
    target_ndcg_ratio: float = 1.5         # champion only with NDCG@k ≥ ratio × the popularity baseline's

    def __post_init__(self) -> None:
        for name in ("window_days", "test_days", "rank", "max_iter", "top_n", "eval_k", "min_segment_persons"):
            if getattr(self, name) < 1:
                raise ValueError(f"recommend.{name} must be at least 1, found {getattr(self, name)}")
        if not (self.purchase_weight > self.cart_weight > self.view_weight > 0):
            raise ValueError("recommend weights must satisfy purchase_weight > cart_weight > view_weight > 0, found "
                             f"{self.purchase_weight}, {self.cart_weight}, {self.view_weight}")
        if self.reg_param < 0 or self.alpha <= 0 or self.target_ndcg_ratio <= 0:
            raise ValueError("recommend.reg_param must be ≥ 0, recommend.alpha and recommend.target_ndcg_ratio > 0")
        if self.eval_k > self.top_n:
            raise ValueError(f"recommend.eval_k ({self.eval_k}) must not exceed recommend.top_n ({self.top_n})")


@dataclass(frozen=True)
class KbConfig:
    """Customer-service knowledge base (jobs/kb.py)."""

    similarity_threshold: float = 0.6      # answers at least this similar (token Jaccard) share a cluster
    handoff_threshold: float = 0.6         # below this intent confidence, hand off to a human


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
class ClvConfig:
    """Customer lifetime value (models/clv.py, jobs/clv.py): BG/NBD + Gamma–Gamma per brand, validated on a
    calibration / holdout split against a constant-rate baseline."""

    model_name: str = "customer_lifetime_value"
    holdout_days: int = 180                # the backtest's holdout window: the last days up to the as-of date
    horizon_days: int = 365                # the gold table's expected purchases and value: the next 12 months
    min_repeat_buyers: int = 30            # a brand with fewer repeat buyers is not fitted (its rows say why)
    penalizer: float = 0.001               # L2 penalty of the BG/NBD fit (lifetimes penalizer_coef)
    spend_penalizer: float = 0.0           # ... of the Gamma-Gamma fit (amounts in the thousands: none)
    min_gain_vs_baseline: float = 0.0      # holdout errors must be at least this share lower than the baseline's

    def __post_init__(self) -> None:
        for name in ("holdout_days", "horizon_days", "min_repeat_buyers"):
            if getattr(self, name) < 1:
                raise ValueError(f"clv.{name} must be at least 1, found {getattr(self, name)}")
        for name in ("penalizer", "spend_penalizer"):
            if getattr(self, name) < 0:
                raise ValueError(f"clv.{name} must not be negative, found {getattr(self, name)}")
        if not 0.0 <= self.min_gain_vs_baseline < 1.0:
            raise ValueError(f"clv.min_gain_vs_baseline must be in [0, 1), found {self.min_gain_vs_baseline}")


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
    run: RunConfig = field(default_factory=RunConfig)
    lifecycle: LifecycleConfig = field(default_factory=LifecycleConfig)
    signals: SignalsConfig = field(default_factory=SignalsConfig)
    returns: ReturnsConfig = field(default_factory=ReturnsConfig)
    recommend: RecommendConfig = field(default_factory=RecommendConfig)
    clv: ClvConfig = field(default_factory=ClvConfig)
    kb: KbConfig = field(default_factory=KbConfig)
    forecast: ForecastConfig = field(default_factory=ForecastConfig)
    planning: PlanningConfig = field(default_factory=PlanningConfig)
    hold_back: HoldBackConfig = field(default_factory=HoldBackConfig)
    tracking: TrackingConfig = field(default_factory=TrackingConfig)
    reports: ReportsConfig = field(default_factory=ReportsConfig)

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
