"""What the end-to-end tests and the benchmark share: a real MLflow tracking server with the
reference model registered in it, and the service started exactly as a cluster's rendered
Deployment starts it (its command and environment), with only the cluster's addresses replaced,
in an environment holding exactly what the image installs (requirements.txt, the package on
PYTHONPATH). The tests' own environment has more (the full MLflow): a package the image lacks
would go unnoticed there.
"""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests
import yaml
from certificates import certificate_authority, issue

ROOT = Path(__file__).resolve().parents[3]
SERVICE = ROOT / "services" / "prediction-api"

#: Where the rendered clients find the internal CA, and where MLflow its certificate.
INTERNAL_CA = "/etc/platform/internal-ca/ca.crt"
MLFLOW_TLS_DIR = "/etc/mlflow/tls"
#: What a client verifies MLflow with (requests' `verify`), set by `mlflow_server` for the test.
CA_VARIABLE = "MLFLOW_TRACKING_SERVER_CERT_PATH"
MODEL, ALIAS = "churn", "champion"
IMAGE_ENV = SERVICE / ".venv-image"


def image_environment() -> Path:
    """The bin folder of a virtualenv with exactly the image's packages, rebuilt when requirements.txt changes."""
    requirements = SERVICE / "requirements.txt"
    digest = hashlib.sha256(requirements.read_bytes()).hexdigest()
    stamp = IMAGE_ENV / "requirements.sha256"
    if not stamp.exists() or stamp.read_text() != digest:
        uv = ["bash", str(ROOT / "tools" / "uv.sh")]
        subprocess.run([*uv, "venv", "--quiet", "--clear", "--python", sys.executable, str(IMAGE_ENV)], check=True)
        subprocess.run([*uv, "pip", "sync", "--quiet", "--require-hashes", str(requirements)], check=True, env={**os.environ, "VIRTUAL_ENV": str(IMAGE_ENV)})
        stamp.write_text(digest)
    return IMAGE_ENV / "bin"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rendered_container(cluster: str, name: str = "predict-churn") -> dict:
    deployment = yaml.safe_load((ROOT / "dist-manifests" / cluster / "30-apps" / "serving" / f"deployment-{name}.yaml").read_text())
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    return container


def rendered_register_job(cluster: str, name: str = "predict-churn") -> dict:
    """The container of the Job that registers the reference model (registerReferenceModel)."""
    [path] = (ROOT / "dist-manifests" / cluster / "30-apps" / "serving").glob(f"job-{name}-register-*.yaml")
    [container] = yaml.safe_load(path.read_text())["spec"]["template"]["spec"]["containers"]
    return container


def wait_until(url: str, seconds: float, process: subprocess.Popen, log: Path, verify: str | bool = True) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"exited with {process.returncode} before {url} answered:\n{log.read_text()[-4000:]}")
        try:
            if requests.get(url, timeout=2, verify=verify).ok:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.3)
    raise TimeoutError(f"{url} did not answer within {seconds} s:\n{log.read_text()[-4000:]}")


@contextmanager
def running(command: list[str], env: dict[str, str], log: Path, cwd: Path | None = None) -> Iterator[subprocess.Popen]:
    with log.open("w") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=cwd)
        try:
            yield process
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


def rendered_mlflow_tls_options(cluster: str = "prod") -> str:
    """The rendered server's --uvicorn-opts (its certificate and key files)."""
    path = ROOT / "dist-manifests" / cluster / "30-apps" / "mlflow" / "deployment-mlflow.yaml"
    [container] = [c for c in yaml.safe_load(path.read_text())["spec"]["template"]["spec"]["containers"] if c["name"] == "mlflow"]
    [options] = [a for a in container["args"] if a.startswith("--uvicorn-opts=")]
    return options


@contextmanager
def mlflow_server(tmp: Path, worker_start_seconds: float = 0) -> Iterator[str]:
    """A tracking server as the platform runs it (registry, proxied artifacts, HTTPS with the
    rendered uvicorn options and a certificate from a CA made here), on SQLite and a folder, with
    two workers under uvicorn's supervisor as in the cluster. While it runs, the test process
    verifies it with that CA (`CA_VARIABLE`), as clients verify the internal CA.
    `worker_start_seconds` delays every worker's start, as a busy node does."""
    port = free_port()
    tls = tmp / "tls"
    tls.mkdir()
    certificate_authority(tls, "ca")
    issue(tls, "ca", "tls", "DNS:localhost")
    url = f"https://localhost:{port}"
    command = [
        sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port), "--workers", "2",
        "--backend-store-uri", f"sqlite:///{tmp / 'mlflow.db'}", "--serve-artifacts", "--artifacts-destination", str(tmp / "artifacts"),
        rendered_mlflow_tls_options().replace(MLFLOW_TLS_DIR, str(tls)),
    ]  # fmt: skip
    env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true"}
    if worker_start_seconds:
        # uvicorn starts its workers with multiprocessing's spawn, whose children carry this flag.
        slow = tmp / "slow-workers"
        slow.mkdir()
        (slow / "sitecustomize.py").write_text(f"import sys, time\nif '--multiprocessing-fork' in sys.argv:\n    time.sleep({worker_start_seconds})\n")
        env["PYTHONPATH"] = os.pathsep.join([str(slow), *filter(None, [env.get("PYTHONPATH")])])
    previous = os.environ.get(CA_VARIABLE)
    os.environ[CA_VARIABLE] = str(tls / "ca.crt")
    try:
        with running(command, env, tmp / "mlflow.log", cwd=tmp) as process:
            wait_until(f"{url}/health", 120, process, tmp / "mlflow.log", verify=str(tls / "ca.crt"))
            yield url
    finally:
        if previous is None:
            os.environ.pop(CA_VARIABLE, None)
        else:
            os.environ[CA_VARIABLE] = previous


def register_reference_model(tracking_uri: str, tmp: Path) -> tuple[str, dict, str]:
    """Runs dev's rendered registering Job in the image's environment; returns the version, its
    baseline (baseline.json of its run) and what the Job printed."""
    import mlflow
    from mlflow import MlflowClient

    from prediction_api.baseline import ARTIFACT

    container = rendered_register_job("dev")
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env[CA_VARIABLE] == INTERNAL_CA
    env.update(MLFLOW_TRACKING_URI=tracking_uri, HOME=str(tmp), PATH=f"{image_environment()}:{os.environ['PATH']}", PYTHONPATH=str(SERVICE / "src"))
    env[CA_VARIABLE] = os.environ[CA_VARIABLE]
    done = subprocess.run(container["command"], env=env, capture_output=True, text=True, cwd=tmp, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    mlflow.set_tracking_uri(tracking_uri)
    client = MlflowClient()
    version = client.get_model_version_by_alias(MODEL, ALIAS)
    baseline = mlflow.artifacts.load_dict(f"runs:/{version.run_id}/{ARTIFACT}")
    return str(version.version), baseline, done.stdout


def service_env(container: dict, tracking_uri: str, port: int, metrics_dir: Path, **overrides: str) -> dict[str, str]:
    """The rendered container's environment with the cluster's addresses and folders replaced."""
    env = {e["name"]: e["value"] for e in container["env"]}
    assert not any("valueFrom" in e for e in container["env"]), "the service reads no Secret; give the test a value if that changes"
    replaced = {"MLFLOW_TRACKING_URI": tracking_uri, CA_VARIABLE: os.environ[CA_VARIABLE], "PORT": str(port), "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}
    assert set(replaced) <= set(env), f"the rendered environment no longer sets {set(replaced) - set(env)}: update the harness"
    # The image puts the package on PYTHONPATH (Containerfile); so does the test.
    image = {"PATH": f"{image_environment()}:{os.environ['PATH']}", "PYTHONPATH": str(SERVICE / "src"), "HOME": str(metrics_dir.parent)}
    return {**env, **replaced, **image, **overrides}


@contextmanager
def prediction_service(container: dict, tracking_uri: str, tmp: Path, **overrides: str) -> Iterator[str]:
    """The rendered command (gunicorn, its config, the preloaded model) serving on a free port."""
    port = free_port()
    metrics_dir = tmp / f"metrics-{port}"
    metrics_dir.mkdir()
    env = service_env(container, tracking_uri, port, metrics_dir, **overrides)
    base = f"http://127.0.0.1:{port}"
    log = tmp / f"service-{port}.log"
    with running(container["command"], env, log) as process:
        wait_until(base + container["readinessProbe"]["httpGet"]["path"], 120, process, log)
        yield base
