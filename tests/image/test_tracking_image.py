"""tracking/Dockerfile built on the local base, pushed, pulled back by digest, and run as the `local` stack's pod spec
says: its exact command, environment, Secret values, volumes, user, read-only root and memory limit.

Only what Kubernetes provides is translated: the Secret's values go in an env file, the Secret volume and the data
volume are host directories mounted at the same paths, the emptyDir is a tmpfs, and the port is a free one on the
host network (the image runs `mlflow server` on whatever port the command names).
"""
import os
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from infra.config.quantity import parse_quantity
from infra.render import run_program, stack_config, unwrapped

from .conftest import STARTED_CONTAINERS, free_port
from .harness import MIB, REPORT, Container

pytestmark = pytest.mark.image

# Measured 912 MiB on the local bookworm base: full mlflow's dependencies (pyarrow, scipy, pandas, scikit-learn,
# matplotlib) are most of it, and requirements.txt pins mlflow[auth], not mlflow-skinny. Raise it only on purpose.
SIZE_BUDGET_MIB = 1000
READY_TIMEOUT_S = 300  # two workers import MLflow and migrate the tracking and auth schemas on two busy cores
REQUEST_TIMEOUT_S = 60  # password hashing and first-request imports are slow here
SEARCH = "/api/2.0/mlflow/experiments/search?max_results=1"


@dataclass(frozen=True)
class TrackingPod:
    """The tracking server's pod as the rendered `local` stack declares it."""

    spec: dict
    container: dict
    secret_values: dict[str, str]
    admin: tuple[str, str]


@pytest.fixture(scope="module")
def tracking_pod() -> TrackingPod:
    stack = run_program("local", stack_config("local"))
    [deployment] = [o for o in stack.kubernetes_objects()
                    if o["kind"] == "Deployment" and o["metadata"]["name"] == "mlflow"]
    spec = deployment["spec"]["template"]["spec"]
    [secret] = [r for r in stack.of_type("kubernetes:core/v1:Secret") if r.name == "tracking-secret"]
    admin = (unwrapped(stack.outputs["mlflowAdminUser"].value), unwrapped(stack.outputs["mlflowAdminPassword"].value))
    return TrackingPod(spec, spec["containers"][0], unwrapped(secret.inputs["stringData"]), admin)


def docker_run_arguments(pod: TrackingPod, image: str, host_dir: Path, port: int) -> list[str]:
    """`docker run` flags and command line equivalent to the pod spec, with the volumes under host_dir."""
    security = pod.spec["securityContext"]
    arguments = ["--network", "host", "--read-only", "--user", f"{security['runAsUser']}:{security['runAsGroup']}",
                 "--cap-drop", "ALL", "--security-opt", "no-new-privileges",
                 "--memory", str(int(parse_quantity(pod.container["resources"]["limits"]["memory"])))]
    volumes = {volume["name"]: volume for volume in pod.spec["volumes"]}
    for mount in pod.container["volumeMounts"]:
        volume = volumes[mount["name"]]
        if "emptyDir" in volume:
            arguments += ["--tmpfs", f"{mount['mountPath']}:rw,size={int(parse_quantity(volume['emptyDir']['sizeLimit']))}"]
        elif "secret" in volume:
            directory = host_dir / mount["name"]
            directory.mkdir(mode=0o755)
            for item in volume["secret"]["items"]:
                (directory / item["path"]).write_text(pod.secret_values[item["key"]])
                (directory / item["path"]).chmod(0o644)  # a Secret volume's default mode
            arguments += ["--volume", f"{directory}:{mount['mountPath']}:ro"]
        else:
            directory = host_dir / mount["name"]
            directory.mkdir()
            os.chown(directory, security["runAsUser"], security["fsGroup"])  # what fsGroup does to the volume
            arguments += ["--volume", f"{directory}:{mount['mountPath']}"]
    env_file = host_dir / "env"
    with open(os.open(env_file, os.O_WRONLY | os.O_CREAT, 0o600), "w") as env:
        for variable in pod.container["env"]:
            value = variable.get("value") or pod.secret_values[variable["valueFrom"]["secretKeyRef"]["key"]]
            env.write(f"{variable['name']}={value}\n")
    arguments += ["--env-file", str(env_file)]
    command = list(pod.container["command"])
    command[command.index("--host") + 1] = "127.0.0.1"
    command[command.index("--port") + 1] = str(port)
    # A pod's `command` replaces the image's entrypoint and drops its CMD: the same as --entrypoint plus arguments.
    return [*arguments, "--entrypoint", command[0], image, *command[1:]]


@dataclass(frozen=True)
class RunningTracking:
    container: Container
    data_dir: Path
    admin: tuple[str, str]

    @property
    def url(self) -> str:
        return self.container.url


@pytest.fixture(scope="module")
def tracking_server(engine, tracking_image, tracking_pod, tmp_path_factory) -> RunningTracking:
    host_dir = tmp_path_factory.mktemp("tracking-pod")
    port = free_port()
    arguments = docker_run_arguments(tracking_pod, tracking_image.ref, host_dir, port)
    container = Container(engine, engine.output("run", "--detach", *arguments), port, ready_path="/health")
    STARTED_CONTAINERS.append(container)
    try:
        started = time.monotonic()
        container.wait_ready(READY_TIMEOUT_S)
        REPORT["mlstack-tracking container ready"] = f"{time.monotonic() - started:.1f}s after docker run"
        yield RunningTracking(container, host_dir / "data", tracking_pod.admin)
        memory = engine.output("stats", "--no-stream", "--format", "{{.MemUsage}}", container.container_id)
        REPORT["mlstack-tracking memory after the tests"] = memory
    finally:
        container.remove()


def test_tracking_image_pulled_back_by_digest_is_the_image_that_was_built(engine, tracking_image):
    assert tracking_image.ref.startswith(f"{engine.registry}/mlstack-tracking@sha256:")
    assert engine.output("image", "inspect", "--format", "{{.Id}}", tracking_image.ref) == tracking_image.image_id


def test_tracking_image_has_no_entrypoint_so_the_pod_command_is_the_whole_command_line(engine, tracking_image):
    entrypoint = engine.output("image", "inspect", "--format", "{{json .Config.Entrypoint}}", tracking_image.ref)
    assert entrypoint in ("null", "[]")


def test_tracking_image_runs_as_uid_10001_with_mlflow_on_path_and_no_compiler(engine, tracking_image):
    assert engine.configured_uid(tracking_image.ref) == "10001"
    found = engine.compilers_then(tracking_image.ref, "command -v mlflow; id -u")
    assert found == ["/opt/venv/bin/mlflow", "10001"], f"compilers in the final image: {found}"


def test_tracking_image_size_stays_within_its_budget(tracking_image):
    size_mib = tracking_image.size_bytes / MIB
    REPORT["mlstack-tracking image size"] += f" (budget {SIZE_BUDGET_MIB} MiB, {__name__})"
    assert size_mib <= SIZE_BUDGET_MIB, f"the tracking image is {size_mib:.0f} MiB, over its {SIZE_BUDGET_MIB} MiB"


def test_health_answers_without_credentials_as_the_probes_call_it(tracking_server):
    assert requests.get(f"{tracking_server.url}/health", timeout=REQUEST_TIMEOUT_S).status_code == 200


def test_the_api_refuses_anonymous_callers(tracking_server):
    assert requests.get(tracking_server.url + SEARCH, timeout=REQUEST_TIMEOUT_S).status_code == 401


def test_the_admin_credentials_of_the_secret_open_the_api(tracking_server):
    response = requests.get(tracking_server.url + SEARCH, auth=tracking_server.admin, timeout=REQUEST_TIMEOUT_S)
    assert response.status_code == 200, response.text


def test_in_cluster_service_names_pass_the_host_check_and_others_do_not(tracking_server):
    for host in ("mlflow.mlflow.svc.cluster.local:5000", "mlflow.mlflow:5000", "mlflow"):
        response = requests.get(tracking_server.url + SEARCH, auth=tracking_server.admin, headers={"Host": host},
                                timeout=REQUEST_TIMEOUT_S)
        assert response.status_code == 200, host
    refused = requests.get(tracking_server.url + SEARCH, auth=tracking_server.admin,
                           headers={"Host": "attacker.example:5000"}, timeout=REQUEST_TIMEOUT_S)
    assert refused.status_code in (400, 403)


def test_metrics_for_authenticated_scrapers_count_the_requests_served(tracking_server):
    requests.get(tracking_server.url + SEARCH, auth=tracking_server.admin, timeout=REQUEST_TIMEOUT_S)
    metrics = requests.get(f"{tracking_server.url}/metrics", auth=tracking_server.admin, timeout=REQUEST_TIMEOUT_S)
    assert metrics.status_code == 200
    assert "mlflow_http_request_total" in metrics.text, metrics.text[:2000]


def test_a_registered_model_is_created_and_read_back(tracking_server):
    api = f"{tracking_server.url}/api/2.0/mlflow/registered-models"
    created = requests.post(f"{api}/create", json={"name": "churn"}, auth=tracking_server.admin,
                            timeout=REQUEST_TIMEOUT_S)
    assert created.status_code == 200, created.text
    read = requests.get(f"{api}/get", params={"name": "churn"}, auth=tracking_server.admin, timeout=REQUEST_TIMEOUT_S)
    assert read.status_code == 200 and read.json()["registered_model"]["name"] == "churn", read.text


def test_artifacts_go_through_the_server_onto_the_data_volume(tracking_server):
    url = f"{tracking_server.url}/api/2.0/mlflow-artifacts/artifacts/probe/hello.txt"
    assert requests.put(url, data=b"hello", auth=tracking_server.admin, timeout=REQUEST_TIMEOUT_S).status_code == 200
    assert requests.get(url, auth=tracking_server.admin, timeout=REQUEST_TIMEOUT_S).content == b"hello"
    assert (tracking_server.data_dir / "artifacts" / "probe" / "hello.txt").read_bytes() == b"hello"


def test_root_filesystem_is_read_only_and_the_databases_live_on_the_volume(engine, tracking_server):
    writes = engine.docker_run(
        "exec", tracking_server.container.container_id, "/bin/sh", "-c",
        "touch /opt/venv/probe 2>/dev/null && echo root-writable; touch /tmp/probe && echo tmp-writable; id -u",
    )
    assert writes.stdout.split() == ["tmp-writable", "10001"]
    assert (tracking_server.data_dir / "mlflow.db").stat().st_size > 0


def test_the_server_ran_every_test_within_the_pods_memory_limit(engine, tracking_server, tracking_pod):
    """The last test of the module: MLflow's default job runner alone would take the container past 1Gi."""
    state = engine.output("inspect", "--format", "{{.State.Running}} {{.State.OOMKilled}} {{.HostConfig.Memory}}",
                          tracking_server.container.container_id)
    running, oom_killed, limit_bytes = state.split()
    assert (running, oom_killed) == ("true", "false")
    assert int(limit_bytes) == parse_quantity(tracking_pod.container["resources"]["limits"]["memory"])
