"""The dashboard: every panel on-call needs, valid for Grafana's model, reading only rules that exist."""
import re

from grafana_foundation_sdk.cog.plugins import register_default_plugins
from grafana_foundation_sdk.models.dashboard import Dashboard

from infra.k8s.monitoring import dashboard

from .conftest import dashboard_json, render_local, rule_groups

RECORDED = re.compile(r"\b(namespace_job(?:_track)?(?:_le)?:[a-z0-9_]+:[a-z0-9]+)")


def panels(board: dict) -> dict[str, dict]:
    return {panel["title"]: panel for panel in board["panels"] if panel["type"] != "row"}


def test_dashboard_shows_traffic_errors_latency_batching_canary_capacity_and_the_model():
    titles = set(panels(dashboard_json(render_local())))
    assert titles == {
        "Requests/s", "5xx error ratio", "Latency p50 / p95 / p99", "In-flight requests",
        "Model served", "Batch size (requests per model call)", "Rows predicted/s", "Model time per call",
        "Pods with the model loaded",
        "Requests/s per track", "5xx error ratio per track", "Latency p50 / p99 per track", "Version per track (pods)",
        "Replicas vs autoscaler", "CPU per pod (cores)", "Memory per pod (working set)",
    }


def test_every_recording_rule_the_dashboard_reads_is_defined():
    rendered = render_local()
    defined = {rule["record"] for group in rule_groups(rendered) for rule in group["rules"] if "record" in rule}
    used = {name for query in dashboard.queries(dashboard_json(rendered)) for name in RECORDED.findall(query)}
    assert used and used <= defined


def test_replicas_panel_compares_current_desired_and_maximum_of_the_model_autoscaler():
    targets = panels(dashboard_json(render_local()))["Replicas vs autoscaler"]["targets"]
    assert [t["legendFormat"] for t in targets] == ["current", "desired", "max"]
    assert all('horizontalpodautoscaler="model-server"' in t["expr"] for t in targets)
    assert len({t["refId"] for t in targets}) == 3


def test_dashboard_reads_back_into_grafanas_dashboard_model():
    register_default_plugins()
    board = dashboard_json(render_local())
    model = Dashboard.from_json(board)
    assert model.uid == dashboard.UID
    assert len(model.panels) == len(board["panels"])


def test_namespace_variable_defaults_to_the_stacks_model_namespace():
    board = dashboard_json(render_local(namespace="scoring"))
    (namespace,) = [v for v in board["templating"]["list"] if v["name"] == dashboard.NAMESPACE_VARIABLE]
    assert namespace["current"]["value"] == "scoring"
    assert all("$namespace" in query for query in dashboard.queries(board))


def test_canary_panels_split_traffic_errors_and_latency_by_track_and_name_each_tracks_version():
    board = panels(dashboard_json(render_local()))
    for title in ("Requests/s per track", "5xx error ratio per track", "Latency p50 / p99 per track"):
        (target,) = board[title]["targets"]
        assert target["expr"].startswith("namespace_job_track:") and "{{mlstack_io_track}}" in target["legendFormat"], title
    (versions,) = board["Version per track (pods)"]["targets"]
    assert versions["expr"].startswith("count by (mlstack_io_track, mlstack_io_model_version) (up{")
