"""The tracking server as the stack declares it, run for real: its exact command, environment and auth config.

Only what a pod's filesystem provides is moved to a temporary directory (the volume, the mounted auth file, /tmp)
and the port is a free one on 127.0.0.1; every flag, every Secret value and the auth config come from the render.
"""
import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from infra.k8s.tracking_server import AUTH_CONFIG_PATH, DATA_PATH, METRICS_PATH
from infra.render import unwrapped
from tests.processes import free_port, stop_group, wait_until_ok

from .conftest import one

START_TIMEOUT_SECONDS = 180
# Generous: password hashing and first-request imports are slow on a busy two-core machine.
REQUEST_TIMEOUT = 60



def _relocated(value: str, root: Path) -> str:
    return value.replace(DATA_PATH, str(root / "data")).replace(METRICS_PATH, str(root / "prometheus"))


def _launch(local_stack, root: Path, port: int):
    container = one(local_stack, "Deployment", "mlflow")["spec"]["template"]["spec"]["containers"][0]
    secret = next(r for r in local_stack.of_type("kubernetes:core/v1:Secret") if r.name == "tracking-secret")
    secret_values = {k: _relocated(v, root) for k, v in unwrapped(secret.inputs["stringData"]).items()}
    auth_config = root / Path(AUTH_CONFIG_PATH).name
    auth_config.write_text(secret_values.pop("basic_auth.ini"))
    env = {e["name"]: e["value"] for e in container["env"] if "value" in e}
    env.update({e["name"]: secret_values[e["valueFrom"]["secretKeyRef"]["key"]] for e in container["env"] if "valueFrom" in e})
    env.update({"MLFLOW_AUTH_CONFIG_PATH": str(auth_config), "HOME": str(root)})
    command = [_relocated(part, root) for part in container["command"]]
    command[command.index("--host") + 1] = "127.0.0.1"
    command[command.index("--port") + 1] = str(port)
    (root / "data").mkdir()
    executable = str(Path(sys.executable).with_name(command[0]))
    with open(root / "mlflow.log", "w") as log:  # the server keeps its own copy of the descriptor
        return subprocess.Popen([executable, *command[1:]], env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT,
                                cwd=root, start_new_session=True)


@pytest.fixture(scope="module")
def tracking(local_stack, tmp_path_factory):
    root = tmp_path_factory.mktemp("tracking")
    port = free_port()
    process = _launch(local_stack, root, port)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_ok(f"{base}/health", alive=lambda: process.poll() is None, timeout_s=START_TIMEOUT_SECONDS,
                      logs=(root / "mlflow.log").read_text, what="mlflow server")
        password = unwrapped(local_stack.outputs["mlflowAdminPassword"].value)
        yield base, ("admin", password)
    finally:
        if stop_group(process, timeout_s=20) not in (0, -15):
            print((root / "mlflow.log").read_text())


SEARCH = "/api/2.0/mlflow/experiments/search?max_results=1"


def test_the_api_refuses_anonymous_callers(tracking):
    base, _ = tracking
    assert requests.get(base + SEARCH, timeout=REQUEST_TIMEOUT).status_code == 401


def test_the_generated_admin_credentials_open_the_api_and_the_registry(tracking):
    base, admin = tracking
    assert requests.get(base + SEARCH, auth=admin, timeout=REQUEST_TIMEOUT).status_code == 200
    created = requests.post(f"{base}/api/2.0/mlflow/registered-models/create", json={"name": "churn"}, auth=admin, timeout=REQUEST_TIMEOUT)
    assert created.status_code == 200, created.text


def test_in_cluster_service_names_pass_the_host_check_and_others_do_not(tracking):
    base, admin = tracking
    for host in ("mlflow.mlflow.svc.cluster.local:5000", "mlflow.mlflow:5000", "mlflow"):
        assert requests.get(base + SEARCH, auth=admin, headers={"Host": host}, timeout=REQUEST_TIMEOUT).status_code == 200, host
    forged = requests.get(base + SEARCH, auth=admin, headers={"Host": "attacker.example:5000"}, timeout=REQUEST_TIMEOUT)
    assert forged.status_code in (400, 403)


def test_metrics_are_exposed_to_authenticated_scrapers(tracking):
    base, admin = tracking
    requests.get(base + SEARCH, auth=admin, timeout=REQUEST_TIMEOUT)
    metrics = requests.get(f"{base}/metrics", auth=admin, timeout=REQUEST_TIMEOUT)
    assert metrics.status_code == 200 and "mlflow_http_request_total" in metrics.text


def test_artifacts_are_served_through_the_server(tracking):
    base, admin = tracking
    url = f"{base}/api/2.0/mlflow-artifacts/artifacts/probe/hello.txt"
    assert requests.put(url, data=b"hello", auth=admin, timeout=REQUEST_TIMEOUT).status_code == 200
    assert requests.get(url, auth=admin, timeout=REQUEST_TIMEOUT).content == b"hello"
