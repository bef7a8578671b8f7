"""The advisory cost rules: they are advisory, read sizes from machine type names and warn above the limits."""
import pytest
from pulumi_policy import EnforcementLevel

from conftest import messages, policy_named
from mlstack_policy.cost import vcpus


def test_cost_rules_are_advisory():
    for name in ("cost-node-machine-size", "cost-node-pool-ceiling"):
        assert policy_named(name).enforcement_level == EnforcementLevel.ADVISORY


@pytest.mark.parametrize("machine,expected", [
    ("e2-standard-4", 4), ("n2-highmem-16", 16), ("e2-medium", 1), ("n2-custom-6-23040", 6), ("g2-standard-48", 48),
    ("a3-highgpu-8g", None), ("c3-standard-4-lssd", 4),
    ("Standard_D4s_v5", 4), ("Standard_NC24ads_A100_v4", 24), ("Standard_B2ms", 2), ("mystery", None),
])
def test_vcpus_are_read_from_gce_and_azure_names(machine, expected):
    assert vcpus(machine) == expected


def test_a_large_gke_machine_is_reported():
    policy = policy_named("cost-node-machine-size")
    pool = {"nodeConfig": {"machineType": "e2-standard-4"}, "autoscaling": {"totalMaxNodeCount": 3}}
    assert messages(policy, "gcp:container/nodePool:NodePool", pool, "general") == []
    pool["nodeConfig"]["machineType"] = "n2-standard-32"
    assert messages(policy, "gcp:container/nodePool:NodePool", pool, "general") == [
        "GKE node pool general: machine type 'n2-standard-32' has 32 vCPUs, more than 8 per node; "
        "prefer more, smaller nodes unless the model needs them"]
    assert messages(policy, "gcp:container/nodePool:NodePool", pool, "general", config={"maxVcpusPerNode": 32}) == []


def test_an_unknown_machine_name_is_reported_for_a_hand_check():
    pool = {"nodeConfig": {"machineType": "mystery"}}
    assert messages(policy_named("cost-node-machine-size"), "gcp:container/nodePool:NodePool", pool, "x") == [
        "GKE node pool x: cannot tell the vCPUs of machine type 'mystery'; check its cost by hand"]


def test_a_high_node_ceiling_is_reported_on_gke_and_aks():
    policy = policy_named("cost-node-pool-ceiling")
    assert messages(policy, "gcp:container/nodePool:NodePool", {"autoscaling": {"maxNodeCount": 10}}, "general") == []
    assert messages(policy, "gcp:container/nodePool:NodePool", {"autoscaling": {"totalMaxNodeCount": 30}}, "general") == [
        "GKE node pool general: may grow to 30 nodes, more than 10; raise the limit deliberately"]
    aks = {"agentPoolProfiles": [{"name": "system", "vmSize": "Standard_D4s_v5", "enableAutoScaling": True, "maxCount": 50}]}
    assert messages(policy, "azure-native:containerservice:ManagedCluster", aks, "aks") == [
        "AKS cluster aks pool system: may grow to 50 nodes, more than 10; raise the limit deliberately"]
    pool = {"vmSize": "Standard_D64s_v5", "maxCount": 3}
    assert messages(policy_named("cost-node-machine-size"), "azure-native:containerservice:AgentPool", pool, "gpu") == [
        "AKS agent pool gpu: machine type 'Standard_D64s_v5' has 64 vCPUs, more than 8 per node; "
        "prefer more, smaller nodes unless the model needs them"]
