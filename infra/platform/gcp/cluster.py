"""The GKE cluster: private nodes, Workload Identity, Dataplane V2, shielded nodes, and its node pools."""
import math
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_gcp as gcp
import yaml

from ...config.model import GcpConfig, GpuPoolConfig
from .kms import SecretsKey
from .naming import service_account_id
from .network import CONTROL_PLANE_RANGE, POD_RANGE_NAME, SERVICE_RANGE_NAME, Network

CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform"  # access is narrowed by IAM roles instead
NODE_ROLE = "roles/container.defaultNodeServiceAccount"
ZONES_OF_A_REGIONAL_POOL = 3  # GKE's default node locations for a regional cluster
GPU_POOL_LABELS = {"mlstack.io/pool": "gpu"}
# GKE puts this taint on every GPU node anyway; declaring it keeps what a workload must tolerate in one place.
GPU_TAINT = {"key": "nvidia.com/gpu", "value": "present", "effect": "NO_SCHEDULE"}
# With Workload Identity, pods get tokens from the GKE metadata server: the metadata address, which Dataplane V2
# sends to the node's gke-metadata-server on port 988. A default-deny egress policy must allow both.
METADATA_SERVER_EGRESS = (
    {"to": [{"ipBlock": {"cidr": "169.254.169.254/32"}}], "ports": [{"protocol": "TCP", "port": 80}]},
    {"to": [{"ipBlock": {"cidr": "169.254.169.252/32"}}], "ports": [{"protocol": "TCP", "port": 988}]},
)


@dataclass(frozen=True)
class GkeClusterArgs:
    config: GcpConfig
    stack: str
    network: Network
    secrets_key: SecretsKey


class GkeCluster(pulumi.ComponentResource):
    cluster: gcp.container.Cluster
    node_account: gcp.serviceaccount.Account
    general_pool: gcp.container.NodePool
    gpu_pool: gcp.container.NodePool | None
    kubeconfig: pulumi.Output[str]

    def __init__(self, name: str, args: GkeClusterArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlstack:gcp:GkeCluster", name, None, opts)
        cfg = args.config
        child = pulumi.ResourceOptions(parent=self)
        self.node_account = gcp.serviceaccount.Account(
            f"{name}-nodes", account_id=service_account_id(args.stack, "nodes"),
            display_name=f"mlstack {args.stack} GKE nodes", opts=child)
        node_member = pulumi.Output.concat("serviceAccount:", self.node_account.email)
        gcp.projects.IAMMember(f"{name}-nodes-role", project=cfg.project, role=NODE_ROLE, member=node_member, opts=child)
        # GKE checks its access to the key when the cluster is created.
        self.cluster = self._cluster(name, args, pulumi.ResourceOptions(parent=self, depends_on=[args.secrets_key.grant]))
        in_cluster = pulumi.ResourceOptions(parent=self, depends_on=[self.cluster])
        self.general_pool = gcp.container.NodePool(
            f"{name}-general",
            cluster=self.cluster.id,
            location=cfg.cluster_location,
            initial_node_count=math.ceil(cfg.min_nodes / (ZONES_OF_A_REGIONAL_POOL if cfg.regional else 1)),
            autoscaling={"total_min_node_count": cfg.min_nodes, "total_max_node_count": cfg.max_nodes, "location_policy": "BALANCED"},
            node_config={**self._node_config(), "machine_type": cfg.machine_type, "spot": cfg.spot_nodes},
            management={"auto_repair": True, "auto_upgrade": True},
            upgrade_settings={"strategy": "SURGE", "max_surge": 1, "max_unavailable": 0},
            opts=in_cluster,
        )
        self.gpu_pool = self._gpu_pool(name, cfg, cfg.gpu, in_cluster) if cfg.gpu else None
        self.kubeconfig = pulumi.Output.secret(pulumi.Output.all(
            self.cluster.name, self.cluster.endpoint, self.cluster.master_auth.cluster_ca_certificate,
        ).apply(lambda parts: kubeconfig(*parts)))
        self.register_outputs({"cluster": self.cluster.name, "kubeconfig": self.kubeconfig})

    def _cluster(self, name: str, args: GkeClusterArgs, opts: pulumi.ResourceOptions) -> gcp.container.Cluster:
        cfg, network = args.config, args.network
        authorized = {"cidr_blocks": [{"cidr_block": cidr, "display_name": cidr} for cidr in cfg.master_authorized_networks]}
        return gcp.container.Cluster(
            name,
            location=cfg.cluster_location,
            network=network.network.id,
            subnetwork=network.subnet.id,
            networking_mode="VPC_NATIVE",
            ip_allocation_policy={"cluster_secondary_range_name": POD_RANGE_NAME, "services_secondary_range_name": SERVICE_RANGE_NAME},
            # Pools are managed on their own, so a pool change never replaces the cluster; GKE insists on creating
            # a first pool, which gets the same locked-down nodes for the minutes it lives.
            remove_default_node_pool=True,
            initial_node_count=1,
            node_config=self._node_config(),
            private_cluster_config={"enable_private_nodes": True, "enable_private_endpoint": False,
                                    "master_ipv4_cidr_block": CONTROL_PLANE_RANGE},
            master_authorized_networks_config=authorized if cfg.master_authorized_networks else None,
            workload_identity_config={"workload_pool": workload_pool(cfg.project)},
            datapath_provider="ADVANCED_DATAPATH",  # Dataplane V2: NetworkPolicy is enforced without Calico
            enable_shielded_nodes=True,
            release_channel={"channel": cfg.release_channel},
            binary_authorization={"evaluation_mode": "PROJECT_SINGLETON_POLICY_ENFORCE" if cfg.binary_authorization else "DISABLED"},
            # Secrets in etcd are encrypted again with the stack's own Cloud KMS key (application-layer encryption).
            database_encryption={"state": "ENCRYPTED", "key_name": args.secrets_key.key.id},
            deletion_protection=cfg.deletion_protection,
            opts=opts,
        )

    def _node_config(self) -> dict[str, Any]:
        return {
            "service_account": self.node_account.email,
            "oauth_scopes": [CLOUD_PLATFORM_SCOPE],
            "image_type": "COS_CONTAINERD",
            "shielded_instance_config": {"enable_secure_boot": True, "enable_integrity_monitoring": True},
            "workload_metadata_config": {"mode": "GKE_METADATA"},
            "metadata": {"disable-legacy-endpoints": "true"},
        }

    def _gpu_pool(self, name: str, cfg: GcpConfig, gpu: GpuPoolConfig, opts: pulumi.ResourceOptions) -> gcp.container.NodePool:
        return gcp.container.NodePool(
            f"{name}-gpu",
            cluster=self.cluster.id,
            location=cfg.cluster_location,
            node_locations=[cfg.zone],  # accelerators exist in some zones only: the one the config names
            initial_node_count=0,
            autoscaling={"total_min_node_count": 0, "total_max_node_count": gpu.max_nodes, "location_policy": "ANY"},
            node_config={
                **self._node_config(),
                "machine_type": gpu.machine_type,
                "guest_accelerators": [{"type": gpu.accelerator, "count": gpu.count,
                                        "gpu_driver_installation_config": {"gpu_driver_version": "DEFAULT"}}],
                "labels": GPU_POOL_LABELS,
                "taints": [GPU_TAINT],
            },
            management={"auto_repair": True, "auto_upgrade": True},
            opts=opts,
        )


def workload_pool(project: str) -> str:
    return f"{project}.svc.id.goog"


def kubeconfig(cluster_name: str, endpoint: str, ca_certificate: str) -> str:
    """A kubeconfig that authenticates with the caller's gcloud credentials, never with a stored key."""
    user = {"exec": {
        "apiVersion": "client.authentication.k8s.io/v1beta1",
        "command": "gke-gcloud-auth-plugin",
        "installHint": "Install gke-gcloud-auth-plugin: gcloud components install gke-gcloud-auth-plugin",
        "provideClusterInfo": True,
        "interactiveMode": "Never",
    }}
    return yaml.safe_dump({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": cluster_name, "cluster": {"server": f"https://{endpoint}", "certificate-authority-data": ca_certificate}}],
        "users": [{"name": cluster_name, "user": user}],
        "contexts": [{"name": cluster_name, "context": {"cluster": cluster_name, "user": cluster_name}}],
        "current-context": cluster_name,
    }, sort_keys=False)
