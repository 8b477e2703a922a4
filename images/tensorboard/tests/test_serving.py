"""TensorBoard as rendered serves a run written to S3.

A real event file goes to a local S3 server (moto), served over HTTPS with a certificate from a
CA made here by openssl, as MinIO serves with the internal CA's. The rendered sync sidecar's
script runs with the rclone release of its image, verifying the server with the CA where the
rendered RCLONE_CA_CERT points (moved to the test's copy), and copies the run to a folder. The
rendered TensorBoard command, with this image's locked packages, then serves that run over HTTP.
A wrong prefix or bucket shows up as no run at all, or as no copy; a server from another CA as
no copy.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import boto3
import pytest
import requests
import yaml
from moto.moto_server.threaded_moto_server import MotoRequestHandler
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from tensorboard.compat.proto.event_pb2 import Event
from tensorboard.compat.proto.summary_pb2 import Summary
from tensorboard.summary.writer.event_file_writer import EventFileWriter
from werkzeug.serving import make_server

ROOT = Path(__file__).resolve().parents[3]
# The repository's shared test helpers (certificates made by openssl).
sys.path.insert(0, str(ROOT / "tools" / "testing" / "python"))
from certificates import certificate_authority, issue  # noqa: E402

RCLONE = ROOT / ".tools" / "bin" / "rclone"
RUN = "jane.doe/mnist-1"
LOSSES = [2.3, 1.1, 0.7, 0.4, 0.25]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rendered_containers(cluster: str) -> dict[str, dict]:
    deployment = yaml.safe_load((ROOT / "dist-manifests" / cluster / "30-apps/tensorboard/deployment-tensorboard.yaml").read_text())
    return {c["name"]: c for c in deployment["spec"]["template"]["spec"]["containers"]}


def plain_env(container: dict, overrides: dict[str, str]) -> dict[str, str]:
    """The container's environment, with what comes from Secrets and the cluster replaced by `overrides`."""
    env = {e["name"]: e["value"] for e in container.get("env", []) if "value" in e}
    from_secrets = {e["name"] for e in container.get("env", []) if "valueFrom" in e}
    missing = from_secrets - set(overrides)
    assert not missing, f"give the test a value for {missing}"
    return {**env, **overrides}


INTERNAL_CA = "/etc/platform/internal-ca/ca.crt"


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with the CA `ca.crt`, a server certificate from it for 127.0.0.1, and `other-ca.crt`."""
    folder = tmp_path_factory.mktemp("tls")
    certificate_authority(folder, "ca")
    certificate_authority(folder, "other-ca")
    issue(folder, "ca", "server", "IP:127.0.0.1")
    return folder


@pytest.fixture(scope="module")
def s3(tls: Path) -> Iterator[str]:
    port = free_port()
    # moto's own threaded server, as ThreadedMotoServer builds it, with TLS.
    app = DomainDispatcherApplication(create_backend_app)
    server = make_server("127.0.0.1", port, app, True, request_handler=MotoRequestHandler, ssl_context=(str(tls / "server.crt"), str(tls / "server.key")))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"https://127.0.0.1:{port}"
    client = boto3.client("s3", endpoint_url=url, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test", verify=str(tls / "ca.crt"))
    client.create_bucket(Bucket="tensorboard")
    # A run as a notebook writes it: event files under s3://tensorboard/<user>/<run>/.
    with __import__("tempfile").TemporaryDirectory() as tmp:
        writer = EventFileWriter(tmp)
        for step, loss in enumerate(LOSSES):
            writer.add_event(Event(step=step, wall_time=1_700_000_000 + step, summary=Summary(value=[Summary.Value(tag="loss", simple_value=loss)])))
        writer.close()
        for f in Path(tmp).iterdir():
            client.upload_file(str(f), "tensorboard", f"{RUN}/{f.name}")
    yield url
    server.shutdown()


@contextmanager
def running(command: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen]:
    with log.open("w") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            yield process
        finally:
            process.terminate()
            process.wait(timeout=30)


def sync_once(container: dict, s3_url: str, ca: Path, target: Path, tmp: Path, **overrides: str) -> bool:
    """Runs the rendered sidecar script until it reports a complete copy (True) or 60 s pass (False)."""
    assert RCLONE.exists(), f"{RCLONE} is missing: run 'bash tools/install-tools.sh'"
    rendered = {e["name"]: e.get("value") for e in container["env"]}
    # MinIO speaks HTTPS with the internal CA, which rclone is told about; the test's server too.
    assert rendered["RCLONE_CONFIG_PLATFORM_ENDPOINT"].startswith("https://")
    assert rendered["RCLONE_CA_CERT"] == INTERNAL_CA
    heartbeat = tmp / "synced"
    env = plain_env(
        container,
        {
            "RCLONE_CONFIG_PLATFORM_ENDPOINT": s3_url,
            "RCLONE_CA_CERT": str(ca),
            "RCLONE_CONFIG_PLATFORM_ACCESS_KEY_ID": "test",
            "RCLONE_CONFIG_PLATFORM_SECRET_ACCESS_KEY": "test",
            "SYNC_TARGET": str(target),
            "HEARTBEAT": str(heartbeat),
            "SYNC_INTERVAL": "1",
            "HOME": str(tmp),
            "PATH": f"{RCLONE.parent}:{os.environ['PATH']}",
            **overrides,
        },
    )
    log = tmp / "sync.log"
    with running(container["command"], env, log):
        deadline = time.monotonic() + 60
        failed_at = None
        while time.monotonic() < deadline:
            if heartbeat.exists():
                return True
            # rclone logs JSON (RCLONE_USE_JSON_LOG): a failed copy is retried every second; after
            # a few seconds of failures without a complete copy, the answer is no.
            if failed_at is None and '"level":"error"' in log.read_text():
                failed_at = time.monotonic()
            if failed_at is not None and time.monotonic() - failed_at > 3:
                return False
            time.sleep(0.2)
    return False


def serve(container: dict, logdir: Path, tmp: Path, settle: float = 15) -> tuple[list[str], list[list[float]]]:
    """Runs the rendered TensorBoard command on `logdir`; returns the runs it lists (waiting up to
    `settle` seconds after it is ready for the first) and the loss of RUN."""
    port = free_port()
    args = [a.replace("--logdir=/logs", f"--logdir={logdir}").replace("--port=6006", f"--port={port}") for a in container["args"]]
    assert f"--logdir={logdir}" in args and f"--port={port}" in args, "the rendered arguments changed: update this test"
    env = plain_env(container, {"HOME": str(tmp), "PATH": os.environ["PATH"]})
    readiness = container["readinessProbe"]["httpGet"]["path"]
    base = f"http://127.0.0.1:{port}"
    with running([*container["command"], *args], env, tmp / "tensorboard.log"):
        deadline = time.monotonic() + 90
        runs: list[str] = []
        while time.monotonic() < deadline:
            try:
                if requests.get(base + readiness, timeout=2).ok:
                    deadline = min(deadline, time.monotonic() + settle)
                    runs = requests.get(f"{base}/data/runs", timeout=5).json()
                    if runs:
                        break
            except requests.ConnectionError:
                pass
            time.sleep(0.5)
        else:
            return runs, []
        query = urllib.parse.urlencode({"tag": "loss", "run": RUN})
        scalars = requests.get(f"{base}/data/plugin/scalars/scalars?{query}", timeout=5)
        return runs, scalars.json() if scalars.ok else []


@pytest.mark.parametrize("cluster", ["dev", "stage", "prod"])
def test_the_rendered_pod_serves_a_run_written_to_s3(cluster: str, s3: str, tls: Path, tmp_path: Path):
    containers = rendered_containers(cluster)
    logs = tmp_path / "logs"
    logs.mkdir()
    assert sync_once(containers["sync"], s3, tls / "ca.crt", logs, tmp_path), (tmp_path / "sync.log").read_text()
    runs, loss = serve(containers["tensorboard"], logs, tmp_path)
    assert runs == [RUN], (tmp_path / "tensorboard.log").read_text()
    assert [step for _, step, _ in loss] == list(range(len(LOSSES)))
    assert [round(value, 4) for _, _, value in loss] == LOSSES


def test_a_wrong_prefix_serves_nothing(s3: str, tls: Path, tmp_path: Path):
    containers = rendered_containers("dev")
    logs = tmp_path / "logs"
    logs.mkdir()
    # The copy succeeds (an empty prefix is no error), and TensorBoard has nothing to show.
    assert sync_once(containers["sync"], s3, tls / "ca.crt", logs, tmp_path, SYNC_SOURCE="platform:tensorboard/runs")
    assert list(logs.rglob("*")) == []
    assert serve(containers["tensorboard"], logs, tmp_path, settle=5)[0] == []


def test_a_wrong_bucket_never_completes_a_copy(s3: str, tls: Path, tmp_path: Path):
    containers = rendered_containers("dev")
    assert not sync_once(containers["sync"], s3, tls / "ca.crt", tmp_path / "logs", tmp_path, SYNC_SOURCE="platform:tensorbord")
    assert "tensorbord" in (tmp_path / "sync.log").read_text()


def test_a_server_from_another_ca_never_completes_a_copy(s3: str, tls: Path, tmp_path: Path):
    containers = rendered_containers("prod")
    # rclone would retry a failed handshake for about a minute; one try says the same, sooner.
    assert not sync_once(containers["sync"], s3, tls / "other-ca.crt", tmp_path / "logs", tmp_path, RCLONE_LOW_LEVEL_RETRIES="1", RCLONE_RETRIES="1")
    assert "certificate signed by unknown authority" in (tmp_path / "sync.log").read_text()
