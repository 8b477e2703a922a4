"""The drift baseline of a model: per feature the mean and standard deviation of its training data,
and the share of the positive class. Training logs it beside the model (`log_baseline`); the CLI
prints it as the cluster.yaml block the platform's drift rules are made from.

    python -m prediction_api.baseline models:/<name>@<alias>
"""

from __future__ import annotations

import json
import sys
from typing import Any

import pandas as pd

ARTIFACT = "baseline.json"


def compute(features: pd.DataFrame, labels: pd.Series | None = None, positive_class: Any = None) -> dict[str, Any]:
    """The baseline of a training set: numeric columns only (strings have no mean)."""
    numeric = features.select_dtypes(include="number")
    baseline: dict[str, Any] = {"features": {c: {"mean": round(float(numeric[c].mean()), 6), "std": round(float(numeric[c].std(ddof=0)), 6)} for c in numeric.columns}}
    if labels is not None and positive_class is not None:
        baseline["positiveClass"] = str(positive_class)
        baseline["positiveShare"] = round(float((labels.astype(str) == str(positive_class)).mean()), 6)
    return baseline


def log_baseline(features: pd.DataFrame, labels: pd.Series | None = None, positive_class: Any = None) -> dict[str, Any]:
    """Logs the baseline as baseline.json in the active MLflow run, beside the model."""
    import mlflow

    baseline = compute(features, labels, positive_class)
    mlflow.log_dict(baseline, ARTIFACT)
    return baseline


def cluster_yaml(baseline: dict[str, Any]) -> str:
    """The `drift.baseline` block of a model service in cluster.yaml."""
    lines = ["drift:", "  baseline:"]
    if "positiveClass" in baseline:
        lines += [f'    positiveClass: "{baseline["positiveClass"]}"', f"    positiveShare: {baseline['positiveShare']}"]
    lines.append("    features:")
    for name, stats in baseline["features"].items():
        lines.append(f"      {name}: {{ mean: {stats['mean']}, std: {stats['std']} }}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    import mlflow
    from mlflow import MlflowClient

    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or not args[0].startswith("models:/") or "@" not in args[0]:
        print("usage: python -m prediction_api.baseline models:/<name>@<alias>   (MLFLOW_TRACKING_URI set)", file=sys.stderr)
        return 2
    name, alias = args[0].removeprefix("models:/").split("@", 1)
    version = MlflowClient().get_model_version_by_alias(name, alias)
    path = mlflow.artifacts.download_artifacts(run_id=version.run_id, artifact_path=ARTIFACT)
    with open(path) as f:
        print(cluster_yaml(json.load(f)), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
