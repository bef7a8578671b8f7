"""Every configuration key of the project: the single source for Pulumi.yaml, the loader and the README.

Pulumi.yaml declares the same keys (a test keeps the two equal), so the CLI applies the defaults and rejects
wrong types, and the offline render applies the same defaults without a CLI.
"""
from dataclasses import dataclass

Value = str | int | bool | list[str]


@dataclass(frozen=True)
class Key:
    name: str
    type: str  # Pulumi's project config types: string, integer, boolean, array (of strings)
    default: Value
    description: str
    secret: bool = False


def _k(name: str, type_: str, default: Value, description: str, secret: bool = False) -> Key:
    return Key(name, type_, default, description, secret)


KEYS: tuple[Key, ...] = (
    # Where the stack runs
    _k("cloud", "string", "local", "Target platform: local (existing cluster from a kubeconfig), gcp (GKE) or azure (AKS)."),
    _k("kubeconfig", "string", "", "local: path of the kubeconfig file; empty means $KUBECONFIG or ~/.kube/config."),
    _k("kubeContext", "string", "", "local: kubeconfig context; empty means the current context."),
    _k("registry", "string", "localhost:5000", "local: registry address the serving image is pushed to."),
    _k("storageClass", "string", "", "StorageClass for persistent volumes; empty means the cluster default."),
    # Google Cloud (cloud: gcp)
    _k("gcpProject", "string", "", "gcp: project ID the stack deploys into (required when cloud is gcp)."),
    _k("gcpRegion", "string", "europe-west1", "gcp: region of the network, registry, bucket, database and (regional) cluster."),
    _k("gcpZone", "string", "europe-west1-b", "gcp: zone of a zonal cluster and of the GPU pool; must lie in gcpRegion."),
    _k("gcpClusterLocation", "string", "zonal",
       "gcp: zonal (one control plane zone, cheaper) or regional (control plane and nodes in three zones)."),
    _k("gcpReleaseChannel", "string", "REGULAR", "gcp: GKE release channel: RAPID, REGULAR or STABLE."),
    _k("gcpMasterAuthorizedNetworks", "array", [],
       "gcp: CIDR blocks allowed to reach the control plane endpoint (IAM still authenticates); at least one"
       " is required on gcp."),
    _k("gcpBinaryAuthorization", "boolean", False, "gcp: enforce the project's Binary Authorization policy on the cluster."),
    _k("gcpDeletionProtection", "boolean", True, "gcp: refuse to delete the cluster, the database and a non-empty artifact bucket."),
    _k("gcpMachineType", "string", "e2-standard-4", "gcp: machine type of the general node pool."),
    _k("gcpMinNodes", "integer", 1, "gcp: general pool minimum node count over all its zones (1..100)."),
    _k("gcpMaxNodes", "integer", 3, "gcp: general pool maximum node count over all its zones (gcpMinNodes..100)."),
    _k("gcpSpotNodes", "boolean", False, "gcp: run the general pool on Spot VMs (cheaper, may be reclaimed at any time)."),
    _k("gcpGpuType", "string", "",
       "gcp: accelerator type of a GPU pool (e.g. nvidia-l4) that the model service then runs on; empty "
       "means no GPU pool."),
    _k("gcpGpuCount", "integer", 1, "gcp: accelerators per GPU node (1..8)."),
    _k("gcpGpuMachineType", "string", "g2-standard-4", "gcp: machine type of the GPU pool (must accept gcpGpuType)."),
    _k("gcpGpuMaxNodes", "integer", 1, "gcp: GPU pool maximum node count; it scales to zero when idle (1..100)."),
    _k("gcpSqlTier", "string", "db-custom-1-3840", "gcp: Cloud SQL machine tier of the MLflow database (Enterprise edition)."),
    _k("gcpSqlHighAvailability", "boolean", False, "gcp: Cloud SQL regional availability (a standby in another zone)."),
    _k("gcpSqlBackups", "boolean", True, "gcp: Cloud SQL daily backups and point-in-time recovery."),
    _k("gcpBucketVersioning", "boolean", True,
       "gcp: keep noncurrent versions of MLflow artifacts (deleted after gcpNoncurrentVersionDays)."),
    _k("gcpNoncurrentVersionDays", "integer", 30, "gcp: days a noncurrent artifact version is kept when versioning is on (1..3650)."),
    # Microsoft Azure (cloud: azure)
    _k("azureSubscriptionId", "string", "", "azure: subscription ID (a GUID) the stack deploys into (required when cloud is azure)."),
    _k("azureLocation", "string", "westeurope", "azure: region of the resource group and everything in it (e.g. westeurope, eastus2)."),
    _k("azureAvailabilityZones", "array", [],
       "azure: availability zones (of 1, 2, 3) that node pools spread over and the database's standby uses; empty means"
       " no zone pinning."),
    _k("azureUpgradeChannel", "string", "stable", "azure: AKS auto-upgrade channel: patch, stable, rapid or node-image."),
    _k("azureClusterTier", "string", "Free", "azure: AKS control plane tier: Free or Standard (uptime SLA)."),
    _k("azureAuthorizedIpRanges", "array", [],
       "azure: CIDR blocks allowed to reach the API server; empty means any address (authenticated by Entra ID)."),
    _k("azureDisableLocalAccounts", "boolean", True,
       "azure: disable the cluster's local admin account, so every caller authenticates with Entra ID."),
    _k("azureDeletionProtection", "boolean", True, "azure: put a CanNotDelete lock on the stack's resource group."),
    _k("azureKubeloginMode", "string", "azurecli",
       "azure: how the kubeconfig's kubelogin gets tokens on the machine running pulumi: azurecli, workloadidentity,"
       " spn, msi or azd."),
    _k("azureDeployerPrincipalType", "string", "User",
       "azure: what runs pulumi up, for its role assignments (cluster admin, image push): User (az login) or"
       " ServicePrincipal (CI with a federated identity)."),
    _k("azureSystemVmSize", "string", "Standard_D2s_v5", "azure: VM size of the system node pool (cluster add-ons)."),
    _k("azureSystemMinNodes", "integer", 1, "azure: system pool minimum node count (1..100)."),
    _k("azureSystemMaxNodes", "integer", 3, "azure: system pool maximum node count (azureSystemMinNodes..100)."),
    _k("azureVmSize", "string", "Standard_D4s_v5", "azure: VM size of the user node pool the workloads run on."),
    _k("azureMinNodes", "integer", 1, "azure: user pool minimum node count (1..100)."),
    _k("azureMaxNodes", "integer", 3, "azure: user pool maximum node count (azureMinNodes..100)."),
    _k("azureGpuVmSize", "string", "",
       "azure: VM size of a GPU pool (e.g. Standard_NC4as_T4_v3) that the model service then runs on; empty means no"
       " GPU pool."),
    _k("azureGpuCount", "integer", 1, "azure: GPUs each model server pod requests, at most the GPU VM size has (1..8)."),
    _k("azureGpuMaxNodes", "integer", 1, "azure: GPU pool maximum node count; it scales to zero when idle (1..100)."),
    _k("azureRegistrySku", "string", "Basic", "azure: Container Registry SKU: Basic, Standard or Premium."),
    _k("azurePostgresSku", "string", "Standard_B1ms",
       "azure: PostgreSQL flexible server SKU; Standard_B* is Burstable, Standard_D* General Purpose, Standard_E*"
       " Memory Optimized."),
    _k("azurePostgresHighAvailability", "boolean", False,
       "azure: zone-redundant standby of the MLflow database (not available on Burstable SKUs)."),
    _k("azurePostgresBackupDays", "integer", 7, "azure: days the database's automatic backups are kept (7..35)."),
    _k("azurePostgresGeoRedundantBackup", "boolean", False, "azure: copy the database's backups to the paired region."),
    _k("azureBlobSoftDeleteDays", "integer", 7,
       "azure: days deleted artifact blobs and containers can be restored; 0 turns soft delete off (0..365)."),
    # The serving image
    _k("imageBuild", "boolean", True, "Build and push serving/ from this stack; false deploys `image` as given."),
    _k("image", "string", "", "Prebuilt serving image reference (repo@sha256:... preferred); required when imageBuild is false."),
    _k("imageRepository", "string", "mlstack-serving", "Repository name of the built image inside the registry."),
    _k("imageBase", "string", "", "BASE_IMAGE build argument of serving/Dockerfile; empty means the Dockerfile's default."),
    # The model service
    _k("namespace", "string", "models", "Namespace of the model service."),
    _k("modelUri", "string", "models:/churn@champion",
       "Model to serve: models:/<name>@<alias>, models:/<name>/<version> or runs:/<run-id>/<path>."),
    _k("minReplicas", "integer", 2, "HorizontalPodAutoscaler minimum replicas (1..100)."),
    _k("maxReplicas", "integer", 6, "HorizontalPodAutoscaler maximum replicas (minReplicas..100)."),
    _k("cpuUtilizationTarget", "integer", 70, "HPA average CPU utilisation target in percent of the request (1..100)."),
    _k("scaleDownStabilizationSeconds", "integer", 300, "HPA scale-down stabilisation window in seconds (0..3600)."),
    _k("cpuRequest", "string", "500m", "Model server CPU request (Kubernetes quantity)."),
    _k("cpuLimit", "string", "1", "Model server CPU limit (Kubernetes quantity, >= cpuRequest)."),
    _k("memoryRequest", "string", "512Mi", "Model server memory request (Kubernetes quantity)."),
    _k("memoryLimit", "string", "1Gi",
       "Model server memory limit (Kubernetes quantity, >= memoryRequest); each worker's request budget is derived from it."),
    _k("workers", "integer", 1, "Model server worker processes per pod (1..16)."),
    _k("maxBatchSize", "integer", 64, "Largest micro-batch of concurrent requests per model call; 1 turns batching off (1..1024)."),
    _k("maxBatchWaitMs", "integer", 0,
       "How long an idle model waits for more requests to batch, in ms; 0 never delays a lone request, and "
       "requests that queue while the model is busy are batched anyway (0..1000)."),
    _k("awaitRollout", "boolean", True,
       "Make `pulumi up` wait until the model server pods are Ready (false while no model is registered "
       "yet)."),
    _k("rolloutDeadlineSeconds", "integer", 900,
       "Seconds a model rollout may take before it stops with the old pods serving: the Deployment's "
       "progressDeadlineSeconds; `pulumi up` fails a minute later, naming it (30..7200)."),
    _k("modelVersion", "integer", 0,
       "Registry version the alias of modelUri is pinned to, so `pulumi preview` shows an alias move "
       "(`python -m infra.resolve_model --stack <stack>` writes it); 0 follows the alias whenever a pod starts."),
    # A canary: a second model version beside the stable one
    _k("canaryModelUri", "string", "",
       "Model of a canary beside the stable one (models:/<name>/<version>, models:/<name>@<alias> or "
       "runs:/<run-id>/<path>); empty means no canary."),
    _k("canaryPercent", "integer", 10,
       "Share of requests the canary takes, in percent (1..99): approximated by the replica ratio, exact with "
       "canarySplit gateway."),
    _k("canarySplit", "string", "replicas",
       "How the canary gets its share: replicas (pods of both versions behind the one Service) or gateway "
       "(a Gateway API HTTPRoute with weights; needs gateway)."),
    _k("gateway", "string", "", "Parent Gateway of the model's HTTPRoute as <namespace>/<name>; required when canarySplit is gateway."),
    _k("serviceType", "string", "ClusterIP", "Model Service type: ClusterIP or LoadBalancer."),
    _k("allowedNamespaces", "array", [], "Namespaces whose pods may call the model service (the monitoring namespace always may)."),
    # The MLflow tracking server and registry
    _k("trackingNamespace", "string", "mlflow", "Namespace of the MLflow tracking server."),
    _k("mlflowVersion", "string", "3.17.2", "MLflow version of the tracking server (x.y.z)."),
    _k("trackingImage", "string", "",
       "Prebuilt tracking server image, used when imageBuild is false; empty means "
       "ghcr.io/mlflow/mlflow:v<mlflowVersion>-full (with Postgres, GCS and Azure clients). Must be empty "
       "when imageBuild is true: the stack builds tracking/."),
    _k("trackingImageRepository", "string", "mlstack-tracking", "Repository name of the built tracking server image inside the registry."),
    _k("trackingStorageSize", "string", "10Gi", "Size of the tracking server volume (SQLite backend and artifacts on local)."),
    _k("trackingWorkers", "integer", 2, "Tracking server worker processes (1..16); each holds its own copy of MLflow in memory."),
    _k("trackingCpuRequest", "string", "250m", "Tracking server CPU request."),
    _k("trackingCpuLimit", "string", "1", "Tracking server CPU limit."),
    _k("trackingMemoryRequest", "string", "512Mi", "Tracking server memory request."),
    _k("trackingMemoryLimit", "string", "1Gi", "Tracking server memory limit."),
    _k("mlflowAdminUser", "string", "admin", "MLflow basic-auth admin user name (the password is generated)."),
    # Monitoring
    _k("monitoring", "string", "kube-prometheus-stack",
       "kube-prometheus-stack (install the chart), existing-operator (use a Prometheus Operator already in "
       "the cluster) or none."),
    _k("monitoringNamespace", "string", "monitoring",
       "Namespace of Prometheus and Grafana; may always reach the model and tracking servers."),
    _k("monitoringChartVersion", "string", "88.5.3",
       "kube-prometheus-stack Helm chart version; only one whose images infra/config/chart_images.py lists "
       "(the stack mirrors them)."),
    _k("monitoringRelease", "string", "kube-prometheus-stack",
       "Helm release name of kube-prometheus-stack (installed here, or the existing one): its Prometheus "
       "selects ServiceMonitors and rules by the `release` label."),
    _k("prometheusRetention", "string", "15d", "Prometheus retention time (e.g. 12h, 15d, 8w)."),
    _k("prometheusStorageSize", "string", "20Gi", "Prometheus volume size."),
    _k("prometheusCpuRequest", "string", "250m", "Prometheus CPU request."),
    _k("prometheusCpuLimit", "string", "1", "Prometheus CPU limit."),
    _k("prometheusMemoryRequest", "string", "1Gi", "Prometheus memory request."),
    _k("prometheusMemoryLimit", "string", "2Gi", "Prometheus memory limit."),
    _k("latencyObjectiveMs", "integer", 250,
       "p99 latency objective of the model service in milliseconds; the latency alert fires above it "
       "(1..60000)."),
    _k("errorRatioObjectivePercent", "integer", 1, "5xx ratio of model requests above which the error alert fires, in percent (1..100)."),
    _k("expectTraffic", "boolean", False, "Alert when the model service receives no requests for 15 minutes."),
)

KEYS_BY_NAME = {key.name: key for key in KEYS}
NAMESPACE = "mlstack"
