"""The rendered superset_config.py, loaded by Superset 6.1.0 itself (the image's version, from
uv.lock): every setting is one Superset or Flask-AppBuilder reads, Superset starts with it and
answers its health check with the security headers on, Celery and the caches point at the
cluster's Redis, and GitLab groups map to the roles cluster.yaml gives them. Each check also
fails on a planted mistake."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import CLUSTERS, cluster_yaml, json_result, rendered_config, run_with_config

# Superset reads superset_config.py with `from superset_config import *`: a misspelt name is
# silently ignored, so the names are checked against what the programs really read: Superset's
# own defaults (top-level names of superset/config.py), Flask's, and every key Flask-AppBuilder,
# Flask-WTF and Flask-Caching look up in app.config.
KNOWN_AND_DEFINED = """
import ast, json, pathlib, re, sys
import flask, flask_appbuilder, flask_caching, flask_wtf, superset, superset_platform
source = pathlib.Path(superset.__file__).parent / "config.py"
known = {t.id for node in ast.parse(source.read_text()).body if isinstance(node, (ast.Assign, ast.AnnAssign))
         for t in (node.targets if isinstance(node, ast.Assign) else [node.target]) if isinstance(t, ast.Name)}
known |= set(flask.Flask.default_config)
lookup = re.compile(r"config(?:\\.get\\(|\\[|\\.setdefault\\()\\s*[\\"']([A-Z][A-Z0-9_]+)[\\"']")
for package in (flask_appbuilder, flask_caching, flask_wtf):
    for f in pathlib.Path(package.__file__).parent.rglob("*.py"):
        known |= set(lookup.findall(f.read_text(errors="replace")))
known |= set(superset_platform.PLATFORM_SETTINGS)
import importlib.util
spec = importlib.util.spec_from_file_location("superset_config", __import__("os").environ["SUPERSET_CONFIG_PATH"])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
imported = {a.asname or a.name for node in ast.parse(pathlib.Path(spec.origin).read_text()).body if isinstance(node, (ast.Import, ast.ImportFrom)) for a in node.names}
defined = sorted(n for n in vars(module) if n.isupper() and not n.startswith("_") and n not in imported)
print(json.dumps({"unknown": [n for n in defined if n not in known], "defined": defined}))
"""


def unknown_settings(config_text: str, tmp: Path) -> list[str]:
    return json_result(run_with_config(config_text, KNOWN_AND_DEFINED, tmp))["unknown"]


@pytest.mark.parametrize("cluster", CLUSTERS)
def test_every_setting_is_one_superset_reads(cluster: str, tmp_path: Path) -> None:
    assert unknown_settings(rendered_config(cluster), tmp_path) == []


def test_a_misspelt_setting_is_caught(tmp_path: Path) -> None:
    broken = rendered_config("dev") + "SESSION_COOKIE_SECUR = True\n"
    assert unknown_settings(broken, tmp_path) == ["SESSION_COOKIE_SECUR"]


STARTED = """
import json
from superset.app import create_app
app = create_app()
client = app.test_client()
health = client.get("/health")
from superset.tasks.celery_app import app as celery
from superset.extensions import cache_manager, results_backend_manager
c = app.config
print(json.dumps({
    "health": [health.status_code, health.get_data(as_text=True)],
    "headers": sorted(health.headers.keys()),
    "security_manager": type(app.appbuilder.sm).__name__,
    "oauth": [p["name"] for p in c["OAUTH_PROVIDERS"]],
    "roles": c["AUTH_ROLES_MAPPING"],
    "secret_key": c["SECRET_KEY"],
    "broker": celery.conf.broker_url,
    "backend": celery.conf.result_backend,
    "cache": type(cache_manager.cache.cache).__name__,
    "cache_db": c["CACHE_CONFIG"]["CACHE_REDIS_DB"],
    "results": type(results_backend_manager.results_backend).__name__,
    "talisman": c["TALISMAN_ENABLED"],
    "cookie_secure": c["SESSION_COOKIE_SECURE"],
    "sources": [[s.name, s.uri(), s.password_env] for s in c["PLATFORM_DATA_SOURCES"]],
    "beat": sorted(celery.conf.beat_schedule),
}))
"""


def on_sqlite(config_text: str, tmp: Path) -> str:
    """The rendered file with one change: npm test has no PostgreSQL, so the metadata database is a
    file here (npm run test:integration runs the start-up against a real PostgreSQL)."""
    return config_text + f'SQLALCHEMY_DATABASE_URI = "sqlite:///{tmp}/metadata.db"\n'


@pytest.mark.parametrize("cluster", CLUSTERS)
def test_superset_starts_with_it_and_is_wired_to_the_cluster(cluster: str, tmp_path: Path) -> None:
    got = json_result(run_with_config(on_sqlite(rendered_config(cluster), tmp_path), STARTED, tmp_path))
    assert got["health"] == [200, "OK"]
    # Talisman's headers are on every response, the health check's too.
    for header in ("Content-Security-Policy", "X-Frame-Options", "X-Content-Type-Options"):
        assert header in got["headers"], got["headers"]
    # The UI is served from its own host: no cross-origin access.
    assert "Access-Control-Allow-Origin" not in got["headers"]
    assert got["talisman"] is True and got["cookie_secure"] is True
    assert got["secret_key"] == "test-only-secret-key"
    assert got["security_manager"] == "GitLabSecurityManager" and got["oauth"] == ["gitlab"]
    # The queue and the caches: two databases of the cluster's Redis, over TLS, the password quoted
    # into the URL. (tools/redis.integration-test.ts connects these clients to a real TLS server.)
    assert got["broker"].startswith("rediss://:test-only%2Fredis%40password@redis.redis.svc.cluster.local:6379/")
    assert got["backend"] == got["broker"]
    assert int(got["broker"].rsplit("/", 1)[1]) != got["cache_db"]
    assert got["cache"] == "RedisCache" and got["results"] == "RedisCache"
    assert got["sources"] == [["analytics", "postgresql+psycopg2://analytics_reader@postgres.postgres.svc.cluster.local:5432/analytics", "ANALYTICS_PASSWORD"]]
    assert got["beat"] == ["prune_logs", "prune_query"]
    # Who gets what, from cluster.yaml's access.superset.
    access = cluster_yaml(cluster)["access"]["superset"]
    for group in access["admins"]:
        assert got["roles"][group] == ["Admin"]
    for group in access["editors"]:
        assert "Alpha" in got["roles"][group] and "Analytics reader" in got["roles"][group]
    for group in set(access["users"]) - set(access["editors"]) - set(access["admins"]):
        assert got["roles"][group] == ["Gamma", "sql_lab", "Analytics reader"]


def test_superset_refuses_to_start_without_its_secret_key(tmp_path: Path) -> None:
    result = run_with_config(on_sqlite(rendered_config("dev"), tmp_path), "from superset.app import create_app; create_app()", tmp_path, env={"SUPERSET_SECRET_KEY": None})
    assert result.returncode != 0
    assert "SUPERSET_SECRET_KEY" in result.stderr
