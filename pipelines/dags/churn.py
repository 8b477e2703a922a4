"""
### Churn: from the CRM export to a registered model

The platform's example pipeline, one task per pod with the platform's images:

1. **land_raw_export**: the day's raw customer export into `s3://datasets/churn/raw/` (generated
   here, standing in for a source system).
2. **clean_and_aggregate** (pandas): one row per customer, known contracts, no gaps, as Parquet in
   `churn/curated/`, with a per-contract churn summary.
3. **load_analytics**: the per-contract summary into the analytics database (table
   `churn_by_contract`), where BI tools read it.
4. **build_training_set** (Spark on Kubernetes): the training set with a stable train/test split,
   in `churn/features/<day>/`. The task starts a spark-submit pod in Spark's namespace; the
   driver and executors follow, and the history server shows the job.
5. **train_challenger**: a classifier logged to MLflow with its drift baseline, registered as a
   new version of `churn` with the alias `challenger`. Promoting it to `champion`, which the
   prediction service loads, is a person's decision (docs/serving.md).
"""

from __future__ import annotations

import base64
from datetime import timedelta
from pathlib import Path

import pendulum
from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from airflow.sdk import dag, task

# The Spark job's code, handed to the submitter pod, which writes it to a file for spark-submit
# (which uploads it for the driver). Base64, so that nothing in it is read as a template.
SPARK_JOB = base64.b64encode((Path(__file__).parent / "churn_pipeline" / "features.py").read_bytes()).decode()
SUBMIT = 'printf "%s" "$JOB" | base64 -d > /tmp/features.py && exec /opt/spark/bin/spark-submit --name churn-features /tmp/features.py "$INPUT" "$OUTPUT"'


@dag(
    dag_id="churn_pipeline",
    schedule="@daily",
    start_date=pendulum.datetime(2026, 11, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["example", "churn"],
    doc_md=__doc__,
    default_args={"owner": "ml-platform", "retries": 2, "retry_delay": timedelta(minutes=5)},
)
def churn_pipeline():
    @task
    def land_raw_export(**context) -> str:
        from churn_pipeline import etl

        return etl.land(context["ds"])

    @task
    def clean_and_aggregate(raw_key: str, **context) -> dict:
        from churn_pipeline import etl

        return etl.clean_and_aggregate(context["ds"])

    @task
    def load_analytics(curated: dict, **context) -> int:
        from churn_pipeline import analytics

        return analytics.load_summary(context["ds"])

    build_training_set = KubernetesPodOperator(
        task_id="build_training_set",
        name="churn-features-submit",
        # The platform gives task pods these as Airflow variables (AIRFLOW_VAR_*): Spark's
        # namespace and image, and the submitter pod's template (docs/spark.md).
        namespace="{{ var.value.spark_namespace }}",
        image="{{ var.value.spark_image }}",
        pod_template_file="{{ var.value.spark_submit_pod_template }}",
        cmds=["/bin/sh", "-c"],
        arguments=[SUBMIT],
        env_vars={
            "JOB": SPARK_JOB,
            "INPUT": "s3a://{{ var.value.datasets_bucket }}/churn/curated/customers-{{ ds }}.parquet",
            "OUTPUT": "s3a://{{ var.value.datasets_bucket }}/churn/features/{{ ds }}",
        },
        in_cluster=True,
        get_logs=True,
        on_finish_action="delete_pod",
        startup_timeout_seconds=600,
    )

    @task
    def train_challenger(**context) -> dict:
        from churn_pipeline import train

        return train.train_from(f"churn/features/{context['ds']}/")

    curated = clean_and_aggregate(land_raw_export())
    load_analytics(curated)
    curated >> build_training_set >> train_challenger()


churn_pipeline()
