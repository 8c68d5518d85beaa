"""MLflow tracking for brandlake training jobs: where runs go, and what every training run records.

Where: ``mlflow.tracking_uri`` from the config (``MLFLOW_TRACKING_URI`` on a cluster, an ``http://``
tracking server or a database URI). When it is empty, the embedded default is a SQLite store under the
lake, ``sqlite:///<lake.root>/mlflow.db``, with artefacts under ``<lake.root>/mlflow-artifacts``; the
model registry uses the same store. Behind a tracking server started with ``--serve-artifacts`` the
artefacts go through the server (the experiment keeps the server's default location).

What: every training run logs the parameters of the config section that drove it (flattened dataclass),
metrics per level (``<level>.<metric>``), the model with a signature and an input example, and tags
``git.commit`` plus ``delta.version.<table>`` / ``delta.path.<table>`` for every training table.

Only jobs open runs. A job uses this module like so::

    from brandlake.models import registry, tracking, validation

    tables_used = [tracking.TrainingTable("sales_daily", path, tables.latest_version(spark, path))]
    with tracking.training_run(cfg, run_name="train-forecast", params=cfg.forecast,
                               training_tables=tables_used) as run:
        ...                                           # train and backtest (read tables at those versions)
        tracking.log_level_metrics({"brand": {"rmsse": 0.61}, "product_region": {"rmsse": 0.83}})
        info = tracking.log_pyfunc_model(MyModel(...), name="model", input_example=x, output_example=y,
                                         registered_model_name="brandlake_sales_forecast")
        decision = validation.validate(challenger_metrics, baseline=baseline_metrics,
                                       champion=champion_metrics_or_None, rules=MY_RULES)
        registry.promote(info, "brandlake_sales_forecast", decision)   # challenger, champion if it passed
    # scoring: registry.load_alias(cfg, "brandlake_sales_forecast")   (the champion, by alias)
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import os
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import mlflow
from mlflow.models import infer_signature
from mlflow.models.model import ModelInfo

log = logging.getLogger(__name__)

MLFLOW_DB = "mlflow.db"
ARTIFACTS_DIR = "mlflow-artifacts"


@dataclass(frozen=True)
class TrackingTarget:
    """Resolved MLflow locations for one run of a job."""

    tracking_uri: str
    registry_uri: str
    artifact_location: str | None   # None: the server's own (proxied) default
    experiment: str


@dataclass(frozen=True)
class TrainingTable:
    """A Delta table a model was trained on, pinned to the version the job read."""

    name: str
    path: str
    version: int | None


def _abs_local(uri: str) -> str:
    p = urlparse(uri)
    if p.scheme in ("", "file"):
        return str(Path(p.path if uri.startswith("file:") else uri).resolve())
    return uri.rstrip("/")


def resolve_target(cfg: Any) -> TrackingTarget:
    """Where runs and models of config ``cfg`` (a brandlake Config) go; see the module docstring."""
    uri = (cfg.mlflow.tracking_uri or "").strip()
    root = _abs_local(cfg.lake.root)
    explicit_artifacts = (getattr(cfg.mlflow, "artifact_location", "") or "").strip()
    if not uri:
        if urlparse(root).scheme not in ("",):
            raise ValueError(
                f"mlflow.tracking_uri is empty and lake.root {cfg.lake.root!r} is not a local folder: "
                "set MLFLOW_TRACKING_URI (a tracking server or database) for a remote lake")
        Path(root).mkdir(parents=True, exist_ok=True)
        uri = f"sqlite:///{root}/{MLFLOW_DB}"
        artifacts = explicit_artifacts or Path(f"{root}/{ARTIFACTS_DIR}").as_uri()
    elif urlparse(uri).scheme in ("http", "https", "databricks"):
        artifacts = explicit_artifacts or None
    else:
        artifacts = explicit_artifacts or (Path(f"{root}/{ARTIFACTS_DIR}").as_uri()
                                           if urlparse(root).scheme == "" else f"{root}/{ARTIFACTS_DIR}")
    return TrackingTarget(tracking_uri=uri, registry_uri=uri, artifact_location=artifacts,
                          experiment=cfg.mlflow.experiment)


def configure(cfg: Any) -> tuple[TrackingTarget, str]:
    """Point this process's MLflow client at ``cfg``'s store and return (target, experiment id)."""
    target = resolve_target(cfg)
    # mlflow.set_tracking_uri / set_registry_uri also write MLFLOW_TRACKING_URI / MLFLOW_REGISTRY_URI into this
    # process's environment, and the config reads MLFLOW_TRACKING_URI (conf/base.yaml): a later config loaded in
    # the same process (another lake) would then get this lake's store. The environment stays as it was.
    saved = {k: os.environ.get(k) for k in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")}
    try:
        mlflow.set_tracking_uri(target.tracking_uri)
        mlflow.set_registry_uri(target.registry_uri)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    client = mlflow.MlflowClient()
    exp = client.get_experiment_by_name(target.experiment)
    if exp is None:
        exp_id = client.create_experiment(target.experiment, artifact_location=target.artifact_location)
    else:
        exp_id = exp.experiment_id
    return target, exp_id


def flatten_params(obj: Any, prefix: str = "") -> dict[str, str]:
    """A (nested) config dataclass or mapping as flat ``{"a.b": "value"}`` MLflow params."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        items = {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}
    elif isinstance(obj, Mapping):
        items = dict(obj)
    else:
        return {prefix or "value": _param_text(obj)}
    out: dict[str, str] = {}
    for k, v in items.items():
        key = f"{prefix}.{k}" if prefix else str(k)
        if (dataclasses.is_dataclass(v) and not isinstance(v, type)) or isinstance(v, Mapping):
            out.update(flatten_params(v, key))
        else:
            out[key] = _param_text(v)
    return out


def _param_text(v: Any) -> str:
    if isinstance(v, (list, tuple)):
        return ",".join(str(x) for x in v)
    if isinstance(v, dt.date):
        return v.isoformat()
    return str(v)


def git_commit() -> str:
    """The commit of the code that runs (``BRANDLAKE_GIT_COMMIT`` wins, e.g. on a cluster without .git)."""
    if os.environ.get("BRANDLAKE_GIT_COMMIT"):
        return os.environ["BRANDLAKE_GIT_COMMIT"]
    here = Path(__file__).resolve().parent
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True,
                             timeout=10, check=True)
        commit = out.stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=here,
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return commit + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def training_tags(training_tables: Sequence[TrainingTable]) -> dict[str, str]:
    tags = {"git.commit": git_commit()}
    for t in training_tables:
        tags[f"delta.version.{t.name}"] = "none" if t.version is None else str(t.version)
        tags[f"delta.path.{t.name}"] = t.path
    return tags


@contextmanager
def training_run(
    cfg: Any,
    *,
    run_name: str,
    params: Any,
    training_tables: Sequence[TrainingTable],
    params_prefix: str = "",
    tags: Mapping[str, str] | None = None,
) -> Iterator[mlflow.ActiveRun]:
    """Open the job's one MLflow run: params from the config section ``params``, git/Delta tags.

    Call only from a job (jobs own runs). The run ends FAILED if the body raises.
    """
    _, exp_id = configure(cfg)
    with mlflow.start_run(experiment_id=exp_id, run_name=run_name) as run:
        mlflow.log_params(flatten_params(params, params_prefix))
        mlflow.set_tags({**training_tags(training_tables), "brandlake.env": getattr(cfg, "env", ""),
                         **(tags or {})})
        log.info("mlflow run %s in experiment %s at %s", run.info.run_id, exp_id, mlflow.get_tracking_uri())
        yield run


def level_metric_name(level: str, metric: str) -> str:
    return f"{level}.{metric}"


def log_level_metrics(metrics: Mapping[str, Mapping[str, float]], *, step: int | None = None) -> dict[str, float]:
    """Log ``{level: {metric: value}}`` as ``<level>.<metric>``; NaN/None values are skipped (and returned
    out of the dict) so a metric that cannot be computed is visibly absent rather than a fake number."""
    flat = {level_metric_name(lv, m): float(v) for lv, ms in metrics.items() for m, v in ms.items()
            if v is not None and v == v}
    if flat:
        mlflow.log_metrics(flat, step=step)
    return flat


def log_pyfunc_model(
    python_model: mlflow.pyfunc.PythonModel,
    *,
    name: str,
    input_example: Any,
    output_example: Any,
    registered_model_name: str | None = None,
    artifacts: Mapping[str, str] | None = None,
    pip_requirements: Sequence[str] | None = None,
) -> ModelInfo:
    """Log a pyfunc model with a signature inferred from (input, output) examples and the input example.

    With ``registered_model_name`` the model is registered too; ``ModelInfo.registered_model_version``
    is then the version to promote (registry.promote) — never search for "the latest version".
    """
    signature = infer_signature(input_example, output_example)
    return mlflow.pyfunc.log_model(
        name=name,
        python_model=python_model,
        signature=signature,
        input_example=input_example,
        registered_model_name=registered_model_name,
        artifacts=dict(artifacts) if artifacts else None,
        pip_requirements=(list(pip_requirements) if pip_requirements is not None
                          else pinned_requirements("mlflow", "pandas", "numpy", "lightgbm", "statsforecast")),
    )


def log_spark_model(model: Any, *, registered_model_name: str, input_example: Any) -> ModelInfo:
    """Log and register a fitted Spark ML model with its input example. The environment is pinned, not inferred:
    MLflow's inference loads the model in a second Spark session (slow) and found nothing but pyspark."""
    return mlflow.spark.log_model(model, artifact_path="model", registered_model_name=registered_model_name,
                                  input_example=input_example,
                                  pip_requirements=pinned_requirements("mlflow", "pyspark", "pandas"))


def pinned_requirements(*packages: str) -> list[str]:
    """``package==version`` of each installed one of ``packages``: the model environment's pins (what a pyfunc
    imports at load time); a package that is not installed is left out."""
    from importlib.metadata import PackageNotFoundError, version

    reqs = []
    for pkg in packages:
        try:
            reqs.append(f"{pkg}=={version(pkg)}")
        except PackageNotFoundError:
            continue
    return reqs
