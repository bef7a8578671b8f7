"""The typed, immutable stack configuration, built once from validated raw values."""
import re
from dataclasses import dataclass
from decimal import Decimal

from .azure import AzureConfig, azure_config
from .chart_images import CHART_IMAGES
from .errors import ConfigError
from .quantity import parse_quantity
from .reader import DNS_LABEL, Reader

_REGISTERED_MODEL = re.compile(r"^models:/(?P<name>[A-Za-z0-9][\w.-]{0,255})(@(?P<alias>[A-Za-z_][\w-]{0,255})|/(?P<version>[1-9]\d*))$")
_RUN_MODEL = re.compile(r"^runs:/(?P<run>[0-9a-f]{32})/(?P<path>[\w.-]+(/[\w.-]+)*)$")
_IMAGE_REF = re.compile(
    r"^[a-z0-9]+([._-][a-z0-9]+)*(\.[a-z0-9-]+)*(:\d+)?(/[a-z0-9]+([._-][a-z0-9]+)*)+"
    r"(:[\w][\w.-]{0,127})?(@sha256:[0-9a-f]{64})?$"
)
_REGISTRY = re.compile(r"^[a-z0-9]+([.-][a-z0-9]+)*(:\d{1,5})?(/[a-z0-9]+([._-][a-z0-9]+)*)*$")
_LOCAL_IMAGE = re.compile(r"^[a-z0-9]+([._-][a-z0-9]+)*(/[a-z0-9]+([._-][a-z0-9]+)*)*(:[\w][\w.-]{0,127})?$")
_STORAGE_CLASS = re.compile(r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*)?$")
_DURATION = re.compile(r"^[1-9]\d*(ms|s|m|h|d|w|y)$")
_VERSION = re.compile(r"^\d+\.\d+\.\d+$")
_RELEASE = re.compile(r"^[a-z0-9]([-a-z0-9]{0,51}[a-z0-9])?$")  # Helm: a DNS label of at most 53, also a label value
_REPOSITORY = re.compile(r"^[a-z0-9]+([._-][a-z0-9]+)*(/[a-z0-9]+([._-][a-z0-9]+)*)*$")

_GCP_PROJECT = re.compile(r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$")
_GCP_REGION = re.compile(r"^[a-z]+-[a-z]+[0-9]+$")
_GCP_MACHINE_TYPE = re.compile(r"^[a-z][a-z0-9]*-[a-z0-9]+(-[a-z0-9]+)*$")
_GCP_ACCELERATOR = re.compile(r"^nvidia-[a-z0-9]+(-[a-z0-9]+)*$")
_GCP_SQL_TIER = re.compile(r"^db-[a-z0-9]+(-[a-z0-9]+)*$")

CLOUDS = ("local", "gcp", "azure")
GKE_LOCATIONS = ("zonal", "regional")
GKE_RELEASE_CHANNELS = ("RAPID", "REGULAR", "STABLE")
SERVICE_TYPES = ("ClusterIP", "LoadBalancer")
CANARY_SPLITS = ("replicas", "gateway")
MONITORING_INSTALL = "kube-prometheus-stack"
MONITORING_MODES = (MONITORING_INSTALL, "existing-operator", "none")


@dataclass(frozen=True)
class ModelRef:
    uri: str  # what the server loads: a pinned alias becomes models:/<name>/<version>
    name: str  # registered model name, or the run id for runs:/ URIs
    version: str  # registry version, alias (prefixed '@'), or the artifact path of a run
    pinned_alias: str = ""  # the alias a pinned version was resolved from


@dataclass(frozen=True)
class GatewayRef:
    namespace: str
    name: str


@dataclass(frozen=True)
class CanaryConfig:
    model: ModelRef
    percent: int


@dataclass(frozen=True)
class Resources:
    cpu_request: str
    cpu_limit: str
    memory_request: str
    memory_limit: str


@dataclass(frozen=True)
class LocalConfig:
    kubeconfig: str
    context: str
    registry: str


@dataclass(frozen=True)
class ImageConfig:
    build: bool
    prebuilt: str
    repository: str
    base: str


@dataclass(frozen=True)
class ServingConfig:
    namespace: str
    model: ModelRef
    min_replicas: int
    max_replicas: int
    cpu_utilization_target: int
    scale_down_stabilization_seconds: int
    resources: Resources
    workers: int
    max_batch_size: int
    max_batch_wait_ms: int
    await_rollout: bool
    rollout_deadline_seconds: int
    service_type: str
    allowed_namespaces: tuple[str, ...]
    canary: CanaryConfig | None
    gateway: GatewayRef | None  # set exactly when the canary split is made by a Gateway API HTTPRoute
    memory_budget_bytes: int  # what the requests in flight may cost one worker (the server's MEMORY_BUDGET_BYTES)


@dataclass(frozen=True)
class TrackingConfig:
    namespace: str
    mlflow_version: str
    image: str  # the prebuilt image, deployed when imageBuild is false
    image_repository: str  # where the image built from tracking/ is pushed when imageBuild is true
    storage_size: str
    workers: int
    resources: Resources
    admin_user: str


@dataclass(frozen=True)
class MonitoringConfig:
    mode: str
    namespace: str
    chart_version: str
    release: str
    retention: str
    storage_size: str
    prometheus_resources: Resources
    latency_objective_ms: int
    error_ratio_objective_percent: int
    expect_traffic: bool


def monitoring_config(reader: Reader) -> MonitoringConfig:
    return MonitoringConfig(
        mode=reader.string("monitoring", choices=MONITORING_MODES),
        namespace=reader.dns_label("monitoringNamespace"),
        chart_version=_chart_version(reader),
        release=reader.string("monitoringRelease", pattern=_RELEASE,
                              allowed="a Helm release name (lower-case letters, digits, '-'; at most 53)"),
        retention=reader.string("prometheusRetention", pattern=_DURATION, allowed="a Prometheus duration such as 12h, 15d or 8w"),
        storage_size=reader.quantity("prometheusStorageSize", "storage")[0],
        prometheus_resources=resources(reader, "prometheus"),
        latency_objective_ms=reader.integer("latencyObjectiveMs", 1, 60000),
        error_ratio_objective_percent=reader.integer("errorRatioObjectivePercent", 1, 100),
        expect_traffic=reader.boolean("expectTraffic"),
    )


def _chart_version(reader: Reader) -> str:
    """Only a version whose images the stack knows, so that every image the chart runs can be mirrored."""
    version = reader.string("monitoringChartVersion")
    if version not in CHART_IMAGES:
        raise ConfigError("monitoringChartVersion", version, "a kube-prometheus-stack version whose images "
                          f"infra/config/chart_images.py lists: {', '.join(CHART_IMAGES)}")
    return version


@dataclass(frozen=True)
class GpuPoolConfig:
    accelerator: str
    count: int
    machine_type: str
    max_nodes: int


@dataclass(frozen=True)
class GcpConfig:
    project: str
    region: str
    zone: str
    regional: bool
    release_channel: str
    master_authorized_networks: tuple[str, ...]
    binary_authorization: bool
    deletion_protection: bool
    machine_type: str
    min_nodes: int
    max_nodes: int
    spot_nodes: bool
    gpu: GpuPoolConfig | None
    sql_tier: str
    sql_high_availability: bool
    sql_backups: bool
    bucket_versioning: bool
    noncurrent_version_days: int

    @property
    def cluster_location(self) -> str:
        return self.region if self.regional else self.zone


def gcp_config(reader: Reader, cloud: str) -> GcpConfig:
    """Validated whatever the cloud, so a typo in a gcp key fails on every stack; the project is needed only on gcp."""
    project = reader.string("gcpProject")
    if (project or cloud == "gcp") and not _GCP_PROJECT.match(project):
        raise ConfigError("gcpProject", project,
                          "a Google Cloud project ID (6-30 lower-case letters, digits, '-'), required when cloud is gcp")
    region = reader.string("gcpRegion", pattern=_GCP_REGION, allowed="a Google Cloud region such as europe-west1")
    regional = reader.string("gcpClusterLocation", choices=GKE_LOCATIONS) == "regional"
    gpu = gpu_pool_config(reader)
    zone = reader.string("gcpZone")
    if (gpu or not regional) and not re.match(rf"^{re.escape(region)}-[a-z]$", zone):
        raise ConfigError("gcpZone", zone, f"a zone of gcpRegion ({region}-a, {region}-b, ...) for a zonal cluster or a GPU pool")
    min_nodes = reader.integer("gcpMinNodes", 1, 100)
    max_nodes = reader.integer("gcpMaxNodes", 1, 100)
    if max_nodes < min_nodes:
        raise ConfigError("gcpMaxNodes", str(max_nodes), f"an integer from gcpMinNodes ({min_nodes}) to 100")
    config = GcpConfig(
        project=project,
        region=region,
        zone=zone,
        regional=regional,
        release_channel=reader.string("gcpReleaseChannel", choices=GKE_RELEASE_CHANNELS),
        master_authorized_networks=reader.ipv4_cidrs("gcpMasterAuthorizedNetworks"),
        binary_authorization=reader.boolean("gcpBinaryAuthorization"),
        deletion_protection=reader.boolean("gcpDeletionProtection"),
        machine_type=_machine_type(reader, "gcpMachineType"),
        min_nodes=min_nodes,
        max_nodes=max_nodes,
        spot_nodes=reader.boolean("gcpSpotNodes"),
        gpu=gpu,
        sql_tier=reader.string("gcpSqlTier", pattern=_GCP_SQL_TIER, allowed="a Cloud SQL tier such as db-custom-2-7680 or db-g1-small"),
        sql_high_availability=reader.boolean("gcpSqlHighAvailability"),
        sql_backups=reader.boolean("gcpSqlBackups"),
        bucket_versioning=reader.boolean("gcpBucketVersioning"),
        noncurrent_version_days=reader.integer("gcpNoncurrentVersionDays", 1, 3650),
    )
    if cloud == "gcp" and not config.master_authorized_networks:
        raise ConfigError("gcpMasterAuthorizedNetworks", "[]",
                          "at least one IPv4 CIDR when cloud is gcp: only these networks reach the control plane")
    return config


def gpu_pool_config(reader: Reader) -> GpuPoolConfig | None:
    accelerator = reader.string("gcpGpuType")
    if accelerator and not _GCP_ACCELERATOR.match(accelerator):
        raise ConfigError("gcpGpuType", accelerator, "empty or a GKE accelerator type such as nvidia-l4 or nvidia-tesla-t4")
    count = reader.integer("gcpGpuCount", 1, 8)
    machine_type = _machine_type(reader, "gcpGpuMachineType")
    max_nodes = reader.integer("gcpGpuMaxNodes", 1, 100)
    return GpuPoolConfig(accelerator, count, machine_type, max_nodes) if accelerator else None


def _machine_type(reader: Reader, name: str) -> str:
    return reader.string(name, pattern=_GCP_MACHINE_TYPE, allowed="a Compute Engine machine type such as e2-standard-4")


@dataclass(frozen=True)
class StackConfig:
    stack: str
    cloud: str
    storage_class: str
    local: LocalConfig
    image: ImageConfig
    serving: ServingConfig
    tracking: TrackingConfig
    monitoring: MonitoringConfig
    gcp: GcpConfig
    azure: AzureConfig

    @property
    def mirrors_monitoring_chart(self) -> bool:
        """The stack installs kube-prometheus-stack and builds images, so it mirrors the chart's into its registry."""
        return self.image.build and self.monitoring.mode == MONITORING_INSTALL

    @property
    def runs_upstream_chart_images(self) -> bool:
        """The stack installs kube-prometheus-stack but builds no images: the chart runs upstream's, by tag."""
        return not self.image.build and self.monitoring.mode == MONITORING_INSTALL


_MODEL_URI_FORMS = "models:/<name>@<alias>, models:/<name>/<version> or runs:/<32-hex run id>/<path>"


def parse_model_uri(key: str, uri: str) -> ModelRef:
    registered = _REGISTERED_MODEL.match(uri)
    if registered:
        version = registered.group("version") or "@" + registered.group("alias")
        return ModelRef(uri, registered.group("name"), version)
    run = _RUN_MODEL.match(uri)
    if run:
        return ModelRef(uri, run.group("run"), run.group("path"))
    raise ConfigError(key, uri, _MODEL_URI_FORMS)


def model_ref(reader: Reader) -> ModelRef:
    """modelUri, with its alias pinned to modelVersion when that is set."""
    model = parse_model_uri("modelUri", reader.string("modelUri"))
    pinned = reader.integer("modelVersion", 0, 10**9)
    if not pinned:
        return model
    if not model.version.startswith("@"):
        raise ConfigError("modelVersion", str(pinned), f"0 unless modelUri names an alias (it is {model.uri})")
    return ModelRef(f"models:/{model.name}/{pinned}", model.name, str(pinned), pinned_alias=model.version[1:])


def canary_config(reader: Reader, stable: ModelRef) -> CanaryConfig | None:
    percent = reader.integer("canaryPercent", 1, 99)
    uri = reader.string("canaryModelUri")
    if not uri:
        return None
    model = parse_model_uri("canaryModelUri", uri)
    if model.uri == stable.uri:
        raise ConfigError("canaryModelUri", uri, f"empty or a model other than the stable one ({stable.uri})")
    return CanaryConfig(model, percent)


def gateway_ref(reader: Reader) -> GatewayRef | None:
    split = reader.string("canarySplit", choices=CANARY_SPLITS)
    text = reader.string("gateway")
    parts = text.split("/")
    valid = len(parts) == 2 and all(DNS_LABEL.match(part) for part in parts)
    if (text or split == "gateway") and not valid:
        raise ConfigError("gateway", text, "<namespace>/<name> of a Gateway (DNS labels), required when canarySplit is gateway")
    return GatewayRef(parts[0], parts[1]) if split == "gateway" else None


def resources(reader: Reader, prefix: str) -> Resources:
    def key(field: str) -> str:
        return prefix + field if prefix else field[0].lower() + field[1:]

    cpu_request, cpu_request_value = reader.quantity(key("CpuRequest"), "CPU")
    cpu_limit, cpu_limit_value = reader.quantity(key("CpuLimit"), "CPU")
    memory_request, memory_request_value = reader.quantity(key("MemoryRequest"), "memory")
    memory_limit, memory_limit_value = reader.quantity(key("MemoryLimit"), "memory")
    _at_least(key("CpuLimit"), cpu_limit, cpu_limit_value, key("CpuRequest"), cpu_request_value)
    _at_least(key("MemoryLimit"), memory_limit, memory_limit_value, key("MemoryRequest"), memory_request_value)
    return Resources(cpu_request, cpu_limit, memory_request, memory_limit)


def _at_least(name: str, text: str, value: Decimal, floor_name: str, floor: Decimal) -> None:
    if value < floor:
        raise ConfigError(name, text, f"a quantity at least {floor_name}")


# What one model server worker holds once MLflow and the model are loaded (docs/serving.md), and the least budget
# worth serving with. A worker's requests get half of the rest of its share of the memory limit: the budget is an
# estimate made before parsing, and the model's own predict allocates outside it.
WORKER_BASELINE_BYTES = 330 * 2**20
MIN_REQUEST_BUDGET_BYTES = 32 * 2**20


def memory_budget(limits: Resources, workers: int) -> int:
    limit = int(parse_quantity(limits.memory_limit) or 0)
    budget = (limit // workers - WORKER_BASELINE_BYTES) // 2
    if budget < MIN_REQUEST_BUDGET_BYTES:
        least = (WORKER_BASELINE_BYTES + 2 * MIN_REQUEST_BUDGET_BYTES) * workers // 2**20
        raise ConfigError("memoryLimit", limits.memory_limit, f"a quantity of at least {least}Mi for {workers} worker(s)")
    return budget


def serving_config(reader: Reader) -> ServingConfig:
    min_replicas = reader.integer("minReplicas", 1, 100)
    max_replicas = reader.integer("maxReplicas", 1, 100)
    if max_replicas < min_replicas:
        raise ConfigError("maxReplicas", str(max_replicas), f"an integer from minReplicas ({min_replicas}) to 100")
    model = model_ref(reader)
    serving_resources = resources(reader, "")
    workers = reader.integer("workers", 1, 16)
    return ServingConfig(
        namespace=reader.dns_label("namespace"),
        model=model,
        min_replicas=min_replicas,
        max_replicas=max_replicas,
        cpu_utilization_target=reader.integer("cpuUtilizationTarget", 1, 100),
        scale_down_stabilization_seconds=reader.integer("scaleDownStabilizationSeconds", 0, 3600),
        resources=serving_resources,
        workers=workers,
        max_batch_size=reader.integer("maxBatchSize", 1, 1024),
        max_batch_wait_ms=reader.integer("maxBatchWaitMs", 0, 1000),
        await_rollout=reader.boolean("awaitRollout"),
        rollout_deadline_seconds=reader.integer("rolloutDeadlineSeconds", 30, 7200),
        service_type=reader.string("serviceType", choices=SERVICE_TYPES),
        allowed_namespaces=reader.dns_labels("allowedNamespaces"),
        canary=canary_config(reader, model),
        gateway=gateway_ref(reader),
        memory_budget_bytes=memory_budget(serving_resources, workers),
    )


def image_config(reader: Reader) -> ImageConfig:
    build = reader.boolean("imageBuild")
    prebuilt = reader.string("image")
    if not build and not _IMAGE_REF.match(prebuilt):
        raise ConfigError("image", prebuilt,
                          "an image reference (registry/repo:tag or registry/repo@sha256:<digest>) when imageBuild is false")
    if build and prebuilt:
        raise ConfigError("image", prebuilt, "empty when imageBuild is true (set imageBuild: false to deploy a prebuilt image)")
    repository = reader.string("imageRepository", pattern=_REPOSITORY, allowed="a repository path (lower-case, '/', '.', '_', '-')")
    base = reader.string("imageBase")
    if base and not _IMAGE_REF.match(base) and not _LOCAL_IMAGE.match(base):
        raise ConfigError("imageBase", base, "empty or an image reference")
    return ImageConfig(build, prebuilt, repository, base)


def tracking_config(reader: Reader) -> TrackingConfig:
    version = reader.string("mlflowVersion", pattern=_VERSION, allowed="an MLflow release version x.y.z")
    image = reader.string("trackingImage")
    if image and not _IMAGE_REF.match(image):
        raise ConfigError("trackingImage", image, "empty or an image reference (registry/repo:tag or @sha256:<digest>)")
    if image and reader.boolean("imageBuild"):
        raise ConfigError("trackingImage", image, "empty when imageBuild is true "
                          "(the stack builds tracking/; set imageBuild: false to deploy a prebuilt image)")
    storage_size, _ = reader.quantity("trackingStorageSize", "storage")
    return TrackingConfig(
        namespace=reader.dns_label("trackingNamespace"),
        mlflow_version=version,
        # The -full variant carries the database drivers and object-store clients the cloud stores need.
        image=image or f"ghcr.io/mlflow/mlflow:v{version}-full",
        image_repository=reader.string("trackingImageRepository", pattern=_REPOSITORY,
                                       allowed="a repository path (lower-case, '/', '.', '_', '-')"),
        storage_size=storage_size,
        workers=reader.integer("trackingWorkers", 1, 16),
        resources=resources(reader, "tracking"),
        admin_user=reader.string("mlflowAdminUser", pattern=re.compile(r"^[A-Za-z][\w.-]{0,63}$"),
                                 allowed="a user name (letters, digits, '.', '_', '-')"),
    )


def build_config(stack: str, reader: Reader) -> StackConfig:
    cloud = reader.string("cloud", choices=CLOUDS)
    return StackConfig(
        stack=stack,
        cloud=cloud,
        storage_class=reader.string("storageClass", pattern=_STORAGE_CLASS, allowed="empty or a StorageClass name (a DNS subdomain)"),
        local=LocalConfig(
            kubeconfig=reader.string("kubeconfig"),
            context=reader.string("kubeContext"),
            registry=reader.string("registry", pattern=_REGISTRY, allowed="a registry address host[:port][/path]"),
        ),
        image=image_config(reader),
        serving=serving_config(reader),
        tracking=tracking_config(reader),
        monitoring=monitoring_config(reader),
        gcp=gcp_config(reader, cloud),
        azure=azure_config(reader, cloud),
    )
