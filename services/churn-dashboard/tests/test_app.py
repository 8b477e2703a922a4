"""The app in process (Flask's test client): a callback that raises fails the request, readiness
follows the database, and the app can live under a path prefix."""

from __future__ import annotations

import pytest
from conftest import callback_payload
from sqlalchemy import create_engine

from churn_dashboard import app as dashboard
from churn_dashboard import data


def test_a_callback_that_raises_is_a_failed_request(database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    client = dashboard.create_app(create_engine(database_url)).server.test_client()
    assert client.post("/_dash-update-component", json=callback_payload(["two-year"])).status_code == 200

    def broken(engine, selected):
        raise ValueError("a planted mistake")

    monkeypatch.setattr(data, "history", broken)
    # Dash logs the traceback and answers 500: the page shows an error, the HTTP tests fail.
    assert client.post("/_dash-update-component", json=callback_payload(["two-year"])).status_code == 500


def test_not_ready_while_the_database_cannot_be_read(database_url: str) -> None:
    ready = dashboard.create_app(create_engine(database_url)).server.test_client()
    assert ready.get("/readyz").status_code == 200
    unreachable = dashboard.create_app(create_engine("postgresql+psycopg2://analytics_reader@127.0.0.1:9/analytics")).server.test_client()
    response = unreachable.get("/readyz")
    assert response.status_code == 503 and b"analytics database not reachable" in response.data
    # Alive all the same: the pod is not restarted for its database.
    assert unreachable.get("/healthz").status_code == 200


def test_served_under_a_path_prefix_when_the_environment_says_so(database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DASH_URL_BASE_PATHNAME", "/apps/churn/")
    client = dashboard.create_app(create_engine(database_url)).server.test_client()
    assert client.get("/apps/churn/_dash-layout").status_code == 200
    assert client.get("/_dash-layout").status_code == 404
