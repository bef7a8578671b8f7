"""Google Cloud: a private GKE cluster, Artifact Registry, GCS and Cloud SQL for MLflow, Workload Identity.

Everything is declared through one explicit provider for the configured project and region, which waits for the
project's APIs to be enabled: no resource depends on ambient gcloud defaults.
"""

import pulumi
import pulumi_gcp as gcp
import pulumi_kubernetes as k8s

from ...config import StackConfig
from ...config.model import GcpConfig
from ...contract import Platform, ServiceAccountRef, Workload, WorkloadAccounts
from ..naming import stack_slug
from .apis import ProjectApis, ProjectApisArgs
from .binary_authorization import MONITORING_CHART_UPSTREAMS, BinaryAuthorizationArgs, BinaryAuthorizationPolicy
from .cluster import GPU_POOL_LABELS, GPU_TAINT, METADATA_SERVER_EGRESS, GkeCluster, GkeClusterArgs, workload_pool
from .identity import WorkloadServiceAccount, WorkloadServiceAccountArgs
from .kms import SecretsKey, SecretsKeyArgs
from .naming import repository_id, service_account_id
from .network import PRIVATE_GOOGLE_APIS_RANGE, Network, NetworkArgs
from .registry import ArtifactRegistry, ArtifactRegistryArgs
from .stores import MlflowStores, MlflowStoresArgs

MLFLOW_BUCKET_ROLE = "roles/storage.objectAdmin"
LABEL_VALUE_MAX = 63
PRIVATE_GOOGLE_APIS_EGRESS = {"to": [{"ipBlock": {"cidr": PRIVATE_GOOGLE_APIS_RANGE}}], "ports": [{"protocol": "TCP", "port": 443}]}


def gcp_platform(config: StackConfig, accounts: WorkloadAccounts) -> Platform:
    cfg = config.gcp
    provider = _provider(config)
    on_gcp = pulumi.ResourceOptions(providers={"gcp": provider})
    network = Network("network", NetworkArgs(cfg.region), opts=on_gcp)
    secrets_key = SecretsKey("secrets-key", SecretsKeyArgs(
        cfg.project, cfg.region, repository_id(config.stack), protect=cfg.deletion_protection), opts=on_gcp)
    gke = GkeCluster("gke", GkeClusterArgs(cfg, config.stack, network, secrets_key), opts=on_gcp)
    registry = ArtifactRegistry("registry", ArtifactRegistryArgs(
        cfg.project, cfg.region, repository_id(config.stack), gke.node_account.email), opts=on_gcp)
    if cfg.binary_authorization:
        BinaryAuthorizationPolicy("binary-authorization", BinaryAuthorizationArgs(
            cfg.project, registry.registry.address,
            MONITORING_CHART_UPSTREAMS if config.runs_upstream_chart_images else ()), opts=on_gcp)
    stores = MlflowStores("mlflow-stores", MlflowStoresArgs(cfg, network), opts=on_gcp)
    # Only the tracking server calls Google APIs (the bucket). The model server reads artifacts through it, so it
    # gets no Google identity and no route to the metadata server or Google APIs.
    tracking = _workload_account("mlflow", config, accounts.tracking, stores, MLFLOW_BUCKET_ROLE, gke, on_gcp)
    cloud_egress = (*METADATA_SERVER_EGRESS, PRIVATE_GOOGLE_APIS_EGRESS)
    return Platform(
        # Kubernetes objects wait for the general pool: pods need nodes before a rollout can finish.
        provider=k8s.Provider("gke", kubeconfig=gke.kubeconfig, opts=pulumi.ResourceOptions(depends_on=[gke.general_pool])),
        registry=registry.registry,
        tracking_stores=stores.stores,
        tracking=Workload(identity=tracking.identity, egress=(*cloud_egress, stores.database_egress)),
        serving=_serving_workload(cfg),
        storage_class=config.storage_class or None,
        kubeconfig=gke.kubeconfig,
    )


def _serving_workload(cfg: GcpConfig) -> Workload:
    """With a GPU pool, the model service runs there: the pool's label, its taint tolerated, its GPUs requested."""
    if cfg.gpu is None:
        return Workload()
    return Workload(
        node_selector=GPU_POOL_LABELS,
        tolerations=({"key": GPU_TAINT["key"], "operator": "Equal", "value": GPU_TAINT["value"], "effect": "NoSchedule"},),
        accelerators={"nvidia.com/gpu": str(cfg.gpu.count)},
    )


def _provider(config: StackConfig) -> gcp.Provider:
    cfg = config.gcp
    apis = ProjectApis("apis", ProjectApisArgs(cfg.binary_authorization),
                       opts=pulumi.ResourceOptions(providers={"gcp": gcp.Provider("gcp-apis", project=cfg.project)}))
    return gcp.Provider(
        "gcp", project=cfg.project, region=cfg.region, zone=cfg.zone,
        default_labels={"app": "mlstack", "stack": stack_slug(config.stack, LABEL_VALUE_MAX)},
        opts=pulumi.ResourceOptions(depends_on=apis.services),
    )


def _workload_account(name: str, config: StackConfig, kubernetes_account: ServiceAccountRef, stores: MlflowStores,
                      bucket_role: str, gke: GkeCluster, opts: pulumi.ResourceOptions) -> WorkloadServiceAccount:
    cfg = config.gcp
    return WorkloadServiceAccount(name, WorkloadServiceAccountArgs(
        project=cfg.project,
        account_id=service_account_id(config.stack, name),
        display_name=f"mlstack {config.stack} {name} ({kubernetes_account.namespace}/{kubernetes_account.name})",
        workload_pool=workload_pool(cfg.project),
        kubernetes_account=kubernetes_account,
        bucket=stores.bucket.name,
        bucket_role=bucket_role,
        cluster=gke.cluster,
    ), opts=opts)
