"""Shared by the tests: the repository's paths, Airflow pointed at an empty home (set before
anything imports Airflow, which reads its configuration once), and a local S3 server."""

from __future__ import annotations

import os
import socket
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DAGS = ROOT / "pipelines" / "dags"
CLUSTERS = ("dev", "stage", "prod")

os.environ["AIRFLOW_HOME"] = tempfile.mkdtemp(prefix="airflow-home-")
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
# The task code imports as the DAG folder is on sys.path in a task pod.
sys.path.insert(0, str(DAGS))
# The repository's shared test helpers (statsd_exporter).
sys.path.insert(0, str(ROOT / "tools" / "testing" / "python"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rendered(cluster: str, path: str) -> dict:
    """One rendered object of a cluster, by its path under dist-manifests/<cluster>/."""
    import yaml

    return yaml.safe_load((ROOT / "dist-manifests" / cluster / path).read_text())


@pytest.fixture(scope="session")
def s3_server() -> Iterator[str]:
    """A local S3 server (moto), as MinIO answers the platform's S3 clients."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture()
def task_env(s3_server: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The S3 environment a task pod has (libs/airflow), against the local server, with a fresh datasets bucket."""
    import uuid

    import boto3

    bucket = f"datasets-{uuid.uuid4().hex[:8]}"
    for name, value in {
        "AWS_ENDPOINT_URL_S3": s3_server,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
        "DATASETS_BUCKET": f"s3://{bucket}",
    }.items():
        monkeypatch.setenv(name, value)
    boto3.client("s3").create_bucket(Bucket=bucket)
    return bucket
