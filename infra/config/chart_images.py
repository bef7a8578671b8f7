"""The upstream images each supported kube-prometheus-stack version runs, read from that version's values and its
subcharts' (the tag defaults to a chart's appVersion where its values leave it empty).

The stack mirrors these into its own registry and runs them from there by digest, so a chart version is supported
only once its row is here: config validation refuses any other `monitoringChartVersion`. A chart upgrade means
reading the new version's values, adding its row, and updating the test fixture (docs/monitoring.md).
"""
from collections.abc import Mapping
from dataclasses import dataclass

OPERATOR = "prometheus-operator"
CONFIG_RELOADER = "prometheus-config-reloader"
PROMETHEUS = "prometheus"
ALERTMANAGER = "alertmanager"
GRAFANA = "grafana"
GRAFANA_SIDECAR = "grafana-sidecar"
KUBE_STATE_METRICS = "kube-state-metrics"
NODE_EXPORTER = "node-exporter"
WEBHOOK_CERTGEN = "webhook-certgen"


@dataclass(frozen=True)
class UpstreamImage:
    registry: str
    repository: str
    tag: str

    @property
    def ref(self) -> str:
        return f"{self.registry}/{self.repository}:{self.tag}"


CHART_IMAGES: Mapping[str, Mapping[str, UpstreamImage]] = {
    # Chart appVersion v0.93.1; subcharts grafana 12.11.1 (appVersion 13.2.0), kube-state-metrics 8.4.0 (2.20.0),
    # prometheus-node-exporter 4.56.1 (1.12.1, the distroless variant kube-prometheus-stack selects).
    "88.5.3": {
        OPERATOR: UpstreamImage("quay.io", "prometheus-operator/prometheus-operator", "v0.93.1"),
        CONFIG_RELOADER: UpstreamImage("quay.io", "prometheus-operator/prometheus-config-reloader", "v0.93.1"),
        PROMETHEUS: UpstreamImage("quay.io", "prometheus/prometheus", "v3.14.0-distroless"),
        ALERTMANAGER: UpstreamImage("quay.io", "prometheus/alertmanager", "v0.34.0"),
        GRAFANA: UpstreamImage("docker.io", "grafana/grafana", "13.2.0"),
        GRAFANA_SIDECAR: UpstreamImage("quay.io", "kiwigrid/k8s-sidecar", "2.10.1"),
        KUBE_STATE_METRICS: UpstreamImage("registry.k8s.io", "kube-state-metrics/kube-state-metrics", "v2.20.0"),
        NODE_EXPORTER: UpstreamImage("quay.io", "prometheus/node-exporter", "v1.12.1-distroless"),
        WEBHOOK_CERTGEN: UpstreamImage("ghcr.io", "jkroepke/kube-webhook-certgen", "1.8.7"),
    },
}
