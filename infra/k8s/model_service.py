"""The model service: our model server behind a Service, autoscaled, disruption-budgeted, fenced by policy."""
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from ..config.model import ServingConfig
from ..platform import Workload
from . import hardening, network
from .meta import ANNOTATION_PREFIX, labels, metadata, selector_labels

NAME = "model-server"
COMPONENT = "model-serving"
PORT = 8080
PORT_NAME = "http"
SERVICE_PORT = 80
PRE_STOP_SECONDS = 5
# The server finishes in-flight requests for up to this long after SIGTERM (its GRACEFUL_TIMEOUT_SECONDS default);
# the pod's grace period covers the pre-stop pause, the drain and the exit, so Kubernetes never kills a draining pod.
SERVER_DRAIN_SECONDS = 30


@dataclass(frozen=True)
class MlflowAccess:
    """How the model server reaches the registry: the tracking URI and credentials kept secret end to end."""

    tracking_uri: pulumi.Input[str]
    username: pulumi.Input[str]
    password: pulumi.Output[str]
    namespace: str  # where the tracking server runs, for the egress policy
    port: int


@dataclass(frozen=True)
class ModelServiceArgs:
    config: ServingConfig
    image: pulumi.Input[str]
    mlflow: MlflowAccess
    workload: Workload
    monitoring_namespace: str


class ModelService(pulumi.ComponentResource):
    namespace: pulumi.Output[str]
    url: pulumi.Output[str]

    def __init__(self, name: str, args: ModelServiceArgs, opts: pulumi.ResourceOptions = None):
        super().__init__("mlstack:serving:ModelService", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        cfg = args.config
        ns = hardening.restricted_namespace(f"{name}-namespace", cfg.namespace, child)
        in_ns = pulumi.ResourceOptions(parent=self, depends_on=[ns])
        namespace = ns.metadata.name
        self.selector = selector_labels(NAME, COMPONENT)
        # No version label: the model version lives in pod-template annotations, so a new model diffs one object.
        self.labels = labels(NAME, COMPONENT)

        account = k8s.core.v1.ServiceAccount(
            f"{name}-account",
            metadata=metadata(NAME, namespace, self.labels, annotations=dict(args.workload.identity.service_account_annotations)),
            automount_service_account_token=False,
            opts=in_ns,
        )
        credentials = k8s.core.v1.Secret(
            f"{name}-mlflow-credentials",
            metadata=metadata(f"{NAME}-mlflow", namespace, self.labels),
            string_data={"MLFLOW_TRACKING_USERNAME": args.mlflow.username, "MLFLOW_TRACKING_PASSWORD": args.mlflow.password},
            type="Opaque",
            opts=in_ns,
        )
        # Without awaiting, `pulumi up` finishes before a model exists to load; the pods become Ready once it does.
        skip_await = {} if cfg.await_rollout else {"pulumi.com/skipAwait": "true"}
        self.deployment = k8s.apps.v1.Deployment(
            f"{name}-deployment",
            metadata=metadata(NAME, namespace, self.labels, annotations=skip_await),
            spec=self._deployment_spec(args, account, credentials),
            opts=in_ns,
        )
        self.service = k8s.core.v1.Service(
            f"{name}-service",
            metadata=metadata(NAME, namespace, self.labels),
            spec={
                "type": cfg.service_type,
                "selector": self.selector,
                "ports": [{"name": PORT_NAME, "port": SERVICE_PORT, "targetPort": PORT_NAME, "protocol": "TCP"}],
            },
            opts=in_ns,
        )
        self._autoscaling(name, cfg, namespace, in_ns)
        self._network_policies(name, args, namespace, in_ns)

        self.namespace = namespace
        self.url = pulumi.Output.concat("http://", self.service.metadata.name, ".", namespace, f".svc.cluster.local:{SERVICE_PORT}")
        self.register_outputs({"namespace": self.namespace, "url": self.url})

    def _deployment_spec(self, args: ModelServiceArgs, account, credentials) -> dict:
        cfg = args.config
        return {
            "selector": {"matchLabels": self.selector},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
            "revisionHistoryLimit": 5,
            # No `replicas`: the HorizontalPodAutoscaler owns the count, and `pulumi up` must not reset it.
            "template": {
                "metadata": {
                    "labels": {**self.labels, **args.workload.identity.pod_labels},
                    # A new model reference changes the pod template, so `pulumi preview` shows it and pods roll.
                    "annotations": {
                        ANNOTATION_PREFIX + "model-name": cfg.model.name,
                        ANNOTATION_PREFIX + "model-version": cfg.model.version,
                        ANNOTATION_PREFIX + "model-uri": cfg.model.uri,
                    },
                },
                "spec": hardening.pod_spec(
                    service_account=account.metadata.name, selector=self.selector, workload=args.workload,
                    containers=[self._container(args, credentials)], volumes=[hardening.tmp_volume("2Gi")],
                    grace_seconds=PRE_STOP_SECONDS + SERVER_DRAIN_SECONDS + 10),
            },
        }

    def _container(self, args: ModelServiceArgs, credentials) -> dict:
        cfg = args.config
        secret_env = [
            {"name": key, "valueFrom": {"secretKeyRef": {"name": credentials.metadata.name, "key": key}}}
            for key in ("MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD")
        ]
        plain_env = {
            "MODEL_URI": cfg.model.uri,
            "MLFLOW_TRACKING_URI": args.mlflow.tracking_uri,
            "HOST": "0.0.0.0",
            "PORT": str(PORT),
            "WORKERS": str(cfg.workers),
            "MAX_BATCH_SIZE": str(cfg.max_batch_size),
            "MAX_BATCH_WAIT_MS": str(cfg.max_batch_wait_ms),
        }
        return {
            "name": "server",
            "image": args.image,
            "imagePullPolicy": "IfNotPresent",
            "ports": [{"name": PORT_NAME, "containerPort": PORT, "protocol": "TCP"}],
            "env": [{"name": k, "value": v} for k, v in plain_env.items()] + secret_env,
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

    def _autoscaling(self, name: str, cfg: ServingConfig, namespace, opts) -> None:
        k8s.autoscaling.v2.HorizontalPodAutoscaler(
            f"{name}-autoscaler",
            metadata=metadata(NAME, namespace, self.labels),
            spec={
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": self.deployment.metadata.name},
                "minReplicas": cfg.min_replicas,
                "maxReplicas": cfg.max_replicas,
                "metrics": [{"type": "Resource", "resource": {
                    "name": "cpu", "target": {"type": "Utilization", "averageUtilization": cfg.cpu_utilization_target}}}],
                "behavior": {"scaleDown": {"stabilizationWindowSeconds": cfg.scale_down_stabilization_seconds}},
            },
            opts=opts,
        )
        k8s.policy.v1.PodDisruptionBudget(
            f"{name}-disruption-budget",
            metadata=metadata(NAME, namespace, self.labels),
            spec={"maxUnavailable": 1, "selector": {"matchLabels": self.selector}},
            opts=opts,
        )

    def _network_policies(self, name: str, args: ModelServiceArgs, namespace, opts) -> None:
        callers = [args.monitoring_namespace, *args.config.allowed_namespaces]
        network.deny_all(f"{name}-default-deny", namespace, opts)
        network.allow(
            f"{name}-allow", NAME, namespace, self.selector,
            ingress=[{"from": [network.namespaces_peer(callers)], "ports": [{"protocol": "TCP", "port": PORT}]}],
            egress=[
                network.dns_egress(),
                {"to": [network.namespaces_peer([args.mlflow.namespace])], "ports": [{"protocol": "TCP", "port": args.mlflow.port}]},
                *args.workload.egress,
            ],
            opts=opts,
        )
