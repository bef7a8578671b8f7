"""Each Kubernetes rule called on inputs that pass and on inputs that fail, with the message it gives."""
import pytest

from conftest import Resource, messages, policy_named, stack_messages
from workloads import DIGEST, container, deployment, network_policy, service

DEPLOYMENT = "kubernetes:apps/v1:Deployment"


def test_a_hardened_workload_passes_every_container_rule():
    for name in ("containers-have-requests-and-limits", "containers-run-as-non-root", "images-pinned-by-digest"):
        assert messages(policy_named(name), DEPLOYMENT, deployment()) == []


@pytest.mark.parametrize("section,quantity", [("requests", "cpu"), ("requests", "memory"), ("limits", "cpu"), ("limits", "memory")])
def test_a_container_without_a_request_or_limit_is_stopped(section, quantity):
    broken = container()
    del broken["resources"][section][quantity]
    found = messages(policy_named("containers-have-requests-and-limits"), DEPLOYMENT, deployment(broken))
    assert found == [f"Deployment models/model-server: container 'server' has no resources.{section}.{quantity}: "
                     "every container needs CPU and memory requests and limits"]


def test_an_init_container_and_a_cronjob_are_checked_too():
    pod = deployment()["spec"]["template"]
    pod["spec"]["initContainers"] = [container(name="migrate", resources={})]
    cronjob = {"metadata": {"name": "nightly", "namespace": "models"},
               "spec": {"schedule": "@daily", "jobTemplate": {"spec": {"template": pod}}}}
    found = messages(policy_named("containers-have-requests-and-limits"), "kubernetes:batch/v1:CronJob", cronjob)
    assert len(found) == 1 and found[0].startswith("CronJob models/nightly: container 'migrate' has no resources.requests.cpu")


def test_non_root_is_taken_from_the_pod_when_the_container_does_not_say():
    inherits = container(securityContext={"allowPrivilegeEscalation": False})
    assert messages(policy_named("containers-run-as-non-root"), DEPLOYMENT, deployment(inherits)) == []


@pytest.mark.parametrize("pod_security,own_security,expected", [
    ({}, {}, "may run as root: set runAsNonRoot: true in its own or the pod's securityContext"),
    ({"runAsNonRoot": True}, {"runAsNonRoot": False}, "may run as root: set runAsNonRoot: true in its own or the pod's securityContext"),
    ({"runAsNonRoot": True}, {"runAsUser": 0}, "runs as uid 0: set runAsUser to a non-root uid"),
])
def test_a_container_that_may_run_as_root_is_stopped(pod_security, own_security, expected):
    workload = deployment(container(securityContext=own_security), pod_security=pod_security or {"fsGroup": 1})
    assert messages(policy_named("containers-run-as-non-root"), DEPLOYMENT, workload) == [
        f"Deployment models/model-server: container 'server' {expected}"]


@pytest.mark.parametrize("image", ["nginx", "nginx:latest", "ghcr.io/mlflow/mlflow:v3.17.2-full", "repo@sha256:abc"])
def test_an_image_by_tag_is_stopped(image):
    found = messages(policy_named("images-pinned-by-digest"), DEPLOYMENT, deployment(container(image=image)))
    assert found == [f"Deployment models/model-server: container 'server' uses image '{image}', a mutable tag: "
                     "reference it by digest (repository@sha256:<digest>)"]


def test_an_image_by_tag_and_digest_passes():
    tagged = DIGEST.replace("@", ":1.2.3@")
    assert messages(policy_named("images-pinned-by-digest"), DEPLOYMENT, deployment(container(image=tagged))) == []


@pytest.mark.parametrize("app", ["mlflow", "grafana"])
def test_mlflow_or_grafana_behind_a_public_load_balancer_is_stopped(app):
    policy = policy_named("no-public-load-balancer-for-mlflow-or-grafana")
    assert messages(policy, "kubernetes:core/v1:Service", service(app)) == []
    assert messages(policy, "kubernetes:core/v1:Service", service(app, "LoadBalancer")) == [
        f"Service {app}/{app}: {app} must not be exposed by a public LoadBalancer; keep it ClusterIP "
        "(reach it with kubectl port-forward) or make the load balancer internal"]


@pytest.mark.parametrize("annotations", [{"networking.gke.io/load-balancer-type": "Internal"},
                                         {"service.beta.kubernetes.io/azure-load-balancer-internal": "true"}])
def test_an_internal_load_balancer_for_mlflow_passes(annotations):
    policy = policy_named("no-public-load-balancer-for-mlflow-or-grafana")
    assert messages(policy, "kubernetes:core/v1:Service", service("mlflow", "LoadBalancer", annotations)) == []


def test_the_model_service_may_have_a_public_load_balancer():
    policy = policy_named("no-public-load-balancer-for-mlflow-or-grafana")
    assert messages(policy, "kubernetes:core/v1:Service", service("model-server", "LoadBalancer")) == []


def test_grafana_made_public_through_the_chart_values_is_stopped():
    policy = policy_named("no-public-load-balancer-for-mlflow-or-grafana")
    release = {"chart": "kube-prometheus-stack", "name": "kube-prometheus-stack",
               "values": {"grafana": {"service": {"type": "ClusterIP"}}}}
    assert messages(policy, "kubernetes:helm.sh/v3:Release", release) == []
    release["values"]["grafana"]["service"]["type"] = "LoadBalancer"
    assert messages(policy, "kubernetes:helm.sh/v3:Release", release) == [
        "Helm release kube-prometheus-stack: grafana.service.type is a public LoadBalancer; keep Grafana ClusterIP "
        "(reach it with kubectl port-forward) or make the load balancer internal"]


def test_a_model_service_namespace_needs_a_network_policy_selecting_its_pods():
    policy = policy_named("network-policy-for-every-model-service")
    workload = Resource(DEPLOYMENT, "model-deployment", deployment())
    guarded = [workload, Resource("kubernetes:networking.k8s.io/v1:NetworkPolicy", "np", network_policy())]
    assert stack_messages(policy, guarded) == []
    expected = ["Deployment models/model-server runs the model service, but no NetworkPolicy in namespace 'models' "
                "selects its pods: every namespace with a model service needs one"]
    assert stack_messages(policy, [workload]) == expected
    elsewhere = Resource("kubernetes:networking.k8s.io/v1:NetworkPolicy", "np", network_policy(namespace="other"))
    assert stack_messages(policy, [workload, elsewhere]) == expected
    other_pods = Resource("kubernetes:networking.k8s.io/v1:NetworkPolicy", "np", network_policy(match_labels={"app": "x"}))
    assert stack_messages(policy, [workload, other_pods]) == expected


def test_a_default_deny_policy_with_an_empty_selector_guards_the_namespace():
    policy = policy_named("network-policy-for-every-model-service")
    default_deny = Resource("kubernetes:networking.k8s.io/v1:NetworkPolicy", "deny", network_policy(match_labels={}))
    assert stack_messages(policy, [Resource(DEPLOYMENT, "d", deployment()), default_deny]) == []


def test_workloads_that_are_not_a_model_service_need_no_network_policy():
    policy = policy_named("network-policy-for-every-model-service")
    other = Resource(DEPLOYMENT, "web", deployment(labels={"app.kubernetes.io/name": "web"}))
    assert stack_messages(policy, [other]) == []
