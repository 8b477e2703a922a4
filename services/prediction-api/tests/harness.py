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

ROOT = Path(__file__).resolve().parents[3]
SERVICE = ROOT / "services" / "prediction-api"
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


def wait_until(url: str, seconds: float, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"exited with {process.returncode} before {url} answered:\n{log.read_text()[-4000:]}")
        try:
            if requests.get(url, timeout=2).ok:
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


@contextmanager
def mlflow_server(tmp: Path) -> Iterator[str]:
    """A tracking server as the platform runs it (registry, proxied artifacts), on SQLite and a folder."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [
        sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
        "--backend-store-uri", f"sqlite:///{tmp / 'mlflow.db'}", "--serve-artifacts", "--artifacts-destination", str(tmp / "artifacts"),
    ]  # fmt: skip
    env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true"}
    with running(command, env, tmp / "mlflow.log", cwd=tmp) as process:
        wait_until(f"{url}/health", 120, process, tmp / "mlflow.log")
        yield url


def register_reference_model(tracking_uri: str, tmp: Path) -> tuple[str, dict, str]:
    """Runs dev's rendered registering Job in the image's environment; returns the version, its
    baseline (baseline.json of its run) and what the Job printed."""
    import mlflow
    from mlflow import MlflowClient

    from prediction_api.baseline import ARTIFACT

    container = rendered_register_job("dev")
    env = {e["name"]: e["value"] for e in container["env"]}
    env.update(MLFLOW_TRACKING_URI=tracking_uri, HOME=str(tmp), PATH=f"{image_environment()}:{os.environ['PATH']}", PYTHONPATH=str(SERVICE / "src"))
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
    replaced = {"MLFLOW_TRACKING_URI": tracking_uri, "PORT": str(port), "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}
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
