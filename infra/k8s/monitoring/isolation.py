"""The monitoring install's fences: node-exporter alone in a `privileged` namespace, the rest at `baseline`,
ingress to Prometheus, Alertmanager, Grafana and the exporters only from the monitoring namespace itself, and
Grafana's sidecars limited to reading the ConfigMaps of that namespace.

Egress stays open: Prometheus scrapes every namespace, the nodes' kubelets and node-exporter on the host network,
and the operator and Grafana's sidecar call the API server, whose address differs per cluster.
"""
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from ..meta import labels, metadata
from ..network import namespaces_peer
from .chart import GRAFANA_SIDECAR_ROLE

# The operator's pod label in kube-prometheus-stack (<chart name>-operator) and its webhook port (tls.internalPort).
OPERATOR_POD = {"app": "kube-prometheus-stack-operator"}
OPERATOR_WEBHOOK_PORT = 10250


def node_exporter_namespace(monitoring_namespace: str) -> str:
    return f"{monitoring_namespace}-node-exporter"


def namespaces(name: str, monitoring_namespace: str, opts: pulumi.ResourceOptions) -> list[k8s.core.v1.Namespace]:
    return [
        # Everything but node-exporter runs as non-root without host access: `baseline` enforced, `restricted` audited.
        _namespace(f"{name}-namespace", monitoring_namespace, "baseline", opts),
        # node-exporter needs the host's network, PID namespace and filesystem, which only `privileged` admits.
        _namespace(f"{name}-node-exporter-namespace", node_exporter_namespace(monitoring_namespace), "privileged", opts),
    ]


def _namespace(resource_name: str, name: str, level: str, opts: pulumi.ResourceOptions) -> k8s.core.v1.Namespace:
    return k8s.core.v1.Namespace(
        resource_name,
        metadata=metadata(name, None, {
            **labels(name, "namespace"),
            "pod-security.kubernetes.io/enforce": level,
            "pod-security.kubernetes.io/audit": "restricted",
            "pod-security.kubernetes.io/warn": "restricted",
        }),
        opts=opts,
    )


def network_policies(name: str, namespace: str, opts: pulumi.ResourceOptions) -> None:
    """Ingress: from the monitoring namespace only, plus the operator's admission webhook, which the API server
    calls from an address no selector can name. `kubectl port-forward` to Grafana bypasses policies by design."""
    _policy(f"{name}-deny-ingress", "default-deny-ingress", namespace, {"podSelector": {}, "policyTypes": ["Ingress"]}, opts)
    _policy(f"{name}-allow-monitoring", "allow-from-monitoring", namespace, {
        "podSelector": {},
        "policyTypes": ["Ingress"],
        "ingress": [{"from": [namespaces_peer([namespace])]}],
    }, opts)
    _policy(f"{name}-allow-webhook", "allow-operator-webhook", namespace, {
        "podSelector": {"matchLabels": OPERATOR_POD},
        "policyTypes": ["Ingress"],
        "ingress": [{"ports": [{"protocol": "TCP", "port": OPERATOR_WEBHOOK_PORT}]}],
    }, opts)


def _policy(resource_name: str, name: str, namespace: str, spec: dict[str, Any], opts: pulumi.ResourceOptions) -> None:
    k8s.networking.v1.NetworkPolicy(resource_name, metadata=metadata(name, namespace, labels(name, "network-policy")),
                                    spec=spec, opts=opts)


def grafana_sidecar_role(name: str, namespace: str, opts: pulumi.ResourceOptions) -> k8s.rbac.v1.Role:
    """What the dashboard and datasource sidecars need: ConfigMaps of the monitoring namespace, and no Secret."""
    return k8s.rbac.v1.Role(
        f"{name}-grafana-sidecar-role",
        metadata=metadata(GRAFANA_SIDECAR_ROLE, namespace, labels(GRAFANA_SIDECAR_ROLE, "rbac")),
        rules=[{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list", "watch"]}],
        opts=opts,
    )
