"""The pandas steps: land a day's raw customer export (generated here, as a stand-in for a source
system), then clean it and aggregate it into Parquet in the datasets bucket."""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import storage

RAW = "churn/raw/customers-{day}.csv"
CURATED = "churn/curated/customers-{day}.parquet"
BY_CONTRACT = "churn/curated/churn-by-contract-{day}.parquet"
CONTRACTS = ["month-to-month", "one-year", "two-year"]


def raw_export(n: int, seed: int) -> pd.DataFrame:
    """What a CRM export looks like: customers with a few duplicates, gaps and typos."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "customer_id": [f"C{seed:04d}{i:06d}" for i in range(n)],
            "contract": rng.choice([*CONTRACTS, " Month-To-Month", "ONE-YEAR"], n, p=[0.45, 0.25, 0.2, 0.05, 0.05]),
            "tenure_months": rng.uniform(0, 72, n).round(1),
            "monthly_charges": rng.normal(70, 20, n).round(2),
            "support_calls": rng.poisson(2, n),
            "age": rng.normal(45, 12, n).clip(18, 90).round(0),
        }
    )
    logit = -1.0 - 0.05 * frame.tenure_months + 0.03 * (frame.monthly_charges - 70) + 0.5 * frame.support_calls
    frame["churned"] = (rng.uniform(0, 1, n) < 1 / (1 + np.exp(-logit))).astype("int64")
    frame.loc[rng.choice(n, n // 50, replace=False), "tenure_months"] = np.nan
    frame.loc[rng.choice(n, n // 100, replace=False), "monthly_charges"] *= -1
    return pd.concat([frame, frame.sample(n // 40, random_state=seed)], ignore_index=True)


def land(day: str, n: int = 5000) -> str:
    """Writes the day's raw export unless it is there already; returns its key."""
    bucket, key = storage.datasets_bucket(), RAW.format(day=day)
    if not storage.exists(bucket, key):
        storage.write_csv(raw_export(n, seed=int(day.replace("-", "")) % 10_000), bucket, key)
    return key


def clean(raw: pd.DataFrame) -> pd.DataFrame:
    """One row per customer, known contract, no missing tenure, charges positive, typed columns."""
    frame = raw.drop_duplicates(subset="customer_id", keep="last").copy()
    frame["contract"] = frame["contract"].str.strip().str.lower()
    frame = frame[frame["contract"].isin(CONTRACTS) & frame["tenure_months"].notna()]
    frame["monthly_charges"] = frame["monthly_charges"].abs().clip(10, 200)
    return frame.astype({"support_calls": "int64", "churned": "int64", "age": "float64"}).reset_index(drop=True)


def aggregate(customers: pd.DataFrame) -> pd.DataFrame:
    """Per contract: customers, churn rate, mean monthly charges and tenure."""
    grouped = customers.groupby("contract", sort=True)
    return pd.DataFrame(
        {
            "customers": grouped.size(),
            "churn_rate": grouped["churned"].mean().round(4),
            "mean_monthly_charges": grouped["monthly_charges"].mean().round(2),
            "mean_tenure_months": grouped["tenure_months"].mean().round(1),
        }
    ).reset_index()


def clean_and_aggregate(day: str) -> dict[str, object]:
    """Reads the day's raw export, writes the clean customers and the per-contract summary."""
    bucket = storage.datasets_bucket()
    customers = clean(storage.read_csv(bucket, RAW.format(day=day)))
    storage.write_parquet(customers, bucket, CURATED.format(day=day))
    storage.write_parquet(aggregate(customers), bucket, BY_CONTRACT.format(day=day))
    return {"customers": CURATED.format(day=day), "rows": len(customers)}
