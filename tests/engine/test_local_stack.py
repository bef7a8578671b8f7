"""The `local` stack's objects, as the program declares them, against a real kube-apiserver.

The objects come from the program run under mocks (infra.render) and reach the API server by server-side
apply: the API server's schema validation, admission (PodSecurity `restricted`, DefaultStorageClass,
ServiceAccount), the controllers and the scheduler see what the program declares, and every declared field
is compared with the live object. test_stack_engine.py sends the same program through the engine and the
kubernetes provider instead.
"""
import re

import pytest
import yaml

from infra.render import run_program, stack_config

pytestmark = pytest.mark.cluster

IMAGE = "localhost:5000/mlstack-serving@sha256:" + "ab" * 32
# The image build and the internet Helm chart cannot run here; the stack's own switches turn them off.
ENGINE_OVERRIDES = {"imageBuild": "false", "image": IMAGE, "monitoring": "none"}
FIRST_MODEL, NEXT_MODEL = "models:/churn/7", "models:/churn/8"


def rendered_objects(model_uri: str) -> list[dict]:
    values = {**stack_config("local"), **ENGINE_OVERRIDES, "modelUri": model_uri}
    return run_program("local", values).kubernetes_objects()


def as_manifest(objects: list[dict]) -> str:
    # Namespaces first: the API server refuses objects in a namespace that does not exist yet.
    ordered = sorted(objects, key=lambda obj: obj["kind"] != "Namespace")
    return yaml.safe_dump_all(ordered, sort_keys=False)


def of_kind(objects: list[dict], kind: str) -> list[dict]:
    return [obj for obj in objects if obj["kind"] == kind]


@pytest.fixture(scope="module")
def deployed(kube):
    objects = rendered_objects(FIRST_MODEL)
    kube.apply(as_manifest(objects))
    try:
        yield objects
    finally:
        kube.run("delete", "--ignore-not-found", "--wait=false", "-f", "-", stdin=as_manifest(objects), check=False)


def namespaces_of(objects: list[dict]) -> list[str]:
    return [obj["metadata"]["name"] for obj in of_kind(objects, "Namespace")]


def test_every_deployment_becomes_available_under_restricted_pod_security(kube, deployed):
    for ns in namespaces_of(deployed):
        labels = kube.get("namespace", ns)["metadata"]["labels"]
        assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
    for deployment in of_kind(deployed, "Deployment"):
        meta = deployment["metadata"]
        kube.wait("condition=Available", f"deployment/{meta['name']}", meta["namespace"], seconds=120)
        live = kube.get("deployment", meta["name"], meta["namespace"])
        assert live["status"]["readyReplicas"] == deployment["spec"].get("replicas", 1)


def test_model_server_pods_carry_the_model_and_image(kube, deployed):
    server = next(d for d in of_kind(deployed, "Deployment") if d["metadata"]["namespace"] == "models")
    selector = ",".join(f"{k}={v}" for k, v in server["spec"]["selector"]["matchLabels"].items())
    pods = kube.items("pods", server["metadata"]["namespace"], selector)
    assert pods, f"no pods for {selector}"
    for pod in pods:
        assert pod["metadata"]["annotations"]["mlstack.io/model-uri"] == FIRST_MODEL
        container = pod["spec"]["containers"][0]
        assert container["image"] == IMAGE
        assert {"name": "MODEL_URI", "value": FIRST_MODEL} in container["env"]
        assert pod["status"]["phase"] == "Running"


def test_tracking_server_volume_is_bound_from_the_default_storage_class(kube, deployed):
    claims = of_kind(deployed, "PersistentVolumeClaim")
    assert [claim["metadata"]["name"] for claim in claims] == ["mlflow-data"]
    for claim in claims:
        meta = claim["metadata"]
        kube.wait("jsonpath={.status.phase}=Bound", f"pvc/{meta['name']}", meta["namespace"], seconds=60)


@pytest.mark.parametrize("kind", ["Deployment", "PersistentVolumeClaim", "Service", "HorizontalPodAutoscaler",
                                  "PodDisruptionBudget", "NetworkPolicy", "Secret", "ServiceAccount"])
def test_declared_objects_exist_with_their_declared_spec(kube, deployed, kind):
    declared = of_kind(deployed, kind)
    assert declared, f"the local stack declares no {kind}"
    for obj in declared:
        live = kube.get(kind.lower(), obj["metadata"]["name"], obj["metadata"]["namespace"])
        assert live["metadata"]["labels"] == live["metadata"]["labels"] | obj["metadata"]["labels"]
        if kind == "Secret":
            assert set(live["data"]) == set(obj.get("stringData", {})) | set(obj.get("data", {}))
        elif "spec" in obj:
            assert_subset(obj["spec"], live["spec"], path=f"{kind}/{obj['metadata']['name']}.spec")


def assert_subset(declared, live, path: str) -> None:
    """Every declared field is in the live object with the same value; the server may add defaults."""
    if isinstance(declared, dict):
        for key, value in declared.items():
            if value is not None:
                assert key in live, f"{path}.{key} missing on the server"
                assert_subset(value, live[key], f"{path}.{key}")
    elif isinstance(declared, list):
        assert len(declared) == len(live), f"{path}: {declared} != {live}"
        for index, (want, got) in enumerate(zip(declared, live, strict=True)):
            assert_subset(want, got, f"{path}[{index}]")
    else:
        assert str(declared) == str(live), f"{path}: declared {declared!r}, server has {live!r}"


def changed_lines(diff: str) -> list[str]:
    return [line for line in diff.splitlines()
            if re.match(r"^[+-]\s", line) and not re.match(r"^[+-]\s+generation:", line)]


def test_reapplying_the_same_program_changes_nothing(kube, deployed):
    diff = kube.run("diff", "--server-side", "--field-manager", "mlstack-engine-test", "-f", "-",
                    stdin=as_manifest(rendered_objects(FIRST_MODEL)), check=False)
    assert diff.returncode == 0, diff.stdout + diff.stderr


def test_a_new_model_version_changes_only_the_model_server_pod_template(kube, deployed):
    diff = kube.run("diff", "--server-side", "--field-manager", "mlstack-engine-test", "-f", "-",
                    stdin=as_manifest(rendered_objects(NEXT_MODEL)), check=False)
    assert diff.returncode == 1, diff.stdout + diff.stderr
    changed_objects = set(re.findall(r"^diff -u -N \S+/(\S+) ", diff.stdout, flags=re.MULTILINE))
    assert changed_objects == {"apps.v1.Deployment.models.model-server"}, diff.stdout
    lines = changed_lines(diff.stdout)
    assert lines, diff.stdout
    assert all(re.search(r'churn/[78]|"[78]"', line) for line in lines), "\n".join(lines)
    assert any(line.startswith("+") and NEXT_MODEL in line for line in lines)


def test_deleting_the_stack_leaves_none_of_its_objects(kube, deployed):
    kube.run("delete", "--wait=true", "--timeout=120s", "-f", "-", stdin=as_manifest(deployed), timeout=150)
    for ns in namespaces_of(deployed):
        gone = kube.run("get", "namespace", ns, check=False)
        assert gone.returncode != 0 and "NotFound" in gone.stderr
    leftovers = kube.run("get", "all,pvc,secrets,networkpolicies,pdb,hpa", "-A", "-l",
                         "app.kubernetes.io/part-of=mlstack", "-o", "name").stdout
    assert leftovers.strip() == ""
