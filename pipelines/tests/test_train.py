"""The training step against a real MLflow tracking server (the server's version, on SQLite and a
folder, artifacts proxied as the platform runs it): a new version of `churn`, its baseline and its
alias, loadable as the prediction service loads models."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import requests
from churn_pipeline import etl, train
from churn_pipeline.features import FEATURES
from conftest import free_port


@pytest.fixture(scope="module")
def tracking_uri(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("mlflow")
    port = free_port()
    command = [
        sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
        "--backend-store-uri", f"sqlite:///{tmp / 'mlflow.db'}", "--serve-artifacts", "--artifacts-destination", str(tmp / "artifacts"),
    ]  # fmt: skip
    log = (tmp / "mlflow.log").open("w")
    server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=tmp, env={**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true"})
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert server.poll() is None, (tmp / "mlflow.log").read_text()[-3000:]
            try:
                if requests.get(f"{url}/health", timeout=2).ok:
                    break
            except requests.ConnectionError:
                pass
            assert time.monotonic() < deadline, "MLflow did not start"
            time.sleep(0.3)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)


def training_data(n: int = 1500) -> pd.DataFrame:
    customers = etl.clean(etl.raw_export(n, seed=5))
    customers["split"] = ["test" if i % 5 == 0 else "train" for i in range(len(customers))]
    return customers


def test_registers_a_challenger_with_its_baseline(tracking_uri: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import mlflow
    from mlflow import MlflowClient

    monkeypatch.setenv("MLFLOW_TRACKING_URI", tracking_uri)
    monkeypatch.chdir(tmp_path)
    first = train.train(training_data())
    second = train.train(training_data())
    assert (first["version"], second["version"]) == ("1", "2")
    assert first["test_auc"] > 0.7

    client = MlflowClient(tracking_uri)
    assert client.get_model_version_by_alias("churn", "challenger").version == "2"
    baseline = mlflow.artifacts.load_dict(f"runs:/{second['run_id']}/{train.BASELINE}")
    # The shape the serving docs turn into cluster.yaml's drift baseline (prediction_api.baseline).
    assert set(baseline) == {"features", "positiveClass", "positiveShare"}
    assert list(baseline["features"]) == FEATURES
    assert baseline["positiveClass"] == "1" and 0 < baseline["positiveShare"] < 1

    # The prediction service loads models:/<name>@<alias> as a pyfunc and predicts on the features.
    model = mlflow.pyfunc.load_model("models:/churn@challenger")
    predictions = model.predict(training_data(50)[FEATURES])
    assert set(predictions) <= {0, 1}


def test_train_from_reads_the_parts_spark_wrote(task_env: str, tracking_uri: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from churn_pipeline import storage

    monkeypatch.setenv("MLFLOW_TRACKING_URI", tracking_uri)
    monkeypatch.chdir(tmp_path)
    data = training_data()
    half = len(data) // 2
    storage.write_parquet(data.iloc[:half], task_env, "churn/features/2026-12-01/part-00000.parquet")
    storage.write_parquet(data.iloc[half:], task_env, "churn/features/2026-12-01/part-00001.parquet")
    storage.client().put_object(Bucket=task_env, Key="churn/features/2026-12-01/_SUCCESS", Body=b"")
    result = train.train_from("churn/features/2026-12-01/", model_name="churn-from-s3")
    assert result["version"] == "1"
    with pytest.raises(FileNotFoundError, match="no Parquet under"):
        train.train_from("churn/features/1999-01-01/")
