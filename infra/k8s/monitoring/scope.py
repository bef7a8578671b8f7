"""What the monitoring objects watch, as plain values: PromQL needs names, not Pulumi outputs."""
import re
from dataclasses import dataclass

from ..meta import MODEL_VERSION_LABEL, TRACK_LABEL

# Prediction routes only: probes and scrapes would otherwise count as traffic and dilute the error ratio.
PREDICTION_ROUTES = "/invocations|/v2/models/.+/infer"


def series_label(pod_label: str) -> str:
    """The series label the Prometheus Operator makes of a podTargetLabels entry: every invalid character -> '_'."""
    return re.sub(r"[^a-zA-Z0-9_]", "_", pod_label)


TRACK = series_label(TRACK_LABEL)  # stable or canary, on every series of the model server
MODEL_VERSION = series_label(MODEL_VERSION_LABEL)


@dataclass(frozen=True)
class ModelScope:
    """The model server as Prometheus sees it through its ServiceMonitor."""

    namespace: str
    job: str  # the Service's name, which the Prometheus Operator makes the `job` label of its targets
    workload: str  # the Deployment and HorizontalPodAutoscaler name, as kube-state-metrics labels them

    def matchers(self) -> str:
        return f'namespace="{self.namespace}", job="{self.job}"'

    def track_matchers(self, track: str) -> str:
        return f'{self.matchers()}, {TRACK}="{track}"'

    def pod_matchers(self) -> str:
        """Pods of the Deployment (name-<replicaset hash>-<pod hash>), as kube-state-metrics and cAdvisor label them."""
        return f'namespace="{self.namespace}", pod=~"{self.workload}-[a-z0-9]+-[a-z0-9]+"'

    def autoscaler_matchers(self) -> str:
        return f'namespace="{self.namespace}", horizontalpodautoscaler="{self.workload}"'


@dataclass(frozen=True)
class TrackingScope:
    namespace: str
    job: str

    def matchers(self) -> str:
        return f'namespace="{self.namespace}", job="{self.job}"'


@dataclass(frozen=True)
class Objectives:
    latency_p99_ms: int
    error_ratio_percent: int
    expect_traffic: bool
