"""The control plane built from source behaves like a real cluster for what the stack relies on."""
import json

import pytest
import yaml

pytestmark = pytest.mark.cluster

RESTRICTED_LABELS = {"pod-security.kubernetes.io/enforce": "restricted"}


def namespace(name: str, labels: dict[str, str]) -> str:
    return yaml.safe_dump({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}})


def deployment(name: str, ns: str, container_security: dict, pod_security: dict) -> dict:
    labels = {"app.kubernetes.io/name": name}
    container = {"name": "app", "image": "registry.invalid/app:1", "securityContext": container_security}
    return {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": ns},
        "spec": {"replicas": 2, "selector": {"matchLabels": labels}, "template": {
            "metadata": {"labels": labels},
            "spec": {"securityContext": pod_security, "containers": [container]}}},
    }


HARDENED_CONTAINER = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]},
                      "readOnlyRootFilesystem": True}
HARDENED_POD = {"runAsNonRoot": True, "runAsUser": 10001, "seccompProfile": {"type": "RuntimeDefault"}}


def test_apiserver_reports_the_pinned_kubernetes_version(kube, engine):
    version = json.loads(kube.run("version", "-o", "json").stdout)
    assert version["serverVersion"]["gitVersion"] == engine["KUBERNETES_VERSION"]
    assert version["clientVersion"]["gitVersion"] == engine["KUBERNETES_VERSION"]


def test_fake_nodes_are_ready_in_three_zones(kube):
    nodes = json.loads(kube.run("get", "nodes", "-o", "json").stdout)["items"]
    ready = [n for n in nodes if any(c["type"] == "Ready" and c["status"] == "True" for c in n["status"]["conditions"])]
    assert len(ready) == len(nodes) == 3
    assert {n["metadata"]["labels"]["topology.kubernetes.io/zone"] for n in ready} == {"zone-a", "zone-b", "zone-c"}


def test_restricted_namespace_refuses_a_pod_without_hardening(kube):
    kube.apply(namespace("psa-refuses", RESTRICTED_LABELS))
    # ServiceAccount admission runs first and refuses pods until the namespace's default account exists.
    kube.wait("create", "serviceaccount/default", "psa-refuses", seconds=30)
    loose = deployment("loose", "psa-refuses", container_security={}, pod_security={})
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "loose", "namespace": "psa-refuses"},
           "spec": loose["spec"]["template"]["spec"]}
    refused = kube.run("create", "-f", "-", stdin=yaml.safe_dump(pod), check=False)
    assert refused.returncode != 0
    assert 'violates PodSecurity "restricted:latest"' in refused.stderr


def test_hardened_deployment_pods_become_ready_under_restricted_enforcement(kube):
    kube.apply(namespace("psa-admits", RESTRICTED_LABELS))
    kube.apply(yaml.safe_dump(deployment("hardened", "psa-admits", HARDENED_CONTAINER, HARDENED_POD)))
    kube.wait("condition=Available", "deployment/hardened", "psa-admits")
    pods = kube.items("pods", "psa-admits")
    assert len(pods) == 2
    for pod in pods:
        assert pod["status"]["phase"] == "Running"
        assert pod["status"]["podIP"].startswith("10.244.")
        assert {"type": "Ready", "status": "True"}.items() <= next(
            c for c in pod["status"]["conditions"] if c["type"] == "Ready").items()


def test_claim_without_storage_class_binds_to_a_default_class_volume(kube):
    kube.apply(namespace("storage", {}))
    claim = {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "data", "namespace": "storage"},
             "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "2Gi"}}}}
    kube.apply(yaml.safe_dump(claim))
    kube.wait("jsonpath={.status.phase}=Bound", "pvc/data", "storage", seconds=60)
    bound = kube.get("pvc", "data", "storage")
    assert bound["spec"]["storageClassName"] == "standard"
    assert bound["spec"]["volumeName"].startswith("hostpath-")
