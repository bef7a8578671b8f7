"""MLflow's stores on Google Cloud: artifacts in a private GCS bucket, metadata in Cloud SQL for PostgreSQL.

The tracking server reaches the database on its private IP, not through a Cloud SQL Auth Proxy sidecar. The proxy
would add IAM authentication and its own TLS, at the price of a second container in the pod, which the cloud-agnostic
Kubernetes layer would then have to know about. Here the instance has no public address at all, only pods allowed by
the NetworkPolicy egress rule below can open a connection, the server refuses unencrypted connections, the client
verifies the server's certificate against the instance's CA (verify-ca: Cloud SQL names its certificates after the
instance, not its IP, so verify-full cannot match), and the password is generated and kept a Pulumi secret up to the
Kubernetes Secret: the proxy would add little.
"""
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import pulumi
import pulumi_gcp as gcp
import pulumi_random as random

from ...config.model import GcpConfig
from ...contract import TrackingStores
from .network import Network

POSTGRES_VERSION = "POSTGRES_16"
POSTGRES_PORT = 5432
DATABASE = "mlflow"
DATABASE_USER = "mlflow"
BACKUP_START_UTC = "02:00"
RETAINED_BACKUPS = 14
TRANSACTION_LOG_DAYS = 7  # the point-in-time recovery window


@dataclass(frozen=True)
class MlflowStoresArgs:
    config: GcpConfig
    network: Network


class MlflowStores(pulumi.ComponentResource):
    bucket: gcp.storage.Bucket
    instance: gcp.sql.DatabaseInstance
    stores: TrackingStores
    database_egress: dict[str, Any]  # NetworkPolicy egress rule to the database's private IP

    def __init__(self, name: str, args: MlflowStoresArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlstack:gcp:MlflowStores", name, None, opts)
        cfg = args.config
        child = pulumi.ResourceOptions(parent=self)
        # With deletion protection (prod), Pulumi too refuses to delete or replace what holds MLflow's data.
        kept = pulumi.ResourceOptions(parent=self, protect=cfg.deletion_protection)
        self.bucket = self._bucket(name, cfg, kept)
        self.instance = self._instance(name, cfg, args.network, kept)
        password = random.RandomPassword(f"{name}-database-password", length=32, special=False, opts=child)
        database = gcp.sql.Database(f"{name}-database", name=DATABASE, instance=self.instance.name, opts=kept)
        user = gcp.sql.User(
            f"{name}-database-user", name=DATABASE_USER, instance=self.instance.name, password=password.result,
            # PostgreSQL refuses to drop a role that still owns MLflow's tables: deleting the instance removes it.
            deletion_policy="ABANDON",
            opts=child,
        )
        backend_uri = pulumi.Output.all(user.name, password.result, self.instance.private_ip_address, database.name).apply(
            lambda parts: postgres_uri(*parts))
        self.stores = TrackingStores(
            backend_uri=pulumi.Output.secret(backend_uri),
            artifact_destination=pulumi.Output.concat("gs://", self.bucket.name),
            database_ca_certificate=self.instance.server_ca_certs.apply(lambda certs: certs[0].cert if certs else None),
        )
        self.database_egress = {
            "to": [{"ipBlock": {"cidr": pulumi.Output.concat(self.instance.private_ip_address, "/32")}}],
            "ports": [{"protocol": "TCP", "port": POSTGRES_PORT}],
        }
        self.register_outputs({"bucket": self.bucket.name, "instance": self.instance.name})

    def _bucket(self, name: str, cfg: GcpConfig, opts: pulumi.ResourceOptions) -> gcp.storage.Bucket:
        expire_old_versions = [{
            "action": {"type": "Delete"},
            "condition": {"days_since_noncurrent_time": cfg.noncurrent_version_days},
        }]
        return gcp.storage.Bucket(
            f"{name}-artifacts",
            location=cfg.region,
            uniform_bucket_level_access=True,
            public_access_prevention="enforced",
            versioning={"enabled": cfg.bucket_versioning},
            lifecycle_rules=expire_old_versions if cfg.bucket_versioning else None,
            force_destroy=not cfg.deletion_protection,
            opts=opts,
        )

    def _instance(self, name: str, cfg: GcpConfig, network: Network, opts: pulumi.ResourceOptions) -> gcp.sql.DatabaseInstance:
        backups: dict[str, Any] = {"enabled": cfg.sql_backups, "point_in_time_recovery_enabled": cfg.sql_backups}
        if cfg.sql_backups:
            backups.update(start_time=BACKUP_START_UTC, transaction_log_retention_days=TRANSACTION_LOG_DAYS,
                           backup_retention_settings={"retained_backups": RETAINED_BACKUPS})
        return gcp.sql.DatabaseInstance(
            f"{name}-postgres",
            database_version=POSTGRES_VERSION,
            region=cfg.region,
            deletion_protection=cfg.deletion_protection,
            settings={
                "tier": cfg.sql_tier,
                "edition": "ENTERPRISE",  # PostgreSQL 16 defaults to Enterprise Plus, which rejects shared and custom tiers
                "availability_type": "REGIONAL" if cfg.sql_high_availability else "ZONAL",
                "disk_type": "PD_SSD",
                "disk_autoresize": True,
                "deletion_protection_enabled": cfg.deletion_protection,
                "ip_configuration": {"ipv4_enabled": False, "private_network": network.network.id, "ssl_mode": "ENCRYPTED_ONLY"},
                "backup_configuration": backups,
            },
            # The private IP comes from the peered range: the peering must exist first.
            opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[network.services_peering])),
        )


def postgres_uri(user: str, password: str, host: str, database: str) -> str:
    # verify-ca: encrypted (the instance accepts nothing else) and the server proven by the instance's CA.
    return f"postgresql://{quote(user, safe='')}:{quote(password, safe='')}@{host}:{POSTGRES_PORT}/{database}?sslmode=verify-ca"
