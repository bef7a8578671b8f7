"""ModelService under mocks: the objects a user gets from the `local` stack file and from config changes."""
import os
import subprocess
import sys

import pytest

from infra.render import MASK, masked, unwrapped
from serving.settings import parse_settings

from .conftest import objects_of_kind, one, render_with


def test_namespace_enforces_the_restricted_pod_security_standard(local_stack):
    labels = one(local_stack, "Namespace", "models")["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"


def test_deployment_rolls_without_losing_capacity_and_leaves_the_replica_count_to_the_autoscaler(local_stack):
    spec = one(local_stack, "Deployment", "model-server")["spec"]
    assert spec["strategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}}
    assert "replicas" not in spec


def test_container_has_probes_resources_and_graceful_termination(local_stack):
    pod = one(local_stack, "Deployment", "model-server")["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert container["startupProbe"]["httpGet"]["path"] == "/ready"
    assert container["readinessProbe"]["httpGet"]["path"] == "/ready"
    assert container["livenessProbe"]["httpGet"]["path"] == "/health"
    assert container["resources"] == {"requests": {"cpu": "250m", "memory": "256Mi"}, "limits": {"cpu": "1", "memory": "1Gi"}}
    pre_stop = container["lifecycle"]["preStop"]["sleep"]["seconds"]
    assert pre_stop > 0
    assert pod["terminationGracePeriodSeconds"] > pre_stop + 30  # the server drains for up to 30 s after SIGTERM
    assert {c["topologyKey"] for c in pod["topologySpreadConstraints"]} == {"kubernetes.io/hostname", "topology.kubernetes.io/zone"}


def test_model_reference_reaches_the_pod_by_env_and_by_template_annotations():
    rendered = render_with(modelUri="models:/fraud/7", workers=3, memoryLimit="2Gi", maxBatchSize=1)
    template = one(rendered, "Deployment", "model-server")["spec"]["template"]
    env = {e["name"]: e.get("value") for e in template["spec"]["containers"][0]["env"]}
    assert env["MODEL_URI"] == "models:/fraud/7"
    assert env["WORKERS"] == "3" and env["MAX_BATCH_SIZE"] == "1"
    assert env["MLFLOW_TRACKING_URI"] == "http://mlflow.mlflow.svc.cluster.local:5000"
    assert template["metadata"]["annotations"]["mlstack.io/model-name"] == "fraud"
    assert template["metadata"]["annotations"]["mlstack.io/model-version"] == "7"


def test_a_new_model_version_changes_only_the_pod_template_of_the_model_deployment():
    def by_identity(rendered):
        return {(o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"]): o for o in rendered.kubernetes_objects()}

    before = by_identity(render_with(modelUri="models:/churn/3"))
    after = by_identity(render_with(modelUri="models:/churn/4"))
    assert before.keys() == after.keys()
    changed = {key for key in before if before[key] != after[key]}
    assert changed == {("Deployment", "models", "model-server")}
    annotations = after[("Deployment", "models", "model-server")]["spec"]["template"]["metadata"]["annotations"]
    assert annotations["mlstack.io/model-version"] == "4"


def test_mlflow_reads_the_tracking_credentials_from_the_mounted_secret_file_not_the_environment(local_stack, tmp_path):
    pod = one(local_stack, "Deployment", "model-server")["spec"]["template"]["spec"]
    container = pod["containers"][0]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert not {"MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD"} & env.keys()
    mount = next(m for m in container["volumeMounts"] if m["name"] == "mlflow-credentials")
    assert mount["readOnly"] and mount["mountPath"] == f"{env['HOME']}/.mlflow"
    volume = next(v for v in pod["volumes"] if v["name"] == "mlflow-credentials")["secret"]
    assert volume["secretName"] == "model-server-mlflow" and volume["defaultMode"] == 0o440
    secret = next(r for r in local_stack.of_type("kubernetes:core/v1:Secret") if r.name == "model-mlflow-credentials")
    assert masked(secret.inputs)["stringData"]["credentials"] == MASK
    home = tmp_path / "home"
    (home / ".mlflow").mkdir(parents=True)
    (home / ".mlflow" / "credentials").write_text(unwrapped(secret.inputs["stringData"])["credentials"])
    probe = ("from mlflow.utils.credentials import read_mlflow_creds; c = read_mlflow_creds(); "
             "print(c.username); print(c.password)")
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_TRACKING_")}
    read = subprocess.run([sys.executable, "-c", probe], env={**clean, "HOME": str(home)}, capture_output=True, text=True,
                          check=True, timeout=120).stdout.split()
    tracking_secret = unwrapped(next(r for r in local_stack.of_type("kubernetes:core/v1:Secret") if r.name == "tracking-secret").inputs)
    assert read == ["model-server", tracking_secret["stringData"]["MLSTACK_READER_PASSWORD"]]


def test_service_is_cluster_ip_by_default_and_load_balancer_by_config(local_stack):
    assert one(local_stack, "Service", "model-server")["spec"]["type"] == "ClusterIP"
    assert one(render_with(serviceType="LoadBalancer"), "Service", "model-server")["spec"]["type"] == "LoadBalancer"


def test_autoscaler_targets_the_deployment_with_configured_bounds_and_scale_down_window():
    rendered = render_with(minReplicas=3, maxReplicas=9, cpuUtilizationTarget=55, scaleDownStabilizationSeconds=120)
    spec = one(rendered, "HorizontalPodAutoscaler", "model-server")["spec"]
    assert spec["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "model-server"}
    assert (spec["minReplicas"], spec["maxReplicas"]) == (3, 9)
    assert spec["metrics"][0]["resource"]["target"] == {"type": "Utilization", "averageUtilization": 55}
    assert spec["behavior"]["scaleDown"]["stabilizationWindowSeconds"] == 120


def test_disruption_budget_and_service_select_the_deployments_pods(local_stack):
    pod_labels = one(local_stack, "Deployment", "model-server")["spec"]["template"]["metadata"]["labels"]
    for selector in (one(local_stack, "PodDisruptionBudget", "model-server")["spec"]["selector"]["matchLabels"],
                     one(local_stack, "Service", "model-server")["spec"]["selector"]):
        assert selector.items() <= pod_labels.items()
    assert one(local_stack, "PodDisruptionBudget", "model-server")["spec"]["maxUnavailable"] == 1


def test_network_policy_denies_by_default_and_admits_only_monitoring_and_configured_namespaces():
    rendered = render_with(allowedNamespaces=["team-a", "batch"])
    policies = [p for p in objects_of_kind(rendered, "NetworkPolicy") if p["metadata"]["namespace"] == "models"]
    deny = next(p for p in policies if p["metadata"]["name"] == "default-deny")
    assert deny["spec"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    allow = next(p for p in policies if p["metadata"]["name"] == "model-server")
    (rule,) = allow["spec"]["ingress"]
    assert rule["ports"] == [{"protocol": "TCP", "port": 8080}]
    (peer,) = rule["from"]
    assert peer["namespaceSelector"]["matchExpressions"][0]["values"] == ["batch", "monitoring", "team-a"]
    egress_ports = [port["port"] for r in allow["spec"]["egress"] for port in r["ports"]]
    assert 5000 in egress_ports and 53 in egress_ports


def test_deployment_skips_the_rollout_wait_only_when_asked(local_stack):
    assert one(local_stack, "Deployment", "model-server")["metadata"]["annotations"] == {"pulumi.com/skipAwait": "true"}
    waiting = one(render_with(awaitRollout=True), "Deployment", "model-server")["metadata"]
    assert "pulumi.com/skipAwait" not in waiting.get("annotations", {})


def test_the_image_is_the_built_digest_unless_a_prebuilt_image_is_given(local_stack):
    image = one(local_stack, "Deployment", "model-server")["spec"]["template"]["spec"]["containers"][0]["image"]
    assert image.startswith("localhost:5000/mlstack-serving@sha256:")
    prebuilt = "registry.example.com/ml/server@sha256:" + "b" * 64
    rendered = render_with(imageBuild=False, image=prebuilt)
    assert one(rendered, "Deployment", "model-server")["spec"]["template"]["spec"]["containers"][0]["image"] == prebuilt
    assert not rendered.of_type("docker-build:index:Image")


def test_outputs_name_the_namespace_urls_user_and_image(local_stack):
    outputs = {name: unwrapped(out.value) for name, out in local_stack.outputs.items()}
    assert outputs["namespace"] == "models"
    assert outputs["modelServiceUrl"] == "http://model-server.models.svc.cluster.local:80"
    assert outputs["mlflowUrl"] == "http://mlflow.mlflow.svc.cluster.local:5000"
    assert outputs["mlflowAdminUser"] == "admin"
    assert outputs["image"].startswith("localhost:5000/mlstack-serving@sha256:")


def test_every_child_is_parented_to_its_component(local_stack):
    for resource in local_stack.resources:
        if resource.type.startswith("kubernetes:") and resource.custom:
            assert resource.parent.split("::")[2].split("$")[-1].startswith("mlstack:"), resource.name


@pytest.mark.parametrize("overrides", [
    {}, {"workers": 3, "memoryLimit": "2Gi", "maxBatchSize": 1, "maxBatchWaitMs": 7, "modelUri": "models:/churn/4"}])
def test_the_server_reads_back_exactly_the_settings_the_stack_renders(overrides):
    rendered = render_with(**overrides)
    container = one(rendered, "Deployment", "model-server")["spec"]["template"]["spec"]["containers"][0]
    plain_env = {variable["name"]: variable["value"] for variable in container["env"] if "value" in variable}
    settings = parse_settings(argv=[], env=plain_env)
    port = container["ports"][0]["containerPort"]
    expected = {"modelUri": "models:/churn@champion", "workers": 1, "maxBatchSize": 64, "maxBatchWaitMs": 0, **overrides}
    assert (settings.model_uri, settings.workers, settings.max_batch_size, settings.max_batch_wait_ms) == (
        expected["modelUri"], expected["workers"], expected["maxBatchSize"], expected["maxBatchWaitMs"])
    assert (settings.host, settings.port) == ("0.0.0.0", port)
    limit = 2**31 if overrides else 2**30  # the local stack's limit is 1Gi
    assert settings.memory_budget_bytes == (limit // expected["workers"] - 330 * 2**20) // 2
    assert container["readinessProbe"]["httpGet"]["port"] == container["ports"][0]["name"]
