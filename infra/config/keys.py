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
    _k("memoryLimit", "string", "1Gi", "Model server memory limit (Kubernetes quantity, >= memoryRequest)."),
    _k("workers", "integer", 1, "Model server worker processes per pod (1..16)."),
    _k("maxBatchSize", "integer", 64, "Largest micro-batch of concurrent requests per model call; 1 turns batching off (1..1024)."),
    _k("maxBatchWaitMs", "integer", 0,
       "How long an idle model waits for more requests to batch, in ms; 0 never delays a lone request, and "
       "requests that queue while the model is busy are batched anyway (0..1000)."),
    _k("awaitRollout", "boolean", True,
       "Make `pulumi up` wait until the model server pods are Ready (false while no model is registered "
       "yet)."),
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
    _k("monitoringChartVersion", "string", "88.5.3", "kube-prometheus-stack Helm chart version (x.y.z)."),
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
