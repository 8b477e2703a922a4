"""The DAG folder as Airflow's dag-processor parses it: every file imports, the example pipeline
has its tasks in order, and its Spark task is wired to what the platform gives task pods."""

from __future__ import annotations

import base64
import shutil
from pathlib import Path

import pytest
from conftest import DAGS


def dagbag(folder: Path):
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(folder), bundle_path=folder, bundle_name="dags-folder")


def test_every_dag_imports_without_errors() -> None:
    bag = dagbag(DAGS)
    assert bag.import_errors == {}
    assert sorted(bag.dag_ids) == ["churn_pipeline"]


def test_a_dag_that_does_not_import_is_reported(tmp_path: Path) -> None:
    folder = tmp_path / "dags"
    shutil.copytree(DAGS, folder)
    (folder / "broken.py").write_text("from airflow.sdk import dag\nimport no_such_module  # a DAG with a missing dependency\n\n@dag()\ndef broken(): ...\n")
    errors = dagbag(folder).import_errors
    assert list(errors) == ["broken.py"]
    assert "No module named 'no_such_module'" in next(iter(errors.values()))


def test_the_churn_pipeline_runs_its_steps_in_order_with_retries() -> None:
    dag = dagbag(DAGS).dags["churn_pipeline"]
    downstream = {t.task_id: sorted(t.downstream_task_ids) for t in dag.tasks}
    assert downstream == {
        "land_raw_export": ["clean_and_aggregate"],
        "clean_and_aggregate": ["build_training_set", "load_analytics"],
        "load_analytics": [],
        "build_training_set": ["train_challenger"],
        "train_challenger": [],
    }
    assert all(t.retries == 2 for t in dag.tasks)
    assert dag.max_active_runs == 1 and not dag.catchup


def test_the_spark_task_submits_the_job_file_from_the_platforms_template() -> None:
    task = dagbag(DAGS).dags["churn_pipeline"].get_task("build_training_set")
    assert task.namespace == "{{ var.value.spark_namespace }}"
    assert task.image == "{{ var.value.spark_image }}"
    assert task.pod_template_file == "{{ var.value.spark_submit_pod_template }}"
    # The job travels as base64 and is the job the Spark test runs.
    assert base64.b64decode(task.env_vars[0].value if not isinstance(task.env_vars, dict) else task.env_vars["JOB"]) == (DAGS / "churn_pipeline" / "features.py").read_bytes()


@pytest.mark.parametrize("cluster", ["dev", "prod"])
def test_task_pods_get_every_variable_the_dag_reads(cluster: str) -> None:
    import re

    import yaml
    from conftest import ROOT

    source = (DAGS / "churn.py").read_text()
    used = set(re.findall(r"var\.value\.([a-z_]+)", source))
    config = yaml.safe_load((ROOT / "dist-manifests" / cluster / "30-apps" / "airflow" / "configmap-airflow-config.yaml").read_text())
    template = yaml.safe_load(config["data"]["pod-template.yaml"])
    given = {e["name"].removeprefix("AIRFLOW_VAR_").lower() for e in template["spec"]["containers"][0]["env"] if e["name"].startswith("AIRFLOW_VAR_")}
    assert used <= given, f"the DAG reads {sorted(used - given)}, which task pods of {cluster} do not get"
