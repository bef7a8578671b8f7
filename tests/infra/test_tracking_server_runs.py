"""The tracking server as the stack declares it, run for real: its exact command, environment and auth config.

Only what a pod's filesystem provides is moved to a temporary directory (the volume, the mounted auth file, /tmp)
and the port is a free one on 127.0.0.1; every flag, every Secret value and the auth config come from the render.
"""
import configparser
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from infra.k8s.tracking_server import AUTH_CONFIG_PATH, DATA_PATH, METRICS_PATH, SCRIPTS_PATH
from infra.render import unwrapped
from tests.processes import free_port, stop_group, wait_until_ok

from .conftest import one

START_TIMEOUT_SECONDS = 180
# Generous: password hashing and first-request imports are slow on a busy two-core machine.
REQUEST_TIMEOUT = 60


def _relocated(value: str, root: Path) -> str:
    for pod_path, local in ((DATA_PATH, "data"), (METRICS_PATH, "prometheus"), (SCRIPTS_PATH, "scripts")):
        value = value.replace(pod_path, str(root / local))
    return value


class Pod:
    """The tracking pod's containers as rendered, with the pod's paths moved under `root`."""

    def __init__(self, local_stack, root: Path):
        self.root = root
        self.spec = one(local_stack, "Deployment", "mlflow")["spec"]["template"]["spec"]
        secret = next(r for r in local_stack.of_type("kubernetes:core/v1:Secret") if r.name == "tracking-secret")
        self.secret_values = {k: _relocated(v, root) for k, v in unwrapped(secret.inputs["stringData"]).items()}
        self.auth_config = root / Path(AUTH_CONFIG_PATH).name
        self.auth_config.write_text(self.secret_values["basic_auth.ini"])
        (root / "scripts").mkdir()
        for script, text in one(local_stack, "ConfigMap", "mlflow-scripts")["data"].items():
            (root / "scripts" / script).write_text(text)
        (root / "data").mkdir()

    def container(self, name: str) -> dict:
        return next(c for c in self.spec["containers"] + self.spec["initContainers"] if c["name"] == name)

    def env(self, name: str) -> dict[str, str]:
        container = self.container(name)
        env = {e["name"]: _relocated(e["value"], self.root) for e in container["env"] if "value" in e}
        env.update({e["name"]: self.secret_values[e["valueFrom"]["secretKeyRef"]["key"]]
                    for e in container["env"] if "valueFrom" in e})
        if "MLFLOW_AUTH_CONFIG_PATH" in env:
            env.update({"MLFLOW_AUTH_CONFIG_PATH": str(self.auth_config), "HOME": str(self.root)})
        return env

    def command(self, name: str) -> list[str]:
        command = [_relocated(part, self.root) for part in self.container(name)["command"]]
        return [str(Path(sys.executable).with_name(command[0])), *command[1:]]

    def start(self, name: str, command: list[str], env: dict[str, str]) -> subprocess.Popen:
        with open(self.root / f"{name}.log", "w") as log:  # the process keeps its own copy of the descriptor
            return subprocess.Popen(command, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT,
                                    cwd=self.root, start_new_session=True)

    def sync_users(self, **passwords: str) -> subprocess.CompletedProcess:
        """The init container, run to completion; keyword arguments replace Secret values (a rotation)."""
        env = {**self.env("sync-users"), **passwords}
        return subprocess.run(self.command("sync-users"), env={**os.environ, **env}, cwd=self.root,
                              capture_output=True, text=True, timeout=START_TIMEOUT_SECONDS)


def _server_command(pod: Pod, port: int) -> list[str]:
    command = pod.command("mlflow")
    command[command.index("--host") + 1] = "127.0.0.1"
    command[command.index("--port") + 1] = str(port)
    return command


@dataclass(frozen=True)
class Tracking:
    base: str
    admin: tuple[str, str]
    metrics_port: int


@pytest.fixture(scope="module")
def pod(local_stack, tmp_path_factory) -> Pod:
    return Pod(local_stack, tmp_path_factory.mktemp("tracking"))


@pytest.fixture(scope="module")
def tracking(local_stack, pod):
    synced = pod.sync_users()  # the init container runs before the server, as in the pod
    assert synced.returncode == 0, synced.stdout + synced.stderr
    port, metrics_port = free_port(), free_port()
    server = pod.start("mlflow", _server_command(pod, port), pod.env("mlflow"))
    exporter = pod.start("metrics", pod.command("metrics"), {**pod.env("metrics"), "METRICS_PORT": str(metrics_port)})
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_ok(f"{base}/health", alive=lambda: server.poll() is None, timeout_s=START_TIMEOUT_SECONDS,
                      logs=(pod.root / "mlflow.log").read_text, what="mlflow server")
        wait_until_ok(f"http://127.0.0.1:{metrics_port}/metrics", alive=lambda: exporter.poll() is None,
                      timeout_s=START_TIMEOUT_SECONDS, logs=(pod.root / "metrics.log").read_text, what="metrics exporter")
        password = unwrapped(local_stack.outputs["mlflowAdminPassword"].value)
        yield Tracking(base, ("admin", password), metrics_port)
    finally:
        for name, process in (("metrics", exporter), ("mlflow", server)):
            if stop_group(process, timeout_s=20) not in (0, -15):
                print((pod.root / f"{name}.log").read_text())


SEARCH = "/api/2.0/mlflow/experiments/search?max_results=1"


def test_the_api_refuses_anonymous_callers(tracking):
    base = tracking.base
    assert requests.get(base + SEARCH, timeout=REQUEST_TIMEOUT).status_code == 401


def test_the_generated_admin_credentials_open_the_api_and_the_registry(tracking):
    base, admin = tracking.base, tracking.admin
    assert requests.get(base + SEARCH, auth=admin, timeout=REQUEST_TIMEOUT).status_code == 200
    created = requests.post(f"{base}/api/2.0/mlflow/registered-models/create", json={"name": "churn"}, auth=admin, timeout=REQUEST_TIMEOUT)
    assert created.status_code == 200, created.text


def test_in_cluster_service_names_pass_the_host_check_and_others_do_not(tracking):
    base, admin = tracking.base, tracking.admin
    for host in ("mlflow.mlflow.svc.cluster.local:5000", "mlflow.mlflow:5000", "mlflow"):
        assert requests.get(base + SEARCH, auth=admin, headers={"Host": host}, timeout=REQUEST_TIMEOUT).status_code == 200, host
    forged = requests.get(base + SEARCH, auth=admin, headers={"Host": "attacker.example:5000"}, timeout=REQUEST_TIMEOUT)
    assert forged.status_code in (400, 403)


def test_the_metrics_port_answers_without_a_user_while_the_api_port_still_asks_for_one(tracking):
    base, admin = tracking.base, tracking.admin
    requests.get(base + SEARCH, auth=admin, timeout=REQUEST_TIMEOUT)
    metrics = requests.get(f"http://127.0.0.1:{tracking.metrics_port}/metrics", timeout=REQUEST_TIMEOUT)
    assert metrics.status_code == 200 and "mlflow_http_request_total" in metrics.text
    assert requests.get(f"{base}/metrics", timeout=REQUEST_TIMEOUT).status_code == 401


def test_artifacts_are_served_through_the_server(tracking):
    base, admin = tracking.base, tracking.admin
    url = f"{base}/api/2.0/mlflow-artifacts/artifacts/probe/hello.txt"
    assert requests.put(url, data=b"hello", auth=admin, timeout=REQUEST_TIMEOUT).status_code == 200
    assert requests.get(url, auth=admin, timeout=REQUEST_TIMEOUT).content == b"hello"


REGISTER = """
import mlflow, mlflow.pyfunc
class Echo(mlflow.pyfunc.PythonModel):
    def predict(self, context, model_input):
        return model_input
mlflow.set_experiment("reader-probe")
with mlflow.start_run():
    info = mlflow.pyfunc.log_model(name="model", python_model=Echo(), pip_requirements=["mlflow"],
                                   registered_model_name="reader-probe")
mlflow.MlflowClient().set_registered_model_alias("reader-probe", "champion", info.registered_model_version)
"""
# What the model server runs at start: serving.source resolves the alias and downloads through the artifact proxy.
LOAD = """
import json, sys
from serving.source import fetch_model
print(json.dumps(fetch_model(sys.argv[1], sys.argv[2], attempts=1).to_dict()))
"""


def _model_server_credentials(local_stack) -> tuple[str, str]:
    """The user the stack gives the model server: the MLflow credentials file of the Secret in the models namespace."""
    secret = next(r for r in local_stack.of_type("kubernetes:core/v1:Secret") if r.name == "model-mlflow-credentials")
    credentials = configparser.ConfigParser()
    credentials.read_string(unwrapped(secret.inputs["stringData"])["credentials"])
    return credentials["mlflow"]["mlflow_tracking_username"], credentials["mlflow"]["mlflow_tracking_password"]


def _python(code: str, *args: str, user: tuple[str, str], base: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "MLFLOW_TRACKING_URI": base, "MLFLOW_TRACKING_USERNAME": user[0], "MLFLOW_TRACKING_PASSWORD": user[1]}
    return subprocess.run([sys.executable, "-c", code, *args], env=env, cwd=cwd, capture_output=True, text=True,
                          timeout=START_TIMEOUT_SECONDS)


@pytest.fixture(scope="module")
def registered(tracking, tmp_path_factory) -> str:
    """A model logged and registered by the admin, with a @champion alias, as the training example does."""
    done = _python(REGISTER, user=tracking.admin, base=tracking.base, cwd=tmp_path_factory.mktemp("register"))
    assert done.returncode == 0, done.stdout + done.stderr
    return "reader-probe"


def test_the_model_server_user_is_not_the_admin(local_stack):
    username, password = _model_server_credentials(local_stack)
    assert username == "model-server" and username != unwrapped(local_stack.outputs["mlflowAdminUser"].value)
    assert password != unwrapped(local_stack.outputs["mlflowAdminPassword"].value)


def test_the_model_server_user_loads_a_registered_model_by_alias(local_stack, tracking, registered, tmp_path):
    loaded = _python(LOAD, f"models:/{registered}@champion", str(tmp_path / "model"), cwd=Path.cwd(),
                     user=_model_server_credentials(local_stack), base=tracking.base)
    assert loaded.returncode == 0, loaded.stdout + loaded.stderr
    assert '"version": "1"' in loaded.stdout and (tmp_path / "model" / "MLmodel").is_file()


def test_the_model_server_user_cannot_move_an_alias_delete_a_model_or_create_a_user(local_stack, tracking, registered):
    reader = _model_server_credentials(local_stack)
    api = f"{tracking.base}/api/2.0/mlflow"
    attempts = {
        "set alias": requests.post(f"{api}/registered-models/alias", auth=reader, timeout=REQUEST_TIMEOUT,
                                   json={"name": registered, "alias": "champion", "version": "1"}),
        "delete model": requests.delete(f"{api}/registered-models/delete", auth=reader, timeout=REQUEST_TIMEOUT,
                                        json={"name": registered}),
        "create user": requests.post(f"{api}/users/create", auth=reader, timeout=REQUEST_TIMEOUT,
                                     json={"username": "intruder", "password": "intruder-password-1234"}),
    }
    assert {what: answer.status_code for what, answer in attempts.items()} == dict.fromkeys(attempts, 403)
    still = requests.get(f"{api}/registered-models/alias", params={"name": registered, "alias": "champion"},
                         auth=tracking.admin, timeout=REQUEST_TIMEOUT)
    assert still.status_code == 200 and still.json()["model_version"]["version"] == "1"


def _signs_in(base: str, user: tuple[str, str]) -> bool:
    return requests.get(base + SEARCH, auth=user, timeout=REQUEST_TIMEOUT).status_code == 200


def test_changed_passwords_of_both_users_replace_the_old_ones_in_mlflow(local_stack, pod, tracking):
    """A rotation is the init container run with new Secret values; MLflow alone keeps the first admin password."""
    reader = _model_server_credentials(local_stack)
    new_admin, new_reader = "rotated-admin-password-0123456789", "rotated-reader-password-0123456789"
    rotated = pod.sync_users(MLFLOW_AUTH_ADMIN_PASSWORD=new_admin, MLSTACK_READER_PASSWORD=new_reader)
    try:
        assert rotated.returncode == 0, rotated.stdout + rotated.stderr
        assert not _signs_in(tracking.base, tracking.admin) and not _signs_in(tracking.base, reader)
        assert _signs_in(tracking.base, ("admin", new_admin)) and _signs_in(tracking.base, (reader[0], new_reader))
    finally:
        restored = pod.sync_users()  # the same values again: the rerun an unchanged pod restart makes
    assert restored.returncode == 0, restored.stdout + restored.stderr
    assert _signs_in(tracking.base, tracking.admin) and _signs_in(tracking.base, reader)


def test_the_user_sync_refuses_a_reader_named_like_the_admin(pod, tracking):
    refused = pod.sync_users(MLSTACK_READER_USERNAME="admin")
    assert refused.returncode == 2 and "must not be the admin user 'admin'" in refused.stderr
    assert _signs_in(tracking.base, tracking.admin)
