"""The whole pack over every stack's rendered resources: no mandatory violation; then the same resources broken one
way at a time, each stopped by the rule that guards it with a message naming the object."""
import copy

import pytest

from conftest import STACKS, Resource, evaluate, mandatory
from mlstack_policy import POLICIES


def test_policy_names_are_unique_and_every_rule_of_the_issue_is_there():
    names = [p.name for p in POLICIES]
    assert len(names) == len(set(names))
    assert set(names) == {
        "containers-have-requests-and-limits", "containers-run-as-non-root", "images-pinned-by-digest",
        "no-public-load-balancer-for-mlflow-or-grafana", "network-policy-for-every-model-service", "buckets-not-public",
        "storage-accounts-not-public", "sql-without-public-ip", "gke-private-nodes-and-workload-identity",
        "aks-local-accounts-disabled-in-production", "cost-node-machine-size", "cost-node-pool-ceiling",
    }


@pytest.mark.parametrize("stack", STACKS)
def test_every_stack_has_no_mandatory_violation(rendered_resources, stack):
    resources = rendered_resources[stack]
    assert len(resources) > 30
    assert mandatory(evaluate(resources, stack)) == []


@pytest.mark.parametrize("stack", STACKS)
def test_every_stack_is_within_the_cost_advice(rendered_resources, stack):
    assert evaluate(rendered_resources[stack], stack) == []


def _one(resources: list[Resource], type_suffix: str, name: str | None = None) -> dict:
    matches = [r for r in resources if r.type.endswith(type_suffix) and (name is None or r.name == name)]
    assert len(matches) == 1, f"{type_suffix} {name}: {[r.name for r in matches]}"
    return matches[0].props


def _container(resources, name):
    return _one(resources, ":Deployment", name)["spec"]["template"]["spec"]["containers"][0]


def _no_limits(resources):
    del _container(resources, "model-deployment")["resources"]["limits"]


def _root(resources):
    pod = _one(resources, ":Deployment", "tracking-deployment")["spec"]["template"]["spec"]
    pod["securityContext"]["runAsNonRoot"] = False
    del pod["containers"][0]["securityContext"]["runAsNonRoot"]


def _tagged_image(resources):
    _container(resources, "model-deployment")["image"] = "localhost:5000/mlstack-serving:latest"


def _public_mlflow(resources):
    _one(resources, ":Service", "tracking-service")["spec"]["type"] = "LoadBalancer"


def _public_grafana(resources):
    _one(resources, ":Release")["values"]["grafana"]["service"]["type"] = "LoadBalancer"


def _no_network_policy_for_models(resources):
    resources[:] = [r for r in resources
                    if not (r.type.endswith(":NetworkPolicy") and r.props["metadata"]["namespace"] == "models")]


def _public_bucket(resources):
    _one(resources, ":Bucket")["publicAccessPrevention"] = "inherited"


def _bucket_for_everyone(resources):
    _one(resources, ":BucketIAMMember", "mlflow-bucket")["member"] = "allUsers"


def _sql_public_ip(resources):
    _one(resources, ":DatabaseInstance")["settings"]["ipConfiguration"]["ipv4Enabled"] = True


def _public_nodes(resources):
    _one(resources, "container/cluster:Cluster")["privateClusterConfig"]["enablePrivateNodes"] = False


def _no_workload_identity(resources):
    del _one(resources, "container/cluster:Cluster")["workloadIdentityConfig"]


def _node_metadata_exposed(resources):
    _one(resources, ":NodePool", "gke-general")["nodeConfig"]["workloadMetadataConfig"]["mode"] = "GCE_METADATA"


BREAKAGES = [
    ("local", _no_limits, "containers-have-requests-and-limits",
     "Deployment models/model-server: container 'server' has no resources.limits.cpu"),
    ("local", _root, "containers-run-as-non-root", "Deployment mlflow/mlflow: container 'mlflow' may run as root"),
    ("prod", _tagged_image, "images-pinned-by-digest", "uses image 'localhost:5000/mlstack-serving:latest', a mutable tag"),
    ("dev", _public_mlflow, "no-public-load-balancer-for-mlflow-or-grafana", "Service mlflow/mlflow: mlflow must not be exposed"),
    ("prod", _public_grafana, "no-public-load-balancer-for-mlflow-or-grafana", "grafana.service.type is a public LoadBalancer"),
    ("local", _no_network_policy_for_models, "network-policy-for-every-model-service", "no NetworkPolicy in namespace 'models'"),
    ("dev", _public_bucket, "buckets-not-public", "publicAccessPrevention must be 'enforced' (it is 'inherited')"),
    ("prod", _bucket_for_everyone, "buckets-not-public", "grants bucket mlflow-stores-artifacts to allUsers"),
    ("prod", _sql_public_ip, "sql-without-public-ip",
     "Cloud SQL instance mlflow-stores-postgres: settings.ipConfiguration.ipv4Enabled must be false"),
    ("dev", _public_nodes, "gke-private-nodes-and-workload-identity",
     "GKE cluster gke: privateClusterConfig.enablePrivateNodes must be true"),
    ("prod", _no_workload_identity, "gke-private-nodes-and-workload-identity", "workloadIdentityConfig.workloadPool must be set"),
    ("dev", _node_metadata_exposed, "gke-private-nodes-and-workload-identity",
     "NodePool gke-general: nodeConfig.workloadMetadataConfig.mode"),
]


@pytest.mark.parametrize("stack,breakage,policy,message", BREAKAGES, ids=[b[1].__name__.strip("_") for b in BREAKAGES])
def test_a_broken_stack_is_stopped_by_the_rule_that_guards_it(rendered_resources, stack, breakage, policy, message):
    resources = copy.deepcopy(rendered_resources[stack])
    breakage(resources)
    violations = mandatory(evaluate(resources, stack))
    assert {v.policy for v in violations} == {policy}, violations
    assert any(message in v.message for v in violations), [v.message for v in violations]
