"""The platform's additions to Superset (superset_platform) and what the image is built from:
GitLab's userinfo becomes the user FAB registers, declared data sources get their passwords from
the environment only, the image installs exactly the locked packages, and Superset's StatsD lines
come out of statsd_exporter under the names the alerts and the dashboard read."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from conftest import ROOT, rendered
from sqlalchemy.engine.url import make_url
from statsd_exporter import STATSD_EXPORTER, statsd_exporter

from superset_platform.data_sources import DataSource, password_store
from superset_platform.security import user_info_from_gitlab

PROJECT = ROOT / "images" / "superset"


def test_gitlab_groups_become_role_keys() -> None:
    claims = {"sub": "42", "preferred_username": "ada", "name": "Ada King Lovelace", "email": "ada@example.internal", "groups": ["ml/data-scientists", "ml"]}
    assert user_info_from_gitlab(claims) == {
        "username": "ada",
        "email": "ada@example.internal",
        "first_name": "Ada",
        "last_name": "King Lovelace",
        "role_keys": ["ml/data-scientists", "ml"],
    }
    # Someone in no group signs in with no role key, and so gets only the registration role.
    assert user_info_from_gitlab({"preferred_username": "bob"})["role_keys"] == []


def test_userinfo_without_a_username_or_with_odd_groups_is_refused() -> None:
    with pytest.raises(ValueError, match="openid"):
        user_info_from_gitlab({"email": "x@example.internal"})
    with pytest.raises(ValueError, match="groups"):
        user_info_from_gitlab({"preferred_username": "ada", "groups": "ml/data-scientists"})


ANALYTICS = DataSource(
    name="analytics",
    host="postgres.postgres.svc.cluster.local",
    port=5432,
    database="analytics",
    username="analytics_reader",
    password_env="ANALYTICS_PASSWORD",
    reader_role="Analytics reader",
)


def test_a_declared_data_source_gets_its_password_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    store = password_store([ANALYTICS])
    monkeypatch.setenv("ANALYTICS_PASSWORD", "from-the-secret")
    assert store(make_url(ANALYTICS.uri())) == "from-the-secret"
    # Another database, or the same one as another user, gets nothing from here.
    assert store(make_url("postgresql+psycopg2://analytics_writer@postgres.postgres.svc.cluster.local:5432/analytics")) is None
    assert store(make_url("postgresql+psycopg2://analytics_reader@elsewhere:5432/analytics")) is None
    monkeypatch.setenv("ANALYTICS_PASSWORD", "")
    with pytest.raises(RuntimeError, match="ANALYTICS_PASSWORD"):
        store(make_url(ANALYTICS.uri()))


def test_the_image_runs_the_python_and_superset_the_tests_load() -> None:
    from importlib.metadata import version

    containerfile = (PROJECT / "Containerfile").read_text()
    base = re.search(r"^ARG BASE_IMAGE=\S+/apache/superset:(\S+)$", containerfile, re.MULTILINE)
    assert base, "Containerfile: expected ARG BASE_IMAGE=.../apache/superset:<version>-py<minor>"
    assert base.group(1) == f"{version('apache-superset')}-py3{sys.version_info.minor}"


# What Superset sends through StatsdStatsLogger, one line per shape: the REST API's counter and
# timer (superset/views/base_api.py), SQL Lab's phase timers and results-backend counter, and a
# plain counter (the health check).
SUPERSET_CALLS = [
    ("incr", "DashboardRestApi.get_list.success"),
    ("incr", "ChartDataRestApi.data.error"),
    ("timing", "DashboardRestApi.get_list.time", 42.0),
    ("timing", "sqllab.query.time_executing_query", 1500.0),
    ("incr", "sqllab.results_backend.write_failure"),
    ("incr", "health"),
]
MAPPING = "30-apps/superset/configmap-superset-statsd-mapping.yaml"


def test_superset_metrics_come_out_under_the_names_the_alerts_read(tmp_path) -> None:
    from superset.stats_logger import StatsdStatsLogger

    with statsd_exporter(rendered("dev", MAPPING)["data"]["mappings.yml"], tmp_path) as exporter:
        logger = StatsdStatsLogger(host="127.0.0.1", port=exporter.udp, prefix="superset")
        for method, *args in SUPERSET_CALLS:
            getattr(logger, method)(*args)
        metrics = exporter.scrape()
    samples = {line.rsplit(" ", 1)[0] for line in metrics.splitlines() if line.startswith("superset_")}
    for expected in [
        'superset_api_calls_total{api="DashboardRestApi",endpoint="get_list",outcome="success"}',
        'superset_api_calls_total{api="ChartDataRestApi",endpoint="data",outcome="error"}',
        'superset_api_duration_seconds_count{api="DashboardRestApi",endpoint="get_list"}',
        'superset_sqllab_query_seconds_count{phase="time_executing_query"}',
        'superset_sqllab_results_backend_total{outcome="write_failure"}',
        "superset_health",
    ]:
        assert expected in samples, f"{expected} not among {sorted(samples)}"
    # Milliseconds on the wire, seconds in Prometheus.
    assert 'superset_sqllab_query_seconds_sum{phase="time_executing_query"} 1.5' in metrics


def test_statsd_exporter_rejects_a_broken_mapping(tmp_path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text(rendered("dev", MAPPING)["data"]["mappings.yml"].replace("match_metric_type: observer", "match_metric_type: timer-ish", 1))
    assert subprocess.run([str(STATSD_EXPORTER), f"--statsd.mapping-config={broken}", "--check-config"], capture_output=True, timeout=30).returncode != 0


def test_nothing_listens_for_statsd_over_tcp() -> None:
    # The exporter's TCP listener is off (--statsd.listen-tcp=): only the UDP port is a Service port.
    service = rendered("dev", "30-apps/superset/service-superset-statsd.yaml")
    assert [(p["port"], p["protocol"]) for p in service["spec"]["ports"]] == [(9125, "UDP")]
