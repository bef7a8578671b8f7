"""Microsoft Azure: an AKS cluster with Entra ID and workload identity, ACR, Blob Storage and PostgreSQL for MLflow.

Everything is declared through one explicit provider for the configured subscription and region, into one resource
group of the stack: no resource depends on ambient az CLI defaults. Only the submodules in use are imported: the
SDK's top package loads them lazily, and importing the few we need costs a fraction of a second (docs/azure.md).
"""
import pulumi
import pulumi_kubernetes as k8s
from pulumi_azure_native import Provider, authorization, resources

from ...config import StackConfig
from ...config.azure import AzureConfig
from ...contract import Platform, ServiceAccountRef, Workload, WorkloadAccounts
from ..naming import stack_slug
from . import naming, roles
from .cluster import GPU_POOL_LABELS, GPU_TAINT, AksCluster, AksClusterArgs
from .identity import WorkloadManagedIdentity, WorkloadManagedIdentityArgs
from .network import VirtualNetwork, VirtualNetworkArgs
from .registry import ContainerRegistry, ContainerRegistryArgs
from .stores import MlflowStores, MlflowStoresArgs

# Workload identity trades the pod's token for an Entra ID token at login.microsoftonline.com, and blobs are read at
# <account>.blob.core.windows.net: public names whose addresses Azure changes. A NetworkPolicy cannot name hosts, so
# the workloads with a cloud identity may open HTTPS to public addresses, never to other private ones.
PRIVATE_RANGES = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16", "100.64.0.0/10"]
PUBLIC_HTTPS_EGRESS = {"to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": PRIVATE_RANGES}}],
                       "ports": [{"protocol": "TCP", "port": 443}]}


def azure_platform(config: StackConfig, accounts: WorkloadAccounts) -> Platform:
    cfg = config.azure
    provider = Provider("azure", subscription_id=cfg.subscription_id, location=cfg.location)
    on_azure = pulumi.ResourceOptions(providers=[provider])
    group = resources.ResourceGroup("resource-group", resource_group_name=naming.resource_group_name(config.stack),
                                    location=cfg.location, opts=on_azure)
    if cfg.deletion_protection:
        authorization.ManagementLockAtResourceGroupLevel(
            "resource-group-lock", resource_group_name=group.name, level="CanNotDelete",
            notes="mlstack: azureDeletionProtection is on; set it to false and run pulumi up before pulumi destroy.",
            opts=on_azure)
    deployer = authorization.get_client_config_output(opts=pulumi.InvokeOutputOptions(provider=provider))
    network = VirtualNetwork("network", VirtualNetworkArgs(group.name, cfg.location), opts=on_azure)
    aks = AksCluster("aks", AksClusterArgs(cfg, config.stack, group.name, network, deployer.object_id), opts=on_azure)
    registry = ContainerRegistry("registry", ContainerRegistryArgs(
        subscription_id=cfg.subscription_id, resource_group_name=group.name, location=cfg.location,
        registry_name=naming.registry_name(config.stack, cfg.subscription_id), sku=cfg.registry_sku,
        kubelet_object_id=aks.kubelet_object_id, deployer_object_id=deployer.object_id,
        deployer_principal_type=cfg.deployer_principal_type, tenant_id=deployer.tenant_id), opts=on_azure)
    stores = MlflowStores("mlflow-stores", MlflowStoresArgs(
        cfg, stack_slug(config.stack, 40), group.name,
        naming.storage_account_name(config.stack, cfg.subscription_id), network), opts=on_azure)
    # Only MLflow has a cloud identity: the model server loads artifacts through the tracking server's proxy, so it
    # needs neither a blob role nor a route to Azure's public endpoints.
    tracking = _identity("mlflow", cfg, group, aks, accounts.tracking, roles.STORAGE_BLOB_DATA_CONTRIBUTOR,
                         stores.account.id, on_azure)
    return Platform(
        # Kubernetes objects wait for the user pool (pods need nodes before a rollout can finish) and for the
        # deployer's cluster role (with Azure RBAC nobody may write to the cluster before it).
        provider=k8s.Provider("aks", kubeconfig=aks.kubeconfig,
                              opts=pulumi.ResourceOptions(depends_on=[aks.user_pool, aks.deployer_admin])),
        registry=registry.pushes,
        tracking_stores=stores.stores,
        tracking=Workload(identity=tracking.workload_identity, egress=(PUBLIC_HTTPS_EGRESS, stores.database_egress)),
        serving=_serving_workload(cfg),
        storage_class=config.storage_class or None,
        kubeconfig=aks.kubeconfig,
    )


def _identity(name: str, cfg: AzureConfig, group: resources.ResourceGroup, aks: AksCluster, account: ServiceAccountRef,
              role: str, scope: pulumi.Input[str], opts: pulumi.ResourceOptions) -> WorkloadManagedIdentity:
    return WorkloadManagedIdentity(name, WorkloadManagedIdentityArgs(
        subscription_id=cfg.subscription_id, resource_group_name=group.name, location=cfg.location,
        oidc_issuer_url=aks.oidc_issuer_url, kubernetes_account=account, role=role, scope=scope), opts=opts)


def _serving_workload(cfg: AzureConfig) -> Workload:
    """With a GPU pool, the model service runs there: the pool's label, its taint tolerated, its GPUs requested."""
    if cfg.gpu is None:
        return Workload()
    return Workload(
        node_selector=GPU_POOL_LABELS,
        tolerations=({"key": GPU_TAINT["key"], "operator": "Equal", "value": GPU_TAINT["value"], "effect": GPU_TAINT["effect"]},),
        accelerators={"nvidia.com/gpu": str(cfg.gpu.count)},
    )
