"""Shared by the tests: the repository's paths, the rendered objects, and Superset run in a child
process (its configuration is read once per process) with the rendered superset_config.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[3]
CLUSTERS = ("dev", "stage", "prod")
APPS = "30-apps/superset"

# The rendered file names the cluster's Service hosts; StatsD's client resolves its host when
# Superset loads the file. This sitecustomize makes every *.cluster.local name this machine.
CLUSTER_NAMES = ROOT / "tools" / "testing" / "cluster-names"
# The repository's shared test helpers (statsd_exporter).
sys.path.insert(0, str(ROOT / "tools" / "testing" / "python"))


def rendered(cluster: str, path: str) -> dict:
    """One rendered object of a cluster, by its path under dist-manifests/<cluster>/."""
    return yaml.safe_load((ROOT / "dist-manifests" / cluster / path).read_text())


def rendered_config(cluster: str) -> str:
    return rendered(cluster, f"{APPS}/configmap-superset-config.yaml")["data"]["superset_config.py"]


def cluster_yaml(cluster: str) -> dict:
    return yaml.safe_load((ROOT / "clusters" / cluster / "cluster.yaml").read_text())


# What Kubernetes would put into the environment from Secrets, for the tests.
TEST_SECRETS = {
    "SUPERSET_SECRET_KEY": "test-only-secret-key",
    "PGPASSWORD": "test-only-metadata-password",
    "REDIS_PASSWORD": "test-only/redis@password",
    "OAUTH_CLIENT_SECRET": "test-only-oauth-secret",
    "ANALYTICS_PASSWORD": "test-only-analytics-password",
}


def run_with_config(config_text: str, code: str, tmp: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Runs `code` in a fresh Python that loads `config_text` as superset_config.py."""
    config = tmp / "superset_config.py"
    config.write_text(config_text)
    home = tmp / "home"
    home.mkdir(exist_ok=True)
    environment = {
        "PATH": os.environ["PATH"],
        "HOME": str(home),
        "SUPERSET_HOME": str(home),
        "SUPERSET_CONFIG_PATH": str(config),
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONPATH": str(CLUSTER_NAMES),
        **TEST_SECRETS,
        **(env or {}),
    }
    environment = {k: v for k, v in environment.items() if v is not None}
    return subprocess.run([sys.executable, "-c", code], env=environment, capture_output=True, text=True, timeout=300)


def json_result(result: subprocess.CompletedProcess[str]) -> dict:
    assert result.returncode == 0, result.stderr[-4000:]
    return json.loads(result.stdout.strip().splitlines()[-1])
