"""MLflow foundation (models/tracking.py, registry.py, validation.py) against a real `mlflow server`
on loopback: train → log with signature → register → validate → alias → load champion → score."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os

import mlflow
import pandas as pd
import pytest
from brandlake.models import registry, tracking, validation
from brandlake.models.baselines import SeasonalNaiveModel, seasonal_naive
from brandlake.models.metrics import evaluate, seasonal_scales
from pandas.testing import assert_frame_equal

from tests.mlflow_server import mlflow_server

MODEL = "brandlake_test_forecast"
RULES = (validation.Rule("product.rmsse"),)


@dataclasses.dataclass(frozen=True)
class TinyParams:
    horizon: int
    season_length: int
    levels: tuple[str, ...] = ("product",)


def _history() -> pd.DataFrame:
    # two weekly-patterned series, 4 weeks; the last week is held out
    days = pd.date_range("2024-01-01", periods=28, freq="D")
    # week k adds k to every day: seasonal differences are 1 (non-zero RMSSE scale), plain naive is worse
    a = [v + k for k in range(4) for v in (10, 12, 11, 13, 15, 30, 32)]
    b = [v + k for k in range(4) for v in (0, 1, 0, 2, 1, 5, 6)]
    return pd.concat([pd.DataFrame({"series_id": "A", "ds": days, "y": map(float, a)}),
                      pd.DataFrame({"series_id": "B", "ds": days, "y": map(float, b)})], ignore_index=True)


def _backtest(model: SeasonalNaiveModel, history: pd.DataFrame) -> dict[str, float]:
    cut = history["ds"].max() - pd.Timedelta(days=6)
    train, test = history[history["ds"] < cut], history[history["ds"] >= cut]
    fc = model.predict(None, train)
    errors = fc.merge(test, on=["series_id", "ds"])
    return {f"product.{k}": v for k, v in evaluate(errors, seasonal_scales(train, season_length=7)).items()}


def _train(cfg, season_length: int, history: pd.DataFrame):
    """One training job's worth: open the run, log, register, validate against baseline and champion."""
    params = TinyParams(horizon=7, season_length=season_length)
    table = tracking.TrainingTable("sales_daily", "/lake/gold/sales_daily", 3)
    with tracking.training_run(cfg, run_name="tiny", params=params, training_tables=[table]) as run:
        model = SeasonalNaiveModel(horizon=7, season_length=season_length)
        scores = _backtest(model, history)
        baseline = _backtest(SeasonalNaiveModel(horizon=7, season_length=7), history)
        tracking.log_level_metrics({"product": {k.split(".", 1)[1]: v for k, v in scores.items()}})
        champ = registry.champion_metrics(MODEL)
        champion = None
        if champ is not None:
            champ_params = mlflow.MlflowClient().get_run(champ[0].run_id).data.params
            champion = _backtest(SeasonalNaiveModel(horizon=7, season_length=int(champ_params["season_length"])),
                                 history)
        decision = validation.validate(scores, baseline=baseline, champion=champion, rules=RULES)
        info = tracking.log_pyfunc_model(model, name="model", input_example=history.head(14),
                                         output_example=model.predict(None, history.head(14)),
                                         registered_model_name=MODEL)
        promotion = registry.promote(info, MODEL, decision)
    return run.info.run_id, info, promotion


def test_train_register_promote_and_score_through_a_real_mlflow_server(cfg, tmp_path):
    history = _history()
    with mlflow_server(tmp_path / "mlflow") as (uri, served):
        cfg = cfg.with_overrides(mlflow=dataclasses.replace(cfg.mlflow, tracking_uri=uri))
        assert tracking.resolve_target(cfg) == tracking.TrackingTarget(uri, uri, None, cfg.mlflow.experiment)

        # 1) seasonal naive itself: not worse than the baseline, no champion yet -> champion
        run1, info1, p1 = _train(cfg, 7, history)
        # 2) plain naive (season 1) on weekly data: loses to the baseline and to the champion on the same
        #    backtest -> stays challenger, the champion alias does not move
        run2, info2, p2 = _train(cfg, 1, history)

        assert [(p.version, p.aliases, p.decision.promote, p.previous_champion) for p in (p1, p2)] == [
            ("1", ("challenger", "champion"), True, None),
            ("2", ("challenger",), False, "1"),
        ]
        assert [c.against for c in p2.decision.checks if not c.passed] == ["baseline", "champion"]
        client = mlflow.MlflowClient()
        assert {a: client.get_model_version_by_alias(MODEL, a).version for a in ("champion", "challenger")} == {
            "champion": "1", "challenger": "2"}

        r2 = client.get_run(run2)
        assert (r2.data.params, r2.data.tags["delta.version.sales_daily"], r2.data.tags["validation_status"]) == (
            {"horizon": "7", "season_length": "1", "levels": "product"}, "3", "failed")
        assert r2.data.tags["git.commit"] not in ("", "unknown")
        assert "does not beat champion" in r2.data.tags["validation_summary"]
        assert set(r2.data.metrics) >= {"product.rmsse", "product.mase", "product.wape", "product.coverage_95"}
        assert info1.signature is not None and info1.saved_input_example_info is not None
        # artefacts went through the server into its own destination, not into a local folder
        assert any(served.rglob("MLmodel"))

        model, mv = registry.load_alias(MODEL)
        scored = model.predict(history)
        assert mv.version == "1"
    expected = seasonal_naive(history, horizon=7, season_length=7)
    assert_frame_equal(scored.reset_index(drop=True).astype({"ds": "datetime64[ns]"}),
                       expected.astype({"ds": "datetime64[ns]"}))
    assert scored[scored["series_id"] == "A"]["yhat"].tolist() == [13.0, 15, 14, 16, 18, 33, 35]


def test_embedded_default_store_lives_under_the_lake(cfg):
    cfg = cfg.with_overrides(mlflow=dataclasses.replace(cfg.mlflow, tracking_uri=""))
    target = tracking.resolve_target(cfg)
    root = tracking._abs_local(cfg.lake.root)
    assert target == tracking.TrackingTarget(f"sqlite:///{root}/mlflow.db", f"sqlite:///{root}/mlflow.db",
                                             f"file://{root}/mlflow-artifacts", cfg.mlflow.experiment)


def test_configuring_one_lakes_store_leaves_the_next_config_its_own_store(cfg, tmp_path, monkeypatch):
    """MLflow writes the URIs it is given into the environment, where the config reads MLFLOW_TRACKING_URI: the
    second of two jobs run in one process (another lake) must still get its own lake's store."""
    from brandlake.config import load_config

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("MLFLOW_REGISTRY_URI", raising=False)
    first = load_config("test", overrides={"lake": {"root": str(tmp_path / "a")}})
    target, _ = tracking.configure(first)
    assert (mlflow.get_tracking_uri(), mlflow.get_registry_uri()) == (target.tracking_uri, target.registry_uri)
    assert ("MLFLOW_TRACKING_URI" in os.environ, "MLFLOW_REGISTRY_URI" in os.environ) == (False, False)
    second = load_config("test", overrides={"lake": {"root": str(tmp_path / "b")}})
    assert tracking.resolve_target(second).tracking_uri == f"sqlite:///{tmp_path / 'b'}/mlflow.db"
    # a URI the user set stays what the next config reads, also after a job that used another store
    user = f"sqlite:///{tmp_path}/user.db"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", user)
    tracking.configure(load_config("test", overrides={"lake": {"root": str(tmp_path / "c")},
                                                      "mlflow": {"tracking_uri": ""}}))
    assert mlflow.get_tracking_uri() == f"sqlite:///{tmp_path / 'c'}/mlflow.db"
    assert os.environ["MLFLOW_TRACKING_URI"] == user
    mlflow.set_tracking_uri(None)


def test_validation_names_every_failed_threshold():
    rules = (validation.Rule("brand.rmsse", min_gain_vs_baseline=0.4), validation.Rule("product.rmsse"))
    d = validation.validate({"brand.rmsse": 0.7, "product.rmsse": float("nan")},
                            baseline={"brand.rmsse": 1.0, "product.rmsse": 1.0},
                            champion={"brand.rmsse": 0.8, "product.rmsse": 0.9}, rules=rules)
    assert (d.promote, d.reasons) == (False, (
        "brand.rmsse 0.7000 does not beat baseline 1.0000 by 40% (limit 0.6000)",
        "product.rmsse: challenger has no value on the backtest",
        "product.rmsse: challenger has no value on the backtest",
    ))


def test_flatten_params_reads_nested_config_dataclasses(cfg):
    flat = tracking.flatten_params(cfg.settlement, "settlement")
    assert flat == {"settlement.rounding": cfg.settlement.rounding,
                    "settlement.unpaid_balance_rule": cfg.settlement.unpaid_balance_rule,
                    "settlement.balance_grace_days": str(cfg.settlement.balance_grace_days)}
    assert tracking.flatten_params({"d": dt.date(2024, 1, 2), "t": (1, 2)}) == {"d": "2024-01-02", "t": "1,2"}


@pytest.fixture(autouse=True)
def _reset_mlflow_uri():
    yield
    mlflow.set_tracking_uri(None)
