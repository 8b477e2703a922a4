"""Shared by the tests: the repository's paths, the rendered Deployment, and an analytics table
like the one the example pipeline loads (SQLite here: npm test has no PostgreSQL; npm run
test:integration serves the app from a real PostgreSQL as the read-only role)."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import pytest
import yaml
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[3]
# The repository's shared test helpers.
sys.path.insert(0, str(ROOT / "tools" / "testing" / "python"))
CLUSTERS = ("dev", "stage", "prod")

# Three days of the pipeline's summary for two contract types.
ROWS = [
    ("2026-11-29", "month-to-month", 410, 0.31, 71.5, 9.2),
    ("2026-11-29", "two-year", 220, 0.03, 60.1, 52.0),
    ("2026-11-30", "month-to-month", 405, 0.33, 72.0, 9.0),
    ("2026-11-30", "two-year", 221, 0.02, 60.4, 52.3),
    ("2026-12-01", "month-to-month", 398, 0.35, 72.4, 8.8),
    ("2026-12-01", "two-year", 223, 0.02, 60.5, 52.5),
]


def callback_payload(contracts: list[str]) -> dict:
    """What the browser sends when the contract selection changes (Dash's callback protocol)."""
    return {
        "output": "..churn-rate.figure...customers.figure...latest.children..",
        "outputs": [{"id": "churn-rate", "property": "figure"}, {"id": "customers", "property": "figure"}, {"id": "latest", "property": "children"}],
        "inputs": [{"id": "contracts", "property": "value", "value": contracts}],
        "changedPropIds": ["contracts.value"],
        "state": [],
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rendered_container(cluster: str) -> dict:
    deployment = yaml.safe_load((ROOT / "dist-manifests" / cluster / "30-apps/dash/deployment-dash-churn.yaml").read_text())
    return deployment["spec"]["template"]["spec"]["containers"][0]


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path}/analytics.db"
    with create_engine(url).begin() as connection:
        connection.execute(
            text(
                "CREATE TABLE churn_by_contract (day date NOT NULL, contract text NOT NULL, customers bigint, churn_rate double precision,"
                " mean_monthly_charges double precision, mean_tenure_months double precision, PRIMARY KEY (day, contract))"
            )
        )
        connection.execute(text("INSERT INTO churn_by_contract VALUES (:d, :c, :n, :r, :m, :t)"), [dict(zip("dcnrmt", row, strict=True)) for row in ROWS])
    return url
