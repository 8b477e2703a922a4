"""The pandas steps against a local S3 server: a generated export in, Parquet out, read back."""

from __future__ import annotations

import io

import boto3
import pandas as pd
import pytest
from churn_pipeline import etl

DAY = "2026-12-01"


def parquet(bucket: str, key: str) -> pd.DataFrame:
    return pd.read_parquet(io.BytesIO(boto3.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()))


def test_land_writes_the_export_once(task_env: str) -> None:
    key = etl.land(DAY, n=400)
    body = boto3.client("s3").get_object(Bucket=task_env, Key=key)["Body"].read()
    assert key == f"churn/raw/customers-{DAY}.csv"
    assert body.startswith(b"customer_id,contract,tenure_months")
    # A second run leaves the day's export as it is.
    boto3.client("s3").put_object(Bucket=task_env, Key=key, Body=body + b"")
    assert etl.land(DAY, n=10) == key
    assert boto3.client("s3").get_object(Bucket=task_env, Key=key)["Body"].read() == body


def test_clean_and_aggregate_writes_parquet_that_reads_back_clean(task_env: str) -> None:
    etl.land(DAY, n=2000)
    raw = pd.read_csv(io.BytesIO(boto3.client("s3").get_object(Bucket=task_env, Key=f"churn/raw/customers-{DAY}.csv")["Body"].read()))
    result = etl.clean_and_aggregate(DAY)

    customers = parquet(task_env, result["customers"])
    assert result["rows"] == len(customers) > 1500
    assert customers["customer_id"].is_unique
    assert set(customers["contract"]) == set(etl.CONTRACTS)
    assert customers["tenure_months"].notna().all()
    assert customers["monthly_charges"].between(10, 200).all()
    assert dict(customers.dtypes.astype(str))["support_calls"] == "int64"
    # The dirt the export had is gone: duplicates, typos in contracts, missing tenure.
    assert raw["customer_id"].duplicated().any() and not raw["contract"].isin(etl.CONTRACTS).all() and raw["tenure_months"].isna().any()

    summary = parquet(task_env, etl.BY_CONTRACT.format(day=DAY))
    assert list(summary["contract"]) == sorted(etl.CONTRACTS)
    assert summary["customers"].sum() == len(customers)
    expected = customers.groupby("contract")["churned"].mean().round(4)
    assert summary.set_index("contract")["churn_rate"].to_dict() == expected.to_dict()


def test_a_wrong_bucket_fails_the_task(task_env: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATASETS_BUCKET", "s3://no-such-bucket")
    with pytest.raises(Exception, match="NoSuchBucket"):
        etl.land(DAY, n=10)
    monkeypatch.setenv("DATASETS_BUCKET", "datasets")
    with pytest.raises(RuntimeError, match="DATASETS_BUCKET must be s3://<bucket>"):
        etl.land(DAY, n=10)
