"""The AKS cluster: Entra ID with Azure RBAC, OIDC issuer and workload identity, Azure CNI Overlay with Cilium
network policy, an autoscaled system pool for add-ons, and the user (and optional GPU) pools the workloads run on."""
import base64
from dataclasses import dataclass
from typing import Any

import pulumi
import yaml
from pulumi_azure_native import authorization, containerservice

from ...config.azure import AzureConfig, AzureGpuPoolConfig, NodePoolConfig
from . import roles
from .naming import dns_prefix
from .network import DNS_SERVICE_IP, POD_RANGE, SERVICE_RANGE, VirtualNetwork

# The Entra ID application of every AKS API server: kubelogin asks for tokens of this audience.
AKS_SERVER_APP_ID = "6dae42f8-4368-4678-94ff-3960e28e3630"
KUBELET_IDENTITY = "kubeletidentity"
# Cluster add-ons tolerate this taint; the stack's workloads do not, so they land on the user pool.
SYSTEM_POOL_TAINT = "CriticalAddonsOnly=true:NoSchedule"
GPU_POOL_LABELS = {"mlstack.io/pool": "gpu"}
GPU_TAINT = {"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}
NODE_OS_SKU = "AzureLinux"
ONE_EXTRA_NODE = {"max_surge": "1"}


@dataclass(frozen=True)
class AksClusterArgs:
    config: AzureConfig
    stack: str
    resource_group_name: pulumi.Input[str]
    network: VirtualNetwork
    deployer_object_id: pulumi.Input[str]  # whoever runs `pulumi up`: it applies the Kubernetes objects


class AksCluster(pulumi.ComponentResource):
    cluster: containerservice.ManagedCluster
    user_pool: containerservice.AgentPool
    gpu_pool: containerservice.AgentPool | None
    deployer_admin: authorization.RoleAssignment  # the Kubernetes objects need it: with Azure RBAC, nobody is admin by default
    kubelet_object_id: pulumi.Output[str]
    oidc_issuer_url: pulumi.Output[str]
    kubeconfig: pulumi.Output[str]

    def __init__(self, name: str, args: AksClusterArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlstack:azure:AksCluster", name, None, opts)
        cfg = args.config
        child = pulumi.ResourceOptions(parent=self)
        self.cluster = self._cluster(name, args, child)
        in_cluster = pulumi.ResourceOptions(parent=self, ignore_changes=["count"])  # the autoscaler owns the count
        self.user_pool = containerservice.AgentPool(
            f"{name}-user",
            resource_group_name=args.resource_group_name,
            resource_name_=self.cluster.name,
            agent_pool_name="user",
            mode="User",
            **_autoscaled(cfg.user_pool, cfg.zones, args.network),
            opts=in_cluster,
        )
        self.gpu_pool = self._gpu_pool(name, args, cfg.gpu, in_cluster) if cfg.gpu else None
        self.kubelet_object_id = self.cluster.identity_profile.apply(_kubelet_object_id)
        self.oidc_issuer_url = self.cluster.oidc_issuer_profile.apply(_issuer_url)
        self.deployer_admin = roles.grant(
            f"{name}-deployer-admin", subscription_id=cfg.subscription_id, role=roles.AKS_RBAC_CLUSTER_ADMIN,
            scope=self.cluster.id, principal_id=args.deployer_object_id, principal_type=cfg.deployer_principal_type,
            opts=child)
        credentials = containerservice.list_managed_cluster_user_credentials_output(
            resource_group_name=args.resource_group_name, resource_name=self.cluster.name, format="exec",
            opts=pulumi.InvokeOutputOptions(parent=self))
        self.kubeconfig = pulumi.Output.secret(credentials.kubeconfigs.apply(
            lambda configs: kubeconfig(configs[0].value, cfg.kubelogin_mode)))
        self.register_outputs({"cluster": self.cluster.name, "kubeconfig": self.kubeconfig})

    def _cluster(self, name: str, args: AksClusterArgs, opts: pulumi.ResourceOptions) -> containerservice.ManagedCluster:
        cfg = args.config
        system_pool = {"name": "system", "mode": "System", "node_taints": [SYSTEM_POOL_TAINT],
                       **_autoscaled(cfg.system_pool, cfg.zones, args.network)}
        return containerservice.ManagedCluster(
            name,
            resource_group_name=args.resource_group_name,
            location=cfg.location,
            dns_prefix=dns_prefix(args.stack),
            identity={"type": "SystemAssigned"},
            sku={"name": "Base", "tier": cfg.cluster_tier},
            auto_upgrade_profile={"upgrade_channel": cfg.upgrade_channel, "node_os_upgrade_channel": "NodeImage"},
            enable_rbac=True,
            aad_profile={"managed": True, "enable_azure_rbac": True},
            disable_local_accounts=cfg.disable_local_accounts,
            oidc_issuer_profile={"enabled": True},
            security_profile={"workload_identity": {"enabled": True}},
            network_profile={
                "network_plugin": "azure",
                "network_plugin_mode": "overlay",
                "network_dataplane": "cilium",
                "network_policy": "cilium",  # NetworkPolicy enforced by the Cilium dataplane
                "pod_cidr": POD_RANGE,
                "service_cidr": SERVICE_RANGE,
                "dns_service_ip": DNS_SERVICE_IP,
                "load_balancer_sku": "standard",
            },
            api_server_access_profile=(
                {"authorized_ip_ranges": list(cfg.authorized_ip_ranges)} if cfg.authorized_ip_ranges else None),
            agent_pool_profiles=[system_pool],
            # Pools other than the system pool are resources of their own; the autoscaler owns every count.
            opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(ignore_changes=["agentPoolProfiles[0].count"])),
        )

    def _gpu_pool(self, name: str, args: AksClusterArgs, gpu: AzureGpuPoolConfig,
                  opts: pulumi.ResourceOptions) -> containerservice.AgentPool:
        return containerservice.AgentPool(
            f"{name}-gpu",
            resource_group_name=args.resource_group_name,
            resource_name_=self.cluster.name,
            agent_pool_name="gpu",
            mode="User",
            vm_size=gpu.vm_size,
            os_type="Linux",
            os_sku=NODE_OS_SKU,
            type="VirtualMachineScaleSets",
            vnet_subnet_id=args.network.node_subnet.id,
            enable_auto_scaling=True,
            min_count=0,
            max_count=gpu.max_nodes,
            count=0,
            node_labels=GPU_POOL_LABELS,
            node_taints=[f"{GPU_TAINT['key']}={GPU_TAINT['value']}:{GPU_TAINT['effect']}"],
            upgrade_settings=ONE_EXTRA_NODE,
            opts=opts,
        )


def _autoscaled(pool: NodePoolConfig, zones: tuple[str, ...], vnet: VirtualNetwork) -> dict[str, Any]:
    return {
        "vm_size": pool.vm_size,
        "os_type": "Linux",
        "os_sku": NODE_OS_SKU,
        "type": "VirtualMachineScaleSets",
        "vnet_subnet_id": vnet.node_subnet.id,
        "availability_zones": list(zones) or None,
        "enable_auto_scaling": True,
        "min_count": pool.min_nodes,
        "max_count": pool.max_nodes,
        "count": pool.min_nodes,
        "upgrade_settings": ONE_EXTRA_NODE,
    }


def _kubelet_object_id(profile: Any) -> str:
    return str(profile[KUBELET_IDENTITY].object_id)


def _issuer_url(profile: Any) -> str:
    return str(profile.issuer_url)


def kubeconfig(encoded: str, login_mode: str) -> str:
    """The cluster's user kubeconfig, its credential made non-interactive: kubelogin gets an Entra ID token for the
    AKS server application the way `login_mode` says (az login, a federated CI identity, ...); no key is stored."""
    config = yaml.safe_load(base64.b64decode(encoded))
    for user in config["users"]:
        user["user"] = {"exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1",
            "command": "kubelogin",
            "args": ["get-token", "--login", login_mode, "--server-id", AKS_SERVER_APP_ID,
                     *_tenant_args(user["user"].get("exec", {}).get("args", []))],
            "installHint": "Install kubelogin: az aks install-cli, or https://azure.github.io/kubelogin/install.html",
            "provideClusterInfo": False,
            "interactiveMode": "Never",
        }}
    return str(yaml.safe_dump(config, sort_keys=False))


def _tenant_args(original: list[str]) -> list[str]:
    """The tenant the cluster trusts, kept from the kubeconfig AKS returned: service principal and federated logins need it."""
    if "--tenant-id" in original:
        return ["--tenant-id", original[original.index("--tenant-id") + 1]]
    return []

