"""The guarantees of the AKS platform hold for every valid azure configuration, not only for the stack files."""
import ipaddress
import json
from functools import cache

from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from infra.render import Rendered

from .conftest import namespaces, only, plain, render_platform, render_with_namespaces

PLATFORM_RUNS = settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# One seed for every property: tests drawing from the same strategies get the same examples, rendered once and shared.
SHARED_EXAMPLES = 20261204
STACK_RUNS = settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow])
MANAGED_CLUSTER = "azure-native:containerservice:ManagedCluster"
AGENT_POOL = "azure-native:containerservice:AgentPool"
ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"
FEDERATED = "azure-native:managedidentity:FederatedIdentityCredential"
KEY_MARKERS = ("AZURE_STORAGE_CONNECTION_STRING", "AZURE_STORAGE_ACCESS_KEY", "AZURE_CLIENT_SECRET", "AccountKey=")

cidrs = st.builds(lambda address, prefix: str(ipaddress.IPv4Network(f"{address}/{prefix}", strict=False)),
                  st.ip_addresses(v=4), st.integers(8, 32))


@st.composite
def pool_bounds(draw, prefix: str) -> dict:
    low = draw(st.integers(1, 10))
    return {f"{prefix}MinNodes": low, f"{prefix}MaxNodes": draw(st.integers(low, 20))}


@st.composite
def azure_configs(draw) -> dict:
    """Any valid combination of the azure keys, on top of the aks-prod stack file."""
    postgres_sku = draw(st.sampled_from(["Standard_B1ms", "Standard_D2ds_v5", "Standard_E4ds_v5"]))
    return {
        "azureAvailabilityZones": draw(st.lists(st.sampled_from(["1", "2", "3"]), unique=True)),
        "azureUpgradeChannel": draw(st.sampled_from(["patch", "stable", "rapid", "node-image"])),
        "azureClusterTier": draw(st.sampled_from(["Free", "Standard"])),
        "azureAuthorizedIpRanges": draw(st.lists(cidrs, max_size=3)),
        "azureDisableLocalAccounts": draw(st.booleans()),
        "azureDeletionProtection": draw(st.booleans()),
        "azureDeployerPrincipalType": draw(st.sampled_from(["User", "ServicePrincipal"])),
        **draw(pool_bounds("azureSystem")),
        **draw(pool_bounds("azure")),
        "azureGpuVmSize": draw(st.sampled_from(["", "Standard_NC4as_T4_v3"])),
        "azureRegistrySku": draw(st.sampled_from(["Basic", "Standard", "Premium"])),
        "azurePostgresSku": postgres_sku,
        "azurePostgresHighAvailability": draw(st.booleans()) and not postgres_sku.startswith("Standard_B"),
        "azurePostgresBackupDays": draw(st.integers(7, 35)),
        "azurePostgresGeoRedundantBackup": draw(st.booleans()),
        "azureBlobSoftDeleteDays": draw(st.integers(0, 365)),
    }


def platform_of(config: dict) -> Rendered:
    return _platform(json.dumps(config, sort_keys=True))


@cache
def _platform(config: str) -> Rendered:
    return render_platform("aks-prod", **json.loads(config))


@seed(SHARED_EXAMPLES)
@PLATFORM_RUNS
@given(azure_configs())
def test_the_cluster_always_has_entra_id_azure_rbac_workload_identity_and_network_policy(config):
    cluster = only(platform_of(config), MANAGED_CLUSTER)
    assert cluster["aadProfile"] == {"managed": True, "enableAzureRBAC": True} and cluster["enableRBAC"] is True
    assert cluster["oidcIssuerProfile"] == {"enabled": True}
    assert cluster["securityProfile"]["workloadIdentity"] == {"enabled": True}
    assert cluster["networkProfile"]["networkPolicy"] == "cilium" and cluster["networkProfile"]["networkPlugin"] == "azure"
    assert cluster["disableLocalAccounts"] is config["azureDisableLocalAccounts"]
    ranges = cluster.get("apiServerAccessProfile", {}).get("authorizedIPRanges", [])
    assert ranges == config["azureAuthorizedIpRanges"]


@seed(SHARED_EXAMPLES)
@PLATFORM_RUNS
@given(azure_configs())
def test_every_pool_autoscales_within_its_configured_bounds_in_the_configured_zones(config):
    rendered = platform_of(config)
    system, = only(rendered, MANAGED_CLUSTER)["agentPoolProfiles"]
    pools = {plain(r)["agentPoolName"]: plain(r) for r in rendered.of_type(AGENT_POOL)}
    assert set(pools) == ({"user", "gpu"} if config["azureGpuVmSize"] else {"user"})
    expected = {"system": (config["azureSystemMinNodes"], config["azureSystemMaxNodes"]),
                "user": (config["azureMinNodes"], config["azureMaxNodes"]), "gpu": (0, 1)}
    for name, pool in {"system": system, **pools}.items():
        assert pool["enableAutoScaling"] is True
        assert (pool["minCount"], pool["maxCount"]) == expected[name] and pool["count"] == expected[name][0]
        assert pool["vnetSubnetID"] == "network-nodes-id"
    for pool in (system, pools["user"]):
        assert pool.get("availabilityZones", []) == config["azureAvailabilityZones"]


@seed(SHARED_EXAMPLES)
@PLATFORM_RUNS
@given(azure_configs())
def test_no_store_is_ever_public_or_reachable_with_a_key_and_the_registry_has_no_admin_user(config):
    rendered = platform_of(config)
    account = only(rendered, "azure-native:storage:StorageAccount")
    assert account["allowSharedKeyAccess"] is False and account["allowBlobPublicAccess"] is False
    assert account["networkRuleSet"]["defaultAction"] == "Deny" and account["minimumTlsVersion"] == "TLS1_2"
    assert only(rendered, "azure-native:storage:BlobContainer")["publicAccess"] == "None"
    assert only(rendered, "azure-native:dbforpostgresql:Server")["network"]["publicNetworkAccess"] == "Disabled"
    assert not rendered.of_type("azure-native:dbforpostgresql:FirewallRule")
    assert only(rendered, "azure-native:containerregistry:Registry")["adminUserEnabled"] is False


@seed(SHARED_EXAMPLES)
@PLATFORM_RUNS
@given(azure_configs())
def test_roles_go_only_to_the_stacks_own_principals_and_never_to_a_whole_group_or_subscription(config):
    rendered = platform_of(config)
    identities = {f"{r.name}-principal-id" for r in rendered.of_type("azure-native:managedidentity:UserAssignedIdentity")}
    own = identities | {"kubelet-object-id", "deployer-object-id"}
    for assignment in map(plain, rendered.of_type(ROLE_ASSIGNMENT)):
        assert assignment["principalId"] in own
        assert not assignment["scope"].startswith(("/subscriptions/", "resource-group"))
        expected_type = config["azureDeployerPrincipalType"] if assignment["principalId"] == "deployer-object-id" else "ServicePrincipal"
        assert assignment["principalType"] == expected_type


@seed(SHARED_EXAMPLES)
@PLATFORM_RUNS
@given(azure_configs())
def test_the_resource_group_is_locked_exactly_when_deletion_protection_is_on(config):
    locks = platform_of(config).of_type("azure-native:authorization:ManagementLockAtResourceGroupLevel")
    assert [plain(lock)["level"] for lock in locks] == (["CanNotDelete"] if config["azureDeletionProtection"] else [])


def stack_of(config: dict, names: list[str]) -> Rendered:
    return render_with_namespaces("aks-prod", config, names)


@seed(SHARED_EXAMPLES)
@STACK_RUNS
@given(azure_configs(), namespaces)
def test_only_mlflow_is_federated_and_with_exactly_the_service_account_its_pods_run_as(config, names):
    rendered = stack_of(config, names)
    subjects = {plain(f)["resourceName"]: plain(f)["subject"] for f in rendered.of_type(FEDERATED)}
    federated_accounts = set()
    for deployment in (o for o in rendered.kubernetes_objects() if o["kind"] == "Deployment"):
        pod, namespace = deployment["spec"]["template"], deployment["metadata"]["namespace"]
        account = pod["spec"]["serviceAccountName"]
        service_account = next(o for o in rendered.kubernetes_objects() if o["kind"] == "ServiceAccount"
                               and o["metadata"]["name"] == account and o["metadata"]["namespace"] == namespace)
        client_id = (service_account["metadata"].get("annotations") or {}).get("azure.workload.identity/client-id")
        if client_id is None:  # no identity: the webhook must not touch its pods either
            assert "azure.workload.identity/use" not in pod["metadata"]["labels"]
            continue
        identity = client_id.removesuffix("-client-id")
        assert subjects[identity] == f"system:serviceaccount:{namespace}:{account}"
        assert pod["metadata"]["labels"]["azure.workload.identity/use"] == "true"
        federated_accounts.add(identity)
    assert federated_accounts == set(subjects) == {"mlflow"}
    assert set(subjects.values()) == {f"system:serviceaccount:{names[1]}:mlflow"}


@seed(SHARED_EXAMPLES)
@STACK_RUNS
@given(azure_configs(), namespaces)
def test_no_storage_key_or_client_secret_exists_anywhere(config, names):
    rendered = stack_of(config, names)
    text = json.dumps([r.inputs for r in rendered.resources], default=str)
    assert not [marker for marker in KEY_MARKERS if marker in text]
