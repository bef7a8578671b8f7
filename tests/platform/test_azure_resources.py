"""Every Azure resource of the aks-dev and aks-prod stack files, under mocks, and every difference between them."""
import base64
import ipaddress

import pytest
import yaml
from cryptography import x509

from infra.render import MOCK_TENANT_ID, is_secret, unwrapped

from .conftest import kubernetes_object, named, only, plain, render

STACKS = ("aks-dev", "aks-prod")
SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"
MANAGED_CLUSTER = "azure-native:containerservice:ManagedCluster"
AGENT_POOL = "azure-native:containerservice:AgentPool"
REGISTRY = "azure-native:containerregistry:Registry"
ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"
STORAGE_ACCOUNT = "azure-native:storage:StorageAccount"
BLOB_SERVICE = "azure-native:storage:BlobServiceProperties"
BLOB_CONTAINER = "azure-native:storage:BlobContainer"
POSTGRES = "azure-native:dbforpostgresql:Server"
IDENTITY = "azure-native:managedidentity:UserAssignedIdentity"
FEDERATED = "azure-native:managedidentity:FederatedIdentityCredential"
SUBNET = "azure-native:network:Subnet"
LOCK = "azure-native:authorization:ManagementLockAtResourceGroupLevel"


def role(guid: str) -> str:
    return f"/subscriptions/{SUBSCRIPTION}/providers/Microsoft.Authorization/roleDefinitions/{guid}"


ACR_PULL, ACR_PUSH = role("7f951dda-4ed3-4680-a7ca-43fe172d538d"), role("8311e382-0749-4cb8-b61a-04e5fd8cc7ed")
BLOB_CONTRIBUTOR, BLOB_READER = role("ba92f5b4-2d11-453d-a403-e96b0029c9fe"), role("2a2b9908-6ea1-4ae2-8e65-a410df84e7d1")
AKS_CLUSTER_ADMIN = role("b1ff04bb-8a4e-4dc4-8eb5-8693973ce19b")


@pytest.fixture(scope="module")
def stacks(aks_dev, aks_prod):
    return {"aks-dev": aks_dev, "aks-prod": aks_prod}


def grants(rendered) -> dict[str, dict]:
    return {r.name: plain(r) for r in rendered.of_type(ROLE_ASSIGNMENT)}


# Provider and resource group

@pytest.mark.parametrize("stack", STACKS)
def test_every_azure_resource_goes_to_the_configured_subscription_and_region_in_the_stacks_group(stacks, stack):
    rendered = stacks[stack]
    provider = named(rendered, "pulumi:providers:azure-native", "azure")
    assert (provider["subscriptionId"], provider["location"]) == (SUBSCRIPTION, "westeurope")
    group = only(rendered, "azure-native:resources:ResourceGroup")
    assert group == {"resourceGroupName": f"mlstack-{stack}", "location": "westeurope"}
    regional = [plain(r) for r in rendered.resources if r.type.startswith("azure-native:") and "location" in r.inputs]
    assert {r["location"] for r in regional} <= {"westeurope", "global"}  # private DNS zones are global
    groups = {plain(r)["resourceGroupName"] for r in rendered.resources
              if r.type.startswith("azure-native:") and "resourceGroupName" in r.inputs}
    assert groups == {f"mlstack-{stack}"}


def test_the_prod_resource_group_cannot_be_deleted_and_the_dev_one_can(aks_dev, aks_prod):
    assert not aks_dev.of_type(LOCK)
    lock = only(aks_prod, LOCK)
    assert (lock["level"], lock["resourceGroupName"]) == ("CanNotDelete", "mlstack-aks-prod")


# Network

def test_the_vnet_holds_a_node_subnet_and_a_database_subnet_disjoint_from_the_pod_and_service_ranges(aks_dev):
    vnet = ipaddress.ip_network(only(aks_dev, "azure-native:network:VirtualNetwork")["addressSpace"]["addressPrefixes"][0])
    subnets = {r.name: plain(r) for r in aks_dev.of_type(SUBNET)}
    nodes, database = (ipaddress.ip_network(subnets[n]["addressPrefix"]) for n in ("network-nodes", "network-database"))
    assert nodes.subnet_of(vnet) and database.subnet_of(vnet) and not nodes.overlaps(database)
    profile = only(aks_dev, MANAGED_CLUSTER)["networkProfile"]
    overlay = [ipaddress.ip_network(profile[key]) for key in ("podCidr", "serviceCidr")]
    assert not any(r.overlaps(vnet) for r in overlay) and not overlay[0].overlaps(overlay[1])
    assert ipaddress.ip_address(profile["dnsServiceIP"]) in overlay[1]


def test_the_database_subnet_is_delegated_and_the_node_subnet_has_a_storage_service_endpoint(aks_dev):
    subnets = {r.name: plain(r) for r in aks_dev.of_type(SUBNET)}
    assert subnets["network-database"]["delegations"] == [
        {"name": "postgres", "serviceName": "Microsoft.DBforPostgreSQL/flexibleServers"}]
    assert subnets["network-nodes"]["serviceEndpoints"] == [{"service": "Microsoft.Storage"}]


# Cluster

@pytest.mark.parametrize("stack", STACKS)
def test_the_cluster_has_entra_id_with_azure_rbac_oidc_workload_identity_and_cilium_network_policy(stacks, stack):
    cluster = only(stacks[stack], MANAGED_CLUSTER)
    assert cluster["aadProfile"] == {"managed": True, "enableAzureRBAC": True}
    assert cluster["enableRBAC"] is True
    assert cluster["oidcIssuerProfile"] == {"enabled": True}
    assert cluster["securityProfile"] == {"workloadIdentity": {"enabled": True}}
    network = cluster["networkProfile"]
    assert (network["networkPlugin"], network["networkPluginMode"]) == ("azure", "overlay")
    assert (network["networkPolicy"], network["networkDataplane"]) == ("cilium", "cilium")
    assert cluster["identity"] == {"type": "SystemAssigned"}


def test_local_accounts_are_disabled_on_prod_and_kept_on_dev(aks_dev, aks_prod):
    assert only(aks_dev, MANAGED_CLUSTER)["disableLocalAccounts"] is False
    assert only(aks_prod, MANAGED_CLUSTER)["disableLocalAccounts"] is True


def test_prod_has_the_sla_tier_and_the_stable_channel_and_dev_the_free_tier_and_the_rapid_channel(aks_dev, aks_prod):
    dev, prod = only(aks_dev, MANAGED_CLUSTER), only(aks_prod, MANAGED_CLUSTER)
    assert (dev["sku"], prod["sku"]) == ({"name": "Base", "tier": "Free"}, {"name": "Base", "tier": "Standard"})
    assert (dev["autoUpgradeProfile"]["upgradeChannel"], prod["autoUpgradeProfile"]["upgradeChannel"]) == ("rapid", "stable")


def test_only_the_configured_networks_reach_the_prod_api_server(aks_dev, aks_prod):
    assert "apiServerAccessProfile" not in only(aks_dev, MANAGED_CLUSTER)
    assert only(aks_prod, MANAGED_CLUSTER)["apiServerAccessProfile"] == {"authorizedIPRanges": ["203.0.113.0/24"]}


def test_prod_pools_spread_over_three_zones_and_dev_pools_are_not_pinned(aks_dev, aks_prod):
    assert "availabilityZones" not in only(aks_dev, MANAGED_CLUSTER)["agentPoolProfiles"][0]
    assert "availabilityZones" not in only(aks_dev, AGENT_POOL)
    assert only(aks_prod, MANAGED_CLUSTER)["agentPoolProfiles"][0]["availabilityZones"] == ["1", "2", "3"]
    assert only(aks_prod, AGENT_POOL)["availabilityZones"] == ["1", "2", "3"]


def test_the_system_pool_autoscales_and_keeps_workloads_off_with_the_critical_addons_taint(aks_dev, aks_prod):
    for rendered, bounds, size in ((aks_dev, (1, 2), "Standard_D2s_v5"), (aks_prod, (3, 5), "Standard_D4s_v5")):
        system, = only(rendered, MANAGED_CLUSTER)["agentPoolProfiles"]
        assert (system["name"], system["mode"], system["enableAutoScaling"]) == ("system", "System", True)
        assert (system["minCount"], system["maxCount"], system["count"], system["vmSize"]) == (*bounds, bounds[0], size)
        assert system["nodeTaints"] == ["CriticalAddonsOnly=true:NoSchedule"]
        assert system["vnetSubnetID"] == "network-nodes-id"


def test_the_user_pool_autoscales_within_the_configured_bounds_on_the_configured_vm_size(aks_dev, aks_prod):
    dev, prod = only(aks_dev, AGENT_POOL), only(aks_prod, AGENT_POOL)
    assert (dev["agentPoolName"], dev["mode"], dev["resourceName"]) == ("user", "User", "aks")
    assert (dev["minCount"], dev["maxCount"], dev["vmSize"]) == (1, 3, "Standard_D2s_v5")
    assert (prod["minCount"], prod["maxCount"], prod["vmSize"]) == (3, 9, "Standard_D4s_v5")
    assert dev["enableAutoScaling"] is True and prod["enableAutoScaling"] is True
    assert "nodeTaints" not in dev and dev["vnetSubnetID"] == "network-nodes-id"


def test_there_is_no_gpu_pool_unless_a_gpu_vm_size_is_configured(aks_dev, aks_prod):
    assert [r.name for r in aks_dev.of_type(AGENT_POOL) + aks_prod.of_type(AGENT_POOL)] == ["aks-user", "aks-user"]


def test_a_configured_gpu_pool_has_its_vm_size_taint_and_label_and_scales_from_zero():
    rendered = render("aks-prod", azureGpuVmSize="Standard_NC8as_T4_v3", azureGpuMaxNodes=4)
    pool = named(rendered, AGENT_POOL, "aks-gpu")
    assert (pool["vmSize"], pool["mode"], pool["minCount"], pool["maxCount"], pool["count"]) == (
        "Standard_NC8as_T4_v3", "User", 0, 4, 0)
    assert pool["nodeTaints"] == ["nvidia.com/gpu=present:NoSchedule"]
    assert pool["nodeLabels"] == {"mlstack.io/pool": "gpu"}


@pytest.mark.parametrize("stack", STACKS)
def test_whoever_runs_pulumi_gets_cluster_admin_on_this_cluster_only(stacks, stack):
    admin = [g for g in grants(stacks[stack]).values() if g["roleDefinitionId"] == AKS_CLUSTER_ADMIN]
    assert admin == [{"scope": "aks-id", "roleDefinitionId": AKS_CLUSTER_ADMIN, "principalId": "deployer-object-id",
                      "principalType": "User"}]


def test_a_ci_service_principal_is_granted_as_a_service_principal():
    rendered = render("aks-dev", azureDeployerPrincipalType="ServicePrincipal")
    assert {g["principalType"] for name, g in grants(rendered).items() if name.endswith(("deployer-admin", "deployer-push"))} == {
        "ServicePrincipal"}


# Container Registry

@pytest.mark.parametrize("stack,sku", [("aks-dev", "Basic"), ("aks-prod", "Premium")])
def test_the_registry_has_no_admin_user_and_no_anonymous_pull(stacks, stack, sku):
    registry = only(stacks[stack], REGISTRY)
    assert registry["adminUserEnabled"] is False and registry["anonymousPullEnabled"] is False
    assert registry["sku"] == {"name": sku}
    assert registry["registryName"].isalnum() and registry["registryName"].startswith("mlstack")


def test_the_kubelet_identity_may_pull_and_the_deployer_may_push_and_nothing_else_on_the_registry(aks_dev):
    on_registry = {name: g for name, g in grants(aks_dev).items() if g["scope"] == "registry-id"}
    assert on_registry == {
        "registry-kubelet-pull": {"scope": "registry-id", "roleDefinitionId": ACR_PULL, "principalId": "kubelet-object-id",
                                  "principalType": "ServicePrincipal"},
        "registry-deployer-push": {"scope": "registry-id", "roleDefinitionId": ACR_PUSH, "principalId": "deployer-object-id",
                                   "principalType": "User"},
    }
    assert not [r for r in aks_dev.resources if "listRegistryCredentials" in r.type]


@pytest.mark.parametrize("stack", STACKS)
def test_the_images_go_to_the_registry_and_are_deployed_by_digest(stacks, stack):
    login_server = f"{only(stacks[stack], REGISTRY)['registryName']}.azurecr.io"
    for build, repository in (("serving-image-build", "mlstack-serving"), ("tracking-image-build", "mlstack-tracking")):
        image = named(stacks[stack], "docker-build:index:Image", build)
        assert all(tag.startswith(f"{login_server}/{repository}:") for tag in image["tags"])
    container = kubernetes_object(stacks[stack], "Deployment", "model-server")["spec"]["template"]["spec"]["containers"][0]
    assert container["image"].startswith(f"{login_server}/mlstack-serving@sha256:")


# MLflow stores

@pytest.mark.parametrize("stack", STACKS)
def test_the_storage_account_takes_no_keys_no_anonymous_reads_only_https_tls12_and_only_the_node_subnet(stacks, stack):
    account = only(stacks[stack], STORAGE_ACCOUNT)
    assert account["allowSharedKeyAccess"] is False and account["defaultToOAuthAuthentication"] is True
    assert account["allowBlobPublicAccess"] is False
    assert account["enableHttpsTrafficOnly"] is True and account["minimumTlsVersion"] == "TLS1_2"
    assert account["networkRuleSet"] == {"defaultAction": "Deny", "bypass": "None", "virtualNetworkRules": [
        {"virtualNetworkResourceId": "network-nodes-id", "action": "Allow"}]}
    assert len(account["accountName"]) <= 24 and account["accountName"].isalnum()


def test_prod_artifacts_are_zone_redundant_and_soft_deleted_for_thirty_days_and_dev_artifacts_are_neither(aks_dev, aks_prod):
    assert (only(aks_dev, STORAGE_ACCOUNT)["sku"], only(aks_prod, STORAGE_ACCOUNT)["sku"]) == (
        {"name": "Standard_LRS"}, {"name": "Standard_ZRS"})
    for policy in ("deleteRetentionPolicy", "containerDeleteRetentionPolicy"):
        assert only(aks_dev, BLOB_SERVICE)[policy] == {"enabled": False}
        assert only(aks_prod, BLOB_SERVICE)[policy] == {"enabled": True, "days": 30}


def test_the_artifact_container_is_private(aks_dev):
    container = only(aks_dev, BLOB_CONTAINER)
    assert (container["containerName"], container["publicAccess"]) == ("mlflow-artifacts", "None")


@pytest.mark.parametrize("stack", STACKS)
def test_the_database_has_no_public_endpoint_lives_in_its_delegated_subnet_and_requires_tls(stacks, stack):
    rendered = stacks[stack]
    server = only(rendered, POSTGRES)
    assert server["network"] == {"delegatedSubnetResourceId": "network-database-id",
                                 "privateDnsZoneArmResourceId": "mlflow-stores-postgres-dns-id", "publicNetworkAccess": "Disabled"}
    zone = only(rendered, "azure-native:privatedns:PrivateZone")
    assert zone["privateZoneName"].endswith(".private.postgres.database.azure.com")
    link = only(rendered, "azure-native:privatedns:VirtualNetworkLink")
    assert link["virtualNetwork"] == {"id": "network-id"} and link["registrationEnabled"] is False
    tls = only(rendered, "azure-native:dbforpostgresql:Configuration")
    assert (tls["configurationName"], tls["value"]) == ("require_secure_transport", "on")
    assert server["version"] == "16" and server["storage"]["autoGrow"] == "Enabled"


def test_the_prod_database_has_a_zone_redundant_standby_and_longer_geo_redundant_backups(aks_dev, aks_prod):
    dev, prod = only(aks_dev, POSTGRES), only(aks_prod, POSTGRES)
    assert (dev["sku"], prod["sku"]) == ({"name": "Standard_B1ms", "tier": "Burstable"},
                                         {"name": "Standard_D2ds_v5", "tier": "GeneralPurpose"})
    assert (dev["highAvailability"], prod["highAvailability"]) == ({"mode": "Disabled"}, {"mode": "ZoneRedundant"})
    assert dev["backup"] == {"backupRetentionDays": 7, "geoRedundantBackup": "Disabled"}
    assert prod["backup"] == {"backupRetentionDays": 35, "geoRedundantBackup": "Enabled"}


def test_mlflow_gets_its_own_database_and_user_with_a_generated_secret_password(aks_dev):
    assert only(aks_dev, "azure-native:dbforpostgresql:Database")["databaseName"] == "mlflow"
    server = aks_dev.of_type(POSTGRES)[0]
    assert unwrapped(server.inputs["administratorLogin"]) == "mlflow"
    assert is_secret(server.inputs["administratorLoginPassword"])
    assert plain(server)["authConfig"] == {"passwordAuth": "Enabled", "activeDirectoryAuth": "Disabled"}
    generated = [r for r in aks_dev.of_type("random:index/randomPassword:RandomPassword") if r.name == "mlflow-stores-database-password"]
    assert len(generated) == 1 and generated[0].inputs["length"] >= 32


# Identities

def test_the_mlflow_identity_may_write_blobs_of_the_account_and_is_the_only_workload_identity(aks_dev):
    granted = grants(aks_dev)
    assert granted["mlflow-role"] == {"scope": "mlflow-stores-account-id", "roleDefinitionId": BLOB_CONTRIBUTOR,
                                      "principalId": "mlflow-principal-id", "principalType": "ServicePrincipal"}
    assert sorted(r.name for r in aks_dev.of_type(IDENTITY)) == ["mlflow"]


def test_no_grant_reads_or_writes_blobs_but_mlflows(aks_dev):
    """The model server loads artifacts through the tracking server's proxy, as on GKE: no blob role of its own."""
    blob_roles = {BLOB_CONTRIBUTOR, BLOB_READER}
    assert [name for name, grant in grants(aks_dev).items() if grant["roleDefinitionId"] in blob_roles] == ["mlflow-role"]


def test_each_identity_trusts_exactly_its_kubernetes_service_account_through_the_clusters_issuer(aks_dev):
    issuer = f"https://westeurope.oic.prod-aks.azure.com/{MOCK_TENANT_ID}/mock/"
    federated = {plain(r)["resourceName"]: plain(r) for r in aks_dev.of_type(FEDERATED)}
    assert {name: (f["issuer"], f["subject"], f["audiences"]) for name, f in federated.items()} == {
        "mlflow": (issuer, "system:serviceaccount:mlflow:mlflow", ["api://AzureADTokenExchange"]),
    }


def test_the_tracking_servers_account_carries_its_client_id_and_its_pods_the_workload_identity_label(aks_dev):
    account = kubernetes_object(aks_dev, "ServiceAccount", "mlflow")
    assert account["metadata"]["annotations"] == {"azure.workload.identity/client-id": "mlflow-client-id"}
    pod = kubernetes_object(aks_dev, "Deployment", "mlflow")["spec"]["template"]
    assert pod["metadata"]["labels"]["azure.workload.identity/use"] == "true"
    assert pod["spec"]["serviceAccountName"] == "mlflow"


def test_the_model_servers_account_and_pods_carry_no_workload_identity(aks_dev):
    assert not kubernetes_object(aks_dev, "ServiceAccount", "model-server")["metadata"].get("annotations")
    pod = kubernetes_object(aks_dev, "Deployment", "model-server")["spec"]["template"]
    assert "azure.workload.identity/use" not in pod["metadata"]["labels"]


# What the Kubernetes layer receives

def test_the_tracking_server_gets_a_secret_postgres_uri_and_a_wasbs_artifact_destination(aks_dev):
    string_data = next(r for r in aks_dev.of_type("kubernetes:core/v1:Secret") if r.name == "tracking-secret").inputs["stringData"]
    assert is_secret(string_data) or is_secret(string_data["MLFLOW_BACKEND_STORE_URI"])
    password = unwrapped(aks_dev.of_type(POSTGRES)[0].inputs["administratorLoginPassword"])
    expected = (f"postgresql://mlflow:{password}@mlflow-stores-postgres.postgres.database.azure.com:5432/mlflow"
                "?sslmode=verify-full&sslrootcert=/etc/mlflow-auth/database-ca.pem")
    assert unwrapped(string_data)["MLFLOW_BACKEND_STORE_URI"] == expected
    account = only(aks_dev, STORAGE_ACCOUNT)["accountName"]
    command = kubernetes_object(aks_dev, "Deployment", "mlflow")["spec"]["template"]["spec"]["containers"][0]["command"]
    assert command[command.index("--artifacts-destination") + 1] == f"wasbs://mlflow-artifacts@{account}.blob.core.windows.net/"
    assert not [o for o in aks_dev.kubernetes_objects() if o["kind"] == "PersistentVolumeClaim" and o["metadata"]["namespace"] == "mlflow"]


def test_the_tracking_server_trusts_exactly_the_root_cas_azure_database_servers_chain_to(aks_dev):
    string_data = unwrapped(next(r for r in aks_dev.of_type("kubernetes:core/v1:Secret")
                                 if r.name == "tracking-secret").inputs["stringData"])
    roots = x509.load_pem_x509_certificates(string_data["database-ca.pem"].encode())
    assert sorted(root.subject.rfc4514_string() for root in roots) == [
        "CN=DigiCert Global Root CA,OU=www.digicert.com,O=DigiCert Inc,C=US",
        "CN=DigiCert Global Root G2,OU=www.digicert.com,O=DigiCert Inc,C=US",
        "CN=Microsoft RSA Root Certificate Authority 2017,O=Microsoft Corporation,C=US"]
    assert all(root.subject == root.issuer for root in roots)


def _ip_rules(egress: list[dict]) -> set[tuple]:
    return {(rule["to"][0]["ipBlock"]["cidr"], tuple(rule["to"][0]["ipBlock"].get("except", ())), rule["ports"][0]["port"])
            for rule in egress if "to" in rule and "ipBlock" in rule["to"][0]}


def test_mlflow_reaches_public_https_but_no_private_range_and_the_database_subnet(aks_dev):
    rules = _ip_rules(kubernetes_object(aks_dev, "NetworkPolicy", "mlflow")["spec"]["egress"])
    public = {rule for rule in rules if rule[0] == "0.0.0.0/0"}
    assert len(public) == 1 and rules - public == {("10.40.16.0/28", (), 5432)}
    _, excepted, port = public.pop()
    assert port == 443
    for private in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16"):
        assert private in excepted


def test_the_model_server_reaches_no_address_outside_the_cluster(aks_dev):
    """No Entra ID login and no blob endpoint: its policy names no IP block at all (pods and DNS only)."""
    assert _ip_rules(kubernetes_object(aks_dev, "NetworkPolicy", "model-server")["spec"]["egress"]) == set()


def test_a_gpu_pool_hosts_the_model_service_and_only_the_model_service():
    rendered = render("aks-dev", azureGpuVmSize="Standard_NC8as_T4_v3", azureGpuCount=1)
    serving = kubernetes_object(rendered, "Deployment", "model-server")["spec"]["template"]["spec"]
    assert serving["nodeSelector"] == {"mlstack.io/pool": "gpu"}
    assert serving["tolerations"] == [{"key": "nvidia.com/gpu", "operator": "Equal", "value": "present", "effect": "NoSchedule"}]
    assert serving["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == "1"
    tracking = kubernetes_object(rendered, "Deployment", "mlflow")["spec"]["template"]["spec"]
    assert "nodeSelector" not in tracking and "tolerations" not in tracking


@pytest.mark.parametrize("stack", STACKS)
def test_the_kubeconfig_is_a_secret_output_that_gets_entra_id_tokens_from_kubelogin_without_prompting(stacks, stack):
    output = stacks[stack].outputs["kubeconfig"]
    assert output.secret
    config = yaml.safe_load(output.value)
    user = config["users"][0]["user"]
    assert set(user) == {"exec"}  # no token, client certificate or key
    assert user["exec"]["command"] == "kubelogin" and user["exec"]["interactiveMode"] == "Never"
    assert user["exec"]["args"] == ["get-token", "--login", "azurecli", "--server-id", "6dae42f8-4368-4678-94ff-3960e28e3630",
                                    "--tenant-id", MOCK_TENANT_ID]
    assert config["clusters"][0]["cluster"]["server"] == "https://aks.hcp.westeurope.azmk8s.io:443"
    assert base64.b64decode(config["clusters"][0]["cluster"]["certificate-authority-data"]) == b"mock-ca"


def test_ci_with_a_federated_identity_gets_a_workload_identity_kubelogin():
    config = yaml.safe_load(render("aks-prod", azureKubeloginMode="workloadidentity").outputs["kubeconfig"].value)
    args = config["users"][0]["user"]["exec"]["args"]
    assert args[args.index("--login") + 1] == "workloadidentity"


def test_the_kubernetes_provider_is_built_from_that_kubeconfig(aks_dev):
    providers = [r for r in aks_dev.of_type("pulumi:providers:kubernetes") if r.name == "aks"]
    assert len(providers) == 1 and is_secret(providers[0].inputs["kubeconfig"])
    assert unwrapped(providers[0].inputs["kubeconfig"]) == aks_dev.outputs["kubeconfig"].value


def _urn_of(rendered, type_token: str, name: str) -> str:
    return next(r.urn for r in rendered.of_type(type_token) if r.name == name)


def test_kubernetes_objects_wait_for_the_user_pool_and_for_the_deployers_cluster_role(aks_dev):
    provider = next(r for r in aks_dev.of_type("pulumi:providers:kubernetes") if r.name == "aks")
    assert _urn_of(aks_dev, AGENT_POOL, "aks-user") in provider.dependencies
    assert _urn_of(aks_dev, ROLE_ASSIGNMENT, "aks-deployer-admin") in provider.dependencies


def test_the_database_waits_for_its_dns_link_and_the_two_subnets_are_written_one_after_the_other(aks_dev):
    server = aks_dev.of_type(POSTGRES)[0]
    assert _urn_of(aks_dev, "azure-native:privatedns:VirtualNetworkLink", "mlflow-stores-postgres-dns-link") in server.dependencies
    database_subnet = next(r for r in aks_dev.of_type(SUBNET) if r.name == "network-database")
    assert _urn_of(aks_dev, SUBNET, "network-nodes") in database_subnet.dependencies
