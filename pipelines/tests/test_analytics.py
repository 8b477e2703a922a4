"""The load step's table logic on SQLite (the PostgreSQL run, through the rendered connection,
is in npm run test:integration): one row per contract and day, a rerun replaces the day."""

from __future__ import annotations

import pandas as pd
from churn_pipeline import analytics, etl
from sqlalchemy import create_engine, text


def test_a_day_is_loaded_once_and_replaced_on_a_rerun(tmp_path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'analytics.db'}")
    summary = etl.aggregate(etl.clean(etl.raw_export(800, seed=3)))
    assert analytics.load_frame(summary, "2026-12-01", engine) == 3
    assert analytics.load_frame(summary, "2026-12-02", engine) == 3
    assert analytics.load_frame(summary.assign(customers=1), "2026-12-02", engine) == 3
    with engine.connect() as connection:
        rows = pd.read_sql(text(f"SELECT day, contract, customers FROM {analytics.TABLE} ORDER BY day, contract"), connection)
    assert len(rows) == 6
    assert rows[rows["day"] == "2026-12-02"]["customers"].tolist() == [1, 1, 1]
    assert rows[rows["day"] == "2026-12-01"]["customers"].sum() == summary["customers"].sum()
