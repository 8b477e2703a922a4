"""What the app reads: the churn summary the example pipeline loads (pipelines/dags/churn_pipeline/
analytics.py), through the analytics database's read-only role. Only SELECTs, with bound values."""

from __future__ import annotations

import os

import pandas as pd
from sqlalchemy import Engine, bindparam, create_engine, text

TABLE = "churn_by_contract"


def engine_from_environment() -> Engine:
    """The database from DATABASE_URL; by default PostgreSQL with libpq's PG* variables, which the
    platform sets from the read-only role's Secret (the URL then holds no password)."""
    url = os.environ.get("DATABASE_URL", "postgresql+psycopg2://")
    # A dashboard opened by a few people at once: a small pool per worker, checked before use.
    options = {"pool_size": 2, "max_overflow": 2, "pool_pre_ping": True, "pool_recycle": 1800} if url.startswith("postgresql") else {}
    return create_engine(url, **options)


def contracts(engine: Engine) -> list[str]:
    """The contract types that have rows, in order."""
    with engine.connect() as connection:
        return [row[0] for row in connection.execute(text(f"SELECT DISTINCT contract FROM {TABLE} ORDER BY contract"))]


def history(engine: Engine, selected: list[str]) -> pd.DataFrame:
    """Every day's summary of the `selected` contract types, oldest first."""
    columns = "day, contract, customers, churn_rate, mean_monthly_charges, mean_tenure_months"
    query = text(f"SELECT {columns} FROM {TABLE} WHERE contract IN :selected ORDER BY day, contract").bindparams(bindparam("selected", expanding=True))
    with engine.connect() as connection:
        frame = pd.read_sql(query, connection, params={"selected": list(selected)})
    frame["day"] = pd.to_datetime(frame["day"])
    return frame


def ping(engine: Engine) -> None:
    """Raises when the database cannot answer."""
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))
