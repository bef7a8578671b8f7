"""The model service: our model server behind a Service, autoscaled, disruption-budgeted, fenced by policy."""
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from serving.settings import environment

from ..config.model import ModelRef, ServingConfig
from ..contract import ServiceAccountRef, Workload
from . import hardening, network, traffic
from .endpoints import ClientAccess, ScrapeTarget, ServiceEndpoint
from .meta import ANNOTATION_PREFIX, CANARY, MODEL_VERSION_LABEL, STABLE, TRACK_LABEL, label_value
from .workload import PORT_NAME, HardenedWorkload, WorkloadArgs

COMPONENT = "model-serving"
PORT = 8080
SERVICE_PORT = 80
PRE_STOP_SECONDS = 5
# The server finishes in-flight requests for up to this long after SIGTERM (its GRACEFUL_TIMEOUT_SECONDS default);
# the pod's grace period covers the pre-stop pause, the drain and the exit, so Kubernetes never kills a draining pod.
SERVER_DRAIN_SECONDS = 30
# MLflow's client reads ~/.mlflow/credentials when its variables are unset; HOME is /tmp in the image, and a file
# keeps the password out of the process environment (and out of anything that dumps it).
HOME = "/tmp"
CREDENTIALS_DIRECTORY = f"{HOME}/.mlflow"
CREDENTIALS_FILE = "credentials"
CREDENTIALS_VOLUME = "mlflow-credentials"
# Pulumi's await outlives the progress deadline by this much, enough for the controller to mark the deadline.
AWAIT_MARGIN_SECONDS = 60
# The ServiceMonitor copies these pod labels onto every series it scrapes.
METRIC_POD_LABELS = (TRACK_LABEL, MODEL_VERSION_LABEL)


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
        cfg = self._config = args.config
        mlflow = args.mlflow.endpoint
        gateway = [cfg.gateway.namespace] if cfg.gateway else []
        self.unit = HardenedWorkload(self, name, WorkloadArgs(
            account=args.account, component=COMPONENT, platform=args.workload,
            container_port=PORT, service_port=SERVICE_PORT, service_type=cfg.service_type,
            callers=[args.monitoring_namespace, *cfg.allowed_namespaces, *gateway],
            egress=[{"to": [network.namespaces_peer([mlflow.namespace])], "ports": [{"protocol": "TCP", "port": mlflow.port}]}],
        ))
        credentials_file: pulumi.Output[str] = pulumi.Output.secret(
            pulumi.Output.all(args.mlflow.username, args.mlflow.password).apply(lambda pair: _credentials_file(*pair)))
        credentials = k8s.core.v1.Secret(
            f"{name}-mlflow-credentials",
            metadata=self.unit.metadata("-mlflow"),
            string_data={CREDENTIALS_FILE: credentials_file},
            type="Opaque",
            opts=self.unit.in_namespace,
        )
        self.deployment = self._deployment(f"{name}-deployment", args, credentials, STABLE, cfg.model)
        self.endpoint = self.unit.expose()
        self._autoscaler(f"{name}-autoscaler", "", self.deployment, cfg.min_replicas, cfg.max_replicas)
        if cfg.canary is not None:
            canary = self._deployment(f"{name}-canary-deployment", args, credentials, CANARY, cfg.canary.model)
            low, high = traffic.canary_replicas(cfg.min_replicas, cfg.max_replicas, cfg.canary.percent)
            self._autoscaler(f"{name}-canary-autoscaler", "-" + CANARY, canary, low, high)
        if cfg.gateway is not None:
            traffic.http_route(f"{name}-route", self.unit, cfg.gateway, cfg.canary, self.endpoint.service)

        self.url = self.endpoint.url
        self.namespace = self.unit.namespace
        self.scrape_target = ScrapeTarget.of(self.endpoint, pod_labels=METRIC_POD_LABELS)
        self.workload_name = self.unit.name
        self.register_outputs({"namespace": self.namespace, "url": self.url})

    def _deployment(self, resource_name: str, args: ModelServiceArgs, credentials: k8s.core.v1.Secret,
                    track: str, model: ModelRef) -> k8s.apps.v1.Deployment:
        """The stable Deployment keeps the workload's selector (immutable, so never widened); the canary's adds its track."""
        cfg = args.config
        suffix, selector = ("", self.unit.selector) if track == STABLE else (
            "-" + track, {**self.unit.selector, TRACK_LABEL: track})
        return k8s.apps.v1.Deployment(
            resource_name,
            metadata=self.unit.metadata(suffix, annotations=_await_annotations(cfg)),
            spec={
                "selector": {"matchLabels": selector},
                "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
                "revisionHistoryLimit": 5,
                # A new pod that never turns Ready stops the rollout here, with the old ReplicaSet still serving.
                "progressDeadlineSeconds": cfg.rollout_deadline_seconds,
                # No `replicas`: the HorizontalPodAutoscaler owns the count, and `pulumi up` must not reset it.
                # A new model reference changes the pod template, so `pulumi preview` shows it and pods roll.
                "template": self.unit.pod_template(
                    containers=[self._container(args, model)],
                    volumes=[hardening.tmp_volume("2Gi"), _credentials_volume(credentials)],
                    annotations=_model_annotations(model),
                    labels={TRACK_LABEL: track, MODEL_VERSION_LABEL: label_value(model.version)},
                    grace_seconds=PRE_STOP_SECONDS + SERVER_DRAIN_SECONDS + 10),
            },
            opts=self.unit.in_namespace,
        )

    def _container(self, args: ModelServiceArgs, served: ModelRef) -> dict[str, object]:
        cfg = args.config
        model = _plain_env(environment({"model_uri": served.uri}))
        # MLflow's client, not the server's settings table, reads the tracking URI and the credentials.
        registry = [{"name": "MLFLOW_TRACKING_URI", "value": args.mlflow.endpoint.url}]
        serving = _plain_env(environment({
            "host": "0.0.0.0",
            "port": PORT,
            "workers": cfg.workers,
            "memory_budget_bytes": cfg.memory_budget_bytes,
            "max_batch_size": cfg.max_batch_size,
            "max_batch_wait_ms": cfg.max_batch_wait_ms,
        }))
        client = [{"name": "HOME", "value": HOME}]
        return {
            "name": "server",
            "image": args.image,
            "imagePullPolicy": "IfNotPresent",
            "ports": [self.unit.container_port()],
            "env": [*model, *registry, *client, *serving],
            "resources": hardening.resources(cfg.resources, args.workload),
            "securityContext": hardening.container_security_context(),
            # Loading a model from the registry can take minutes; the startup probe covers it, the others stay tight.
            "startupProbe": hardening.http_probe("/ready", PORT_NAME, period=5, failures=120),
            "readinessProbe": hardening.http_probe("/ready", PORT_NAME, period=5, failures=2),
            "livenessProbe": hardening.http_probe("/health", PORT_NAME, period=10, failures=3),
            # Give endpoints time to drop the pod before the server stops accepting.
            "lifecycle": {"preStop": {"sleep": {"seconds": PRE_STOP_SECONDS}}},
            "volumeMounts": [hardening.tmp_mount(),
                             {"name": CREDENTIALS_VOLUME, "mountPath": CREDENTIALS_DIRECTORY, "readOnly": True}],
        }

    def _autoscaler(self, resource_name: str, suffix: str, deployment: k8s.apps.v1.Deployment, low: int, high: int) -> None:
        cfg = self._config
        k8s.autoscaling.v2.HorizontalPodAutoscaler(
            resource_name,
            metadata=self.unit.metadata(suffix),
            spec={
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": deployment.metadata.name},
                "minReplicas": low,
                "maxReplicas": high,
                "metrics": [{"type": "Resource", "resource": {
                    "name": "cpu", "target": {"type": "Utilization", "averageUtilization": cfg.cpu_utilization_target}}}],
                "behavior": {"scaleDown": {"stabilizationWindowSeconds": cfg.scale_down_stabilization_seconds}},
            },
            opts=self.unit.in_namespace,
        )


def _await_annotations(cfg: ServingConfig) -> dict[str, str]:
    """Without awaiting, `pulumi up` finishes before a model exists to load; the pods become Ready once it does.

    Awaiting: Pulumi's Deployment await records a ProgressDeadlineExceeded condition but waits on until its own
    timeout, so the timeout ends shortly after the deadline, and `pulumi up` fails with the deadline's message,
    which names the ReplicaSet that never turned Ready, while the old pods keep serving.
    """
    if not cfg.await_rollout:
        return {"pulumi.com/skipAwait": "true"}
    return {"pulumi.com/timeoutSeconds": str(cfg.rollout_deadline_seconds + AWAIT_MARGIN_SECONDS)}


def _model_annotations(model: ModelRef) -> dict[str, str]:
    annotations = {
        ANNOTATION_PREFIX + "model-name": model.name,
        ANNOTATION_PREFIX + "model-version": model.version,
        ANNOTATION_PREFIX + "model-uri": model.uri,
    }
    if model.pinned_alias:
        annotations[ANNOTATION_PREFIX + "model-alias"] = model.pinned_alias
    return annotations


def _plain_env(variables: dict[str, str]) -> list[dict[str, object]]:
    return [{"name": key, "value": value} for key, value in variables.items()]


def _credentials_file(username: str, password: str) -> str:
    return f"[mlflow]\nmlflow_tracking_username = {username}\nmlflow_tracking_password = {password}\n"


def _credentials_volume(credentials: k8s.core.v1.Secret) -> dict[str, Any]:
    """Readable by the pod's group only (fsGroup), updated in place when the Secret changes."""
    return {"name": CREDENTIALS_VOLUME, "secret": {"secretName": credentials.metadata.name, "defaultMode": 0o440,
                                                   "items": [{"key": CREDENTIALS_FILE, "path": CREDENTIALS_FILE}]}}
