"""Recording and alerting rules for the model service, generated for one stack's names and objectives.

The recording rules are the shared vocabulary: the alerts and the dashboard read them instead of repeating raw
PromQL, so a change of metric name or route happens in one place. Annotations use only `$labels.<name>` and one
`$value | humanize...` each, which keeps them readable in Alertmanager and checkable in promtool tests.
"""
from typing import Any

from ..meta import CANARY, STABLE
from .scope import PREDICTION_ROUTES, TRACK, ModelScope, Objectives, TrackingScope
from .scrape import auth_secret_name

WINDOW = "5m"
QUANTILES = ("0.5", "0.95", "0.99")

REQUESTS = f"namespace_job:mlstack_http_requests:rate{WINDOW}"
ERRORS = f"namespace_job:mlstack_http_errors:rate{WINDOW}"
ERROR_RATIO = f"namespace_job:mlstack_http_error_ratio:rate{WINDOW}"
DURATION_BUCKETS = f"namespace_job_le:mlstack_http_request_duration_seconds_bucket:rate{WINDOW}"
LATENCY = f"namespace_job:mlstack_http_request_duration_seconds:quantile{WINDOW}"
ROWS = f"namespace_job:mlstack_prediction_rows:rate{WINDOW}"
BATCH_SIZE = f"namespace_job:mlstack_batch_size:mean{WINDOW}"
MODEL_CALL_TIME = f"namespace_job:mlstack_model_call_duration_seconds:mean{WINDOW}"
# The same per track (stable, canary), for comparing a canary with the stable version.
TRACK_REQUESTS = f"namespace_job_track:mlstack_http_requests:rate{WINDOW}"
TRACK_ERRORS = f"namespace_job_track:mlstack_http_errors:rate{WINDOW}"
TRACK_ERROR_RATIO = f"namespace_job_track:mlstack_http_error_ratio:rate{WINDOW}"
TRACK_DURATION_BUCKETS = f"namespace_job_track_le:mlstack_http_request_duration_seconds_bucket:rate{WINDOW}"
TRACK_LATENCY = f"namespace_job_track:mlstack_http_request_duration_seconds:quantile{WINDOW}"
# "Clearly worse": a p99 this many times the stable one's, and above this fraction of the latency objective, so
# that two fast versions a millisecond apart never page.
CANARY_LATENCY_FACTOR = 1.5
CANARY_LATENCY_FLOOR = 0.1

_BY = "sum by (namespace, job)"
_BY_TRACK = f"sum by (namespace, job, {TRACK})"


def recording_rules() -> list[dict[str, Any]]:
    """Aggregates per model service (namespace, job); valid for every mlstack deployment one Prometheus sees."""
    predictions = f'route=~"{PREDICTION_ROUTES}"'
    rules = [
        _record(REQUESTS, f"{_BY} (rate(mlstack_http_requests_total{{{predictions}}}[{WINDOW}]))"),
        # A service that never failed has no 5xx series at all: `or ... * 0` makes that an error rate of zero.
        _record(ERRORS, f'{_BY} (rate(mlstack_http_requests_total{{{predictions}, status=~"5.."}}[{WINDOW}]))'
                        f" or {REQUESTS} * 0"),
        # No requests gives 0/0, no sample: a quiet service has no error ratio rather than a perfect one.
        _record(ERROR_RATIO, f"{ERRORS} / {REQUESTS}"),
        _record(DURATION_BUCKETS,
                f"sum by (namespace, job, le) (rate(mlstack_http_request_duration_seconds_bucket{{{predictions}}}[{WINDOW}]))"),
    ]
    rules += [_record(LATENCY, f"histogram_quantile({q}, {DURATION_BUCKETS})", {"quantile": q}) for q in QUANTILES]
    rules += [
        _record(ROWS, f"{_BY} (rate(mlstack_prediction_rows_total[{WINDOW}]))"),
        _record(BATCH_SIZE, f"{_BY} (rate(mlstack_batch_size_sum[{WINDOW}])) / {_BY} (rate(mlstack_batch_size_count[{WINDOW}]))"),
        _record(MODEL_CALL_TIME, f"{_BY} (rate(mlstack_model_call_duration_seconds_sum[{WINDOW}])) "
                                 f"/ {_BY} (rate(mlstack_model_call_duration_seconds_count[{WINDOW}]))"),
    ]
    return rules + track_recording_rules()


def track_recording_rules() -> list[dict[str, Any]]:
    """The traffic rules again, per track: the canary's numbers beside the stable version's."""
    predictions = f'route=~"{PREDICTION_ROUTES}"'
    rules = [
        _record(TRACK_REQUESTS, f"{_BY_TRACK} (rate(mlstack_http_requests_total{{{predictions}}}[{WINDOW}]))"),
        _record(TRACK_ERRORS, f'{_BY_TRACK} (rate(mlstack_http_requests_total{{{predictions}, status=~"5.."}}[{WINDOW}]))'
                              f" or {TRACK_REQUESTS} * 0"),
        _record(TRACK_ERROR_RATIO, f"{TRACK_ERRORS} / {TRACK_REQUESTS}"),
        _record(TRACK_DURATION_BUCKETS, f"sum by (namespace, job, {TRACK}, le) "
                                        f"(rate(mlstack_http_request_duration_seconds_bucket{{{predictions}}}[{WINDOW}]))"),
    ]
    return rules + [_record(TRACK_LATENCY, f"histogram_quantile({q}, {TRACK_DURATION_BUCKETS})", {"quantile": q})
                    for q in QUANTILES]


def alerting_rules(model: ModelScope, tracking: TrackingScope, objectives: Objectives) -> list[dict[str, Any]]:
    alerts = [
        _error_ratio_high(model, objectives.error_ratio_percent),
        _latency_high(model, objectives.latency_p99_ms),
        _model_not_ready(model),
        _pod_restarting(model),
        _autoscaler_at_max(model),
        _tracking_server_down(tracking),
        _canary_error_ratio_worse(model, objectives.error_ratio_percent),
        _canary_latency_worse(model, objectives.latency_p99_ms),
    ]
    if objectives.expect_traffic:
        alerts.append(_no_traffic(model))
    return alerts


def rule_groups(model: ModelScope, tracking: TrackingScope, objectives: Objectives) -> list[dict[str, Any]]:
    """The `groups` of a Prometheus rule file, which is also the spec of a PrometheusRule."""
    return [
        {"name": "mlstack-model-server.rules", "rules": recording_rules()},
        {"name": "mlstack-model-server.alerts", "rules": alerting_rules(model, tracking, objectives)},
    ]


def _record(name: str, expr: str, labels: dict[str, Any] | None = None) -> dict[str, Any]:
    rule: dict[str, Any] = {"record": name, "expr": expr}
    if labels:
        rule["labels"] = labels
    return rule


def _alert(name: str, expr: str, for_: str, severity: str, summary: str, description: str) -> dict[str, Any]:
    rule: dict[str, Any] = {"alert": name, "expr": expr}
    if for_:
        rule["for"] = for_
    rule["labels"] = {"severity": severity}
    rule["annotations"] = {"summary": summary, "description": description}
    return rule


def _error_ratio_high(model: ModelScope, percent: int) -> dict[str, Any]:
    return _alert(
        "MlstackModelErrorRatioHigh",
        f"{ERROR_RATIO}{{{model.matchers()}}} > {percent / 100:g}",
        "5m", "critical",
        "Model service {{ $labels.namespace }} answers {{ $value | humanizePercentage }} of predictions with 5xx.",
        f"More than {percent}% of prediction requests failed with a server error for 5 minutes; callers see failures. "
        "Check: the model-server logs (`kubectl -n {{ $labels.namespace }} logs deploy/" + model.workload + "`) for the "
        "error_code of the failures; a recent rollout (`kubectl -n {{ $labels.namespace }} rollout history deploy/"
        + model.workload + "`) or new model version (pod annotation mlstack.io/model-version) and roll it back; "
        "504s mean predictions exceed the request timeout (CPU saturation: see the dashboard's CPU panel).",
    )


def _latency_high(model: ModelScope, objective_ms: int) -> dict[str, Any]:
    return _alert(
        "MlstackModelLatencyHigh",
        f'{LATENCY}{{{model.matchers()}, quantile="0.99"}} > {objective_ms / 1000:g}',
        "10m", "warning",
        "Model service {{ $labels.namespace }} p99 latency is {{ $value | humanizeDuration }}.",
        f"The 99th percentile of prediction latency has been above the {objective_ms} ms objective for 10 minutes. "
        "Check: CPU per pod against its limit (throttling) and whether the autoscaler is at its maximum; the batch "
        "size panel (large batches trade latency for throughput: lower maxBatchWaitMs or maxBatchSize); request row "
        "counts in the access log (a caller sending much larger payloads).",
    )


def _model_not_ready(model: ModelScope) -> dict[str, Any]:
    return _alert(
        "MlstackModelNotReady",
        f"(mlstack_model_ready{{{model.matchers()}}} == 0) or (up{{{model.matchers()}}} == 0)",
        "10m", "warning",
        "Model server pod {{ $labels.pod }} in {{ $labels.namespace }} has no model loaded or cannot be scraped.",
        "The pod is out of the Service's endpoints, so the remaining replicas carry its traffic. "
        "Check: `kubectl -n {{ $labels.namespace }} logs {{ $labels.pod }}` for `cannot load model` (registry "
        "unreachable, wrong modelUri, alias not set, missing MLflow credentials) and `kubectl -n {{ $labels.namespace }} "
        "describe pod {{ $labels.pod }}` for probe failures or OOM kills; that the tracking server is up.",
    )


def _pod_restarting(model: ModelScope) -> dict[str, Any]:
    return _alert(
        "MlstackModelPodRestarting",
        f"increase(kube_pod_container_status_restarts_total{{{model.pod_matchers()}}}[15m]) >= 2",
        "", "warning",
        "Model server pod {{ $labels.pod }} in {{ $labels.namespace }} restarted {{ $value | humanize }} times in 15 minutes.",
        "Containers that keep restarting drop in-flight requests and reload the model each time. "
        "Check: `kubectl -n {{ $labels.namespace }} describe pod {{ $labels.pod }}` for the last state (OOMKilled: "
        "raise memoryLimit or lower workers; Error: `kubectl logs --previous`); liveness probe failures under load "
        "(CPU limit too low for the workers).",
    )


def _autoscaler_at_max(model: ModelScope) -> dict[str, Any]:
    on = "max by (namespace, horizontalpodautoscaler)"
    return _alert(
        "MlstackModelAutoscalerAtMax",
        f"{on} (kube_horizontalpodautoscaler_status_current_replicas{{{model.autoscaler_matchers()}}})\n"
        f"  >= {on} (kube_horizontalpodautoscaler_spec_max_replicas{{{model.autoscaler_matchers()}}})",
        "15m", "warning",
        "Model service autoscaler {{ $labels.horizontalpodautoscaler }} in {{ $labels.namespace }} "
        "is pinned at {{ $value }} replicas, its maximum.",
        "The service cannot scale further: more load will raise latency and then errors. "
        "Check: requests/s and CPU per pod on the dashboard (a traffic surge or a slower model version); "
        "raise maxReplicas if the cluster has room, or cpuRequest if pods are throttled; "
        "`kubectl -n {{ $labels.namespace }} describe hpa {{ $labels.horizontalpodautoscaler }}` for the metrics it sees.",
    )


def _no_traffic(model: ModelScope) -> dict[str, Any]:
    selector = f"{REQUESTS}{{{model.matchers()}}}"
    return _alert(
        "MlstackModelNoTraffic",
        f"({selector} == 0) or absent({selector})",
        "15m", "warning",
        "Model service {{ $labels.namespace }} received no prediction requests for 15 minutes.",
        "Traffic is expected (expectTraffic) but none arrives. "
        "Check: the callers and their NetworkPolicy access (allowedNamespaces); the Service's endpoints "
        "(`kubectl -n {{ $labels.namespace }} get endpointslices`); that Prometheus still scrapes the pods "
        "(Status > Targets).",
    )


_ABORT = ("Abort: set `mlstack:canaryModelUri` to \"\" and `pulumi up` (the canary's pods go, the stable ones "
          "take all traffic). Check: the canary's logs (`kubectl -n {{ $labels.namespace }} logs deploy/")


def _canary_error_ratio_worse(model: ModelScope, percent: int) -> dict[str, Any]:
    stable, canary = model.track_matchers(STABLE), model.track_matchers(CANARY)
    return _alert(
        "MlstackCanaryErrorRatioWorse",
        f"{TRACK_ERROR_RATIO}{{{canary}}}\n  - ignoring({TRACK}) group_left {TRACK_ERROR_RATIO}{{{stable}}}\n  > {percent / 100:g}",
        "5m", "warning",
        "The canary of {{ $labels.namespace }} fails {{ $value | humanizePercentage }} more predictions than the stable version.",
        f"The canary's 5xx ratio has exceeded the stable version's by more than {percent} percentage points for 5 "
        "minutes: the new model version fails where the current one does not. " + _ABORT + model.workload
        + "-canary`) for the error_code of its failures; the dashboard's Canary vs stable row.",
    )


def _canary_latency_worse(model: ModelScope, objective_ms: int) -> dict[str, Any]:
    canary = f'{TRACK_LATENCY}{{{model.track_matchers(CANARY)}, quantile="0.99"}}'
    stable = f'{TRACK_LATENCY}{{{model.track_matchers(STABLE)}, quantile="0.99"}}'
    floor = objective_ms * CANARY_LATENCY_FLOOR / 1000
    return _alert(
        "MlstackCanaryLatencyWorse",
        f"{canary}\n  > ignoring({TRACK}) group_left {CANARY_LATENCY_FACTOR:g} * {stable}\n  and {canary} > {floor:g}",
        "5m", "warning",
        "The canary of {{ $labels.namespace }} has a p99 latency of {{ $value | humanizeDuration }}, far above the stable version's.",
        f"For 5 minutes the canary's 99th percentile has been over {CANARY_LATENCY_FACTOR:g} times the stable version's "
        f"and over {floor * 1000:g} ms: the new model version is slower. " + _ABORT + model.workload
        + "-canary`) and its CPU per pod on the dashboard (a heavier model needs more cpuRequest).",
    )


def _tracking_server_down(tracking: TrackingScope) -> dict[str, Any]:
    selector = f"up{{{tracking.matchers()}}}"
    return _alert(
        "MlstackTrackingServerDown",
        f"({selector} == 0) or absent({selector})",
        "10m", "critical",
        "MLflow tracking server in {{ $labels.namespace }} cannot be scraped.",
        "New model-server pods cannot load their model while the registry is down (running pods keep serving). "
        "Check: `kubectl -n {{ $labels.namespace }} get pods` and the tracking server's logs (backend store "
        f"unreachable, volume full); that the scrape credentials in Secret {auth_secret_name(tracking.job)} still "
        "match the admin password.",
    )
