"""Model registry helpers: promotion with aliases, loading by alias. Never "the latest version".

The version to promote is the one the logging call returned (``ModelInfo.registered_model_version``).
``promote`` always gives it the ``challenger`` alias; when the validation ``Decision`` passed, it also
becomes ``champion`` (the alias moves; the old champion keeps its version, tagged ``retired_by``).
Scoring jobs load ``models:/<name>@champion``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import mlflow
from brandlake.models.validation import Decision
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException
from mlflow.models.model import ModelInfo

from brandlake.errors import EXIT_USAGE

log = logging.getLogger(__name__)

CHAMPION, CHALLENGER = "champion", "challenger"


class NoChampionError(LookupError):
    """Scoring asked for a model alias that the registry does not have: a missing prerequisite, like a missing
    input table, so the command exits 2 (usage) with the message naming what to run first, not 1 (failure)."""

    exit_code = EXIT_USAGE


@dataclass(frozen=True)
class Promotion:
    name: str
    version: str
    run_id: str | None
    aliases: tuple[str, ...]
    previous_champion: str | None
    decision: Decision


def alias_version(name: str, alias: str, *, client: mlflow.MlflowClient | None = None) -> ModelVersion | None:
    """The version that ``alias`` points at, or None when the model or the alias does not exist."""
    client = client or mlflow.MlflowClient()
    try:
        return client.get_model_version_by_alias(name, alias)
    except MlflowException as e:
        if e.error_code in ("RESOURCE_DOES_NOT_EXIST", "NOT_FOUND", "INVALID_PARAMETER_VALUE"):
            return None
        raise


def champion_metrics(name: str, *, client: mlflow.MlflowClient | None = None) -> tuple[ModelVersion, dict] | None:
    """The champion's version and the metrics its training run logged (for a job that re-scores the
    champion on its own backtest, the run's params say how it was configured)."""
    client = client or mlflow.MlflowClient()
    mv = alias_version(name, CHAMPION, client=client)
    if mv is None:
        return None
    run = client.get_run(mv.run_id) if mv.run_id else None
    return mv, (dict(run.data.metrics) if run else {})


def promote(info: ModelInfo, name: str, decision: Decision, *,
            client: mlflow.MlflowClient | None = None) -> Promotion:
    """Alias the version from ``info`` as challenger (and champion when ``decision.promote``); record why.

    Tags on the model version: ``validation_status`` (passed/failed) and ``validation_reasons``; in the
    active run (if any): the same tags and ``validation.json``.
    """
    version = getattr(info, "registered_model_version", None)
    if version is None:
        raise ValueError("ModelInfo has no registered_model_version: log the model with registered_model_name")
    version = str(version)
    client = client or mlflow.MlflowClient()
    previous = alias_version(name, CHAMPION, client=client)
    client.set_registered_model_alias(name, CHALLENGER, version)
    aliases = [CHALLENGER]
    status = "passed" if decision.promote else "failed"
    client.set_model_version_tag(name, version, "validation_status", status)
    client.set_model_version_tag(name, version, "validation_reasons", "; ".join(decision.reasons)[:4900])
    if decision.promote:
        client.set_registered_model_alias(name, CHAMPION, version)
        aliases.append(CHAMPION)
        if previous is not None and str(previous.version) != version:
            client.set_model_version_tag(name, str(previous.version), "retired_by", version)
    if mlflow.active_run() is not None:
        mlflow.set_tags({"validation_status": status, "validation_summary": decision.summary()[:4900],
                         "registered_model": f"{name}/{version}", "aliases": ",".join(aliases)})
        mlflow.log_text(decision.to_json(), "validation.json")
    log.info("model %s version %s: %s", name, version, decision.summary())
    return Promotion(name, version, info.run_id, tuple(aliases),
                     str(previous.version) if previous is not None else None, decision)


def model_uri(name: str, alias: str = CHAMPION) -> str:
    return f"models:/{name}@{alias}"


def load_alias(name: str, alias: str = CHAMPION, *, client: mlflow.MlflowClient | None = None) -> tuple[Any, ModelVersion]:
    """Load the pyfunc model that ``alias`` points at; raises NoChampionError naming what to run first."""
    mv = alias_version(name, alias, client=client)
    if mv is None:
        raise NoChampionError(f"registered model {name!r} has no {alias!r} alias at {mlflow.get_registry_uri()}; "
                              "train (and validate) a model first")
    return mlflow.pyfunc.load_model(model_uri(name, alias)), mv
