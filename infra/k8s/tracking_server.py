"""The MLflow tracking server and model registry, with basic auth, Prometheus metrics and hardened pods.

Two MLflow users, both declared here: the admin (stays in this namespace) and the model server's reader (no admin,
the auth config's default READ). An init container writes both passwords into MLflow's auth store before the server
starts, so a changed password changes in MLflow; a sidecar serves the metrics on a port of their own, without a user.
"""
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from ..config.model import TrackingConfig
from ..contract import ServiceAccountRef, TrackingStores, Workload
from . import hardening
from .endpoints import ClientAccess, ScrapeTarget, ServiceEndpoint
from .meta import ANNOTATION_PREFIX
from .workload import PORT_NAME, HardenedWorkload, SidePort, WorkloadArgs

COMPONENT = "tracking-server"
PORT = 5000
DATA_PATH = "/mlflow"
AUTH_CONFIG_PATH = "/etc/mlflow-auth/basic_auth.ini"
DATABASE_CA_KEY = "database-ca.pem"
DATABASE_CA_PATH = f"/etc/mlflow-auth/{DATABASE_CA_KEY}"
METRICS_PATH = "/tmp/prometheus"
METRICS_PORT = 9102
METRICS_PORT_NAME = "metrics"
READER_USER = "model-server"
SCRIPTS_PATH = "/etc/mlstack"
# Mounted from a ConfigMap, not built into the image: a prebuilt tracking image works too, and scripts change
# without a rebuild.
SCRIPTS = ("sync_users.py", "metrics_exporter.py")
SCRIPTS_DIR = Path(__file__).resolve().parents[2] / "tracking_scripts"
SECRET_ENV = ("MLFLOW_BACKEND_STORE_URI", "MLFLOW_AUTH_ADMIN_PASSWORD", "MLFLOW_FLASK_SERVER_SECRET_KEY")
SYNC_SECRET_ENV = ("MLFLOW_AUTH_ADMIN_PASSWORD", "MLSTACK_READER_PASSWORD")
# The pod template carries a digest of the passwords: a new password rolls the pods, and the init container writes it.
CREDENTIALS_ANNOTATION = ANNOTATION_PREFIX + "credentials-digest"
EXPORTER_RESOURCES = {"requests": {"cpu": "10m", "memory": "32Mi"}, "limits": {"cpu": "100m", "memory": "128Mi"}}
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
    scraper_namespaces: Sequence[str]  # namespaces whose pods may read the metrics port


def allowed_hosts(service: str, namespace: str) -> list[str]:
    names = [service, f"{service}.{namespace}", f"{service}.{namespace}.svc", f"{service}.{namespace}.svc.cluster.local"]
    local = ["localhost", "127.0.0.1"]  # `kubectl port-forward`
    return [*names, *(f"{n}:{PORT}" for n in names), *local, *(f"{n}:*" for n in local), *PRIVATE_HOST_PATTERNS]


class TrackingServer(pulumi.ComponentResource):
    """Publishes `endpoint`, `url`, the admin user and password (for operators), `client_access` (the reader user)
    for the model server and `scrape_target` (the metrics port, no credentials) for Prometheus."""

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
            side_ports=[SidePort(METRICS_PORT_NAME, METRICS_PORT, args.scraper_namespaces)],
        ))
        on_volume = args.stores.backend_uri is None or args.stores.artifact_destination is None

        password = random.RandomPassword(f"{name}-admin-password", length=32, special=False,
                                         opts=pulumi.ResourceOptions(parent=self))
        # The auth app signs its CSRF tokens with this key and refuses to start without one.
        session_key = random.RandomPassword(f"{name}-session-key", length=64, special=False,
                                            opts=pulumi.ResourceOptions(parent=self))
        reader_password = random.RandomPassword(f"{name}-reader-password", length=32, special=False,
                                                opts=pulumi.ResourceOptions(parent=self))
        self.admin_user = cfg.admin_user
        self.admin_password = pulumi.Output.secret(password.result)
        self.reader_password: pulumi.Output[str] = pulumi.Output.secret(reader_password.result)
        session_secret: pulumi.Output[str] = pulumi.Output.secret(session_key.result)
        backend_uri = args.stores.backend_uri or pulumi.Output.secret(f"sqlite:///{DATA_PATH}/mlflow.db")
        database_ca = args.stores.database_ca_certificate
        if database_ca is not None:
            backend_uri = backend_uri.apply(lambda uri: _with_query(uri, f"sslrootcert={DATABASE_CA_PATH}"))
        secret = k8s.core.v1.Secret(
            f"{name}-secret",
            metadata=self.unit.metadata(),
            string_data={
                "MLFLOW_BACKEND_STORE_URI": backend_uri,
                "MLFLOW_AUTH_ADMIN_PASSWORD": self.admin_password,
                "MLFLOW_FLASK_SERVER_SECRET_KEY": session_secret,
                "MLSTACK_READER_PASSWORD": self.reader_password,
                "basic_auth.ini": pulumi.Output.all(backend_uri, cfg.admin_user).apply(lambda a: _auth_config(*a)),
                # Not confidential; secret only because every value of a Secret is kept one.
                **({DATABASE_CA_KEY: pulumi.Output.secret(database_ca)} if database_ca is not None else {}),
            },
            type="Opaque",
            opts=self.unit.in_namespace,
        )
        scripts = k8s.core.v1.ConfigMap(
            f"{name}-scripts",
            metadata=self.unit.metadata("-scripts"),
            data={script: (SCRIPTS_DIR / script).read_text() for script in SCRIPTS},
            opts=self.unit.in_namespace,
        )
        volume = self._data_volume(name, cfg, args.storage_class) if on_volume else None
        # A truncated digest of two random 32-character passwords gives nothing away; secret, it would hide the whole spec.
        digest = pulumi.Output.unsecret(pulumi.Output.all(self.admin_password, self.reader_password).apply(_credentials_digest))
        self.deployment = k8s.apps.v1.Deployment(
            f"{name}-deployment",
            metadata=self.unit.metadata(),
            spec=self._deployment_spec(args, secret, scripts, volume, digest),
            opts=self.unit.in_namespace,
        )
        # One pod on a ReadWriteOnce volume cannot keep a replica up through a drain: no budget to block it.
        self.endpoint = self.unit.expose(disruption_budget=not on_volume)

        self.url = self.endpoint.url
        self.client_access = ClientAccess(self.endpoint, READER_USER, self.reader_password)
        self.scrape_target = ScrapeTarget(self.endpoint.name, self.endpoint.namespace, self.endpoint.selector,
                                          METRICS_PORT_NAME, service=self.endpoint.service)
        self.register_outputs({"url": self.url, "admin_user": self.admin_user, "admin_password": self.admin_password})

    def _data_volume(self, name: str, cfg: TrackingConfig, storage_class: str | None) -> k8s.core.v1.PersistentVolumeClaim:
        return k8s.core.v1.PersistentVolumeClaim(
            f"{name}-data",
            metadata=self.unit.metadata("-data"),
            spec={"accessModes": ["ReadWriteOnce"], "storageClassName": storage_class,
                  "resources": {"requests": {"storage": cfg.storage_size}}},
            opts=self.unit.in_namespace,
        )

    def _deployment_spec(self, args: TrackingServerArgs, secret: k8s.core.v1.Secret, scripts: k8s.core.v1.ConfigMap,
                         volume: k8s.core.v1.PersistentVolumeClaim | None, digest: pulumi.Output[str]) -> dict[str, object]:
        auth_keys = ["basic_auth.ini", *([DATABASE_CA_KEY] if args.stores.database_ca_certificate is not None else [])]
        auth_file = {"secretName": secret.metadata.name, "items": [{"key": key, "path": key} for key in auth_keys]}
        volumes: list[dict[str, object]] = [hardening.tmp_volume(), {"name": "auth", "secret": auth_file},
                                            {"name": "scripts", "configMap": {"name": scripts.metadata.name}}]
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
            "template": self.unit.pod_template(
                containers=[self._container(args, secret, single), self._metrics_exporter(args)], volumes=volumes,
                init_containers=[self._user_sync(args, secret, single)], annotations={CREDENTIALS_ANNOTATION: digest}),
        }

    def _container(self, args: TrackingServerArgs, secret: k8s.core.v1.Secret, on_volume: bool) -> dict[str, object]:
        cfg = args.config
        destination = args.stores.artifact_destination or f"{DATA_PATH}/artifacts"
        hosts = allowed_hosts(self.unit.name, args.account.namespace)
        command = pulumi.Output.from_input(destination).apply(lambda dest: _server_command(dest, hosts, cfg.workers))
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
                *_secret_env(secret, SECRET_ENV),
            ],
            "resources": hardening.resources(cfg.resources, args.workload),
            "securityContext": hardening.container_security_context(),
            "startupProbe": hardening.http_probe("/health", PORT_NAME, period=5, failures=60),
            "readinessProbe": hardening.http_probe("/health", PORT_NAME, period=10, failures=3),
            "livenessProbe": hardening.http_probe("/health", PORT_NAME, period=20, failures=3),
            "volumeMounts": _server_mounts(on_volume),
        }

    def _user_sync(self, args: TrackingServerArgs, secret: k8s.core.v1.Secret, on_volume: bool) -> dict[str, object]:
        """Writes the declared users and passwords into the auth store, then exits; the server starts after it."""
        return {
            "name": "sync-users",
            "image": args.image,
            "imagePullPolicy": "IfNotPresent",
            "command": ["python", f"{SCRIPTS_PATH}/sync_users.py"],
            "env": [
                {"name": "MLFLOW_AUTH_CONFIG_PATH", "value": AUTH_CONFIG_PATH},
                {"name": "HOME", "value": "/tmp"},
                {"name": "MLSTACK_READER_USERNAME", "value": READER_USER},
                *_secret_env(secret, SYNC_SECRET_ENV),
            ],
            "resources": hardening.resources(args.config.resources, args.workload),
            "securityContext": hardening.container_security_context(),
            "volumeMounts": [*_server_mounts(on_volume), _scripts_mount()],
        }

    def _metrics_exporter(self, args: TrackingServerArgs) -> dict[str, object]:
        return {
            "name": "metrics",
            "image": args.image,
            "imagePullPolicy": "IfNotPresent",
            "command": ["python", f"{SCRIPTS_PATH}/metrics_exporter.py"],
            "ports": [{"name": METRICS_PORT_NAME, "containerPort": METRICS_PORT, "protocol": "TCP"}],
            "env": [{"name": "METRICS_DIRECTORY", "value": METRICS_PATH}, {"name": "METRICS_PORT", "value": str(METRICS_PORT)}],
            "resources": EXPORTER_RESOURCES,
            "securityContext": hardening.container_security_context(),
            "readinessProbe": hardening.http_probe("/metrics", METRICS_PORT_NAME, period=10, failures=3),
            "livenessProbe": hardening.http_probe("/metrics", METRICS_PORT_NAME, period=20, failures=3),
            "volumeMounts": [hardening.tmp_mount(), _scripts_mount()],
        }


def _server_mounts(on_volume: bool) -> list[dict[str, object]]:
    mounts: list[dict[str, object]] = [hardening.tmp_mount(), {"name": "auth", "mountPath": "/etc/mlflow-auth", "readOnly": True}]
    if on_volume:
        mounts.append({"name": "data", "mountPath": DATA_PATH})
    return mounts


def _scripts_mount() -> dict[str, object]:
    return {"name": "scripts", "mountPath": SCRIPTS_PATH, "readOnly": True}


def _secret_env(secret: k8s.core.v1.Secret, keys: Sequence[str]) -> list[dict[str, object]]:
    return [{"name": key, "valueFrom": {"secretKeyRef": {"name": secret.metadata.name, "key": key}}} for key in keys]


def _with_query(uri: str, parameter: str) -> str:
    return f"{uri}{'&' if '?' in uri else '?'}{parameter}"


def _credentials_digest(passwords: list[str]) -> str:
    return hashlib.sha256("\n".join(passwords).encode()).hexdigest()[:16]


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
