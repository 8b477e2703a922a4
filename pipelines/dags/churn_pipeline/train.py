"""The training step: a churn classifier on the Spark job's training set, logged to MLflow with its
signature and drift baseline (baseline.json, the format the serving docs read), registered as a
new version of the model the platform serves, and aliased as a challenger. Promoting it to
champion, which the model services load, stays a person's decision (docs/serving.md)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from . import storage
from .features import FEATURES, LABEL

BASELINE = "baseline.json"


def baseline(features: pd.DataFrame, labels: pd.Series, positive_class: int = 1) -> dict[str, Any]:
    """Per feature the mean and standard deviation of the training data; the positive class's share."""
    return {
        "features": {c: {"mean": round(float(features[c].mean()), 6), "std": round(float(features[c].std(ddof=0)), 6)} for c in features.columns},
        "positiveClass": str(positive_class),
        "positiveShare": round(float((labels == positive_class).mean()), 6),
    }


def train(data: pd.DataFrame, model_name: str = "churn", alias: str = "challenger") -> dict[str, Any]:
    """Trains on the train split, scores the test split, logs and registers; returns what it did."""
    import mlflow
    from mlflow import MlflowClient
    from mlflow.models import infer_signature
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    train_rows, test_rows = data[data["split"] == "train"], data[data["split"] == "test"]
    x, y = train_rows[FEATURES], train_rows[LABEL]
    model = make_pipeline(StandardScaler(), LogisticRegression()).fit(x, y)
    auc = float(roc_auc_score(test_rows[LABEL], model.predict_proba(test_rows[FEATURES])[:, 1]))
    mlflow.set_experiment(f"{model_name}-pipeline")
    with mlflow.start_run() as run:
        mlflow.log_params({"rows_train": len(train_rows), "rows_test": len(test_rows), "model": "StandardScaler+LogisticRegression"})
        mlflow.log_metrics({"train_accuracy": float(model.score(x, y)), "test_auc": auc})
        mlflow.log_dict(baseline(x, y), BASELINE)
        info = mlflow.sklearn.log_model(model, name="model", signature=infer_signature(x, model.predict(x)), registered_model_name=model_name)
    version = str(info.registered_model_version)
    MlflowClient().set_registered_model_alias(model_name, alias, version)
    return {"run_id": run.info.run_id, "version": version, "alias": alias, "test_auc": round(auc, 4)}


def train_from(prefix: str, model_name: str = "churn", alias: str = "challenger") -> dict[str, Any]:
    """Reads the training set the Spark step wrote under `prefix` in the datasets bucket and trains."""
    return train(storage.read_parquet(storage.datasets_bucket(), prefix), model_name, alias)
