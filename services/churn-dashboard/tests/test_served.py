"""The reference app served as the rendered Deployment runs it: the image's gunicorn command with
the pod's environment. Its page, layout and callback answer over HTTP, its probes and metrics do
what the contract says, and a callback that raises is caught."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from conftest import CLUSTERS, ROOT, callback_payload, free_port, rendered_container
from readiness import wait_until_ok

PROJECT = ROOT / "services" / "churn-dashboard"


def pod_environment(container: dict, **overrides: str) -> dict[str, str]:
    """The container's plain values; values from Secrets are the test's."""
    env = {e["name"]: e["value"] for e in container["env"] if "value" in e}
    return {**env, **overrides}


@pytest.fixture
def served(database_url: str, tmp_path: Path) -> Iterator[str]:
    """The app under gunicorn, as the rendered dev pod runs it, reading the test table."""
    container = rendered_container("dev")
    port = free_port()
    metrics = tmp_path / "metrics"
    metrics.mkdir()
    shm = tmp_path / "shm"
    shm.mkdir()
    env = pod_environment(container, PROMETHEUS_MULTIPROC_DIR=str(metrics), DATABASE_URL=database_url)
    # The pod's gunicorn settings, then the port and heartbeat folder this machine lets us use.
    env["GUNICORN_CMD_ARGS"] += f" --bind=127.0.0.1:{port} --worker-tmp-dir={shm}"
    command = container["command"]
    command = [str(Path(sys.executable).parent / command[0]), *command[1:]]
    # The image's working directory holds gunicorn.conf.py; here the project folder does.
    process = subprocess.Popen(command, cwd=PROJECT, env={"PATH": os.environ["PATH"], "PYTHONPATH": str(PROJECT / "src"), **env}, stderr=open(tmp_path / "gunicorn.log", "w"))
    base = f"http://127.0.0.1:{port}"
    try:
        try:
            wait_until_ok(f"{base}/healthz", process, 60, "gunicorn")
        except AssertionError as error:
            raise AssertionError((tmp_path / "gunicorn.log").read_text()) from error
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)


def component(tree, component_id: str) -> dict:
    """The component with `component_id` in a serialised Dash layout."""
    if isinstance(tree, dict):
        if tree.get("props", {}).get("id") == component_id:
            return tree
        children = tree.get("props", {}).get("children")
        return component(children, component_id) if children is not None else {}
    if isinstance(tree, list):
        for child in tree:
            found = component(child, component_id)
            if found:
                return found
    return {}


def update(base: str, contracts: list[str]) -> requests.Response:
    return requests.post(f"{base}/_dash-update-component", json=callback_payload(contracts), timeout=30)


def test_the_rendered_pod_serves_the_page_the_layout_and_the_callback(served: str) -> None:
    page = requests.get(f"{served}/", timeout=10)
    assert page.status_code == 200 and "<title>Churn by contract type</title>" in page.text
    layout = requests.get(f"{served}/_dash-layout", timeout=10).json()
    dropdown = component(layout, "contracts")
    assert dropdown["props"]["options"] == ["month-to-month", "two-year"] and dropdown["props"]["value"] == ["month-to-month", "two-year"]
    response = update(served, ["month-to-month", "two-year"])
    assert response.status_code == 200, response.text
    result = response.json()["response"]
    rate = result["churn-rate"]["figure"]
    assert sorted(trace["name"] for trace in rate["data"]) == ["month-to-month", "two-year"]
    assert len(rate["data"][0]["x"]) == 3
    assert "2026-12-01" in json.dumps(result["latest"]["children"])
    # One contract type: one line.
    assert [t["name"] for t in update(served, ["two-year"]).json()["response"]["churn-rate"]["figure"]["data"]] == ["two-year"]


def test_probes_metrics_and_logs_follow_the_contract(served: str, tmp_path: Path) -> None:
    assert requests.get(f"{served}/readyz", timeout=10).status_code == 200
    update(served, ["two-year"])
    metrics = requests.get(f"{served}/metrics", timeout=10).text
    assert 'dash_http_requests_total{route="/_dash-update-component",status="200"}' in metrics
    assert 'dash_http_request_duration_seconds_count{route="/_dash-update-component"}' in metrics
    # gunicorn read the image's gunicorn.conf.py beside the platform's arguments: JSON log lines.
    started = [json.loads(line) for line in (tmp_path / "gunicorn.log").read_text().splitlines() if line.startswith("{")]
    assert any(entry["level"] == "INFO" and entry["message"].startswith("Listening at") for entry in started), started


@pytest.mark.parametrize("cluster", CLUSTERS)
def test_every_cluster_runs_the_contract_the_image_serves(cluster: str) -> None:
    container = rendered_container(cluster)
    env = pod_environment(container)
    assert container["command"] == ["gunicorn", "churn_dashboard.wsgi:server"]
    assert f"--bind=0.0.0.0:{container['ports'][0]['containerPort']}" in env["GUNICORN_CMD_ARGS"].split()
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz" and container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert env["DASH_URL_BASE_PATHNAME"] == "/"
    # The database comes from libpq's environment, its password from the read-only role's Secret.
    secrets = {e["name"]: e["valueFrom"]["secretKeyRef"]["name"] for e in container["env"] if "valueFrom" in e}
    assert secrets == {"PGPASSWORD": "postgres-role-analytics-reader"}
    assert env["PGUSER"] == "analytics_reader" and env["PGDATABASE"] == "analytics"
