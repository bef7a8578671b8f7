"""kube-prometheus-stack: where the chart comes from and the values this stack sets on it."""

from collections.abc import Mapping
from typing import Any

from ...config import chart_images as images
from ...config.model import MonitoringConfig
from ...contract import MirroredImage

CHART = "kube-prometheus-stack"
REPOSITORY = "https://prometheus-community.github.io/helm-charts"
# The chart's Grafana dashboard sidecar loads every ConfigMap carrying this label, from the monitoring namespace.
DASHBOARD_LABEL = "grafana_dashboard"
DASHBOARD_LABEL_VALUE = "1"
GRAFANA_USER_KEY = "admin-user"
GRAFANA_PASSWORD_KEY = "admin-password"
# The Role this stack gives Grafana's sidecars (read ConfigMaps of the monitoring namespace); the chart's own
# namespaced Role would also read every Secret there.
GRAFANA_SIDECAR_ROLE = "grafana-sidecar"

# Requests and limits for the chart's pods, which it leaves unset (starting figures, see docs/monitoring.md).
OPERATOR_RESOURCES = {"requests": {"cpu": "50m", "memory": "128Mi"}, "limits": {"cpu": "500m", "memory": "256Mi"}}
GRAFANA_RESOURCES = {"requests": {"cpu": "50m", "memory": "256Mi"}, "limits": {"cpu": "500m", "memory": "512Mi"}}
SIDECAR_RESOURCES = {"requests": {"cpu": "10m", "memory": "64Mi"}, "limits": {"cpu": "100m", "memory": "128Mi"}}
KUBE_STATE_METRICS_RESOURCES = {"requests": {"cpu": "20m", "memory": "64Mi"}, "limits": {"cpu": "200m", "memory": "256Mi"}}
WEBHOOK_JOB_RESOURCES = {"requests": {"cpu": "10m", "memory": "32Mi"}, "limits": {"cpu": "200m", "memory": "64Mi"}}
NODE_EXPORTER_RESOURCES = {"requests": {"cpu": "20m", "memory": "32Mi"}, "limits": {"cpu": "200m", "memory": "64Mi"}}
NOBODY = 65534
# Helm merges these into the subcharts' defaults (which already run as non-root, with a read-only root filesystem).
NO_PRIVILEGE = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}
RUNTIME_DEFAULT_SECCOMP = {"seccompProfile": {"type": "RuntimeDefault"}}


def grafana_service_name(release: str) -> str:
    """The Grafana subchart's fullname: <release>-grafana, unless the release name already contains `grafana`."""
    return release if "grafana" in release else f"{release}-grafana"


def values(config: MonitoringConfig, grafana_admin_secret: str, storage_class: str | None,
           node_exporter_namespace: str, mirrored: Mapping[str, MirroredImage] | None = None) -> dict[str, Any]:
    """The release's values; with `mirrored`, every image the chart runs is the mirror's, by digest."""
    chart_values = _values(config, grafana_admin_secret, storage_class, node_exporter_namespace)
    return _merged(chart_values, image_values(mirrored)) if mirrored is not None else chart_values


def image_values(mirrored: Mapping[str, MirroredImage]) -> dict[str, Any]:
    """Where each chart and subchart takes an image. kube-prometheus-stack and grafana add `@sha256:` to `sha`
    themselves; kube-state-metrics (`sha`) and node-exporter (`digest`) take the whole digest."""
    def by_sha(name: str) -> dict[str, Any]:
        image = mirrored[name]
        return {"registry": image.registry, "repository": image.repository, "tag": image.tag, "sha": image.digest_hex}

    kube_state_metrics, node_exporter = mirrored[images.KUBE_STATE_METRICS], mirrored[images.NODE_EXPORTER]
    return {
        "prometheusOperator": {
            "image": by_sha(images.OPERATOR),
            "prometheusConfigReloader": {"image": by_sha(images.CONFIG_RELOADER)},
            "admissionWebhooks": {"patch": {"image": by_sha(images.WEBHOOK_CERTGEN)}},
        },
        "prometheus": {"prometheusSpec": {"image": by_sha(images.PROMETHEUS)}},
        "alertmanager": {"alertmanagerSpec": {"image": by_sha(images.ALERTMANAGER)}},
        "grafana": {"image": by_sha(images.GRAFANA), "sidecar": {"image": by_sha(images.GRAFANA_SIDECAR)}},
        "kube-state-metrics": {"image": {
            "registry": kube_state_metrics.registry, "repository": kube_state_metrics.repository,
            "tag": kube_state_metrics.tag, "sha": kube_state_metrics.digest}},
        # The mirrored tag is already the distroless one: the subchart must not append `-distroless` again.
        "prometheus-node-exporter": {"image": {
            "registry": node_exporter.registry, "repository": node_exporter.repository,
            "tag": node_exporter.tag, "distroless": False, "digest": node_exporter.digest}},
    }


def _merged(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        merged[key] = _merged(merged[key], value) if isinstance(value, dict) and key in merged else value
    return merged


def _values(config: MonitoringConfig, grafana_admin_secret: str, storage_class: str | None,
            node_exporter_namespace: str) -> dict[str, Any]:
    return {
        "prometheus": {"prometheusSpec": _prometheus_spec(config, storage_class)},
        "prometheusOperator": {
            "resources": OPERATOR_RESOURCES,
            # The admission webhook's certificate Jobs (Helm hooks): bounded, and as the unprivileged high UID the
            # operator runs as instead of upstream's 2000, which may belong to a host user.
            "admissionWebhooks": {"patch": {"resources": WEBHOOK_JOB_RESOURCES,
                                            "securityContext": {"runAsUser": NOBODY, "runAsGroup": NOBODY}}},
        },
        "grafana": _grafana(grafana_admin_secret, config.namespace),
        # The one component that needs host access, alone in a `privileged` namespace; it still needs no
        # capability, no privilege escalation and no unconfined syscalls.
        "prometheus-node-exporter": {
            "namespaceOverride": node_exporter_namespace,
            "resources": NODE_EXPORTER_RESOURCES,
            "securityContext": RUNTIME_DEFAULT_SECCOMP,
            "containerSecurityContext": NO_PRIVILEGE,
        },
        # Its `secrets` collector would list and watch every Secret of the cluster; no rule or panel uses it.
        "kube-state-metrics": {"collectorsExclude": ["secrets"], "resources": KUBE_STATE_METRICS_RESOURCES},
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


def _grafana(admin_secret: str, namespace: str) -> dict[str, Any]:
    # The sidecars search ConfigMaps of the monitoring namespace only (kube-prometheus-stack's default is ALL),
    # through this stack's Role instead of the chart's cluster-wide read of every ConfigMap and Secret.
    own_config_maps = {"searchNamespace": [namespace], "resource": "configmap"}
    return {
        # The password stays in a Secret this stack owns; Helm's release record never holds it.
        "admin": {"existingSecret": admin_secret, "userKey": GRAFANA_USER_KEY, "passwordKey": GRAFANA_PASSWORD_KEY},
        "service": {"type": "ClusterIP"},
        "ingress": {"enabled": False},
        "rbac": {"namespaced": True, "useExistingRole": GRAFANA_SIDECAR_ROLE},
        "resources": GRAFANA_RESOURCES,
        "sidecar": {
            "dashboards": {"enabled": True, "label": DASHBOARD_LABEL, "labelValue": DASHBOARD_LABEL_VALUE,
                           **own_config_maps},
            "datasources": own_config_maps,
            "resources": SIDECAR_RESOURCES,
            "securityContext": {"readOnlyRootFilesystem": True},
        },
    }
