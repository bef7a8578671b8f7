"""kube-prometheus-stack: where the chart comes from and the values this stack sets on it."""

from typing import Any

from ...config.model import MonitoringConfig

CHART = "kube-prometheus-stack"
REPOSITORY = "https://prometheus-community.github.io/helm-charts"
# The chart's Grafana dashboard sidecar loads every ConfigMap carrying this label, from the monitoring namespace.
DASHBOARD_LABEL = "grafana_dashboard"
DASHBOARD_LABEL_VALUE = "1"
GRAFANA_USER_KEY = "admin-user"
GRAFANA_PASSWORD_KEY = "admin-password"


def grafana_service_name(release: str) -> str:
    """The Grafana subchart's fullname: <release>-grafana, unless the release name already contains `grafana`."""
    return release if "grafana" in release else f"{release}-grafana"


def values(config: MonitoringConfig, grafana_admin_secret: str, storage_class: str | None,
           node_exporter_namespace: str) -> dict[str, Any]:
    return {
        "prometheus": {"prometheusSpec": _prometheus_spec(config, storage_class)},
        "grafana": _grafana(grafana_admin_secret),
        # The one component that needs host access, alone in a `privileged` namespace.
        "prometheus-node-exporter": {"namespaceOverride": node_exporter_namespace},
    }


def _prometheus_spec(config: MonitoringConfig, storage_class: str | None) -> dict[str, Any]:
    claim = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": config.storage_size}}}
    if storage_class:
        claim["storageClassName"] = storage_class
    res = config.prometheus_resources
    return {
        "retention": config.retention,
        "resources": {"requests": {"cpu": res.cpu_request, "memory": res.memory_request},
                      "limits": {"cpu": res.cpu_limit, "memory": res.memory_limit}},
        "storageSpec": {"volumeClaimTemplate": {"spec": claim}},
        # The metrics volume outlives the StatefulSet: deleting or scaling it never deletes the claim.
        "persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Retain", "whenScaled": "Retain"},
        # The chart's defaults, stated because this stack relies on them: ServiceMonitors and rules are selected
        # by the `release` label, from every namespace, so the ones beside each Service are found.
        "serviceMonitorSelectorNilUsesHelmValues": True,
        "ruleSelectorNilUsesHelmValues": True,
        "serviceMonitorNamespaceSelector": {},
        "ruleNamespaceSelector": {},
    }


def _grafana(admin_secret: str) -> dict[str, Any]:
    return {
        # The password stays in a Secret this stack owns; Helm's release record never holds it.
        "admin": {"existingSecret": admin_secret, "userKey": GRAFANA_USER_KEY, "passwordKey": GRAFANA_PASSWORD_KEY},
        "service": {"type": "ClusterIP"},
        "ingress": {"enabled": False},
        # No searchNamespace: the sidecar watches only Grafana's own namespace, where the dashboard ConfigMap is,
        # and a namespaced Role replaces the chart's cluster-wide read of every ConfigMap and Secret.
        "rbac": {"namespaced": True},
        "sidecar": {"dashboards": {"enabled": True, "label": DASHBOARD_LABEL, "labelValue": DASHBOARD_LABEL_VALUE}},
    }
