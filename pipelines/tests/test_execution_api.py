"""The execution API as rendered: Airflow's own api-server with `--apps execution` on HTTPS, run
from the locked packages (the image's), and reached through the Task SDK's own client with the
rendered airflow.cfg. The certificate comes from a CA made here by openssl, as cert-manager's
comes from the internal CA. Replaced for the test: the metadata database (SQLite instead of
PostgreSQL), what reaches other servers (StatsD, remote logs), the folders, and the worker
refresh interval (seconds instead of a day) so that a renewal shows within the test.
"""

from __future__ import annotations

import os
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from certificates import certificate_authority, issue
from conftest import free_port, rendered

DEPLOYMENT = "30-apps/airflow/deployment-airflow-execution-api.yaml"
AIRFLOW_CONFIG = "30-apps/airflow/configmap-airflow-config.yaml"
INTERNAL_CA = "/etc/platform/internal-ca/ca.crt"
TLS_DIR = "/opt/airflow/tls"
CONFIG_DIR = "/opt/airflow/config"
SECRETS_DIR = "/run/secrets/airflow"


def served_serial(port: int) -> str:
    shown = subprocess.run(["openssl", "s_client", "-connect", f"localhost:{port}"], input="", capture_output=True, text=True, timeout=10)
    return subprocess.run(["openssl", "x509", "-noout", "-serial"], input=shown.stdout, capture_output=True, text=True).stdout.strip()


class Server:
    def __init__(self, folder: Path, port: int, config: Path, env: dict[str, str]):
        self.folder, self.port, self.config, self.env = folder, port, config, env

    def client(self, ca: Path, path: str = "health") -> subprocess.CompletedProcess:
        """GET `path` of the execution API with the Task SDK's client, as a task pod does."""
        script = (
            "import sys\nfrom airflow.sdk.api.client import Client\n"
            "client = Client(base_url=sys.argv[1], token='no-token-for-health')\n"
            "print(client.get(sys.argv[2]).json()['status'])\n"
        )
        config = self.config.with_name(f"client-{ca.stem}.cfg")
        config.write_text(self.config.read_text().replace(str(self.folder / "ca.crt"), str(ca)))
        env = {**self.env, "AIRFLOW_CONFIG": str(config)}
        url = f"https://localhost:{self.port}/execution/"
        return subprocess.run([sys.executable, "-c", script, url, path], env=env, capture_output=True, text=True, timeout=120)


@contextmanager
def launched(folder: Path, deployment: str, ready: Callable[[Server], bool], files: dict[str, str] | None = None) -> Iterator[Server]:
    """The rendered api-server of `deployment` on a free port, with a certificate for localhost
    from the test's CA where the rendered one would be, until `ready` says it answers."""
    certificate_authority(folder, "ca")
    certificate_authority(folder, "other-ca")
    issue(folder, "ca", "first", "DNS:localhost")
    tls = folder / "tls"
    tls.mkdir()
    (tls / "tls.crt").write_bytes((folder / "first.crt").read_bytes())
    (tls / "tls.key").write_bytes((folder / "first.key").read_bytes())
    secrets = folder / "secrets"
    secrets.mkdir()
    from cryptography.fernet import Fernet

    (secrets / "fernet-key").write_text(Fernet.generate_key().decode())
    (secrets / "jwt-secret").write_text("test-only-jwt-secret")
    (secrets / "api-secret-key").write_text("test-only-api-secret-key")
    for name, text in (files or {}).items():
        (folder / name).write_text(text)

    config = folder / "airflow.cfg"
    config.write_text(rendered("prod", AIRFLOW_CONFIG)["data"]["airflow.cfg"].replace(INTERNAL_CA, str(folder / "ca.crt")).replace(CONFIG_DIR, str(folder)))
    container = rendered("prod", deployment)["spec"]["template"]["spec"]["containers"][0]
    port = free_port()
    args = [a.replace(TLS_DIR, str(tls)) for a in container["args"]]
    args[args.index("--port") + 1] = str(port)
    rendered_env = {e["name"]: e["value"].replace(SECRETS_DIR, str(secrets)) for e in container["env"] if "value" in e}
    assert rendered_env["AIRFLOW__API__SERVER_TYPE"] == "gunicorn" and int(rendered_env["AIRFLOW__API__WORKER_REFRESH_INTERVAL"]) <= 86400
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW__", "PG"))},
        **{k: v for k, v in rendered_env.items() if k.startswith("AIRFLOW__")},
        "AIRFLOW_CONFIG": str(config),
        "AIRFLOW_HOME": str(folder),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{folder / 'airflow.db'}",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC": f"sqlite+aiosqlite:///{folder / 'airflow.db'}",
        "AIRFLOW__CORE__DAGS_FOLDER": str(folder),
        "AIRFLOW__METRICS__STATSD_ON": "False",
        "AIRFLOW__LOGGING__REMOTE_LOGGING": "False",
        "AIRFLOW__API__WORKER_REFRESH_INTERVAL": "5",
        # The GitLab application's secret, which the UI's sign-in config reads (not used here).
        "OAUTH_CLIENT_SECRET": "test-only-client-secret",
    }
    subprocess.run(["airflow", "db", "migrate"], env=env, check=True, capture_output=True, timeout=300)
    log = (folder / "server.log").open("w")
    process = subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT)
    server = Server(folder, port, config, env)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not ready(server):
            assert process.poll() is None, (folder / "server.log").read_text()
            time.sleep(1)
        yield server
    finally:
        process.terminate()
        process.wait(timeout=60)
        log.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with launched(tmp_path_factory.mktemp("execution-api"), DEPLOYMENT, lambda s: s.client(s.folder / "ca.crt").returncode == 0) as started:
        yield started


def test_the_rendered_execution_api_serves_https_and_the_task_sdk_verifies_it(server: Server) -> None:
    done = server.client(server.folder / "ca.crt")
    # The SDK logs a retry on stdout when its call meets a worker being replaced (the refresh
    # interval here is 5 s); the answer is the last line.
    assert (done.returncode, done.stdout.strip().splitlines()[-1]) == (0, "healthy"), done.stdout + done.stderr
    # The same client, trusting another CA, refuses the server.
    other = server.client(server.folder / "other-ca.crt")
    assert other.returncode != 0 and "CERTIFICATE_VERIFY_FAILED" in other.stdout + other.stderr, other.stdout + other.stderr


def test_a_renewed_certificate_is_served_after_a_worker_refresh_without_a_restart(server: Server) -> None:
    before = served_serial(server.port)
    issue(server.folder, "ca", "renewed", "DNS:localhost")
    tls = server.folder / "tls"
    (tls / "tls.key").write_bytes((server.folder / "renewed.key").read_bytes())
    (tls / "tls.crt").write_bytes((server.folder / "renewed.crt").read_bytes())
    renewed = subprocess.run(["openssl", "x509", "-noout", "-serial", "-in", str(server.folder / "renewed.crt")], capture_output=True, text=True).stdout.strip()
    assert renewed != before
    # While a refresh replaces the worker, old and new answer side by side: wait until only the
    # new certificate is served, several times in a row.
    deadline = time.monotonic() + 90
    in_a_row = 0
    while time.monotonic() < deadline and in_a_row < 5:
        in_a_row = in_a_row + 1 if served_serial(server.port) == renewed else 0
        time.sleep(0.5)
    assert in_a_row == 5, (server.folder / "server.log").read_text()[-3000:]
    # The test refreshes a worker every 5 s: a call may meet the moment one is replaced, which the
    # SDK's own retries may not outlast on a loaded machine. One success of three is the answer.
    attempts = [server.client(server.folder / "ca.crt") for _ in range(3)]
    assert any(a.returncode == 0 for a in attempts), attempts[-1].stdout + attempts[-1].stderr


def ui_health(server: Server, ca: Path) -> int:
    """The UI api-server's health over HTTPS, verified against `ca` for its Service's name as the
    gateway's BackendTLSPolicy does (here localhost, the name the test's certificate holds)."""
    context = ssl.create_default_context(cafile=str(ca))
    with urllib.request.urlopen(f"https://localhost:{server.port}/api/v2/monitor/health", context=context, timeout=10) as response:
        return response.status


def test_the_rendered_ui_api_server_serves_https_that_the_gateway_can_verify(tmp_path: Path) -> None:
    webserver_config = rendered("prod", AIRFLOW_CONFIG)["data"]["webserver_config.py"]

    def answers(s: Server) -> bool:
        try:
            return ui_health(s, s.folder / "ca.crt") == 200
        except OSError:
            return False

    with launched(tmp_path, "30-apps/airflow/deployment-airflow-api-server.yaml", answers, {"webserver_config.py": webserver_config}) as ui:
        assert ui_health(ui, ui.folder / "ca.crt") == 200, (ui.folder / "server.log").read_text()[-3000:]
        with pytest.raises(urllib.error.URLError) as refused:
            ui_health(ui, ui.folder / "other-ca.crt")
        assert isinstance(refused.value.reason, ssl.SSLCertVerificationError)


def test_the_ui_api_server_serves_no_execution_api() -> None:
    api = rendered("prod", "30-apps/airflow/deployment-airflow-api-server.yaml")["spec"]["template"]["spec"]["containers"][0]
    apps = api["args"][api["args"].index("--apps") + 1]
    assert apps == "core"
    assert "execution_api_server_url = https://airflow-execution-api.airflow.svc.cluster.local:8443/execution/" in rendered("prod", AIRFLOW_CONFIG)["data"]["airflow.cfg"]
