"""Rollout, canary and rollback of the model service on the real control plane (kube-apiserver, controllers, kwok).

The model namespace's objects come from the program under mocks (infra.render) with each step's config, and reach the
API server by server-side apply; objects a step no longer declares are deleted, as `pulumi up` would.

kwok turns every pod that lands on one of its nodes Running and Ready (its readiness gates too), so the version that
never turns Ready is one no node can hold: the next model asking for more memory than any node has. Its pods stay
Pending, as a model that never loads stays un-Ready, and the Deployment controller treats both alike.
"""
import time

import pytest
import yaml

from infra.render import run_program, stack_config

pytestmark = pytest.mark.cluster

NAMESPACE = "rollout"  # apart from the namespaces other engine tests apply the local stack to
IMAGE = "localhost:5000/mlstack-serving@sha256:" + "cd" * 32
DEADLINE_SECONDS = 30
BASE = {"imageBuild": "false", "image": IMAGE, "monitoring": "none", "namespace": NAMESPACE,
        "trackingNamespace": "rollout-mlflow", "minReplicas": "2", "maxReplicas": "4",
        "rolloutDeadlineSeconds": str(DEADLINE_SECONDS)}
V7, V8, V9 = "models:/churn/7", "models:/churn/8", "models:/churn/9"
TOO_BIG = {"memoryRequest": "64Gi", "memoryLimit": "64Gi"}  # the fake nodes hold 32Gi each
WAIT_SECONDS = 120


def model_objects(**values: str) -> dict[tuple[str, str], dict]:
    """The model namespace's objects of the local stack with BASE and `values`, by (kind, name)."""
    rendered = run_program("local", stack_config("local", {**BASE, **values}))
    return {(o["kind"], o["metadata"]["name"]): o for o in rendered.kubernetes_objects()
            if o["metadata"].get("namespace") == NAMESPACE or (o["kind"], o["metadata"]["name"]) == ("Namespace", NAMESPACE)}


class Stack:
    """What `pulumi up` does to the namespace: apply every declared object, delete the ones no longer declared."""

    def __init__(self, kube):
        self.kube = kube
        self.applied: dict[tuple[str, str], dict] = {}

    def up(self, **values: str) -> dict[tuple[str, str], dict]:
        objects = model_objects(**values)
        ordered = sorted(objects.values(), key=lambda obj: obj["kind"] != "Namespace")
        self.kube.apply(yaml.safe_dump_all(ordered, sort_keys=False))
        for kind, name in self.applied.keys() - objects.keys():
            self.kube.run("delete", kind.lower(), name, "-n", NAMESPACE, "--wait=false")
        self.applied = objects
        return objects


@pytest.fixture(scope="module")
def stack(kube):
    deployed = Stack(kube)
    try:
        yield deployed
    finally:
        kube.run("delete", "namespace", NAMESPACE, "--ignore-not-found", "--wait=false", check=False)


def eventually(check, what: str, seconds: float = WAIT_SECONDS):
    """Polls `check` until it returns a truthy value; the controllers converge in their own time."""
    deadline = time.monotonic() + seconds
    while not (result := check()):
        assert time.monotonic() < deadline, f"not within {seconds}s: {what}"
        time.sleep(1)
    return result


def pods(kube, selector: str = "app.kubernetes.io/name=model-server") -> list[dict]:
    return [p for p in kube.items("pods", NAMESPACE, selector) if not p["metadata"].get("deletionTimestamp")]


def is_ready(pod: dict) -> bool:
    return any(c["type"] == "Ready" and c["status"] == "True" for c in pod["status"].get("conditions", []))


def model_of(pod: dict) -> str:
    return pod["metadata"]["annotations"]["mlstack.io/model-uri"]


def served_addresses(kube, service: str = "model-server") -> set[str]:
    """The ready endpoint addresses of a Service, from its EndpointSlices."""
    slices = kube.items("endpointslices", NAMESPACE, f"kubernetes.io/service-name={service}")
    return {address for s in slices for e in s.get("endpoints") or []
            if e.get("conditions", {}).get("ready") for address in e["addresses"]}


def ready_pods(kube, count: int, model: str, selector: str = "app.kubernetes.io/name=model-server") -> list[dict]:
    def check():
        found = [p for p in pods(kube, selector) if is_ready(p) and model_of(p) == model]
        return found if len(found) == count else None
    return eventually(check, f"{count} ready pods serving {model} ({selector})")


def test_stable_version_scales_to_the_autoscaler_minimum_and_backs_the_service(kube, stack):
    stack.up(modelUri=V7)
    stable = ready_pods(kube, 2, V7)
    assert {p["metadata"]["labels"]["mlstack.io/track"] for p in stable} == {"stable"}
    assert {p["metadata"]["labels"]["mlstack.io/model-version"] for p in stable} == {"7"}
    eventually(lambda: served_addresses(kube) == {p["status"]["podIP"] for p in stable}, "the Service serves the stable pods")


def test_canary_and_stable_pods_both_back_the_one_service(kube, stack):
    stack.up(modelUri=V7, canaryModelUri=V8, canaryPercent="34")
    canary = ready_pods(kube, 1, V8, "mlstack.io/track=canary")
    stable = ready_pods(kube, 2, V7, "mlstack.io/track=stable")
    assert canary[0]["metadata"]["labels"]["mlstack.io/model-version"] == "8"
    both = {p["status"]["podIP"] for p in stable + canary}
    eventually(lambda: served_addresses(kube) == both, f"the Service's EndpointSlices hold {both}")
    # The stable Deployment's selector is wider than the canary's pods, yet it never adopts them.
    assert kube.get("deployment", "model-server", NAMESPACE)["status"]["replicas"] == 2
    assert kube.get("deployment", "model-server-canary", NAMESPACE)["status"]["readyReplicas"] == 1


def test_aborting_the_canary_leaves_only_the_stable_pods_serving(kube, stack):
    stack.up(modelUri=V7)
    eventually(lambda: not pods(kube, "mlstack.io/track=canary"), "the canary pods are gone")
    stable = ready_pods(kube, 2, V7)
    eventually(lambda: served_addresses(kube) == {p["status"]["podIP"] for p in stable}, "only stable pods serve")


def progressing(kube) -> dict:
    conditions = kube.get("deployment", "model-server", NAMESPACE)["status"].get("conditions", [])
    return next((c for c in conditions if c["type"] == "Progressing"), {})


def test_a_version_that_never_turns_ready_stops_at_the_deadline_with_the_old_replicaset_serving(kube, stack):
    old = ready_pods(kube, 2, V7)
    stack.up(modelUri=V9, **TOO_BIG)
    condition = eventually(lambda: (c := progressing(kube)).get("reason") == "ProgressDeadlineExceeded" and c,
                           "the Deployment marks ProgressDeadlineExceeded", DEADLINE_SECONDS + WAIT_SECONDS)
    assert condition["status"] == "False"
    assert "has timed out progressing" in condition["message"]  # the line `pulumi up` reports
    # maxSurge 1, maxUnavailable 0: one new pod waits, unplaced, and every old pod still serves.
    new = [p for p in pods(kube) if model_of(p) == V9]
    assert len(new) == 1 and not is_ready(new[0]) and new[0]["status"]["phase"] == "Pending"
    assert {p["metadata"]["name"] for p in ready_pods(kube, 2, V7)} == {p["metadata"]["name"] for p in old}
    assert served_addresses(kube) == {p["status"]["podIP"] for p in old}
    status = kube.get("deployment", "model-server", NAMESPACE)["status"]
    assert (status["availableReplicas"], status.get("updatedReplicas")) == (2, 1)


def test_rollback_is_the_previous_config_and_converges_on_the_old_replicaset(kube, stack):
    old_replicaset = {p["metadata"]["ownerReferences"][0]["name"] for p in ready_pods(kube, 2, V7)}
    stack.up(modelUri=V7)
    kube.run("rollout", "status", "deployment/model-server", "-n", NAMESPACE, f"--timeout={WAIT_SECONDS}s",
             timeout=WAIT_SECONDS + 15)
    eventually(lambda: all(model_of(p) == V7 for p in pods(kube)), "the never-ready pod is gone")
    stable = ready_pods(kube, 2, V7)
    assert {p["metadata"]["ownerReferences"][0]["name"] for p in stable} == old_replicaset
    condition = eventually(lambda: (c := progressing(kube)).get("reason") == "NewReplicaSetAvailable" and c,
                           "the Deployment reports the old ReplicaSet available again")
    assert condition["status"] == "True"
    assert served_addresses(kube) == {p["status"]["podIP"] for p in stable}
