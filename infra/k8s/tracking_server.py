"""The MLflow tracking server and model registry, with basic auth, Prometheus metrics and hardened pods."""
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from ..config.model import TrackingConfig
from ..contract import ServiceAccountRef, TrackingStores, Workload
from . import hardening
from .endpoints import BasicAuth, ClientAccess, ScrapeTarget, ServiceEndpoint
from .workload import PORT_NAME, HardenedWorkload, WorkloadArgs

COMPONENT = "tracking-server"
PORT = 5000
DATA_PATH = "/mlflow"
AUTH_CONFIG_PATH = "/etc/mlflow-auth/basic_auth.ini"
METRICS_PATH = "/tmp/prometheus"
SECRET_ENV = ("MLFLOW_BACKEND_STORE_URI", "MLFLOW_AUTH_ADMIN_PASSWORD", "MLFLOW_FLASK_SERVER_SECRET_KEY")
# Pod IPs reach the server as Host headers when Prometheus scrapes it; the RFC 1918 ranges cover them.
PRIVATE_HOST_PATTERNS = ("10.*", "172.1[6-9].*", "172.2[0-9].*", "172.3[0-1].*", "192.168.*")


@dataclass(frozen=True)
class TrackingServerArgs:
    config: TrackingConfig
    account: ServiceAccountRef
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
    """Publishes `endpoint`, `url`, the admin user and password, `client_access` for the model server and
    `scrape_target` for Prometheus."""

    endpoint: ServiceEndpoint
    url: pulumi.Output[str]
    admin_user: str
    admin_password: pulumi.Output[str]
    client_access: ClientAccess
    scrape_target: ScrapeTarget

    def __init__(self, name: str, args: TrackingServerArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlstack:tracking:TrackingServer", name, None, opts)
        cfg = args.config
        self.unit = HardenedWorkload(self, name, WorkloadArgs(
            account=args.account, component=COMPONENT, platform=args.workload, version=cfg.mlflow_version,
            container_port=PORT, service_port=PORT, callers=args.client_namespaces,
        ))
        on_volume = args.stores.backend_uri is None or args.stores.artifact_destination is None

        password = random.RandomPassword(f"{name}-admin-password", length=32, special=False,
                                         opts=pulumi.ResourceOptions(parent=self))
        # The auth app signs its CSRF tokens with this key and refuses to start without one.
        session_key = random.RandomPassword(f"{name}-session-key", length=64, special=False,
                                            opts=pulumi.ResourceOptions(parent=self))
        self.admin_user = cfg.admin_user
        self.admin_password = pulumi.Output.secret(password.result)
        session_secret: pulumi.Output[str] = pulumi.Output.secret(session_key.result)
        backend_uri = args.stores.backend_uri or pulumi.Output.secret(f"sqlite:///{DATA_PATH}/mlflow.db")
        secret = k8s.core.v1.Secret(
            f"{name}-secret",
            metadata=self.unit.metadata(),
            string_data={
                "MLFLOW_BACKEND_STORE_URI": backend_uri,
                "MLFLOW_AUTH_ADMIN_PASSWORD": self.admin_password,
                "MLFLOW_FLASK_SERVER_SECRET_KEY": session_secret,
                "basic_auth.ini": pulumi.Output.all(backend_uri, cfg.admin_user).apply(lambda a: _auth_config(*a)),
            },
            type="Opaque",
            opts=self.unit.in_namespace,
        )
        volume = self._data_volume(name, cfg, args.storage_class) if on_volume else None
        self.deployment = k8s.apps.v1.Deployment(
            f"{name}-deployment",
            metadata=self.unit.metadata(),
            spec=self._deployment_spec(args, secret, volume),
            opts=self.unit.in_namespace,
        )
        # One pod on a ReadWriteOnce volume cannot keep a replica up through a drain: no budget to block it.
        self.endpoint = self.unit.expose(disruption_budget=not on_volume)

        self.url = self.endpoint.url
        # MLflow's basic-auth app guards /metrics too; only the admin user exists without calls to MLflow's API.
        self.client_access = ClientAccess(self.endpoint, self.admin_user, self.admin_password)
        self.scrape_target = ScrapeTarget.of(self.endpoint, BasicAuth(self.admin_user, self.admin_password))
        self.register_outputs({"url": self.url, "admin_user": self.admin_user, "admin_password": self.admin_password})

    def _data_volume(self, name: str, cfg: TrackingConfig, storage_class: str | None) -> k8s.core.v1.PersistentVolumeClaim:
        return k8s.core.v1.PersistentVolumeClaim(
            f"{name}-data",
            metadata=self.unit.metadata("-data"),
            spec={"accessModes": ["ReadWriteOnce"], "storageClassName": storage_class,
                  "resources": {"requests": {"storage": cfg.storage_size}}},
            opts=self.unit.in_namespace,
        )

    def _deployment_spec(self, args: TrackingServerArgs, secret: k8s.core.v1.Secret,
                         volume: k8s.core.v1.PersistentVolumeClaim | None) -> dict[str, object]:
        auth_file = {"secretName": secret.metadata.name, "items": [{"key": "basic_auth.ini", "path": "basic_auth.ini"}]}
        volumes: list[dict[str, object]] = [hardening.tmp_volume(), {"name": "auth", "secret": auth_file}]
        if volume is not None:
            volumes.append({"name": "data", "persistentVolumeClaim": {"claimName": volume.metadata.name}})
        single = volume is not None
        rolling = {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}}
        return {
            # SQLite and a ReadWriteOnce volume allow one writer: replace the pod, never run two.
            "replicas": 1 if single else 2,
            "strategy": {"type": "Recreate"} if single else rolling,
            "selector": {"matchLabels": self.unit.selector},
            "revisionHistoryLimit": 5,
            "template": self.unit.pod_template(containers=[self._container(args, secret, single)], volumes=volumes),
        }

    def _container(self, args: TrackingServerArgs, secret: k8s.core.v1.Secret, on_volume: bool) -> dict[str, object]:
        cfg = args.config
        destination = args.stores.artifact_destination or f"{DATA_PATH}/artifacts"
        hosts = allowed_hosts(self.unit.name, args.account.namespace)
        command = pulumi.Output.from_input(destination).apply(lambda dest: _server_command(dest, hosts, cfg.workers))
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
            "ports": [self.unit.container_port()],
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
