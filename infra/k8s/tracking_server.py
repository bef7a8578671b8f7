"""The MLflow tracking server and model registry, with basic auth, Prometheus metrics and hardened pods."""
from dataclasses import dataclass
from typing import Sequence

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from ..config.model import TrackingConfig
from ..platform import TrackingStores, Workload
from . import hardening, network
from .meta import labels, metadata, selector_labels

NAME = "mlflow"
COMPONENT = "tracking-server"
PORT = 5000
PORT_NAME = "http"
DATA_PATH = "/mlflow"
AUTH_CONFIG_PATH = "/etc/mlflow-auth/basic_auth.ini"
METRICS_PATH = "/tmp/prometheus"
# Pod IPs reach the server as Host headers when Prometheus scrapes it; the RFC 1918 ranges cover them.
SECRET_ENV = ("MLFLOW_BACKEND_STORE_URI", "MLFLOW_AUTH_ADMIN_PASSWORD", "MLFLOW_FLASK_SERVER_SECRET_KEY")
PRIVATE_HOST_PATTERNS = ("10.*", "172.1[6-9].*", "172.2[0-9].*", "172.3[0-1].*", "192.168.*")


@dataclass(frozen=True)
class TrackingServerArgs:
    config: TrackingConfig
    image: pulumi.Input[str]  # the built digest, or the configured reference as given
    stores: TrackingStores
    workload: Workload
    storage_class: str | None
    client_namespaces: Sequence[str]  # namespaces whose pods may call the server


def allowed_hosts(service: str, namespace: str) -> list[str]:
    names = [service, f"{service}.{namespace}", f"{service}.{namespace}.svc", f"{service}.{namespace}.svc.cluster.local"]
    local = ["localhost", "127.0.0.1"]  # `kubectl port-forward`
    return [*names, *(f"{n}:{PORT}" for n in names), *local, *(f"{n}:*" for n in local), *PRIVATE_HOST_PATTERNS]


class TrackingServer(pulumi.ComponentResource):
    url: pulumi.Output[str]
    admin_user: str
    admin_password: pulumi.Output[str]

    def __init__(self, name: str, args: TrackingServerArgs, opts: pulumi.ResourceOptions = None):
        super().__init__("mlstack:tracking:TrackingServer", name, None, opts)
        cfg = args.config
        ns = hardening.restricted_namespace(f"{name}-namespace", cfg.namespace, pulumi.ResourceOptions(parent=self))
        in_ns = pulumi.ResourceOptions(parent=self, depends_on=[ns])
        namespace = ns.metadata.name
        self.selector = selector_labels(NAME, COMPONENT)
        self.labels = labels(NAME, COMPONENT, cfg.mlflow_version)
        self.on_volume = args.stores.backend_uri is None or args.stores.artifact_destination is None

        password = random.RandomPassword(f"{name}-admin-password", length=32, special=False,
                                         opts=pulumi.ResourceOptions(parent=self))
        # The auth app signs its CSRF tokens with this key and refuses to start without one.
        session_key = random.RandomPassword(f"{name}-session-key", length=64, special=False,
                                            opts=pulumi.ResourceOptions(parent=self))
        self.admin_user = cfg.admin_user
        self.admin_password = pulumi.Output.secret(password.result)
        backend_uri = args.stores.backend_uri or pulumi.Output.secret(f"sqlite:///{DATA_PATH}/mlflow.db")
        secret = k8s.core.v1.Secret(
            f"{name}-secret",
            metadata=metadata(NAME, namespace, self.labels),
            string_data={
                "MLFLOW_BACKEND_STORE_URI": backend_uri,
                "MLFLOW_AUTH_ADMIN_PASSWORD": self.admin_password,
                "MLFLOW_FLASK_SERVER_SECRET_KEY": pulumi.Output.secret(session_key.result),
                "basic_auth.ini": pulumi.Output.all(backend_uri, cfg.admin_user).apply(lambda a: _auth_config(*a)),
            },
            type="Opaque",
            opts=in_ns,
        )
        account = k8s.core.v1.ServiceAccount(
            f"{name}-account",
            metadata=metadata(NAME, namespace, self.labels, annotations=dict(args.workload.identity.service_account_annotations)),
            automount_service_account_token=False,
            opts=in_ns,
        )
        volume = self._data_volume(name, cfg, args.storage_class, namespace, in_ns) if self.on_volume else None
        self.deployment = k8s.apps.v1.Deployment(
            f"{name}-deployment",
            metadata=metadata(NAME, namespace, self.labels),
            spec=self._deployment_spec(args, account, secret, volume),
            opts=in_ns,
        )
        self.service = k8s.core.v1.Service(
            f"{name}-service",
            metadata=metadata(NAME, namespace, self.labels),
            spec={"type": "ClusterIP", "selector": self.selector,
                  "ports": [{"name": PORT_NAME, "port": PORT, "targetPort": PORT_NAME, "protocol": "TCP"}]},
            opts=in_ns,
        )
        if not self.on_volume:
            k8s.policy.v1.PodDisruptionBudget(
                f"{name}-disruption-budget",
                metadata=metadata(NAME, namespace, self.labels),
                spec={"maxUnavailable": 1, "selector": {"matchLabels": self.selector}},
                opts=in_ns,
            )
        self._network_policies(name, args, namespace, in_ns)

        self.namespace = namespace
        self.url = pulumi.Output.concat("http://", self.service.metadata.name, ".", namespace, f".svc.cluster.local:{PORT}")
        self.register_outputs({"url": self.url, "admin_user": self.admin_user, "admin_password": self.admin_password})

    def _data_volume(self, name, cfg: TrackingConfig, storage_class, namespace, opts) -> k8s.core.v1.PersistentVolumeClaim:
        return k8s.core.v1.PersistentVolumeClaim(
            f"{name}-data",
            metadata=metadata(f"{NAME}-data", namespace, self.labels),
            spec={"accessModes": ["ReadWriteOnce"], "storageClassName": storage_class,
                  "resources": {"requests": {"storage": cfg.storage_size}}},
            opts=opts,
        )

    def _deployment_spec(self, args: TrackingServerArgs, account, secret, volume) -> dict:
        volumes = [hardening.tmp_volume(), {"name": "auth", "secret": {"secretName": secret.metadata.name,
                                                                       "items": [{"key": "basic_auth.ini", "path": "basic_auth.ini"}]}}]
        if volume is not None:
            volumes.append({"name": "data", "persistentVolumeClaim": {"claimName": volume.metadata.name}})
        single = volume is not None
        return {
            # SQLite and a ReadWriteOnce volume allow one writer: replace the pod, never run two.
            "replicas": 1 if single else 2,
            "strategy": {"type": "Recreate"} if single else {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
            "selector": {"matchLabels": self.selector},
            "revisionHistoryLimit": 5,
            "template": {
                "metadata": {"labels": {**self.labels, **args.workload.identity.pod_labels}},
                "spec": hardening.pod_spec(
                    service_account=account.metadata.name, selector=self.selector, workload=args.workload,
                    containers=[self._container(args, secret, single)], volumes=volumes),
            },
        }

    def _container(self, args: TrackingServerArgs, secret, on_volume: bool) -> dict:
        cfg = args.config
        destination = args.stores.artifact_destination or f"{DATA_PATH}/artifacts"
        command = pulumi.Output.from_input(destination).apply(
            lambda dest: _server_command(dest, allowed_hosts(NAME, cfg.namespace), cfg.workers))
        mounts = [hardening.tmp_mount(), {"name": "auth", "mountPath": "/etc/mlflow-auth", "readOnly": True}]
        if on_volume:
            mounts.append({"name": "data", "mountPath": DATA_PATH})
        secret_env = [{"name": key, "valueFrom": {"secretKeyRef": {"name": secret.metadata.name, "key": key}}}
                      for key in SECRET_ENV]
        return {
            "name": "mlflow",
            "image": args.image,
            "imagePullPolicy": "IfNotPresent",
            "command": command,
            "ports": [{"name": PORT_NAME, "containerPort": PORT, "protocol": "TCP"}],
            "env": [
                {"name": "MLFLOW_AUTH_CONFIG_PATH", "value": AUTH_CONFIG_PATH},
                {"name": "HOME", "value": "/tmp"},
                # MLflow 3's job runner forks seven workers (about 1.3 GiB more); the registry and tracking need none.
                {"name": "MLFLOW_SERVER_ENABLE_JOB_EXECUTION", "value": "false"},
                *secret_env,
            ],
            "resources": hardening.resources(cfg.resources, args.workload),
            "securityContext": hardening.container_security_context(),
            "startupProbe": hardening.http_probe("/health", PORT_NAME, period=5, failures=60),
            "readinessProbe": hardening.http_probe("/health", PORT_NAME, period=10, failures=3),
            "livenessProbe": hardening.http_probe("/health", PORT_NAME, period=20, failures=3),
            "volumeMounts": mounts,
        }

    def _network_policies(self, name: str, args: TrackingServerArgs, namespace, opts) -> None:
        network.deny_all(f"{name}-default-deny", namespace, opts)
        network.allow(
            f"{name}-allow", NAME, namespace, self.selector,
            ingress=[{"from": [network.namespaces_peer(args.client_namespaces)], "ports": [{"protocol": "TCP", "port": PORT}]}],
            egress=[network.dns_egress(), *args.workload.egress],
            opts=opts,
        )


def _server_command(artifact_destination: str, hosts: list[str], workers: int) -> list[str]:
    return [
        "mlflow", "server",
        "--host", "0.0.0.0",
        "--port", str(PORT),
        "--workers", str(workers),
        # The backend URI comes from the environment (MLFLOW_BACKEND_STORE_URI), so it never shows in the pod spec.
        "--serve-artifacts",
        "--artifacts-destination", artifact_destination,
        "--app-name", "basic-auth",
        "--expose-prometheus", METRICS_PATH,
        "--allowed-hosts", ",".join(hosts),
    ]


def _auth_config(database_uri: str, admin_user: str) -> str:
    return (
        "[mlflow]\n"
        "default_permission = READ\n"
        f"database_uri = {database_uri}\n"
        f"admin_username = {admin_user}\n"
        "authorization_function = mlflow.server.auth:authenticate_request_basic_auth\n"
    )
