"""NetworkPolicies: deny by default, then allow exactly the paths the platform needs."""
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from .meta import labels, metadata

DNS_PORTS = [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]
# The cluster DNS pods: kube-dns on GKE, CoreDNS on AKS, kind and minikube all carry this label in kube-system.
# Policies see the pod behind the DNS Service's address, so this peer covers lookups through the Service too.
CLUSTER_DNS_PEER = {
    "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
    "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
}


def namespaces_peer(names: Iterable[str]) -> dict[str, Any]:
    """Pods of the named namespaces, matched by the label Kubernetes sets on every namespace."""
    return {"namespaceSelector": {"matchExpressions": [
        {"key": "kubernetes.io/metadata.name", "operator": "In", "values": sorted(set(names))},
    ]}}


def deny_all(resource_name: str, namespace: pulumi.Input[str], opts: pulumi.ResourceOptions) -> k8s.networking.v1.NetworkPolicy:
    return k8s.networking.v1.NetworkPolicy(
        resource_name,
        metadata=metadata("default-deny", namespace, labels("default-deny", "network-policy")),
        spec={"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
        opts=opts,
    )


def allow(resource_name: str, name: str, namespace: pulumi.Input[str], pod_selector: Mapping[str, str],
          ingress: Sequence[Mapping[str, Any]], egress: Sequence[Mapping[str, Any]],
          opts: pulumi.ResourceOptions) -> k8s.networking.v1.NetworkPolicy:
    return k8s.networking.v1.NetworkPolicy(
        resource_name,
        metadata=metadata(name, namespace, labels(name, "network-policy")),
        spec={
            "podSelector": {"matchLabels": dict(pod_selector)},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": list(ingress),
            "egress": list(egress),
        },
        opts=opts,
    )


def dns_egress() -> dict[str, Any]:
    """The cluster DNS pods and nothing else on port 53: a pod cannot tunnel out through an outside resolver."""
    return {"to": [CLUSTER_DNS_PEER], "ports": DNS_PORTS}
