"""The tracking server's TLS as rendered: MLflow started with the rendered uvicorn options serves
HTTPS that the MLflow client verifies with MLFLOW_TRACKING_SERVER_CERT_PATH, refuses a client
trusting another CA, and serves a renewed certificate after the rendered reloader loop signals
uvicorn's supervisor, without a restart."""

from __future__ import annotations

import os
import subprocess
import time

import pytest
import yaml
from certificates import certificate_authority, issue
from harness import CA_VARIABLE, MLFLOW_TLS_DIR, ROOT, mlflow_server


def served_serial(url: str) -> str:
    host_port = url.removeprefix("https://")
    shown = subprocess.run(["openssl", "s_client", "-connect", host_port], input="", capture_output=True, text=True, timeout=10)
    return subprocess.run(["openssl", "x509", "-noout", "-serial"], input=shown.stdout, capture_output=True, text=True).stdout.strip()


def experiments(url: str, ca: str) -> subprocess.CompletedProcess:
    """Lists experiments with the MLflow client in a process of its own, verifying with `ca`."""
    script = "import mlflow, sys; mlflow.set_tracking_uri(sys.argv[1]); print(len(mlflow.search_experiments()))"
    env = {**os.environ, CA_VARIABLE: ca, "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0"}
    return subprocess.run(["python", "-c", script, url], env=env, capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("mlflow-tls")
    # Workers that take 8 s to start, as on a busy node: longer than uvicorn waits by default
    # before it gives up replacing a worker (and keeps the old certificate).
    with mlflow_server(tmp, worker_start_seconds=8) as url:
        yield url, tmp


def test_the_client_verifies_the_server_with_the_rendered_variable(server) -> None:
    url, tmp = server
    trusted = experiments(url, str(tmp / "tls" / "ca.crt"))
    assert trusted.returncode == 0 and trusted.stdout.strip() == "1", trusted.stderr
    certificate_authority(tmp, "other-ca")
    foreign = experiments(url, str(tmp / "other-ca.crt"))
    assert foreign.returncode != 0 and "CERTIFICATE_VERIFY_FAILED" in foreign.stderr, foreign.stderr


def test_the_rendered_reloader_brings_a_renewed_certificate_into_use(server) -> None:
    url, tmp = server
    tls = tmp / "tls"
    before = served_serial(url)
    renewed = issue(tls, "ca", "renewed", "DNS:localhost")
    deployment = yaml.safe_load((ROOT / "dist-manifests/prod/30-apps/mlflow/deployment-mlflow.yaml").read_text())
    [reloader] = [c for c in deployment["spec"]["template"]["spec"]["containers"] if c["name"] == "reload-on-renewal"]
    # The loop as rendered; its first sleep is cert-manager writing the renewed Secret, its second ends the run.
    shims = tmp / "shims"
    shims.mkdir()
    heartbeat = tmp / "heartbeat"
    heartbeat.mkdir()
    swap = "\n".join(f"cp {tls}/renewed.{ext} {tls}/.tls.{ext} && mv -f {tls}/.tls.{ext} {tls}/tls.{ext}" for ext in ("key", "crt"))
    (shims / "sleep").write_text(f"#!/bin/sh\nset -e\nif [ -e {heartbeat}/slept ]; then exit 3; fi\ntouch {heartbeat}/slept\n{swap}\n")
    (shims / "sleep").chmod(0o755)
    script = reloader["command"][2].replace(MLFLOW_TLS_DIR, str(tls)).replace("/run/heartbeat", str(heartbeat))
    # In the pod, the reloader sees its own pod's processes; here it would see every test's
    # uvicorn on the machine, so the rendered match is narrowed to this server's port.
    port = url.rsplit(":", 1)[1]
    assert '*"-m uvicorn"*)' in script
    script = script.replace('*"-m uvicorn"*)', f'*"-m uvicorn"*"--port {port} "*)')
    run = subprocess.run(["/bin/sh", "-c", script], env={"PATH": f"{shims}:/usr/bin:/bin"}, capture_output=True, text=True, timeout=60)
    assert run.returncode == 3, run.stderr
    assert "certificate renewed: configuration reloaded" in run.stdout
    expected = subprocess.run(["openssl", "x509", "-noout", "-serial", "-in", str(renewed)], capture_output=True, text=True).stdout.strip()
    assert expected != before
    # uvicorn replaces its workers one at a time: wait until only the renewed certificate is served.
    deadline, in_a_row = time.monotonic() + 90, 0
    while time.monotonic() < deadline and in_a_row < 5:
        in_a_row = in_a_row + 1 if served_serial(url) == expected else 0
        time.sleep(0.5)
    log = (tmp / "mlflow.log").read_text()
    assert in_a_row == 5, log[-3000:]
    # Replaced as designed: uvicorn gave up on no new worker (which would keep the old certificate).
    assert "was not ready in time" not in log, log[-3000:]
    assert experiments(url, str(tls / "ca.crt")).returncode == 0
