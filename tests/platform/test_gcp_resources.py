"""Every Google Cloud resource of the dev and prod stack files, under mocks, and every difference between them."""
import ipaddress

import pytest
import yaml

from infra.platform.gcp.binary_authorization import MONITORING_CHART_UPSTREAMS
from infra.render import is_secret, unwrapped

from .conftest import (
    BUCKET,
    BUCKET_MEMBER,
    CLUSTER,
    NODE_POOL,
    PROJECT_MEMBER,
    SERVICE_ACCOUNT,
    SERVICE_ACCOUNT_MEMBER,
    SQL_INSTANCE,
    kubernetes_object,
    named,
    only,
    plain,
    render,
    render_platform,
)

STACKS = ("dev", "prod")


@pytest.fixture(scope="module")
def stacks(dev, prod):
    return {"dev": dev, "prod": prod}


# Provider and APIs

@pytest.mark.parametrize("stack", STACKS)
def test_every_gcp_resource_goes_to_the_configured_project_and_region(stacks, stack):
    provider = named(stacks[stack], "pulumi:providers:gcp", "gcp")
    assert (provider["project"], provider["region"]) == (f"my-mlstack-{stack}", "europe-west1")


def test_the_apis_the_stack_calls_are_enabled_and_stay_enabled_when_the_stack_is_destroyed(dev, prod):
    for rendered in (dev, prod):
        services = [plain(r) for r in rendered.of_type("gcp:projects/service:Service")]
        assert {"container.googleapis.com", "sqladmin.googleapis.com", "servicenetworking.googleapis.com",
                "artifactregistry.googleapis.com"} <= {s["service"] for s in services}
        assert all(s["disableOnDestroy"] is False for s in services)
    enabled = {stack: {plain(r)["service"] for r in rendered.of_type("gcp:projects/service:Service")}
               for stack, rendered in (("dev", dev), ("prod", prod))}
    assert enabled["prod"] - enabled["dev"] == {"binaryauthorization.googleapis.com"}


# Network

def test_the_vpc_has_one_node_subnet_with_pod_and_service_ranges_and_private_google_access(dev):
    assert only(dev, "gcp:compute/network:Network")["autoCreateSubnetworks"] is False
    subnet = only(dev, "gcp:compute/subnetwork:Subnetwork")
    assert subnet["privateIpGoogleAccess"] is True
    ranges = [ipaddress.ip_network(subnet["ipCidrRange"])]
    ranges += [ipaddress.ip_network(r["ipCidrRange"]) for r in subnet["secondaryIpRanges"]]
    assert {r["rangeName"] for r in subnet["secondaryIpRanges"]} == {"pods", "services"}
    assert all(a == b or not a.overlaps(b) for a in ranges for b in ranges)


def test_private_nodes_reach_the_internet_through_cloud_nat(dev):
    nat = only(dev, "gcp:compute/routerNat:RouterNat")
    assert nat["sourceSubnetworkIpRangesToNat"] == "ALL_SUBNETWORKS_ALL_IP_RANGES"
    assert nat["natIpAllocateOption"] == "AUTO_ONLY"
    assert nat["router"] == "network-router"


def test_google_apis_resolve_to_the_private_google_access_range_inside_the_vpc(dev):
    zone = only(dev, "gcp:dns/managedZone:ManagedZone")
    assert (zone["dnsName"], zone["visibility"]) == ("googleapis.com.", "private")
    records = {r["name"]: r for r in map(plain, dev.of_type("gcp:dns/recordSet:RecordSet"))}
    assert records["*.googleapis.com."]["rrdatas"] == ["private.googleapis.com."]
    addresses = {ipaddress.ip_address(a) for a in records["private.googleapis.com."]["rrdatas"]}
    assert addresses == set(ipaddress.ip_network("199.36.153.8/30"))


def test_cloud_sql_gets_a_peered_private_services_range(dev):
    reserved = only(dev, "gcp:compute/globalAddress:GlobalAddress")
    assert (reserved["purpose"], reserved["addressType"]) == ("VPC_PEERING", "INTERNAL")
    peering = only(dev, "gcp:servicenetworking/connection:Connection")
    assert peering["service"] == "servicenetworking.googleapis.com"
    assert peering["reservedPeeringRanges"] == ["network-managed-services"]


# Cluster

@pytest.mark.parametrize("stack", STACKS)
def test_the_cluster_has_private_nodes_workload_identity_dataplane_v2_and_shielded_nodes(stacks, stack):
    cluster = only(stacks[stack], CLUSTER)
    assert cluster["privateClusterConfig"]["enablePrivateNodes"] is True
    assert cluster["workloadIdentityConfig"]["workloadPool"] == f"my-mlstack-{stack}.svc.id.goog"
    assert cluster["datapathProvider"] == "ADVANCED_DATAPATH"
    assert cluster["enableShieldedNodes"] is True
    assert cluster["networkingMode"] == "VPC_NATIVE"


@pytest.mark.parametrize("stack", STACKS)
def test_the_default_node_pool_is_removed_in_favour_of_managed_pools(stacks, stack):
    assert only(stacks[stack], CLUSTER)["removeDefaultNodePool"] is True
    assert [r.name for r in stacks[stack].of_type(NODE_POOL)] == ["gke-general"]


def test_dev_is_zonal_and_prod_regional(dev, prod):
    assert only(dev, CLUSTER)["location"] == "europe-west1-b"
    assert only(prod, CLUSTER)["location"] == "europe-west1"
    assert only(dev, NODE_POOL)["location"] == "europe-west1-b"
    assert only(prod, NODE_POOL)["location"] == "europe-west1"


def test_dev_follows_the_regular_release_channel_and_prod_the_stable_one(dev, prod):
    assert only(dev, CLUSTER)["releaseChannel"] == {"channel": "REGULAR"}
    assert only(prod, CLUSTER)["releaseChannel"] == {"channel": "STABLE"}


def test_binary_authorization_is_enforced_on_prod_only(dev, prod):
    assert only(dev, CLUSTER)["binaryAuthorization"] == {"evaluationMode": "DISABLED"}
    assert only(prod, CLUSTER)["binaryAuthorization"] == {"evaluationMode": "PROJECT_SINGLETON_POLICY_ENFORCE"}


@pytest.mark.parametrize("stack", STACKS)
def test_only_the_configured_networks_reach_the_control_plane_of_dev_and_prod(stacks, stack):
    blocks = only(stacks[stack], CLUSTER)["masterAuthorizedNetworksConfig"]["cidrBlocks"]
    assert [b["cidrBlock"] for b in blocks] == ["203.0.113.0/24"]


def test_the_enforced_binary_authorization_policy_admits_only_the_stacks_registry(dev, prod):
    """The monitoring chart's images are mirrored there (infra/image_mirror.py), so nothing else need run."""
    assert not dev.of_type("gcp:binaryauthorization/policy:Policy")
    (policy,) = [plain(p) for p in prod.of_type("gcp:binaryauthorization/policy:Policy")]
    assert policy["defaultAdmissionRule"] == {"evaluationMode": "ALWAYS_DENY", "enforcementMode": "ENFORCED_BLOCK_AND_AUDIT_LOG"}
    patterns = [p["namePattern"] for p in policy["admissionWhitelistPatterns"]]
    assert patterns == ["europe-west1-docker.pkg.dev/my-mlstack-prod/mlstack-prod/**"]


def test_a_stack_that_builds_no_images_also_admits_the_monitoring_charts_upstream_repositories():
    prebuilt = render_platform("prod", imageBuild="false", image="europe-west1-docker.pkg.dev/my-mlstack-prod/mlstack-prod/"
                            "mlstack-serving@sha256:" + "0" * 64)
    (policy,) = [plain(p) for p in prebuilt.of_type("gcp:binaryauthorization/policy:Policy")]
    patterns = [p["namePattern"] for p in policy["admissionWhitelistPatterns"]]
    assert patterns == ["europe-west1-docker.pkg.dev/my-mlstack-prod/mlstack-prod/**", *MONITORING_CHART_UPSTREAMS]
    assert all(not p.startswith("*") and p.count("/") >= 1 for p in MONITORING_CHART_UPSTREAMS)


@pytest.mark.parametrize("stack", STACKS)
def test_cluster_secrets_are_encrypted_with_a_rotating_kms_key_the_gke_agent_may_use(stacks, stack):
    rendered = stacks[stack]
    (key,) = rendered.of_type("gcp:kms/cryptoKey:CryptoKey")
    assert only(rendered, CLUSTER)["databaseEncryption"] == {"state": "ENCRYPTED", "keyName": f"{key.name}-id"}
    assert plain(key)["rotationPeriod"] == "7776000s" and key.protect is (stack == "prod")
    (grant,) = [plain(g) for g in rendered.of_type("gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember")]
    assert grant == {"cryptoKeyId": f"{key.name}-id", "role": "roles/cloudkms.cryptoKeyEncrypterDecrypter",
                     "member": "serviceAccount:service-123456789012@container-engine-robot.iam.gserviceaccount.com"}


@pytest.mark.parametrize("stack", STACKS)
def test_the_registry_keeps_tags_immutable_and_scans_images(stacks, stack):
    (repository,) = [plain(r) for r in stacks[stack].of_type("gcp:artifactregistry/repository:Repository")]
    assert repository["dockerConfig"] == {"immutableTags": True}
    assert repository["vulnerabilityScanningConfig"] == {"enablementConfig": "INHERITED"}


def test_the_prod_cluster_cannot_be_deleted_and_the_dev_cluster_can(dev, prod):
    assert only(dev, CLUSTER)["deletionProtection"] is False
    assert only(prod, CLUSTER)["deletionProtection"] is True


# Node pools

def test_the_general_pool_autoscales_within_the_configured_bounds_on_the_configured_machines(dev, prod):
    dev_pool, prod_pool = only(dev, NODE_POOL), only(prod, NODE_POOL)
    assert (dev_pool["autoscaling"]["totalMinNodeCount"], dev_pool["autoscaling"]["totalMaxNodeCount"]) == (1, 3)
    assert (prod_pool["autoscaling"]["totalMinNodeCount"], prod_pool["autoscaling"]["totalMaxNodeCount"]) == (3, 9)
    assert (dev_pool["nodeConfig"]["machineType"], prod_pool["nodeConfig"]["machineType"]) == ("e2-standard-2", "e2-standard-4")
    # Per zone: a regional pool spans three zones, so one node in each already meets prod's minimum of three.
    assert (dev_pool["initialNodeCount"], prod_pool["initialNodeCount"]) == (1, 1)


def test_dev_nodes_are_spot_vms_and_prod_nodes_are_not(dev, prod):
    assert only(dev, NODE_POOL)["nodeConfig"]["spot"] is True
    assert only(prod, NODE_POOL)["nodeConfig"]["spot"] is False


def test_pools_upgrade_one_extra_node_at_a_time_and_repair_themselves(prod):
    pool = only(prod, NODE_POOL)
    assert pool["upgradeSettings"] == {"strategy": "SURGE", "maxSurge": 1, "maxUnavailable": 0}
    assert pool["management"] == {"autoRepair": True, "autoUpgrade": True}


@pytest.mark.parametrize("stack", STACKS)
def test_nodes_run_as_their_own_service_account_with_the_gke_metadata_server_and_secure_boot(stacks, stack):
    rendered = stacks[stack]
    email = f"mls-{stack}-nodes@mock-project.iam.gserviceaccount.com"
    assert named(rendered, SERVICE_ACCOUNT, "gke-nodes")["accountId"] == f"mls-{stack}-nodes"
    for config in (only(rendered, CLUSTER)["nodeConfig"], only(rendered, NODE_POOL)["nodeConfig"]):
        assert config["serviceAccount"] == email
        assert config["workloadMetadataConfig"] == {"mode": "GKE_METADATA"}
        assert config["shieldedInstanceConfig"] == {"enableSecureBoot": True, "enableIntegrityMonitoring": True}
        assert config["metadata"]["disable-legacy-endpoints"] == "true"


def test_the_node_service_account_has_the_node_role_and_may_pull_from_the_registry_only(dev):
    member = "serviceAccount:mls-dev-nodes@mock-project.iam.gserviceaccount.com"
    assert named(dev, PROJECT_MEMBER, "gke-nodes-role") == {
        "project": "my-mlstack-dev", "role": "roles/container.defaultNodeServiceAccount", "member": member}
    pull = only(dev, "gcp:artifactregistry/repositoryIamMember:RepositoryIamMember")
    assert (pull["role"], pull["member"]) == ("roles/artifactregistry.reader", member)
    assert [plain(r)["role"] for r in dev.of_type(PROJECT_MEMBER) if plain(r)["member"] == member] == [
        "roles/container.defaultNodeServiceAccount"]


def test_there_is_no_gpu_pool_unless_an_accelerator_type_is_configured(dev, prod):
    assert all(r.name != "gke-gpu" for r in dev.of_type(NODE_POOL) + prod.of_type(NODE_POOL))


def test_a_configured_gpu_pool_has_its_accelerators_taint_and_label_and_scales_from_zero():
    rendered = render("prod", gcpGpuType="nvidia-l4", gcpGpuCount=2, gcpGpuMaxNodes=4, gcpGpuMachineType="g2-standard-24")
    pool = named(rendered, NODE_POOL, "gke-gpu")
    node = pool["nodeConfig"]
    assert node["machineType"] == "g2-standard-24"
    assert [(a["type"], a["count"]) for a in node["guestAccelerators"]] == [("nvidia-l4", 2)]
    assert node["taints"] == [{"key": "nvidia.com/gpu", "value": "present", "effect": "NO_SCHEDULE"}]
    assert node["labels"] == {"mlstack.io/pool": "gpu"}
    assert node["workloadMetadataConfig"] == {"mode": "GKE_METADATA"}
    assert (pool["autoscaling"]["totalMinNodeCount"], pool["autoscaling"]["totalMaxNodeCount"]) == (0, 4)
    assert pool["nodeLocations"] == ["europe-west1-b"]


# Artifact Registry

@pytest.mark.parametrize("stack", STACKS)
def test_the_serving_and_tracking_images_go_to_a_docker_repository_of_the_stack_in_its_region(stacks, stack):
    repository = only(stacks[stack], "gcp:artifactregistry/repository:Repository")
    assert (repository["format"], repository["location"], repository["repositoryId"]) == ("DOCKER", "europe-west1", f"mlstack-{stack}")
    for build, name in (("serving-image-build", "mlstack-serving"), ("tracking-image-build", "mlstack-tracking")):
        image = named(stacks[stack], "docker-build:index:Image", build)
        assert all(tag.startswith(f"europe-west1-docker.pkg.dev/my-mlstack-{stack}/mlstack-{stack}/{name}:") for tag in image["tags"])


def test_the_images_are_pushed_with_the_callers_access_token_kept_secret(dev):
    for image in (build.inputs for build in dev.of_type("docker-build:index:Image")):
        assert is_secret(image["registries"])
        registry, = unwrapped(image["registries"])
        assert registry["username"] == "oauth2accesstoken"
        assert registry["password"] == "mock-access-token"  # from getClientConfig, not from a key file
        assert registry["address"] == "europe-west1-docker.pkg.dev/my-mlstack-dev/mlstack-dev"


# MLflow stores

@pytest.mark.parametrize("stack", STACKS)
def test_the_artifact_bucket_has_uniform_access_and_public_access_prevention(stacks, stack):
    bucket = only(stacks[stack], BUCKET)
    assert bucket["uniformBucketLevelAccess"] is True
    assert bucket["publicAccessPrevention"] == "enforced"
    assert bucket["location"] == "europe-west1"


def test_prod_keeps_noncurrent_artifact_versions_for_thirty_days_and_dev_keeps_none(dev, prod):
    assert only(dev, BUCKET)["versioning"] == {"enabled": False}
    assert "lifecycleRules" not in only(dev, BUCKET)
    assert only(prod, BUCKET)["versioning"] == {"enabled": True}
    assert only(prod, BUCKET)["lifecycleRules"] == [{"action": {"type": "Delete"}, "condition": {"daysSinceNoncurrentTime": 30}}]


def test_a_dev_bucket_is_destroyed_with_its_artifacts_and_a_prod_bucket_is_not(dev, prod):
    assert only(dev, BUCKET)["forceDestroy"] is True
    assert only(prod, BUCKET)["forceDestroy"] is False


@pytest.mark.parametrize("stack", STACKS)
def test_the_database_is_postgres_on_a_private_ip_only_with_encrypted_connections(stacks, stack):
    instance = only(stacks[stack], SQL_INSTANCE)
    assert instance["databaseVersion"].startswith("POSTGRES_")
    ip = instance["settings"]["ipConfiguration"]
    assert ip == {"ipv4Enabled": False, "privateNetwork": "network-id", "sslMode": "ENCRYPTED_ONLY"}


def test_the_prod_database_has_a_standby_backups_and_point_in_time_recovery_and_dev_has_none(dev, prod):
    dev_settings, prod_settings = only(dev, SQL_INSTANCE)["settings"], only(prod, SQL_INSTANCE)["settings"]
    assert (dev_settings["availabilityType"], prod_settings["availabilityType"]) == ("ZONAL", "REGIONAL")
    assert dev_settings["backupConfiguration"] == {"enabled": False, "pointInTimeRecoveryEnabled": False}
    backups = prod_settings["backupConfiguration"]
    assert backups["enabled"] is True and backups["pointInTimeRecoveryEnabled"] is True
    assert backups["transactionLogRetentionDays"] >= 1 and backups["backupRetentionSettings"]["retainedBackups"] >= 7
    assert (dev_settings["tier"], prod_settings["tier"]) == ("db-g1-small", "db-custom-2-7680")


def test_the_prod_database_cannot_be_deleted_and_the_dev_database_can(dev, prod):
    assert only(dev, SQL_INSTANCE)["deletionProtection"] is False
    assert only(dev, SQL_INSTANCE)["settings"]["deletionProtectionEnabled"] is False
    assert only(prod, SQL_INSTANCE)["deletionProtection"] is True
    assert only(prod, SQL_INSTANCE)["settings"]["deletionProtectionEnabled"] is True


def test_mlflow_gets_its_own_database_and_user_with_a_generated_secret_password(dev):
    assert only(dev, "gcp:sql/database:Database")["name"] == "mlflow"
    user = dev.of_type("gcp:sql/user:User")[0]
    assert unwrapped(user.inputs["name"]) == "mlflow"
    assert is_secret(user.inputs["password"])
    generated = [r for r in dev.of_type("random:index/randomPassword:RandomPassword") if r.name == "mlflow-stores-database-password"]
    assert len(generated) == 1 and generated[0].inputs["length"] >= 32


# Identities

def test_the_mlflow_identity_administers_bucket_objects_and_nothing_project_wide(dev):
    member = "serviceAccount:mls-dev-mlflow@mock-project.iam.gserviceaccount.com"
    expected = {"bucket": "mlflow-stores-artifacts", "role": "roles/storage.objectAdmin", "member": member}
    assert named(dev, BUCKET_MEMBER, "mlflow-bucket") == expected
    assert not [r for r in dev.of_type(PROJECT_MEMBER) if plain(r)["member"] == member]


def test_the_model_server_has_no_google_identity_and_no_grant(dev):
    assert "mls-dev-serving" not in {plain(a)["accountId"] for a in dev.of_type(SERVICE_ACCOUNT)}
    assert [plain(r)["role"] for r in dev.of_type(BUCKET_MEMBER)] == ["roles/storage.objectAdmin"]


def test_each_google_service_account_may_be_used_only_by_its_kubernetes_service_account(dev):
    bindings = {plain(r)["serviceAccountId"]: plain(r) for r in dev.of_type(SERVICE_ACCOUNT_MEMBER)}
    assert {account: (b["role"], b["member"]) for account, b in bindings.items()} == {
        "mlflow": ("roles/iam.workloadIdentityUser", "serviceAccount:my-mlstack-dev.svc.id.goog[mlflow/mlflow]"),
    }


def test_only_the_tracking_servers_kubernetes_account_is_annotated_with_a_google_service_account(dev):
    annotations = kubernetes_object(dev, "ServiceAccount", "mlflow")["metadata"]["annotations"]
    assert annotations == {"iam.gke.io/gcp-service-account": "mls-dev-mlflow@mock-project.iam.gserviceaccount.com"}
    assert not kubernetes_object(dev, "ServiceAccount", "model-server")["metadata"].get("annotations")


# What the Kubernetes layer receives

def test_the_tracking_server_gets_a_secret_postgres_uri_and_a_gs_artifact_destination(dev):
    string_data = next(r for r in dev.of_type("kubernetes:core/v1:Secret") if r.name == "tracking-secret").inputs["stringData"]
    assert is_secret(string_data) or is_secret(string_data["MLFLOW_BACKEND_STORE_URI"])
    password = unwrapped(dev.of_type("gcp:sql/user:User")[0].inputs["password"])
    expected = f"postgresql://mlflow:{password}@10.16.0.3:5432/mlflow?sslmode=verify-ca&sslrootcert=/etc/mlflow-auth/database-ca.pem"
    assert unwrapped(string_data)["MLFLOW_BACKEND_STORE_URI"] == expected
    ca = "-----BEGIN CERTIFICATE-----\nbW9jay1jYQ==\n-----END CERTIFICATE-----\n"  # the instance's server CA (mocked)
    assert unwrapped(string_data)["database-ca.pem"] == ca
    volumes = kubernetes_object(dev, "Deployment", "mlflow")["spec"]["template"]["spec"]["volumes"]
    assert {"key": "database-ca.pem", "path": "database-ca.pem"} in next(v for v in volumes if v["name"] == "auth")["secret"]["items"]
    command = kubernetes_object(dev, "Deployment", "mlflow")["spec"]["template"]["spec"]["containers"][0]["command"]
    assert command[command.index("--artifacts-destination") + 1] == "gs://mlflow-stores-artifacts"
    assert not [o for o in dev.kubernetes_objects() if o["kind"] == "PersistentVolumeClaim" and o["metadata"]["namespace"] == "mlflow"]


CLOUD_EGRESS = {("169.254.169.254/32", 80), ("169.254.169.252/32", 988), ("199.36.153.8/30", 443)}


@pytest.mark.parametrize("policy,cloud", [("mlflow", CLOUD_EGRESS | {("10.16.0.3/32", 5432)}), ("model-server", set())])
def test_only_mlflow_reaches_the_metadata_server_google_apis_and_the_database(dev, policy, cloud):
    egress = kubernetes_object(dev, "NetworkPolicy", policy)["spec"]["egress"]
    cloud_rules = {(rule["to"][0]["ipBlock"]["cidr"], rule["ports"][0]["port"])
                   for rule in egress if "to" in rule and "ipBlock" in rule["to"][0]}
    assert cloud_rules == cloud


def test_a_gpu_pool_hosts_the_model_service_and_only_the_model_service(tmp_path):
    from infra.render import run_program, stack_config
    from tests.infra.conftest import one

    rendered = run_program("dev", {**stack_config("dev"), "gcpGpuType": "nvidia-l4", "gcpGpuCount": "2"})
    serving = one(rendered, "Deployment", "model-server")["spec"]["template"]["spec"]
    assert serving["nodeSelector"] == {"mlstack.io/pool": "gpu"}
    assert serving["tolerations"] == [{"key": "nvidia.com/gpu", "operator": "Equal", "value": "present", "effect": "NoSchedule"}]
    assert serving["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == "2"
    assert serving["containers"][0]["resources"]["requests"]["nvidia.com/gpu"] == "2"
    tracking = one(rendered, "Deployment", "mlflow")["spec"]["template"]["spec"]
    assert "nodeSelector" not in tracking and "tolerations" not in tracking


def test_the_kubeconfig_is_a_secret_output_that_authenticates_through_gke_gcloud_auth_plugin(dev):
    output = dev.outputs["kubeconfig"]
    assert output.secret
    config = yaml.safe_load(output.value)
    assert config["users"][0]["user"]["exec"]["command"] == "gke-gcloud-auth-plugin"
    assert config["clusters"][0]["cluster"]["server"] == "https://203.0.113.10"
    assert "token" not in config["users"][0]["user"] and "client-key-data" not in config["users"][0]["user"]


def test_the_kubernetes_provider_is_built_from_that_kubeconfig(dev):
    providers = [r for r in dev.of_type("pulumi:providers:kubernetes") if r.name == "gke"]
    assert len(providers) == 1 and is_secret(providers[0].inputs["kubeconfig"])
    assert unwrapped(providers[0].inputs["kubeconfig"]) == dev.outputs["kubeconfig"].value
