"""Each cloud rule called on inputs that pass and on inputs that fail. The Azure inputs are hand-made with
azure-native's input names, since the AKS target does not exist yet."""
import pytest

from conftest import messages, policy_named

BUCKET = {"location": "europe-west1", "publicAccessPrevention": "enforced", "uniformBucketLevelAccess": True}
CLUSTER = {
    "privateClusterConfig": {"enablePrivateNodes": True, "masterIpv4CidrBlock": "172.16.0.0/28"},
    "workloadIdentityConfig": {"workloadPool": "p.svc.id.goog"},
    "nodeConfig": {"workloadMetadataConfig": {"mode": "GKE_METADATA"}},
}


def test_a_private_bucket_passes_and_each_public_setting_is_stopped():
    policy = policy_named("buckets-not-public")
    assert messages(policy, "gcp:storage/bucket:Bucket", BUCKET, "artifacts") == []
    assert messages(policy, "gcp:storage/bucket:Bucket", {**BUCKET, "publicAccessPrevention": "inherited"}, "artifacts") == [
        "bucket artifacts: publicAccessPrevention must be 'enforced' (it is 'inherited')"]
    assert messages(policy, "gcp:storage/bucket:Bucket", {**BUCKET, "uniformBucketLevelAccess": False}, "artifacts") == [
        "bucket artifacts: uniformBucketLevelAccess must be true, so no object ACL can make an object public"]


@pytest.mark.parametrize("resource_type,props", [
    ("gcp:storage/bucketIAMMember:BucketIAMMember", {"bucket": "b", "role": "roles/storage.objectViewer", "member": "allUsers"}),
    ("gcp:storage/bucketIAMBinding:BucketIAMBinding", {"bucket": "b", "role": "roles/storage.objectViewer",
                                                      "members": ["serviceAccount:x@p.iam.gserviceaccount.com", "allAuthenticatedUsers"]}),
    ("gcp:storage/bucketAccessControl:BucketAccessControl", {"bucket": "b", "role": "READER", "entity": "allUsers"}),
])
def test_a_grant_to_everyone_on_a_bucket_is_stopped(resource_type, props):
    found = messages(policy_named("buckets-not-public"), resource_type, props, "grant")
    assert len(found) == 1 and "grants bucket b to all" in found[0] and found[0].endswith("which makes it public")


def test_a_grant_to_a_service_account_passes():
    props = {"bucket": "b", "role": "roles/storage.objectViewer", "member": "serviceAccount:x@p.iam.gserviceaccount.com"}
    assert messages(policy_named("buckets-not-public"), "gcp:storage/bucketIAMMember:BucketIAMMember", props) == []


def test_azure_storage_must_forbid_public_blob_access():
    policy = policy_named("storage-accounts-not-public")
    account = {"kind": "StorageV2", "sku": {"name": "Standard_ZRS"}, "allowBlobPublicAccess": False, "minimumTlsVersion": "TLS1_2"}
    assert messages(policy, "azure-native:storage:StorageAccount", account, "mlflow") == []
    assert messages(policy, "azure-native:storage:StorageAccount", {**account, "allowBlobPublicAccess": True}, "mlflow") == [
        "storage account mlflow: allowBlobPublicAccess must be false (it is True)"]
    unset = {k: v for k, v in account.items() if k != "allowBlobPublicAccess"}
    assert messages(policy, "azure-native:storage:StorageAccount", unset, "mlflow") == [
        "storage account mlflow: allowBlobPublicAccess must be false (it is None)"]


def test_an_azure_blob_container_must_not_be_public():
    policy = policy_named("storage-accounts-not-public")
    assert messages(policy, "azure-native:storage:BlobContainer", {"publicAccess": "None"}, "artifacts") == []
    assert messages(policy, "azure-native:storage:BlobContainer", {"publicAccess": "Container"}, "artifacts") == [
        "blob container artifacts: publicAccess must be 'None' (it is 'Container')"]


def test_cloud_sql_must_have_no_public_ip_even_by_default():
    policy = policy_named("sql-without-public-ip")
    private = {"settings": {"tier": "db-g1-small", "ipConfiguration": {"ipv4Enabled": False, "privateNetwork": "n"}}}
    assert messages(policy, "gcp:sql/databaseInstance:DatabaseInstance", private, "db") == []
    expected = ["Cloud SQL instance db: settings.ipConfiguration.ipv4Enabled must be false (private IP only)"]
    assert messages(policy, "gcp:sql/databaseInstance:DatabaseInstance", {"settings": {"tier": "db-g1-small"}}, "db") == expected
    public = {"settings": {"ipConfiguration": {"ipv4Enabled": True}}}
    assert messages(policy, "gcp:sql/databaseInstance:DatabaseInstance", public, "db") == expected


def test_azure_postgres_must_disable_public_network_access():
    policy = policy_named("sql-without-public-ip")
    private = {"version": "16", "network": {"publicNetworkAccess": "Disabled", "delegatedSubnetResourceId": "/subscriptions/s/x"}}
    assert messages(policy, "azure-native:dbforpostgresql:Server", private, "mlflow") == []
    assert messages(policy, "azure-native:dbforpostgresql:Server", {"version": "16"}, "mlflow") == [
        "PostgreSQL server mlflow: network.publicNetworkAccess must be 'Disabled' (it is None)"]


def test_gke_needs_private_nodes_workload_identity_and_the_gke_metadata_server():
    policy = policy_named("gke-private-nodes-and-workload-identity")
    assert messages(policy, "gcp:container/cluster:Cluster", CLUSTER, "gke") == []
    public_nodes = {**CLUSTER, "privateClusterConfig": {"enablePrivateNodes": False}}
    assert messages(policy, "gcp:container/cluster:Cluster", public_nodes, "gke") == [
        "GKE cluster gke: privateClusterConfig.enablePrivateNodes must be true (nodes without public IPs)"]
    no_identity = {k: v for k, v in CLUSTER.items() if k != "workloadIdentityConfig"}
    assert messages(policy, "gcp:container/cluster:Cluster", no_identity, "gke") == [
        "GKE cluster gke: workloadIdentityConfig.workloadPool must be set (Workload Identity)"]
    pool = {"nodeConfig": {"machineType": "e2-standard-4", "workloadMetadataConfig": {"mode": "GCE_METADATA"}}}
    assert messages(policy, "gcp:container/nodePool:NodePool", pool, "general") == [
        "NodePool general: nodeConfig.workloadMetadataConfig.mode must be 'GKE_METADATA' (it is 'GCE_METADATA'); "
        "otherwise pods read the node's credentials and bypass Workload Identity"]


AKS = {"resourceGroupName": "rg", "dnsPrefix": "mlstack", "aadProfile": {"managed": True, "enableAzureRBAC": True},
       "agentPoolProfiles": [{"name": "system", "mode": "System", "vmSize": "Standard_D4s_v5", "count": 3}]}


def test_aks_in_prod_must_disable_local_accounts():
    policy = policy_named("aks-local-accounts-disabled-in-production")
    cluster = "azure-native:containerservice:ManagedCluster"
    assert messages(policy, cluster, {**AKS, "disableLocalAccounts": True}, "aks", stack="prod") == []
    assert messages(policy, cluster, AKS, "aks", stack="prod") == [
        "AKS cluster aks: disableLocalAccounts must be true in production stack 'prod' "
        "(sign-in through Microsoft Entra ID only, no static admin credentials)"]
    assert messages(policy, cluster, {**AKS, "disableLocalAccounts": False}, "aks", stack="prod") != []


def test_aks_outside_production_may_keep_local_accounts_and_production_is_configurable():
    policy = policy_named("aks-local-accounts-disabled-in-production")
    cluster = "azure-native:containerservice:ManagedCluster"
    assert messages(policy, cluster, AKS, "aks", stack="dev") == []
    assert len(messages(policy, cluster, AKS, "aks", stack="live", config={"productionStacks": ["live"]})) == 1
