"""Pod hardening holds for every container of every workload of every stack file."""
import pytest

from .conftest import STACKS, objects_of_kind, pod_specs

RESTRICTED_CONTAINER = {
    "allowPrivilegeEscalation": False,
    "readOnlyRootFilesystem": True,
    "runAsNonRoot": True,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}


@pytest.mark.parametrize("stack", STACKS)
def test_every_container_is_restricted_read_only_and_bounded(rendered_stacks, stack):
    specs = pod_specs(rendered_stacks[stack])
    assert len(specs) >= 2
    for workload, pod in specs:
        assert pod["securityContext"]["runAsNonRoot"] is True, workload
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, workload
        assert pod["automountServiceAccountToken"] is False, workload
        for container in pod["containers"] + pod.get("initContainers", []):
            where = f"{stack}: {workload}/{container['name']}"
            assert container["securityContext"].items() >= RESTRICTED_CONTAINER.items(), where
            assert {"cpu", "memory"} <= container["resources"]["requests"].keys(), where
            assert {"cpu", "memory"} <= container["resources"]["limits"].keys(), where
            assert any(m["mountPath"] == "/tmp" for m in container["volumeMounts"]), where
        for container in pod["containers"]:  # init containers run to completion: Kubernetes allows them no probes
            assert "livenessProbe" in container and "readinessProbe" in container, f"{stack}: {workload}/{container['name']}"


@pytest.mark.parametrize("stack", STACKS)
def test_every_namespace_the_stack_creates_for_workloads_enforces_restricted(rendered_stacks, stack):
    rendered = rendered_stacks[stack]
    workload_namespaces = {obj["metadata"]["namespace"] for obj in rendered.kubernetes_objects() if obj["kind"] == "Deployment"}
    namespaces = {ns["metadata"]["name"]: ns["metadata"]["labels"] for ns in objects_of_kind(rendered, "Namespace")}
    for name in workload_namespaces & namespaces.keys():
        assert namespaces[name]["pod-security.kubernetes.io/enforce"] == "restricted", name


@pytest.mark.parametrize("stack", STACKS)
def test_every_object_carries_the_recommended_labels(rendered_stacks, stack):
    for obj in rendered_stacks[stack].kubernetes_objects():
        labels = obj["metadata"].get("labels", {})
        assert labels.get("app.kubernetes.io/part-of") == "mlstack", obj["metadata"]["name"]
        assert labels.get("app.kubernetes.io/managed-by") == "pulumi", obj["metadata"]["name"]
        assert "app.kubernetes.io/name" in labels, obj["metadata"]["name"]


@pytest.mark.parametrize("stack", STACKS)
def test_dns_egress_reaches_only_the_cluster_dns_pods(rendered_stacks, stack):
    cluster_dns = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                   "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}
    policies = objects_of_kind(rendered_stacks[stack], "NetworkPolicy")
    dns_rules = [rule for policy in policies for rule in policy["spec"].get("egress", [])
                 if any(port.get("port") == 53 for port in rule.get("ports", []))]
    assert dns_rules
    for rule in dns_rules:
        assert rule["to"] == [cluster_dns], rule
