"""Training, evaluation and MLflow registry helpers (forecasts, return risk)."""
