"""MLflow's stores on Azure: artifacts in a Blob Storage container, metadata in a PostgreSQL flexible server.

The storage account takes no keys and no anonymous reads: callers authenticate with Entra ID (the tracking server
through workload identity), and only the node subnet reaches it. The database has no public endpoint at all: it
lives in a subnet delegated to it, found through a private DNS zone linked to the stack's network, and refuses
unencrypted connections; MLflow checks the server's certificate and name against the root CAs Azure's servers chain to.
"""
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pulumi
import pulumi_random as random
from pulumi_azure_native import dbforpostgresql, privatedns, storage

from ...config.azure import AzureConfig
from ...contract import TrackingStores
from .network import DATABASE_RANGE, VirtualNetwork

POSTGRES_VERSION = "16"
POSTGRES_PORT = 5432
STORAGE_GB = 32
DATABASE = "mlflow"
DATABASE_USER = "mlflow"
ARTIFACT_CONTAINER = "mlflow-artifacts"
# Flexible servers in a VNet resolve through a private zone whose name ends with this suffix.
PRIVATE_ZONE_SUFFIX = ".private.postgres.database.azure.com"
# Azure rotates the servers' intermediate CAs, never these roots (DigiCert Global Root CA and G2, Microsoft RSA Root
# 2017), so trusting the roots survives a rotation where pinning an intermediate would not.
ROOT_CAS = (Path(__file__).parent / "postgres-root-cas.pem").read_text()


@dataclass(frozen=True)
class MlflowStoresArgs:
    config: AzureConfig
    stack_slug: str
    resource_group_name: pulumi.Input[str]
    storage_account_name: str
    network: VirtualNetwork


class MlflowStores(pulumi.ComponentResource):
    account: storage.StorageAccount
    container: storage.BlobContainer
    server: dbforpostgresql.Server
    stores: TrackingStores
    database_egress: dict[str, Any]  # NetworkPolicy egress rule to the database subnet

    def __init__(self, name: str, args: MlflowStoresArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlstack:azure:MlflowStores", name, None, opts)
        cfg = args.config
        child = pulumi.ResourceOptions(parent=self)
        self.account = self._account(name, args, child)
        blob_service = storage.BlobServiceProperties(
            f"{name}-blob-service",
            resource_group_name=args.resource_group_name,
            account_name=self.account.name,
            blob_services_name="default",
            delete_retention_policy=_retention(cfg.blob_soft_delete_days),
            container_delete_retention_policy=_retention(cfg.blob_soft_delete_days),
            opts=child,
        )
        self.container = storage.BlobContainer(
            f"{name}-artifacts",
            resource_group_name=args.resource_group_name,
            account_name=self.account.name,
            container_name=ARTIFACT_CONTAINER,
            public_access="None",
            opts=pulumi.ResourceOptions(parent=self, depends_on=[blob_service]),
        )
        password = random.RandomPassword(f"{name}-database-password", length=32, special=False, opts=child)
        self.server = self._server(name, args, pulumi.Output.secret(password.result), child)
        database = dbforpostgresql.Database(
            f"{name}-database", resource_group_name=args.resource_group_name, server_name=self.server.name,
            database_name=DATABASE, charset="UTF8", collation="en_US.utf8", opts=child)
        dbforpostgresql.Configuration(
            f"{name}-require-tls", resource_group_name=args.resource_group_name, server_name=self.server.name,
            configuration_name="require_secure_transport", value="on", source="user-override", opts=child)
        backend_uri = pulumi.Output.all(password.result, self.server.fully_qualified_domain_name, database.name).apply(
            lambda parts: postgres_uri(DATABASE_USER, *parts))
        self.stores = TrackingStores(
            backend_uri=pulumi.Output.secret(backend_uri),
            artifact_destination=pulumi.Output.concat(
                "wasbs://", self.container.name, "@", self.account.name, ".blob.core.windows.net/"),
            database_ca_certificate=ROOT_CAS,
        )
        # The server's address comes from its delegated subnet, which holds nothing else.
        self.database_egress = {"to": [{"ipBlock": {"cidr": DATABASE_RANGE}}],
                                "ports": [{"protocol": "TCP", "port": POSTGRES_PORT}]}
        self.register_outputs({"account": self.account.name, "server": self.server.name})

    def _account(self, name: str, args: MlflowStoresArgs, opts: pulumi.ResourceOptions) -> storage.StorageAccount:
        cfg = args.config
        return storage.StorageAccount(
            f"{name}-account",
            resource_group_name=args.resource_group_name,
            location=cfg.location,
            account_name=args.storage_account_name,
            kind="StorageV2",
            sku={"name": "Standard_ZRS" if cfg.zones else "Standard_LRS"},
            enable_https_traffic_only=True,
            minimum_tls_version="TLS1_2",
            allow_blob_public_access=False,
            allow_shared_key_access=False,  # no account key works: every caller is an Entra ID identity
            default_to_o_auth_authentication=True,
            allow_cross_tenant_replication=False,
            network_rule_set={
                "default_action": "Deny",
                "bypass": "None",
                "virtual_network_rules": [{"virtual_network_resource_id": args.network.node_subnet.id, "action": "Allow"}],
            },
            opts=opts,
        )

    def _server(self, name: str, args: MlflowStoresArgs, password: pulumi.Output[str],  # a secret
                opts: pulumi.ResourceOptions) -> dbforpostgresql.Server:
        cfg = args.config
        db = cfg.postgres
        zone = privatedns.PrivateZone(
            f"{name}-postgres-dns", resource_group_name=args.resource_group_name, location="global",
            private_zone_name=f"mlstack-{args.stack_slug}{PRIVATE_ZONE_SUFFIX}", opts=opts)
        link = privatedns.VirtualNetworkLink(
            f"{name}-postgres-dns-link", resource_group_name=args.resource_group_name, location="global",
            private_zone_name=zone.name, virtual_network={"id": args.network.vnet.id},
            registration_enabled=False, opts=opts)
        return dbforpostgresql.Server(
            f"{name}-postgres",
            resource_group_name=args.resource_group_name,
            location=cfg.location,
            version=POSTGRES_VERSION,
            sku={"name": db.sku, "tier": db.tier},
            storage={"storage_size_gb": STORAGE_GB, "auto_grow": "Enabled"},
            backup={"backup_retention_days": db.backup_days,
                    "geo_redundant_backup": "Enabled" if db.geo_redundant_backup else "Disabled"},
            high_availability={"mode": "ZoneRedundant" if db.high_availability else "Disabled"},
            network={"delegated_subnet_resource_id": args.network.database_subnet.id,
                     "private_dns_zone_arm_resource_id": zone.id, "public_network_access": "Disabled"},
            auth_config={"password_auth": "Enabled", "active_directory_auth": "Disabled"},
            administrator_login=DATABASE_USER,
            administrator_login_password=password,
            opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[link])),
        )


def _retention(days: int) -> dict[str, Any]:
    return {"enabled": True, "days": days} if days else {"enabled": False}


def postgres_uri(user: str, password: str, host: str, database: str) -> str:
    # verify-full: the server's certificate names its FQDN (*.postgres.database.azure.com), unlike Cloud SQL's.
    return f"postgresql://{quote(user, safe='')}:{quote(password, safe='')}@{host}:{POSTGRES_PORT}/{database}?sslmode=verify-full"
