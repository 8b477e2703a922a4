"""The platform's reference model: a churn classifier on generated customers, logged with its signature
and its drift baseline, registered, and given an alias. The tests serve it; a new cluster can too.

    python -m prediction_api.reference_model [--name churn] [--alias champion] [--if-absent]   (MLFLOW_TRACKING_URI set)

A cluster's seeding Job (cluster.yaml serving.registerReferenceModel) runs it with --if-absent: it
registers the model once, and leaves the alias alone once anything is registered under it.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
import pandas as pd

FEATURES = ["tenure_months", "monthly_charges", "support_calls", "age"]


def customers(n: int, seed: int = 7, shift: float = 0.0) -> tuple[pd.DataFrame, pd.Series]:
    """`n` generated customers and whether they left; `shift` moves monthly charges up (drift)."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "tenure_months": rng.uniform(0, 72, n).round(1),
            "monthly_charges": (rng.normal(70, 20, n) + shift).clip(10, 200).round(2),
            "support_calls": rng.poisson(2, n).astype("int64"),
            "age": rng.normal(45, 12, n).clip(18, 90).round(0),
        }
    )
    logit = -1.0 - 0.05 * frame.tenure_months + 0.03 * (frame.monthly_charges - 70) + 0.5 * frame.support_calls
    churned = pd.Series((rng.uniform(0, 1, n) < 1 / (1 + np.exp(-logit))).astype("int64"), name="churned")
    return frame, churned


def train_and_register(name: str = "churn", alias: str = "champion", n: int = 2000) -> str:
    """Trains, logs and registers the model; points `alias` at the new version and returns it."""
    import mlflow
    from mlflow import MlflowClient
    from mlflow.models import infer_signature
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from .baseline import log_baseline

    features, churned = customers(n)
    model = make_pipeline(StandardScaler(), LogisticRegression()).fit(features, churned)
    mlflow.set_experiment(f"{name}-reference")
    with mlflow.start_run():
        mlflow.log_metric("train_accuracy", float(model.score(features, churned)))
        log_baseline(features, churned, positive_class=1)
        info = mlflow.sklearn.log_model(model, name="model", signature=infer_signature(features, model.predict(features)), registered_model_name=name)
    version = str(info.registered_model_version)
    MlflowClient().set_registered_model_alias(name, alias, version)
    return version


def registered(name: str, alias: str) -> str | None:
    """The version `alias` names, or None when the model or the alias does not exist."""
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    try:
        return str(MlflowClient().get_model_version_by_alias(name, alias).version)
    except MlflowException as e:
        if e.error_code == "RESOURCE_DOES_NOT_EXIST" or "not found" in str(e).lower():
            return None
        raise


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--name", default="churn")
    parser.add_argument("--alias", default="champion")
    parser.add_argument("--if-absent", action="store_true", help="do nothing when the alias already names a version")
    args = parser.parse_args(argv)
    if args.if_absent and (version := registered(args.name, args.alias)) is not None:
        print(f"{args.name}@{args.alias} is version {version}: nothing to do")
        return 0
    print(f"registered {args.name} version {train_and_register(args.name, args.alias)} as @{args.alias}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
