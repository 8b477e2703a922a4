"""The rendered configuration of every cluster, read by the programs that read it in the cluster:
airflow.cfg by Airflow, webserver_config.py by Flask-AppBuilder's constants, the task pod
template by the KubernetesExecutor's pod generator, spark-defaults.conf by Spark's own registry
of settings, and the StatsD mapping by statsd_exporter. Each check also fails on a planted mistake."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import CLUSTERS, ROOT, rendered

AIRFLOW_CONFIG = "30-apps/airflow/configmap-airflow-config.yaml"
CHECK = Path(__file__).parent / "airflow_cfg_check.py"


def check_airflow_cfg(text: str, tmp: Path) -> tuple[int, str]:
    path = tmp / "airflow.cfg"
    path.write_text(text)
    # AIRFLOW__* variables would override the file and hide its values from the check.
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW__")}
    done = subprocess.run([sys.executable, str(CHECK), str(path)], env=env, capture_output=True, text=True, timeout=120)
    # Airflow logs (JSON) on import; the check's own lines follow.
    return done.returncode, "\n".join(line for line in done.stdout.splitlines() if not line.startswith("{"))


@pytest.mark.parametrize("cluster", CLUSTERS)
def test_airflow_accepts_every_rendered_option(cluster: str, tmp_path: Path) -> None:
    code, out = check_airflow_cfg(rendered(cluster, AIRFLOW_CONFIG)["data"]["airflow.cfg"], tmp_path)
    assert (code, out.strip()) == (0, "ok")


def test_a_misspelt_option_an_unknown_section_and_a_wrong_type_fail(tmp_path: Path) -> None:
    text = rendered("dev", AIRFLOW_CONFIG)["data"]["airflow.cfg"]
    broken = text.replace("delete_worker_pods = True", "delete_worker_pod = True").replace("statsd_port = 9125", "statsd_port = udp") + "\n[webserver]\nbase_url = x\n"
    code, out = check_airflow_cfg(broken, tmp_path)
    assert code == 1
    assert "[kubernetes_executor] delete_worker_pod: [kubernetes_executor] has no such option (did you mean delete_worker_pods?)" in out
    assert "[webserver]: Airflow has no such section" in out
    assert "[metrics] statsd_port: Failed to convert value to int" in out


@pytest.mark.parametrize("cluster", CLUSTERS)
def test_the_sign_in_config_maps_gitlab_groups_to_fab_roles(cluster: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from flask_appbuilder import const

    monkeypatch.setenv("OAUTH_CLIENT_SECRET", "stand-in")
    settings: dict = {}
    exec(compile(rendered(cluster, AIRFLOW_CONFIG)["data"]["webserver_config.py"], "webserver_config.py", "exec"), settings)  # noqa: S102 (our own render)
    assert settings["AUTH_TYPE"] == const.AUTH_OAUTH
    [provider] = settings["OAUTH_PROVIDERS"]
    assert provider["name"] == "gitlab" and provider["remote_app"]["client_secret"] == "stand-in"
    assert provider["remote_app"]["server_metadata_url"].endswith("/.well-known/openid-configuration")
    roles = {r for rs in settings["AUTH_ROLES_MAPPING"].values() for r in rs}
    assert roles <= {"Admin", "Op", "User", "Viewer", "Public"} and "Admin" in roles
    access = yaml.safe_load((ROOT / "clusters" / cluster / "cluster.yaml").read_text())["access"]["airflow"]
    assert {g for g, rs in settings["AUTH_ROLES_MAPPING"].items() if "Admin" in rs} == set(access["admins"])


@pytest.mark.parametrize("cluster", CLUSTERS)
def test_the_executor_builds_task_pods_from_the_template_keeping_its_security(cluster: str, tmp_path: Path) -> None:
    from airflow.providers.cncf.kubernetes.pod_generator import PodGenerator
    from kubernetes.client import ApiClient

    template = tmp_path / "pod-template.yaml"
    template.write_text(rendered(cluster, AIRFLOW_CONFIG)["data"]["pod-template.yaml"])
    base = PodGenerator.deserialize_model_file(str(template))
    pod = PodGenerator.construct_pod(
        dag_id="churn_pipeline", task_id="land_raw_export", pod_id="churn-pipeline-land", try_number=1, kube_image="", date=None,
        args=["python", "-m", "airflow.sdk.execution_time.execute_workload", "--json-string", "{}"],
        pod_override_object=None, base_worker_pod=base, namespace="airflow-tasks", scheduler_job_id="1",
    )  # fmt: skip
    spec = ApiClient().sanitize_for_serialization(pod)["spec"]
    [container] = spec["containers"]
    assert container["name"] == "base" and container["image"].endswith(":3.3.2-1") or "/airflow:" in container["image"]
    assert container["args"][:3] == ["python", "-m", "airflow.sdk.execution_time.execute_workload"]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert [c["name"] for c in spec["initContainers"]] == ["git-sync-init"]
    env = {e["name"] for e in container["env"]}
    assert {"AIRFLOW_IS_K8S_EXECUTOR_POD", "AIRFLOW_CONFIG", "AWS_ACCESS_KEY_ID"} <= env


# Settings Spark defines by a prefix and a suffix (the API server credentials, for submission,
# driver, executor or client mode: docs/running-on-kubernetes.md), or hands on to Hadoop: not in
# its registry of ConfigEntry.
SPARK_PASSED_THROUGH = re.compile(
    r"^(spark\.master|spark\.kubernetes\.authenticate\.((submission|driver|executor)\.)?(caCertFile|oauthTokenFile|clientKeyFile|clientCertFile)|spark\.hadoop\..+)$"
)


@pytest.fixture(scope="module")
def spark_knows():
    """Whether Spark 4.1 (pyspark, the image's version) defines a setting, asked of its JVM."""
    import logging

    from pyspark.java_gateway import launch_gateway

    # py4j logs its shutdown after pytest has closed the streams it captured.
    logging.getLogger("py4j").setLevel(logging.WARNING)
    gateway = launch_gateway()
    jvm = gateway.jvm
    loader = jvm.java.lang.Thread.currentThread().getContextClassLoader()
    for holder in [
        "org.apache.spark.deploy.k8s.Config$",
        "org.apache.spark.internal.config.package$",
        "org.apache.spark.internal.config.History$",
        "org.apache.spark.internal.config.UI$",
    ]:
        jvm.java.lang.Class.forName(holder, True, loader)
    try:
        yield lambda key: jvm.org.apache.spark.internal.config.ConfigEntry.findEntry(key) is not None
    finally:
        gateway.shutdown()


def spark_settings(text: str) -> list[str]:
    return [line.split()[0] for line in text.splitlines() if line.strip() and not line.startswith("#")]


SPARK_FILES = [
    ("30-apps/spark/configmap-spark-conf.yaml", "spark-defaults.conf"),
    ("30-apps/spark-history/configmap-spark-history-conf.yaml", "spark-defaults.conf"),
    ("30-apps/jupyterhub-users/configmap-spark-conf.yaml", "spark-defaults.conf"),
]


@pytest.mark.parametrize("cluster", CLUSTERS)
def test_spark_knows_every_rendered_setting(cluster: str, spark_knows) -> None:
    for path, key in SPARK_FILES:
        unknown = [s for s in spark_settings(rendered(cluster, path)["data"][key]) if not SPARK_PASSED_THROUGH.match(s) and not spark_knows(s)]
        assert unknown == [], f"{cluster}/{path}: Spark 4.1 defines no {unknown}"


def test_a_misspelt_spark_setting_is_caught(spark_knows) -> None:
    assert spark_knows("spark.kubernetes.namespace")
    assert not spark_knows("spark.kubernetes.namespce")
    assert not spark_knows("spark.eventLog.dirs")


STATSD = ROOT / ".tools" / "bin" / "statsd_exporter"
MAPPING = "30-apps/airflow/configmap-airflow-statsd-mapping.yaml"


def test_statsd_exporter_accepts_the_mapping_and_rejects_a_broken_one(tmp_path: Path) -> None:
    assert STATSD.exists(), "run npm run tools:install (tools/install-tools.sh builds statsd_exporter)"
    good = tmp_path / "good.yml"
    good.write_text(rendered("dev", MAPPING)["data"]["mappings.yml"])
    assert subprocess.run([str(STATSD), f"--statsd.mapping-config={good}", "--check-config"], capture_output=True, timeout=30).returncode == 0
    broken = tmp_path / "broken.yml"
    broken.write_text(good.read_text().replace("match_type: glob", "match_type: globby"))
    assert subprocess.run([str(STATSD), f"--statsd.mapping-config={broken}", "--check-config"], capture_output=True, timeout=30).returncode != 0


# What Airflow 3.3's scheduler, dag-processor, triggerer and tasks send (names seen on the wire).
AIRFLOW_STATSD_LINES = [
    "airflow.scheduler_heartbeat:1|c",
    "airflow.dag_processor_heartbeat:1|c",
    "airflow.triggerer_heartbeat:1|c",
    "airflow.dag_processing.import_errors:1|g",
    "airflow.ti.finish:1|c",
    "airflow.ti.finish.churn_pipeline.build_training_set.failed:1|c",
    "airflow.ti_failures:1|c",
    "airflow.executor.queued_tasks:3|g",
    "airflow.executor.queued_tasks.KubernetesExecutor:3|g",
    "airflow.executor.running_tasks.KubernetesExecutor:2|g",
    "airflow.pool.queued_slots:4|g",
    "airflow.pool.queued_slots.default_pool:4|g",
    "airflow.dagrun.duration.success:95000|ms",
    "airflow.dagrun.duration.success.churn_pipeline:95000|ms",
    "airflow.dag_processing.last_run.seconds_ago.churn:12|g",
]


def test_airflows_metrics_come_out_under_the_names_the_alerts_read(tmp_path: Path) -> None:
    from statsd_exporter import statsd_exporter

    with statsd_exporter(rendered("dev", MAPPING)["data"]["mappings.yml"], tmp_path) as exporter:
        exporter.send(AIRFLOW_STATSD_LINES)
        metrics = exporter.scrape()
    samples = {line.rsplit(" ", 1)[0] for line in metrics.splitlines() if line.startswith("airflow_")}
    for expected in [
        "airflow_scheduler_heartbeat",
        "airflow_dag_processor_heartbeat",
        "airflow_dag_processing_import_errors",
        'airflow_ti_finish{dag_id="churn_pipeline",state="failed",task_id="build_training_set"}',
        'airflow_executor_queued_tasks{executor="KubernetesExecutor"}',
        'airflow_pool_queued_slots{pool="default_pool"}',
        'airflow_dagrun_duration_count{dag_id="churn_pipeline",state="success"}',
        'airflow_dag_processing_last_run_seconds_ago{dag_file="churn"}',
    ]:
        assert expected in samples, f"{expected} not among {sorted(samples)}"
    # The nameless twins are dropped, not merged into the labelled metrics.
    assert not any(s.startswith("dropped") for s in samples), sorted(samples)
    assert "airflow_ti_finish" not in samples, sorted(s for s in samples if "ti_finish" in s)


KEYS_CHECK = """
from airflow.configuration import conf
for section, key in (("core", "fernet_key"), ("api", "secret_key"), ("api_auth", "jwt_secret")):
    print(section, key, repr(conf.get(section, key)))
"""


@pytest.mark.parametrize("cluster", CLUSTERS)
def test_airflow_reads_its_keys_with_the_rendered_commands_from_the_mounted_files(cluster: str, tmp_path: Path) -> None:
    deployment = rendered(cluster, "30-apps/airflow/deployment-airflow-api-server.yaml")
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    commands = {e["name"]: e["value"] for e in container["env"] if e["name"].endswith("_CMD")}
    assert sorted(commands) == ["AIRFLOW__API_AUTH__JWT_SECRET_CMD", "AIRFLOW__API__SECRET_KEY_CMD", "AIRFLOW__CORE__FERNET_KEY_CMD"]
    # No key in an environment variable of its own.
    assert not [e for e in container["env"] if e["name"].startswith("AIRFLOW__") and "valueFrom" in e]
    # The Secret's files, where the pod mounts them, moved under the test's folder.
    [mount] = [m for m in container["volumeMounts"] if m["mountPath"] == "/run/secrets/airflow"]
    for key in ("fernet-key", "api-secret-key", "jwt-secret"):
        (tmp_path / key).write_text(f"test-only-{key}")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW__")}
    env.update({name: value.replace(mount["mountPath"], str(tmp_path)) for name, value in commands.items()})
    env["AIRFLOW_HOME"] = str(tmp_path / "home")
    done = subprocess.run([sys.executable, "-c", KEYS_CHECK], env=env, capture_output=True, text=True, timeout=120)
    lines = [line for line in done.stdout.splitlines() if not line.startswith("{")]
    assert lines == ["core fernet_key 'test-only-fernet-key'", "api secret_key 'test-only-api-secret-key'", "api_auth jwt_secret 'test-only-jwt-secret'"], done.stderr
