"""The model service: our model server behind a Service, autoscaled, disruption-budgeted, fenced by policy."""
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from serving.settings import environment

from ..config.model import ServingConfig
from ..contract import ServiceAccountRef, Workload
from . import hardening, network
from .endpoints import ClientAccess, ScrapeTarget, ServiceEndpoint
from .meta import ANNOTATION_PREFIX
from .workload import PORT_NAME, HardenedWorkload, WorkloadArgs

COMPONENT = "model-serving"
PORT = 8080
SERVICE_PORT = 80
PRE_STOP_SECONDS = 5
# The server finishes in-flight requests for up to this long after SIGTERM (its GRACEFUL_TIMEOUT_SECONDS default);
# the pod's grace period covers the pre-stop pause, the drain and the exit, so Kubernetes never kills a draining pod.
SERVER_DRAIN_SECONDS = 30
CREDENTIAL_KEYS = ("MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD")


@dataclass(frozen=True)
class ModelServiceArgs:
    config: ServingConfig
    account: ServiceAccountRef
    image: pulumi.Input[str]
    mlflow: ClientAccess
    workload: Workload
    monitoring_namespace: str


class ModelService(pulumi.ComponentResource):
    """Publishes `endpoint`, `url`, `namespace`, `scrape_target` and `workload_name` (its Deployment and HPA)."""

    endpoint: ServiceEndpoint
    url: pulumi.Output[str]
    namespace: pulumi.Output[str]
    scrape_target: ScrapeTarget
    workload_name: str

    def __init__(self, name: str, args: ModelServiceArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlstack:serving:ModelService", name, None, opts)
        cfg = args.config
        mlflow = args.mlflow.endpoint
        self.unit = HardenedWorkload(self, name, WorkloadArgs(
            account=args.account, component=COMPONENT, platform=args.workload,
            container_port=PORT, service_port=SERVICE_PORT, service_type=cfg.service_type,
            callers=[args.monitoring_namespace, *cfg.allowed_namespaces],
            egress=[{"to": [network.namespaces_peer([mlflow.namespace])], "ports": [{"protocol": "TCP", "port": mlflow.port}]}],
        ))
        credentials = k8s.core.v1.Secret(
            f"{name}-mlflow-credentials",
            metadata=self.unit.metadata("-mlflow"),
            string_data=dict(zip(CREDENTIAL_KEYS, (args.mlflow.username, args.mlflow.password), strict=False)),
            type="Opaque",
            opts=self.unit.in_namespace,
        )
        # Without awaiting, `pulumi up` finishes before a model exists to load; the pods become Ready once it does.
        skip_await = {} if cfg.await_rollout else {"pulumi.com/skipAwait": "true"}
        self.deployment = k8s.apps.v1.Deployment(
            f"{name}-deployment",
            metadata=self.unit.metadata(annotations=skip_await),
            spec=self._deployment_spec(args, credentials),
            opts=self.unit.in_namespace,
        )
        self.endpoint = self.unit.expose()
        self._autoscaler(name, cfg)

        self.url = self.endpoint.url
        self.namespace = self.unit.namespace
        self.scrape_target = ScrapeTarget.of(self.endpoint)
        self.workload_name = self.unit.name
        self.register_outputs({"namespace": self.namespace, "url": self.url})

    def _deployment_spec(self, args: ModelServiceArgs, credentials: k8s.core.v1.Secret) -> dict[str, object]:
        cfg = args.config
        return {
            "selector": {"matchLabels": self.unit.selector},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
            "revisionHistoryLimit": 5,
            # No `replicas`: the HorizontalPodAutoscaler owns the count, and `pulumi up` must not reset it.
            # A new model reference changes the pod template, so `pulumi preview` shows it and pods roll. No version
            # label: the model version lives in these annotations, so a new model diffs one object.
            "template": self.unit.pod_template(
                containers=[self._container(args, credentials)], volumes=[hardening.tmp_volume("2Gi")],
                annotations={
                    ANNOTATION_PREFIX + "model-name": cfg.model.name,
                    ANNOTATION_PREFIX + "model-version": cfg.model.version,
                    ANNOTATION_PREFIX + "model-uri": cfg.model.uri,
                },
                grace_seconds=PRE_STOP_SECONDS + SERVER_DRAIN_SECONDS + 10),
        }

    def _container(self, args: ModelServiceArgs, credentials: k8s.core.v1.Secret) -> dict[str, object]:
        cfg = args.config
        model = _plain_env(environment({"model_uri": cfg.model.uri}))
        # MLflow's client, not the server's settings table, reads the tracking URI and the credentials.
        registry = [{"name": "MLFLOW_TRACKING_URI", "value": args.mlflow.endpoint.url}]
        serving = _plain_env(environment({
            "host": "0.0.0.0",
            "port": PORT,
            "workers": cfg.workers,
            "max_batch_size": cfg.max_batch_size,
            "max_batch_wait_ms": cfg.max_batch_wait_ms,
        }))
        secret_env = [{"name": key, "valueFrom": {"secretKeyRef": {"name": credentials.metadata.name, "key": key}}}
                      for key in CREDENTIAL_KEYS]
        return {
            "name": "server",
            "image": args.image,
            "imagePullPolicy": "IfNotPresent",
            "ports": [self.unit.container_port()],
            "env": [*model, *registry, *serving, *secret_env],
            "resources": hardening.resources(cfg.resources, args.workload),
            "securityContext": hardening.container_security_context(),
            # Loading a model from the registry can take minutes; the startup probe covers it, the others stay tight.
            "startupProbe": hardening.http_probe("/ready", PORT_NAME, period=5, failures=120),
            "readinessProbe": hardening.http_probe("/ready", PORT_NAME, period=5, failures=2),
            "livenessProbe": hardening.http_probe("/health", PORT_NAME, period=10, failures=3),
            # Give endpoints time to drop the pod before the server stops accepting.
            "lifecycle": {"preStop": {"sleep": {"seconds": PRE_STOP_SECONDS}}},
            "volumeMounts": [hardening.tmp_mount()],
        }

    def _autoscaler(self, name: str, cfg: ServingConfig) -> None:
        k8s.autoscaling.v2.HorizontalPodAutoscaler(
            f"{name}-autoscaler",
            metadata=self.unit.metadata(),
            spec={
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": self.deployment.metadata.name},
                "minReplicas": cfg.min_replicas,
                "maxReplicas": cfg.max_replicas,
                "metrics": [{"type": "Resource", "resource": {
                    "name": "cpu", "target": {"type": "Utilization", "averageUtilization": cfg.cpu_utilization_target}}}],
                "behavior": {"scaleDown": {"stabilizationWindowSeconds": cfg.scale_down_stabilization_seconds}},
            },
            opts=self.unit.in_namespace,
        )


def _plain_env(variables: dict[str, str]) -> list[dict[str, object]]:
    return [{"name": key, "value": value} for key, value in variables.items()]
