"""The Spark step's code with Spark in local mode (pyspark at the image's version, on Debian's
OpenJDK), on the clean customers the pandas step writes."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from churn_pipeline import etl, features


@pytest.fixture(scope="module")
def training_set(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    tmp = tmp_path_factory.mktemp("spark")
    customers = etl.clean(etl.raw_export(3000, seed=11))
    customers.to_parquet(tmp / "customers.parquet", index=False)
    out = tmp / "features"
    assert features.main(["features.py", str(tmp / "customers.parquet"), str(out)]) == 0
    assert (out / "_SUCCESS").exists()
    return pd.concat([pd.read_parquet(p) for p in sorted(Path(out).glob("*.parquet"))], ignore_index=True)


def test_the_training_set_has_the_model_features_and_the_label(training_set: pd.DataFrame) -> None:
    assert list(training_set.columns) == ["customer_id", *features.FEATURES, "charges_per_month_of_tenure", "churned", "split"]
    assert len(training_set) == len(etl.clean(etl.raw_export(3000, seed=11)))
    assert training_set[features.FEATURES].notna().all().all()
    assert set(training_set["churned"]) == {0, 1}


def test_the_split_is_stable_per_customer_and_about_one_in_five(training_set: pd.DataFrame) -> None:
    share = (training_set["split"] == "test").mean()
    assert 0.15 < share < 0.25
    assert training_set.groupby("customer_id")["split"].nunique().max() == 1


def test_the_job_refuses_missing_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    assert features.main(["features.py"]) == 2
    assert "spark-submit features.py" in capsys.readouterr().err
