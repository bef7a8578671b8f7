"""The azure section of the stack configuration: validated whatever the cloud, so a typo fails on every stack."""
import json
import re
from dataclasses import dataclass

from .errors import ConfigError
from .reader import Reader

_SUBSCRIPTION = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_VM_SIZE = re.compile(r"^Standard_[A-Z][A-Za-z0-9]*(_[A-Za-z0-9]+)*$")
_GPU_VM_SIZE = re.compile(r"^Standard_N[A-Za-z0-9]*(_[A-Za-z0-9]+)*$")
_POSTGRES_SKU = re.compile(r"^Standard_(?P<family>[BDE])[A-Za-z0-9]*(_[A-Za-z0-9]+)*$")
POSTGRES_TIERS = {"B": "Burstable", "D": "GeneralPurpose", "E": "MemoryOptimized"}
ZONES = ("1", "2", "3")
UPGRADE_CHANNELS = ("patch", "stable", "rapid", "node-image")
CLUSTER_TIERS = ("Free", "Standard")
REGISTRY_SKUS = ("Basic", "Standard", "Premium")
KUBELOGIN_MODES = ("azurecli", "workloadidentity", "spn", "msi", "azd")
PRINCIPAL_TYPES = ("User", "ServicePrincipal")
# The public cloud's physical regions (`az account list-locations --query "[?metadata.regionType=='Physical'].name"`);
# a region opened after this list was written needs one more entry.
AZURE_REGIONS = frozenset({
    "australiacentral", "australiacentral2", "australiaeast", "australiasoutheast", "austriaeast", "belgiumcentral",
    "brazilsouth", "brazilsoutheast", "canadacentral", "canadaeast", "centralindia", "centralus", "chilecentral",
    "denmarkeast", "eastasia", "eastus", "eastus2", "francecentral", "francesouth", "germanynorth",
    "germanywestcentral", "indonesiacentral", "israelcentral", "italynorth", "japaneast", "japanwest",
    "jioindiacentral", "jioindiawest", "koreacentral", "koreasouth", "malaysiawest", "mexicocentral",
    "newzealandnorth", "northcentralus", "northeurope", "norwayeast", "norwaywest", "polandcentral", "qatarcentral",
    "southafricanorth", "southafricawest", "southcentralus", "southeastasia", "southindia", "spaincentral",
    "swedencentral", "swedensouth", "switzerlandnorth", "switzerlandwest", "uaecentral", "uaenorth", "uksouth",
    "ukwest", "westcentralus", "westeurope", "westindia", "westus", "westus2", "westus3",
})


@dataclass(frozen=True)
class NodePoolConfig:
    vm_size: str
    min_nodes: int
    max_nodes: int


@dataclass(frozen=True)
class AzureGpuPoolConfig:
    vm_size: str
    count: int  # GPUs each model server pod requests
    max_nodes: int


@dataclass(frozen=True)
class AzurePostgresConfig:
    sku: str
    tier: str
    high_availability: bool
    backup_days: int
    geo_redundant_backup: bool


@dataclass(frozen=True)
class AzureConfig:
    subscription_id: str
    location: str
    zones: tuple[str, ...]
    upgrade_channel: str
    cluster_tier: str
    authorized_ip_ranges: tuple[str, ...]
    disable_local_accounts: bool
    deletion_protection: bool
    kubelogin_mode: str
    deployer_principal_type: str
    system_pool: NodePoolConfig
    user_pool: NodePoolConfig
    gpu: AzureGpuPoolConfig | None
    registry_sku: str
    postgres: AzurePostgresConfig
    blob_soft_delete_days: int


def azure_config(reader: Reader, cloud: str) -> AzureConfig:
    subscription = reader.string("azureSubscriptionId")
    if (subscription or cloud == "azure") and not _SUBSCRIPTION.match(subscription):
        raise ConfigError("azureSubscriptionId", subscription,
                          "a subscription ID (a lower-case GUID), required when cloud is azure")
    location = reader.string("azureLocation")
    if location not in AZURE_REGIONS:
        raise ConfigError("azureLocation", location, "an Azure region name such as westeurope, eastus2 or swedencentral")
    return AzureConfig(
        subscription_id=subscription,
        location=location,
        zones=_zones(reader),
        upgrade_channel=reader.string("azureUpgradeChannel", choices=UPGRADE_CHANNELS),
        cluster_tier=reader.string("azureClusterTier", choices=CLUSTER_TIERS),
        authorized_ip_ranges=reader.ipv4_cidrs("azureAuthorizedIpRanges"),
        disable_local_accounts=reader.boolean("azureDisableLocalAccounts"),
        deletion_protection=reader.boolean("azureDeletionProtection"),
        kubelogin_mode=reader.string("azureKubeloginMode", choices=KUBELOGIN_MODES),
        deployer_principal_type=reader.string("azureDeployerPrincipalType", choices=PRINCIPAL_TYPES),
        system_pool=_pool(reader, "azureSystem"),
        user_pool=_pool(reader, "azure"),
        gpu=_gpu_pool(reader),
        registry_sku=reader.string("azureRegistrySku", choices=REGISTRY_SKUS),
        postgres=_postgres(reader),
        blob_soft_delete_days=reader.integer("azureBlobSoftDeleteDays", 0, 365),
    )


def _zones(reader: Reader) -> tuple[str, ...]:
    text = reader.string("azureAvailabilityZones")
    try:
        zones = json.loads(text)
    except ValueError:
        zones = None
    if not isinstance(zones, list) or not all(z in ZONES for z in zones) or len(set(zones)) != len(zones):
        raise ConfigError("azureAvailabilityZones", text, 'a list of distinct zones out of "1", "2", "3" (e.g. ["1", "2", "3"])')
    return tuple(zones)


def _vm_size(reader: Reader, name: str) -> str:
    return reader.string(name, pattern=_VM_SIZE, allowed="an Azure VM size such as Standard_D4s_v5")


def _pool(reader: Reader, prefix: str) -> NodePoolConfig:
    vm_size = _vm_size(reader, f"{prefix}VmSize")
    low = reader.integer(f"{prefix}MinNodes", 1, 100)
    high = reader.integer(f"{prefix}MaxNodes", 1, 100)
    if high < low:
        raise ConfigError(f"{prefix}MaxNodes", str(high), f"an integer from {prefix}MinNodes ({low}) to 100")
    return NodePoolConfig(vm_size, low, high)


def _gpu_pool(reader: Reader) -> AzureGpuPoolConfig | None:
    vm_size = reader.string("azureGpuVmSize")
    if vm_size and not _GPU_VM_SIZE.match(vm_size):
        raise ConfigError("azureGpuVmSize", vm_size, "empty or an N-series GPU VM size such as Standard_NC4as_T4_v3")
    count = reader.integer("azureGpuCount", 1, 8)
    max_nodes = reader.integer("azureGpuMaxNodes", 1, 100)
    return AzureGpuPoolConfig(vm_size, count, max_nodes) if vm_size else None


def _postgres(reader: Reader) -> AzurePostgresConfig:
    sku = reader.string("azurePostgresSku")
    match = _POSTGRES_SKU.match(sku)
    if not match:
        raise ConfigError("azurePostgresSku", sku,
                          "a PostgreSQL flexible server SKU such as Standard_B1ms, Standard_D2ds_v5 or Standard_E2ds_v5")
    tier = POSTGRES_TIERS[match.group("family")]
    high_availability = reader.boolean("azurePostgresHighAvailability")
    if high_availability and tier == "Burstable":
        raise ConfigError("azurePostgresHighAvailability", "true",
                          f"false with the Burstable SKU {sku} (high availability needs Standard_D* or Standard_E*)")
    return AzurePostgresConfig(
        sku=sku,
        tier=tier,
        high_availability=high_availability,
        backup_days=reader.integer("azurePostgresBackupDays", 7, 35),
        geo_redundant_backup=reader.boolean("azurePostgresGeoRedundantBackup"),
    )
