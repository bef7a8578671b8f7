"""The model service's Grafana dashboard, built with grafana-foundation-sdk and delivered as JSON.

The SDK's typed builders catch misspelt panel options at build time, which hand-written JSON would not.
Panels read the recording rules where one exists, so the dashboard and the alerts agree on what they show.
"""
import json
from typing import Any

from grafana_foundation_sdk.builders import dashboard, prometheus, stat, table, timeseries
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.dashboard import DataSourceRef, VariableOption, VariableRefresh
from grafana_foundation_sdk.models.prometheus import PromQueryFormat

from . import rules
from .scope import MODEL_VERSION, PREDICTION_ROUTES, TRACK, ModelScope

UID = "mlstack-model-service"
TITLE = "mlstack / model service"
DATASOURCE_VARIABLE = "datasource"
NAMESPACE_VARIABLE = "namespace"
_DATASOURCE = DataSourceRef(type_val="prometheus", uid="${" + DATASOURCE_VARIABLE + "}")
_WIDTH = 24


def build(model: ModelScope) -> dict[str, Any]:
    """The dashboard as Grafana's JSON model, for a ConfigMap that Grafana's sidecar loads."""
    builder = (
        dashboard.Dashboard(TITLE).uid(UID).tags(["mlstack", "model-serving"])
        .refresh("30s").time("now-3h", "now").timezone("utc").editable()
        .with_variable(dashboard.DatasourceVariable(DATASOURCE_VARIABLE).label("Data source").type("prometheus"))
        .with_variable(
            dashboard.QueryVariable(NAMESPACE_VARIABLE).label("Namespace").datasource(_DATASOURCE)
            .query(f"label_values(mlstack_model_info, {NAMESPACE_VARIABLE})")
            .current(VariableOption(text=model.namespace, value=model.namespace))
            .refresh(VariableRefresh.ON_TIME_RANGE_CHANGED)
        )
    )
    for title, row in _rows(model):
        builder = builder.with_row(dashboard.Row(title))
        for panel in row:
            builder = builder.with_panel(panel)
    board: dict[str, Any] = json.loads(JSONEncoder(sort_keys=True).encode(builder.build()))
    return board


def queries(board: dict[str, Any]) -> list[str]:
    """Every PromQL expression the dashboard runs, as Grafana stores them."""
    return [target["expr"] for panel in board["panels"] for target in panel.get("targets", [])]


def _rows(model: ModelScope) -> list[tuple[str, list[Any]]]:
    service = f'namespace="${NAMESPACE_VARIABLE}", job="{model.job}"'
    pods = f'namespace="${NAMESPACE_VARIABLE}", pod=~"{model.workload}-[a-z0-9]+-[a-z0-9]+", container!="", container!="POD"'
    autoscaler = f'namespace="${NAMESPACE_VARIABLE}", horizontalpodautoscaler="{model.workload}"'
    return [
        ("Traffic", [
            _series("Requests/s", "reqps", _query(f"{rules.REQUESTS}{{{service}}}", "requests/s")),
            _series("5xx error ratio", "percentunit", _query(f"{rules.ERROR_RATIO}{{{service}}}", "5xx ratio")),
            _series("Latency p50 / p95 / p99", "s",
                    _query(f"{rules.LATENCY}{{{service}}}", "p{{quantile}}")),
            _series("In-flight requests", "short", _query(
                f'sum by (route) (mlstack_http_requests_in_progress{{{service}, route=~"{PREDICTION_ROUTES}"}})', "{{route}}")),
        ]),
        ("Model", [
            _model_table(service),
            _series("Batch size (requests per model call)", "short",
                    _query(f"{rules.BATCH_SIZE}{{{service}}}", "mean"),
                    _query("histogram_quantile(0.95, sum by (le) "
                           f"(rate(mlstack_batch_size_bucket{{{service}}}[$__rate_interval])))", "p95")),
            _series("Rows predicted/s", "short", _query(f"{rules.ROWS}{{{service}}}", "rows/s")),
            # Beside the request latency: how much of it is the model's own time, and how much queueing and HTTP.
            _series("Model time per call", "s",
                    _query(f"{rules.MODEL_CALL_TIME}{{{service}}}", "mean"),
                    _query("histogram_quantile(0.95, sum by (le) "
                           f"(rate(mlstack_model_call_duration_seconds_bucket{{{service}}}[$__rate_interval])))", "p95")),
            _stat("Pods with the model loaded", _query(f"sum(mlstack_model_ready{{{service}}})", "ready")),
        ]),
        ("Canary vs stable", [
            _series("Requests/s per track", "reqps", _query(f"{rules.TRACK_REQUESTS}{{{service}}}", "{{" + TRACK + "}}")),
            _series("5xx error ratio per track", "percentunit",
                    _query(f"{rules.TRACK_ERROR_RATIO}{{{service}}}", "{{" + TRACK + "}}")),
            _series("Latency p50 / p99 per track", "s",
                    _query(f'{rules.TRACK_LATENCY}{{{service}, quantile=~"0.5|0.99"}}', "{{" + TRACK + "}} p{{quantile}}")),
            _versions_table(service),
        ]),
        ("Capacity", [
            _series("Replicas vs autoscaler", "short",
                    _query(f"max(kube_horizontalpodautoscaler_status_current_replicas{{{autoscaler}}})", "current"),
                    _query(f"max(kube_horizontalpodautoscaler_status_desired_replicas{{{autoscaler}}})", "desired"),
                    _query(f"max(kube_horizontalpodautoscaler_spec_max_replicas{{{autoscaler}}})", "max")),
            _series("CPU per pod (cores)", "short",
                    _query(f"sum by (pod) (rate(container_cpu_usage_seconds_total{{{pods}}}[$__rate_interval]))", "{{pod}}")),
            _series("Memory per pod (working set)", "bytes",
                    _query(f"sum by (pod) (container_memory_working_set_bytes{{{pods}}})", "{{pod}}")),
        ]),
    ]


def _query(expr: str, legend: str) -> prometheus.Dataquery:
    return prometheus.Dataquery().expr(expr).legend_format(legend).datasource(_DATASOURCE)


def _series(title: str, unit: str, *targets: prometheus.Dataquery) -> timeseries.Panel:
    panel = timeseries.Panel().title(title).unit(unit).min(0).height(8).span(_WIDTH // 2).datasource(_DATASOURCE)
    for ref_id, target in zip("ABCDEFGH", targets, strict=False):
        panel = panel.with_target(target.ref_id(ref_id))
    return panel


def _stat(title: str, target: prometheus.Dataquery) -> stat.Panel:
    return stat.Panel().title(title).height(8).span(_WIDTH // 4).datasource(_DATASOURCE).with_target(target.ref_id("A"))


def _versions_table(service: str) -> table.Panel:
    """Which model version each track serves, and on how many pods: the pod labels every scraped target carries."""
    versions = (_query(f"count by ({TRACK}, {MODEL_VERSION}) (up{{{service}}})", "")
                .instant().format(PromQueryFormat.TABLE).ref_id("A"))
    return (table.Panel().title("Version per track (pods)").height(8).span(_WIDTH // 2).datasource(_DATASOURCE)
            .with_target(versions))


def _model_table(service: str) -> table.Panel:
    """Name, version and run of the model each pod serves: the labels of mlstack_model_info, one row per model."""
    model = (_query(f"max by (model_name, model_version, run_id) (mlstack_model_info{{{service}}})", "")
             .instant().format(PromQueryFormat.TABLE).ref_id("A"))
    return (table.Panel().title("Model served").height(8).span(_WIDTH // 4).datasource(_DATASOURCE)
            .with_target(model))
