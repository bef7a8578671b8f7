"""The Monitoring component under mocks: the Helm release and its values, scrape targets, modes, secrets."""
import pytest

from infra.k8s.monitoring import chart
from infra.render import is_secret, unwrapped

from .conftest import MONITORING_TYPE, declared, objects, only, render_local, rule_groups

RELEASE_TYPE = "kubernetes:helm.sh/v3:Release"
SERVICE_MONITOR_TYPE = "kubernetes:monitoring.coreos.com/v1:ServiceMonitor"


@pytest.fixture(scope="module")
def installed():
    return render_local()


def release_values(rendered) -> dict:
    return unwrapped(only(rendered, RELEASE_TYPE).inputs)


def test_release_pins_the_kube_prometheus_stack_chart_from_its_repository(installed):
    release = release_values(installed)
    assert release["chart"] == "kube-prometheus-stack"
    assert release["version"] == "88.5.3"
    assert release["repositoryOpts"] == {"repo": "https://prometheus-community.github.io/helm-charts"}
    assert (release["name"], release["namespace"]) == ("kube-prometheus-stack", "monitoring")


def test_prometheus_retention_storage_and_resources_come_from_config():
    rendered = render_local(prometheusRetention="30d", prometheusStorageSize="50Gi", storageClass="fast-ssd",
                            prometheusCpuRequest="300m", prometheusMemoryLimit="3Gi")
    release = release_values(rendered)
    spec = release["values"]["prometheus"]["prometheusSpec"]
    assert spec["retention"] == "30d"
    claim = spec["storageSpec"]["volumeClaimTemplate"]["spec"]
    assert claim["resources"]["requests"]["storage"] == "50Gi"
    assert claim["storageClassName"] == "fast-ssd"
    assert spec["resources"]["requests"]["cpu"] == "300m"
    assert spec["resources"]["limits"]["memory"] == "3Gi"


def test_an_empty_storage_class_leaves_the_cluster_default(installed):
    claim = release_values(installed)["values"]["prometheus"]["prometheusSpec"]["storageSpec"]["volumeClaimTemplate"]["spec"]
    assert "storageClassName" not in claim


def test_grafana_is_cluster_internal_and_its_generated_password_stays_a_secret_outside_helm_values(installed):
    grafana = release_values(installed)["values"]["grafana"]
    assert grafana["service"]["type"] == "ClusterIP"
    assert grafana["ingress"]["enabled"] is False
    assert "adminPassword" not in grafana
    admin = only(installed, "kubernetes:core/v1:Secret", "monitoring-grafana-admin")
    assert admin.inputs["metadata"]["name"] == grafana["admin"]["existingSecret"]
    assert admin.inputs["metadata"]["namespace"] == "monitoring"
    assert is_secret(admin.inputs["stringData"])
    assert unwrapped(admin.inputs["stringData"])[grafana["admin"]["passwordKey"]].startswith("mock-")
    assert only(installed, "random:index/randomPassword:RandomPassword", "monitoring-grafana-admin-password").inputs["length"] >= 32
    assert installed.outputs["grafanaAdminPassword"].secret
    assert installed.outputs["grafanaUrl"].value == "http://kube-prometheus-stack-grafana.monitoring.svc.cluster.local:80"


def test_grafana_sidecar_loads_the_dashboard_config_map_by_its_label_from_its_own_namespace_only(installed):
    grafana = release_values(installed)["values"]["grafana"]
    sidecar = grafana["sidecar"]["dashboards"]
    boards = [c for c in objects(installed, "ConfigMap") if sidecar["label"] in c["metadata"]["labels"]]
    assert len(boards) == 1
    assert boards[0]["metadata"]["labels"][sidecar["label"]] == sidecar["labelValue"]
    # kube-prometheus-stack's default searchNamespace is ALL: both sidecars are told the monitoring namespace.
    for watched in (sidecar, grafana["sidecar"]["datasources"]):
        assert (watched["searchNamespace"], watched["resource"]) == (["monitoring"], "configmap")
    assert boards[0]["metadata"]["namespace"] == "monitoring"


def test_grafana_sidecars_bind_the_stacks_role_that_reads_config_maps_of_the_monitoring_namespace_only(installed):
    rbac = release_values(installed)["values"]["grafana"]["rbac"]
    assert rbac == {"namespaced": True, "useExistingRole": chart.GRAFANA_SIDECAR_ROLE}
    (role,) = objects(installed, "Role")
    assert (role["metadata"]["name"], role["metadata"]["namespace"]) == (chart.GRAFANA_SIDECAR_ROLE, "monitoring")
    assert role["rules"] == [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list", "watch"]}]


def test_kube_state_metrics_lists_no_secret(installed):
    assert "secrets" in release_values(installed)["values"]["kube-state-metrics"]["collectorsExclude"]


@pytest.mark.parametrize("namespace", ["monitoring", "observability"])
def test_node_exporter_alone_runs_privileged_and_the_monitoring_namespace_enforces_baseline(namespace):
    rendered = render_local(monitoringNamespace=namespace)
    levels = {n["metadata"]["name"]: n["metadata"]["labels"] for n in objects(rendered, "Namespace")}
    assert levels[namespace]["pod-security.kubernetes.io/enforce"] == "baseline"
    assert levels[f"{namespace}-node-exporter"]["pod-security.kubernetes.io/enforce"] == "privileged"
    assert [labels["pod-security.kubernetes.io/enforce"] for labels in levels.values()].count("privileged") == 1
    for labels in (levels[namespace], levels[f"{namespace}-node-exporter"]):
        assert labels["pod-security.kubernetes.io/audit"] == labels["pod-security.kubernetes.io/warn"] == "restricted"
    values = release_values(rendered)["values"]
    assert values["prometheus-node-exporter"]["namespaceOverride"] == f"{namespace}-node-exporter"


def test_only_the_monitoring_namespace_reaches_its_pods_except_the_operators_webhook(installed):
    policies = {p["metadata"]["name"]: p["spec"] for p in objects(installed, "NetworkPolicy")
                if p["metadata"]["namespace"] == "monitoring"}
    assert policies["default-deny-ingress"] == {"podSelector": {}, "policyTypes": ["Ingress"]}
    peers = policies["allow-from-monitoring"]["ingress"][0]["from"]
    assert policies["allow-from-monitoring"]["podSelector"] == {}
    assert peers == [{"namespaceSelector": {"matchExpressions": [
        {"key": "kubernetes.io/metadata.name", "operator": "In", "values": ["monitoring"]}]}}]
    webhook = policies["allow-operator-webhook"]
    assert webhook["podSelector"] == {"matchLabels": {"app": "kube-prometheus-stack-operator"}}
    assert webhook["ingress"] == [{"ports": [{"protocol": "TCP", "port": 10250}]}]
    assert set(policies) == {"default-deny-ingress", "allow-from-monitoring", "allow-operator-webhook"}


def test_the_prometheus_volume_outlives_its_statefulset(installed):
    spec = release_values(installed)["values"]["prometheus"]["prometheusSpec"]
    assert spec["persistentVolumeClaimRetentionPolicy"] == {"whenDeleted": "Retain", "whenScaled": "Retain"}


@pytest.mark.parametrize("target,service_name,namespace", [("model", "model-server", "models"), ("tracking", "mlflow", "mlflow")])
def test_service_monitor_selects_the_service_by_its_labels_and_scrapes_its_named_port(installed, target, service_name, namespace):
    monitor = unwrapped(only(installed, SERVICE_MONITOR_TYPE, f"monitoring-{target}-scrape").inputs)
    (service,) = [s for s in objects(installed, "Service") if s["metadata"]["name"] == service_name]
    spec = monitor["spec"]
    assert monitor["metadata"]["namespace"] == service["metadata"]["namespace"] == namespace
    assert spec["namespaceSelector"] == {"matchNames": [namespace]}
    assert spec["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    (endpoint,) = spec["endpoints"]
    assert endpoint["port"] in {port["name"] for port in service["spec"]["ports"]}
    assert endpoint["path"] == "/metrics"


def test_service_monitor_selector_matches_no_other_service(installed):
    monitor = unwrapped(only(installed, SERVICE_MONITOR_TYPE, "monitoring-model-scrape").inputs)
    wanted = monitor["spec"]["selector"]["matchLabels"].items()
    matched = [s["metadata"]["name"] for s in objects(installed, "Service") if wanted <= s["metadata"]["labels"].items()]
    assert matched == ["model-server"]


def test_tracking_server_is_scraped_on_its_metrics_port_with_no_mlflow_user(installed):
    monitor = unwrapped(only(installed, SERVICE_MONITOR_TYPE, "monitoring-tracking-scrape").inputs)
    (endpoint,) = monitor["spec"]["endpoints"]
    assert endpoint["port"] == "metrics" and "basicAuth" not in endpoint
    assert not [r for r in installed.of_type("kubernetes:core/v1:Secret") if r.name.endswith("-scrape-auth")]


def test_monitoring_objects_carry_the_release_label_the_prometheus_selects_by():
    rendered = render_local(monitoringRelease="prom")
    for kind in ("ServiceMonitor", "PrometheusRule"):
        for obj in objects(rendered, kind):
            assert obj["metadata"]["labels"]["release"] == "prom", kind
    assert release_values(rendered)["name"] == "prom"
    assert rendered.outputs["grafanaUrl"].value.startswith("http://prom-grafana.monitoring.")


def test_existing_operator_mode_creates_only_the_monitoring_objects():
    rendered = render_local(monitoring="existing-operator")
    assert declared(rendered, RELEASE_TYPE) == []
    assert "monitoring" not in {n["metadata"]["name"] for n in objects(rendered, "Namespace")}
    assert declared(rendered, "random:index/randomPassword:RandomPassword", "monitoring-grafana-admin-password") == []
    assert len(objects(rendered, "ServiceMonitor")) == 2
    assert len(objects(rendered, "PrometheusRule")) == 1
    assert any("grafana_dashboard" in c["metadata"]["labels"] for c in objects(rendered, "ConfigMap"))
    assert "grafanaUrl" not in rendered.outputs


def test_none_mode_creates_nothing_for_monitoring():
    rendered = render_local(monitoring="none")
    assert declared(rendered, MONITORING_TYPE) == []
    assert not [r for r in rendered.resources if "monitoring.coreos.com" in r.type or r.type == RELEASE_TYPE]
    assert not [c for c in objects(rendered, "ConfigMap") if "grafana_dashboard" in c["metadata"]["labels"]]


def test_every_monitoring_resource_is_a_child_of_the_component(installed):
    (component,) = declared(installed, MONITORING_TYPE)
    children = [r for r in installed.resources if r.parent == component.urn]
    assert {r.type for r in children} >= {RELEASE_TYPE, SERVICE_MONITOR_TYPE, "kubernetes:monitoring.coreos.com/v1:PrometheusRule",
                                          "kubernetes:core/v1:ConfigMap", "kubernetes:core/v1:Namespace"}
    assert not [r for r in installed.resources if "monitoring.coreos.com" in r.type and r.parent != component.urn]


def alerts(rendered) -> dict[str, dict]:
    return {rule["alert"]: rule for group in rule_groups(rendered) for rule in group["rules"] if "alert" in rule}


def test_alerts_cover_errors_latency_readiness_restarts_autoscaling_the_tracking_server_and_a_worse_canary(installed):
    assert set(alerts(installed)) == {
        "MlstackModelErrorRatioHigh", "MlstackModelLatencyHigh", "MlstackModelNotReady",
        "MlstackModelPodRestarting", "MlstackModelAutoscalerAtMax", "MlstackTrackingServerDown",
        "MlstackCanaryErrorRatioWorse", "MlstackCanaryLatencyWorse"}
    for name, rule in alerts(installed).items():
        assert rule["labels"]["severity"] in {"warning", "critical"}, name
        assert "Check:" in rule["annotations"]["description"], name


def test_no_traffic_alert_exists_only_when_traffic_is_expected():
    assert "MlstackModelNoTraffic" in alerts(render_local(expectTraffic="true"))
    assert "MlstackModelNoTraffic" not in alerts(render_local(expectTraffic="false"))


def test_alert_thresholds_follow_the_configured_objectives():
    rendered = alerts(render_local(latencyObjectiveMs="400", errorRatioObjectivePercent="5"))
    assert rendered["MlstackModelLatencyHigh"]["expr"].endswith("> 0.4")
    assert rendered["MlstackModelErrorRatioHigh"]["expr"].endswith("> 0.05")
    assert rendered["MlstackCanaryErrorRatioWorse"]["expr"].endswith("> 0.05")
    assert rendered["MlstackCanaryLatencyWorse"]["expr"].endswith("> 0.04")  # a tenth of the objective
    assert "400 ms" in rendered["MlstackModelLatencyHigh"]["annotations"]["description"]


def test_alerts_and_rules_are_scoped_to_this_stacks_namespaces():
    rendered = alerts(render_local(namespace="scoring", trackingNamespace="registry"))
    assert 'namespace="scoring"' in rendered["MlstackModelErrorRatioHigh"]["expr"]
    assert 'namespace="scoring"' in rendered["MlstackModelPodRestarting"]["expr"]
    assert 'namespace="registry"' in rendered["MlstackTrackingServerDown"]["expr"]


def test_chart_grafana_service_name_follows_the_subcharts_fullname_rule():
    assert chart.grafana_service_name("kube-prometheus-stack") == "kube-prometheus-stack-grafana"
    assert chart.grafana_service_name("my-grafana") == "my-grafana"
