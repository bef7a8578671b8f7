"""A real model server scraped by a real Prometheus: every recording rule and dashboard query returns data.

This is where metric names are checked end to end: a name that drifts in serving/metrics.py, the rules or the
dashboard leaves a query empty here.
"""
import json
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
import yaml

from infra.k8s.monitoring import dashboard

from .conftest import LIVE_PROCESSES, dashboard_json, render_local, rule_groups
from .live import ClusterSeries, ModelServer, Prometheus

pytestmark = pytest.mark.prometheus

NAMESPACE = "models"
JOB = "model-server"
POD = "model-server-7d9f8c6b5-x2k4q"
STABLE_POD_LABELS = {"mlstack_io_track": "stable", "mlstack_io_model_version": "1"}
DATA_TIMEOUT_S = 90
GOOD_REQUESTS = 120
# Grafana replaces these before it sends a query; Prometheus must get what Grafana would send.
GRAFANA_VARIABLES = {"$namespace": NAMESPACE, "$__rate_interval": "1m"}


@pytest.fixture(scope="module")
def rendered():
    return render_local()


@pytest.fixture(scope="module")
def model_server(probe_model_uri, tmp_path_factory):
    tracking_uri, model_uri = probe_model_uri
    server = ModelServer("model-server", tmp_path_factory.mktemp("model-server"), tracking_uri=tracking_uri,
                         args=("--model-uri", model_uri, "--request-timeout", "1"))
    LIVE_PROCESSES.append(server)
    try:
        yield server.start().wait_ready()
    finally:
        server.stop()


@pytest.fixture(scope="module")
def prometheus(rendered, model_server, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("prometheus")
    rule_file = workdir / "rules.yaml"
    rule_file.write_text(yaml.safe_dump({"groups": rule_groups(rendered)}, sort_keys=False))
    cluster = ClusterSeries(NAMESPACE, JOB, POD, model_server.process.pid, max_replicas=3).start()
    instance = Prometheus("prometheus", workdir, rule_file=rule_file, scrape_configs=[
        # The labels the Prometheus Operator gives a ServiceMonitor's targets: job from the Service, namespace, pod,
        # and the pod labels its podTargetLabels name.
        {"job_name": JOB, "static_configs": [{"targets": [f"127.0.0.1:{model_server.port}"],
                                              "labels": {"namespace": NAMESPACE, "pod": POD, **STABLE_POD_LABELS}}]},
        # kube-prometheus-stack scrapes kube-state-metrics with honor_labels, so the object's namespace wins.
        {"job_name": "cluster", "honor_labels": True, "static_configs": [{"targets": [f"127.0.0.1:{cluster.port}"]}]},
    ])
    LIVE_PROCESSES.append(instance)
    try:
        yield instance.start().wait_ready()
    finally:
        instance.stop()
        cluster.stop()


def predict(server, action: str, x: float = 1.0) -> int:
    body = {"dataframe_records": [{"x": x, "action": action}, {"x": x + 1, "action": action}]}
    return requests.post(f"{server.url}/invocations", data=json.dumps(body),
                         headers={"Content-Type": "application/json"}, timeout=30).status_code


@pytest.fixture(scope="module")
def traffic(prometheus, model_server):
    """Predictions after Prometheus sees the target, so rates cover them: successes, model errors, timeouts."""
    wait_for(prometheus, f'up{{job="{JOB}"}} == 1')
    # rate() needs a counter to move while Prometheus watches: a series born at its final value shows no increase.
    # So one success creates the 200 series, and Prometheus sees it before the measured successes arrive.
    statuses = [predict(model_server, "double")]
    wait_for(prometheus, f'mlstack_http_requests_total{{job="{JOB}", route="/invocations", status="200"}} == 1')
    with ThreadPoolExecutor(8) as pool:
        statuses += list(pool.map(lambda i: predict(model_server, "double", i), range(GOOD_REQUESTS)))
    statuses.append(predict(model_server, "raise"))
    # Likewise one timeout creates the 504 series, and the second one, after Prometheus has seen it, is measured.
    for _ in range(2):
        statuses.append(predict(model_server, "sleep", 1.5))
        wait_for(prometheus, f'mlstack_http_requests_total{{job="{JOB}", status="504"}} == {statuses.count(504)}')
    assert statuses.count(200) == GOOD_REQUESTS + 1 and 400 in statuses, statuses
    return statuses


def wait_for(prometheus, expr: str) -> list[dict]:
    deadline = time.monotonic() + DATA_TIMEOUT_S
    while time.monotonic() < deadline:
        result = prometheus.query(expr)
        if result:
            return result
        time.sleep(0.5)
    raise AssertionError(f"no data for {expr} after {DATA_TIMEOUT_S}s")


def recorded_series(rendered) -> list[str]:
    """One selector per recording rule: its name, narrowed by the labels the rule adds."""
    selectors = []
    for group in rule_groups(rendered):
        for rule in group["rules"]:
            if "record" in rule:
                labels = ",".join(f'{k}="{v}"' for k, v in rule.get("labels", {}).items())
                selectors.append(f"{rule['record']}{{{labels}}}")
    return selectors


def as_grafana_sends(expr: str) -> str:
    for variable, value in GRAFANA_VARIABLES.items():
        expr = expr.replace(variable, value)
    assert "$" not in expr, f"unsubstituted Grafana variable in {expr}"
    return expr


def test_every_recording_rule_returns_data_from_the_live_server(prometheus, traffic, rendered):
    selectors = recorded_series(rendered)
    assert len(selectors) == 17
    for selector in selectors:
        assert wait_for(prometheus, selector), selector


def test_every_dashboard_query_returns_data(prometheus, traffic, rendered):
    queries = dashboard.queries(dashboard_json(rendered))
    assert len(queries) == 20
    for query in queries:
        assert wait_for(prometheus, as_grafana_sends(query)), query


def test_recorded_rates_reflect_the_traffic_sent(prometheus, traffic):
    scope = f'{{namespace="{NAMESPACE}", job="{JOB}"}}'
    wait_for(prometheus, f"namespace_job:mlstack_http_errors:rate5m{scope} > 0")
    assert float(wait_for(prometheus, f"namespace_job:mlstack_http_requests:rate5m{scope}")[0]["value"][1]) > 0
    assert float(wait_for(prometheus, f"namespace_job:mlstack_prediction_rows:rate5m{scope}")[0]["value"][1]) > 0
    ratio = float(wait_for(prometheus, f"namespace_job:mlstack_http_error_ratio:rate5m{scope}")[0]["value"][1])
    assert 0 < ratio < 0.1  # two 504s among about 120 predictions; the 400 is the caller's error, not a 5xx
    p99 = float(wait_for(prometheus, 'namespace_job:mlstack_http_request_duration_seconds:quantile5m{quantile="0.99"}')[0]["value"][1])
    assert p99 > 0


def test_the_model_table_names_the_served_model(prometheus, traffic):
    (row,) = wait_for(prometheus, f'max by (model_name, model_version, run_id) (mlstack_model_info{{namespace="{NAMESPACE}"}})')
    assert (row["metric"]["model_name"], row["metric"]["model_version"]) == ("probe", "1")
    assert len(row["metric"]["run_id"]) == 32


def test_every_rule_evaluates_without_error(prometheus, traffic, rendered):
    wait_for(prometheus, "namespace_job:mlstack_batch_size:mean5m")
    rules = prometheus.rules()
    assert len(rules) == sum(len(group["rules"]) for group in rule_groups(rendered))
    broken = [(rule["name"], rule.get("lastError")) for rule in rules if rule["health"] != "ok"]
    assert broken == []
