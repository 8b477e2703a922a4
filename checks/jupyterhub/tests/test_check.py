"""The rendered hub configs load cleanly in the real JupyterHub; planted mistakes are caught."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from jupyterhub_check import check

ROOT = Path(__file__).resolve().parents[3]
RENDERED = sorted(ROOT.glob("dist-manifests/*/30-apps/jupyterhub/configmap-hub-config.yaml"))


def config_text(cluster: str) -> str:
    path = ROOT / "dist-manifests" / cluster / "30-apps/jupyterhub/configmap-hub-config.yaml"
    return yaml.safe_load(path.read_text())["data"]["jupyterhub_config.py"]


def cluster_config(cluster: str) -> dict:
    return yaml.safe_load((ROOT / "clusters" / cluster / "cluster.yaml").read_text())


def run(tmp_path: Path, text: str):
    path = tmp_path / "jupyterhub_config.py"
    path.write_text(text)
    return check(path)


def test_every_cluster_renders_a_hub_config():
    assert {p.parts[-4] for p in RENDERED} == {"dev", "stage", "prod"}


@pytest.mark.parametrize("configmap", RENDERED, ids=lambda p: p.parts[-4])
def test_rendered_config_loads_without_problems(configmap: Path, tmp_path: Path):
    cluster = configmap.parts[-4]
    result = run(tmp_path, config_text(cluster))
    assert result.problems == []
    # The hub pod must provide these, or the hub stops at start.
    assert result.env == ["CONFIGPROXY_AUTH_TOKEN", "OAUTH_CLIENT_SECRET"]
    profiles = [p["slug"] for p in cluster_config(cluster)["components"]["jupyterhub"]["profiles"]]
    assert [s.profile for s in result.spawned] == profiles


def test_spawned_servers_are_restricted_wired_and_sized_per_profile(tmp_path: Path):
    prod = cluster_config("prod")["components"]["jupyterhub"]
    spawned = {s.profile: s for s in run(tmp_path, config_text("prod")).spawned}
    pod = spawned["small"].pod
    container = pod["spec"]["containers"][0]
    assert pod["metadata"]["namespace"] == "jupyterhub-users"
    assert pod["metadata"]["labels"]["app.kubernetes.io/name"] == "notebook"
    assert pod["spec"]["serviceAccountName"] == "notebook"
    assert pod["spec"]["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert container["resources"]["limits"] == {"cpu": 1.0, "memory": 4 * 2**30}
    env = {e["name"]: e for e in container["env"]}
    assert env["MLFLOW_TRACKING_URI"]["value"] == "https://mlflow.mlflow.svc.cluster.local:5000"
    assert env["MLFLOW_TRACKING_SERVER_CERT_PATH"]["value"] == "/etc/platform/internal-ca/ca.crt"
    # The internal CA the MLflow, S3 and JVM clients verify with, as the volume KubeSpawner mounts.
    assert {"name": "internal-ca", "mountPath": "/etc/platform/internal-ca", "readOnly": True} in container["volumeMounts"]
    [ca] = [v for v in pod["spec"]["volumes"] if v["name"] == "internal-ca"]
    assert ca["secret"]["secretName"] == "internal-ca-trust"
    assert env["AWS_ACCESS_KEY_ID"]["valueFrom"]["secretKeyRef"] == {"name": "minio-user-jupyterhub", "key": "accessKey"}
    # Each person writes training logs under their own prefix, which TensorBoard shows.
    assert env["TENSORBOARD_LOGDIR"]["value"] == "s3://tensorboard/jane.doe"
    # The hub API over TLS, verified with the internal CA (HubAuth's client_ca).
    assert env["JUPYTERHUB_API_URL"]["value"] == "https://hub.jupyterhub.svc.cluster.local:8081/hub/api"
    assert env["JUPYTERHUB_SSL_CLIENT_CA"]["value"] == "/etc/platform/internal-ca/ca.crt"
    # The GPU profile lands on the GPU nodes with a GPU; the others do not.
    gpu = spawned["gpu"].pod["spec"]
    assert gpu["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == "1"
    assert gpu["nodeSelector"] == {"nvidia.com/gpu.present": "true"}
    assert gpu["tolerations"] == [{"effect": "NoSchedule", "key": "nvidia.com/gpu", "operator": "Exists"}]
    assert "nodeSelector" not in pod["spec"]
    # Each user's home volume, sized and classed by cluster.yaml.
    pvc = spawned["small"].pvc
    assert pvc["spec"]["resources"]["requests"]["storage"] == prod["home"]["size"]
    assert pvc["spec"]["storageClassName"] == cluster_config("prod")["storageClasses"]["default"]
    assert pvc["metadata"]["name"] == pod["spec"]["volumes"][0]["persistentVolumeClaim"]["claimName"]


def test_servers_are_reached_over_tls_by_a_name_of_their_pod(tmp_path: Path):
    """The rendered hooks, run by KubeSpawner: the pod's DNS name, and the URL the proxy and the hub use."""
    server = {s.profile: s for s in run(tmp_path, config_text("prod")).spawned}["small"]
    spec = server.pod["spec"]
    name = server.pod["metadata"]["name"]
    assert (spec["hostname"], spec["subdomain"]) == (name, "notebooks")
    assert server.url == f"https://{name}.notebooks.jupyterhub-users.svc.cluster.local:8443"
    notebook, sidecar = spec["containers"]
    env = {e["name"]: e.get("value") for e in notebook["env"]}
    # The server binds loopback; only the sidecar serves the pod's address, with the key only it mounts.
    assert env["JUPYTERHUB_SERVICE_URL"].startswith("http://127.0.0.1:8888/")
    assert sidecar["name"] == "tls"
    assert [p["containerPort"] for p in sidecar["ports"]] == [8443]
    key_volumes = {v["name"] for v in spec["volumes"] if v.get("secret", {}).get("secretName") == "notebook-tls"}
    assert key_volumes and key_volumes <= {m["name"] for m in sidecar["volumeMounts"]}
    assert not key_volumes & {m["name"] for m in notebook["volumeMounts"]}


def test_a_hook_that_fails_is_reported(tmp_path: Path):
    text = config_text("prod").replace("pod.spec.hostname = pod.metadata.name", "pod.spec.hostname = pod.metadata.nam", 1)
    problems = run(tmp_path, text).problems
    assert any("KubeSpawner cannot build the server" in p.message and "nam" in p.message for p in problems), problems


PLANTED = [
    # A misspelt trait: JupyterHub itself would only log a warning and ignore it.
    ('c.KubeSpawner.storage_capacity = "20Gi"', 'c.KubeSpawner.storage_capcity = "20Gi"', "KubeSpawner has no setting storage_capcity; did you mean storage_capacity?"),
    # A class that does not exist.
    ("c.KubeSpawner.delete_grace_period = 30", "c.KubeSpawnr.delete_grace_period = 30", "no configurable class KubeSpawnr in this JupyterHub; did you mean KubeSpawner?"),
    # A value of the wrong type.
    ("c.KubeSpawner.start_timeout = 600", 'c.KubeSpawner.start_timeout = "ten minutes"', "KubeSpawner refuses its settings"),
    # A profile override that names no KubeSpawner setting.
    ('"cpu_limit": 8', '"cpu_limt": 8', "KubeSpawner has no setting cpu_limt; did you mean cpu_limit?"),
    # A profile override of the wrong type.
    ('"cpu_limit": 8', '"cpu_limit": "eight"', "KubeSpawner cannot build the server of this profile"),
    # A role scope JupyterHub does not have.
    ('"delete:servers"', '"delete:server"', "unknown scope"),
    # An argument the idle culler does not have.
    ('"--concurrency=10"', '"--concurency=10"', "the idle culler refuses its arguments"),
    # Admin groups without group management: OAuthenticator refuses.
    ("c.GenericOAuthenticator.manage_groups = True", "c.GenericOAuthenticator.manage_groups = False", "the authenticator refuses its settings"),
    # A log formatter that is not installed.
    ('"pythonjsonlogger.json.JsonFormatter"', '"pythonjsonlogger.jsonn.JsonFormatter"', "JupyterHub refuses its settings"),
]


@pytest.mark.parametrize(("good", "bad", "expected"), PLANTED, ids=[p[2][:40] for p in PLANTED])
def test_a_planted_mistake_is_reported(tmp_path: Path, good: str, bad: str, expected: str):
    text = config_text("prod")
    assert good in text, "the planted mistake must replace something the render writes"
    problems = run(tmp_path, text.replace(good, bad, 1)).problems
    assert any(expected in p.message for p in problems), problems


def test_a_file_that_does_not_run_is_reported(tmp_path: Path):
    problems = run(tmp_path, config_text("dev") + "\nc.JupyterHub.nothing = undefined_name\n").problems
    assert [p.message.split(":")[0] for p in problems] == ["the file does not run"]


def test_environment_the_config_reads_is_reported(tmp_path: Path):
    text = config_text("dev") + '\nc.JupyterHub.cookie_secret_file = os.environ["EXTRA_FILE"]\n'
    assert run(tmp_path, text).env == ["CONFIGPROXY_AUTH_TOKEN", "EXTRA_FILE", "OAUTH_CLIENT_SECRET"]


def test_the_first_steps_cells_in_the_docs_are_python():
    """The cells docs/jupyterhub.md gives data scientists at least compile (they run against the cluster)."""
    text = (ROOT / "docs/jupyterhub.md").read_text()
    cells = text.split("```python\n")[1:]
    assert len(cells) == 4
    for i, cell in enumerate(cells):
        compile(cell.split("```", 1)[0], f"docs/jupyterhub.md cell {i + 1}", "exec")


@pytest.mark.parametrize("cluster", ["dev", "prod"])
def test_the_hub_takes_its_cookie_secret_from_the_mounted_file_and_refuses_one_others_can_read(cluster: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from jupyterhub.app import JupyterHub
    from traitlets.config import PyFileConfigLoader

    deployment = yaml.safe_load((ROOT / "dist-manifests" / cluster / "30-apps/jupyterhub/deployment-hub.yaml").read_text())
    [hub] = [c for c in deployment["spec"]["template"]["spec"]["containers"] if c["name"] == "hub"]
    assert "JPY_COOKIE_SECRET" not in {e["name"] for e in hub["env"]}
    [mount] = [m for m in hub["volumeMounts"] if m["mountPath"] == "/run/secrets/jupyterhub-cookie"]
    # The Secret's file where the pod mounts it, moved under the test's folder, mode as mounted.
    secret = tmp_path / "cookie-secret"
    secret.write_text("ab" * 32)
    secret.chmod(0o440)
    path = tmp_path / "jupyterhub_config.py"
    path.write_text(config_text(cluster).replace(mount["mountPath"], str(tmp_path)))
    for name in ("OAUTH_CLIENT_SECRET", "CONFIGPROXY_AUTH_TOKEN"):
        monkeypatch.setenv(name, "stand-in")
    monkeypatch.delenv("JPY_COOKIE_SECRET", raising=False)

    def load() -> JupyterHub:
        app = JupyterHub(config=PyFileConfigLoader(path.name, path=str(tmp_path)).load_config())
        app.init_secrets()
        return app

    assert load().cookie_secret == bytes.fromhex("ab" * 32)
    secret.chmod(0o444)
    with pytest.raises(SystemExit):
        load()
