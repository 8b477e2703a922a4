"""The load step: the day's per-contract churn summary into the analytics database, where BI tools
read it (as analytics_reader). The platform gives every task pod the Airflow connection
`analytics` as the database's writer."""

from __future__ import annotations

import pandas as pd

from . import etl, storage

TABLE = "churn_by_contract"
COLUMNS = {
    "day": "date NOT NULL",
    "contract": "text NOT NULL",
    "customers": "bigint",
    "churn_rate": "double precision",
    "mean_monthly_charges": "double precision",
    "mean_tenure_months": "double precision",
}


def load_frame(summary: pd.DataFrame, day: str, engine) -> int:
    """Replaces the day's rows of the summary table with `summary`; returns the rows written."""
    from sqlalchemy import text

    rows = summary.assign(day=pd.Timestamp(day).date())[list(COLUMNS)]
    columns = ", ".join(f"{name} {kind}" for name, kind in COLUMNS.items())
    with engine.begin() as connection:
        connection.execute(text(f"CREATE TABLE IF NOT EXISTS {TABLE} ({columns}, PRIMARY KEY (day, contract))"))
        connection.execute(text(f"DELETE FROM {TABLE} WHERE day = :day"), {"day": rows["day"].iloc[0]})
        rows.to_sql(TABLE, connection, if_exists="append", index=False)
    return len(rows)


def load_summary(day: str, conn_id: str = "analytics") -> int:
    """Reads the day's summary the pandas step wrote and loads it through the Airflow connection."""
    from airflow.providers.postgres.hooks.postgres import PostgresHook

    summary = storage.read_parquet(storage.datasets_bucket(), etl.BY_CONTRACT.format(day=day))
    return load_frame(summary, day, PostgresHook(postgres_conn_id=conn_id).get_sqlalchemy_engine())
