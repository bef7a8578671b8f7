"""Who may do what holds for every valid choice of namespaces, not only for the stack files."""
import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from infra.render import unwrapped

from .conftest import render_with

RUNS = settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
names = st.from_regex(r"[a-z][a-z0-9-]{0,12}[a-z0-9]", fullmatch=True).filter(lambda n: not n.startswith("kube-"))


@RUNS
@given(st.lists(names, min_size=4, max_size=4, unique=True))
def test_the_admin_stays_in_the_tracking_namespace_and_prometheus_reads_only_the_metrics_port(namespaces):
    serving, tracking, monitoring, allowed = namespaces
    rendered = render_with(namespace=serving, trackingNamespace=tracking, monitoringNamespace=monitoring,
                           allowedNamespaces=json.dumps([allowed]))
    admin_password = unwrapped(rendered.outputs["mlflowAdminPassword"].value)
    for secret in rendered.of_type("kubernetes:core/v1:Secret"):
        if secret.inputs["metadata"]["namespace"] != tracking:
            assert admin_password not in json.dumps(unwrapped(secret.inputs.get("stringData", {}))), secret.name
    (policy,) = [p for p in rendered.kubernetes_objects()
                 if p["kind"] == "NetworkPolicy" and p["metadata"]["namespace"] == tracking and p["metadata"]["name"] == "mlflow"]
    callers = {rule["ports"][0]["port"]: set(rule["from"][0]["namespaceSelector"]["matchExpressions"][0]["values"])
               for rule in policy["spec"]["ingress"]}
    assert callers == {5000: {serving, allowed}, 9102: {monitoring}}
    monitor = next(m for m in rendered.kubernetes_objects() if m["kind"] == "ServiceMonitor" and m["metadata"]["namespace"] == tracking)
    assert monitor["spec"]["endpoints"][0]["port"] == "metrics" and "basicAuth" not in monitor["spec"]["endpoints"][0]
