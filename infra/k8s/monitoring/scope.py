"""What the monitoring objects watch, as plain values: PromQL needs names, not Pulumi outputs."""
from dataclasses import dataclass

# Prediction routes only: probes and scrapes would otherwise count as traffic and dilute the error ratio.
PREDICTION_ROUTES = "/invocations|/v2/models/.+/infer"


@dataclass(frozen=True)
class ModelScope:
    """The model server as Prometheus sees it through its ServiceMonitor."""

    namespace: str
    job: str  # the Service's name, which the Prometheus Operator makes the `job` label of its targets
    workload: str  # the Deployment and HorizontalPodAutoscaler name, as kube-state-metrics labels them

    def matchers(self) -> str:
        return f'namespace="{self.namespace}", job="{self.job}"'

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
