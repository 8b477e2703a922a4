"""Load a rendered jupyterhub_config.py with the real JupyterHub, KubeSpawner and OAuthenticator.

Every setting must be a configurable trait of the class it names (a misspelt trait is an error,
not the warning JupyterHub would log and ignore), every value must pass the trait's validation,
every profile override must be a KubeSpawner trait with a valid value, every role scope must
exist, and the idle culler must accept its arguments. For each profile, KubeSpawner builds the
notebook server pod (through the config's modify_pod_hook, as it does before creating it) and
home volume it would create, so the platform's policy and API-server checks can judge them like
the objects the render writes, and the URL the hub and the proxy would reach the server at.
"""

from __future__ import annotations

import asyncio
import difflib
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jupyterhub.utils import maybe_future
from traitlets import TraitError
from traitlets.config import Config, Configurable
from traitlets.config.loader import PyFileConfigLoader

# What a generated config may read from the hub's environment; the hub pod must provide each.
ENV_READ = re.compile(r'os\.environ\["([A-Za-z_][A-Za-z0-9_]*)"\]')

# A kubeconfig that KubeSpawner can load and never uses: building manifests calls no API.
STAND_IN_KUBECONFIG = """\
apiVersion: v1
kind: Config
clusters: [{name: check, cluster: {server: "https://127.0.0.1:9"}}]
users: [{name: check, user: {token: stand-in}}]
contexts: [{name: check, context: {cluster: check, user: check}}]
current-context: check
"""

# The user whose servers the check builds: a GitLab username with a dot, as people have.
EXAMPLE_USER = "jane.doe"

# The address a built server pod is given, for KubeSpawner's URL of it.
STAND_IN_POD_IP = "10.244.0.10"


@dataclass(frozen=True)
class Problem:
    """Something in the config that JupyterHub would reject, ignore or trip over."""

    setting: str
    message: str


@dataclass
class Spawned:
    """What KubeSpawner would create for one profile."""

    profile: str
    pod: dict[str, Any]
    pvc: dict[str, Any]
    # Where the hub and the proxy would reach the server (KubeSpawner's pod URL, get_pod_url).
    url: str = ""


@dataclass
class Result:
    problems: list[Problem] = field(default_factory=list)
    # Environment variables the hub process needs (read by the config or by JupyterHub itself).
    env: list[str] = field(default_factory=list)
    spawned: list[Spawned] = field(default_factory=list)


def _stand_in_env(names: list[str]) -> dict[str, str]:
    # JPY_COOKIE_SECRET must be hex; any value does for the others.
    return {n: ("00" * 32 if n == "JPY_COOKIE_SECRET" else f"stand-in-{n.lower()}") for n in names}


def _class_hierarchy(cls: type) -> list[type]:
    return [c for c in cls.mro() if isinstance(c, type) and issubclass(c, Configurable)]


def _unknown_traits(config: Config, classes: dict[str, type]) -> list[Problem]:
    problems = []
    for section, values in config.items():
        cls = classes.get(section)
        if cls is None:
            close = difflib.get_close_matches(section, classes, n=1)
            hint = f"; did you mean {close[0]}?" if close else ""
            problems.append(Problem(f"c.{section}", f"no configurable class {section} in this JupyterHub{hint}"))
            continue
        known = cls.class_trait_names(config=True)
        for name in values:
            if name not in known:
                close = difflib.get_close_matches(name, known, n=1)
                hint = f"; did you mean {close[0]}?" if close else ""
                problems.append(Problem(f"c.{section}.{name}", f"{section} has no setting {name}{hint}"))
    return problems


class _User:
    """What KubeSpawner reads of a hub user to name and label its server."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.id = 1
        self.url = f"/user/{name}/"
        self.admin = False
        self.groups: list[Any] = []
        self.spawners: dict[str, Any] = {}


async def _spawn_profiles(app: Any, problems: list[Problem]) -> list[Spawned]:
    from kubernetes_asyncio.client import ApiClient

    spawner_class = app.spawner_class
    spawned: list[Spawned] = []

    def new_spawner() -> Any:
        spawner = spawner_class(parent=app, user=_User(EXAMPLE_USER), hub=app.hub, _mock=True)
        spawner.api_token = "stand-in-api-token"
        return spawner

    try:
        base = new_spawner()
    except (TraitError, ValueError, TypeError) as e:
        problems.append(Problem("c.KubeSpawner", f"KubeSpawner refuses its settings: {e}"))
        return spawned
    known = spawner_class.class_trait_names(config=True)
    profiles = base._get_initialized_profile_list(base.profile_list) if base.profile_list else [{"slug": "", "kubespawner_override": {}}]
    client = ApiClient()
    try:
        for profile in profiles:
            slug = profile.get("slug", "")
            for key in profile.get("kubespawner_override", {}):
                if key not in known:
                    close = difflib.get_close_matches(key, known, n=1)
                    hint = f"; did you mean {close[0]}?" if close else ""
                    problems.append(Problem(f"c.KubeSpawner.profile_list[{slug}].kubespawner_override.{key}", f"KubeSpawner has no setting {key}{hint}"))
            spawner = new_spawner()
            try:
                if slug:
                    spawner.user_options = {"profile": slug}
                    await spawner.load_user_options()
                manifest = await spawner.get_pod_manifest()
                if spawner.modify_pod_hook:
                    # KubeSpawner runs it on the manifest before it creates the pod (_start).
                    manifest = await maybe_future(spawner.modify_pod_hook(spawner, manifest))
                pod = client.sanitize_for_serialization(manifest)
                pvc = client.sanitize_for_serialization(spawner.get_pvc_manifest()) if spawner.storage_pvc_ensure else {}
                # As the pod reflector would see the pod once running: an address of a pod network.
                url = spawner._get_pod_url({**pod, "metadata": {**pod["metadata"], "namespace": spawner.namespace}, "status": {"podIP": STAND_IN_POD_IP}})
            except (TraitError, ValueError, TypeError, KeyError, AttributeError) as e:
                problems.append(Problem(f"c.KubeSpawner.profile_list[{slug}]", f"KubeSpawner cannot build the server of this profile: {e}"))
                continue
            pod.setdefault("apiVersion", "v1")
            pod.setdefault("kind", "Pod")
            pod["metadata"]["namespace"] = spawner.namespace
            if pvc:
                pvc.setdefault("apiVersion", "v1")
                pvc.setdefault("kind", "PersistentVolumeClaim")
                pvc["metadata"]["namespace"] = spawner.namespace
            spawned.append(Spawned(slug, pod, pvc, url))
    finally:
        await client.close()
    return spawned


def _check_roles(app: Any) -> list[Problem]:
    from jupyterhub import scopes

    problems = []
    services = {s.get("name") for s in app.services}
    for i, role in enumerate(app.load_roles):
        try:
            scopes._check_scopes_exist(role.get("scopes", []))
        except KeyError as e:
            problems.append(Problem(f"c.JupyterHub.load_roles[{i}].scopes", f"unknown scope: {e}"))
        for service in role.get("services", []):
            if service not in services:
                problems.append(
                    Problem(f"c.JupyterHub.load_roles[{i}].services", f"role '{role.get('name')}' names service '{service}', which c.JupyterHub.services does not define")
                )
    return problems


def _check_culler(app: Any) -> list[Problem]:
    """The idle culler's own option parser judges its arguments (tornado.options)."""
    problems = []
    for i, service in enumerate(app.services):
        command = service.get("command") or []
        if "jupyterhub_idle_culler" not in command:
            continue
        at = command.index("jupyterhub_idle_culler")
        if command[:at] != ["python3", "-m"]:
            problems.append(Problem(f"c.JupyterHub.services[{i}].command", f"expected python3 -m jupyterhub_idle_culler, got {command[: at + 1]}"))
        # Without a token the culler stops right after parsing: proof its arguments parse.
        env = {k: v for k, v in os.environ.items() if k != "JUPYTERHUB_API_TOKEN"}
        run = subprocess.run([sys.executable, "-m", "jupyterhub_idle_culler", *command[at + 1 :]], env=env, capture_output=True, text=True, timeout=60)
        if "JUPYTERHUB_API_TOKEN" not in run.stderr:
            lines = [line for line in run.stderr.strip().splitlines() if line.strip()]
            problems.append(Problem(f"c.JupyterHub.services[{i}].command", f"the idle culler refuses its arguments: {lines[-1] if lines else run.returncode}"))
    return problems


def check(config_file: str | Path) -> Result:
    """Load `config_file` as the hub would and report every problem."""
    from jupyterhub.app import JupyterHub

    path = Path(config_file)
    result = Result()
    source = path.read_text()
    result.env = sorted(set(ENV_READ.findall(source)))
    saved_env = dict(os.environ)
    with tempfile.TemporaryDirectory() as tmp:
        kubeconfig = Path(tmp, "kubeconfig")
        kubeconfig.write_text(STAND_IN_KUBECONFIG)
        os.environ.update({**_stand_in_env(result.env + ["CONFIGPROXY_AUTH_TOKEN"]), "KUBECONFIG": str(kubeconfig)})
        try:
            try:
                config = PyFileConfigLoader(path.name, path=str(path.parent)).load_config()
            except Exception as e:  # noqa: BLE001 - any error executing the file is the finding
                result.problems.append(Problem(path.name, f"the file does not run: {type(e).__name__}: {e}"))
                return result
            try:
                app = JupyterHub(config=config)
                classes = {c.__name__: c for c in app.classes}
                for cls in (app.spawner_class, app.authenticator_class, app.proxy_class, type(app)):
                    classes.update({c.__name__: c for c in _class_hierarchy(cls)})
            except (TraitError, ValueError, TypeError) as e:
                result.problems.append(Problem("c.JupyterHub", f"JupyterHub refuses its settings: {e}"))
                return result
            result.problems.extend(_unknown_traits(config, classes))
            try:
                # The hub's URLs, as servers receive them (hub_bind_url, hub_connect_url, public_url).
                app.init_hub()
            except (TraitError, ValueError, TypeError) as e:
                result.problems.append(Problem("c.JupyterHub", f"JupyterHub cannot work out its URLs: {e}"))
                return result
            # The proxy runs apart: the hub then needs the shared token from its environment.
            if not app.proxy_class(parent=app).should_start and "auth_token" not in config.get(app.proxy_class.__name__, {}):
                result.env = sorted(set(result.env) | {"CONFIGPROXY_AUTH_TOKEN"})
            try:
                app.authenticator_class(parent=app)
            except (TraitError, ValueError, TypeError) as e:
                result.problems.append(Problem(f"c.{app.authenticator_class.__name__}", f"the authenticator refuses its settings: {e}"))
            result.problems.extend(_check_roles(app))
            result.problems.extend(_check_culler(app))
            result.spawned = asyncio.run(_spawn_profiles(app, result.problems))
        finally:
            os.environ.clear()
            os.environ.update(saved_env)
    return result
