"""S3 access for the tasks: the platform gives every task pod the endpoint and a key in its
environment (AWS_ENDPOINT_URL_S3, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY), and the datasets
bucket as DATASETS_BUCKET (s3://datasets)."""

from __future__ import annotations

import io
import os

import boto3
import pandas as pd


def datasets_bucket() -> str:
    """The bucket name from DATASETS_BUCKET (s3://<name>)."""
    url = os.environ.get("DATASETS_BUCKET", "")
    if not url.startswith("s3://") or "/" in url.removeprefix("s3://").strip("/"):
        raise RuntimeError(f"DATASETS_BUCKET must be s3://<bucket>, found {url!r}: is this running in an Airflow task pod of the platform?")
    return url.removeprefix("s3://").strip("/")


def client():
    """An S3 client for the platform's S3 server (boto3 reads the endpoint and key from the environment)."""
    return boto3.client("s3")


def exists(bucket: str, key: str) -> bool:
    return client().list_objects_v2(Bucket=bucket, Prefix=key, MaxKeys=1).get("KeyCount", 0) > 0


def read_csv(bucket: str, key: str) -> pd.DataFrame:
    body = client().get_object(Bucket=bucket, Key=key)["Body"].read()
    return pd.read_csv(io.BytesIO(body))


def write_csv(frame: pd.DataFrame, bucket: str, key: str) -> None:
    client().put_object(Bucket=bucket, Key=key, Body=frame.to_csv(index=False).encode())


def write_parquet(frame: pd.DataFrame, bucket: str, key: str) -> None:
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    client().put_object(Bucket=bucket, Key=key, Body=buffer.getvalue())


def read_parquet(bucket: str, prefix: str) -> pd.DataFrame:
    """One Parquet object, or every part of a folder Spark wrote (its _SUCCESS marker and other files skipped)."""
    s3 = client()
    keys = [o["Key"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix) for o in page.get("Contents", []) if o["Key"].endswith(".parquet")]
    if not keys:
        raise FileNotFoundError(f"no Parquet under s3://{bucket}/{prefix}")
    return pd.concat([pd.read_parquet(io.BytesIO(s3.get_object(Bucket=bucket, Key=k)["Body"].read())) for k in sorted(keys)], ignore_index=True)
