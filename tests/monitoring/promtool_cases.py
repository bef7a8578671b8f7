"""Synthetic series for `promtool test rules`: for every alert, histories that must fire it and ones that must not.

Series carry the labels the Prometheus Operator and kube-state-metrics give them in a cluster. Expected values
are worked out by hand from the series (say, 10 errors in 100 requests is "10%"), never read back from Prometheus.
"""
from dataclasses import dataclass, field

# With the pod labels the ServiceMonitor copies (podTargetLabels): which track and model version answered.
MODEL = {"namespace": "models", "job": "model-server", "pod": "model-server-7d9f8c6b5-x2k4q",
         "instance": "model-server-7d9f8c6b5-x2k4q:8080", "service": "model-server", "endpoint": "http",
         "mlstack_io_track": "stable", "mlstack_io_model_version": "4"}
CANARY = {**MODEL, "pod": "model-server-canary-5f6d7c8b9-q8w2e", "instance": "model-server-canary-5f6d7c8b9-q8w2e:8080",
          "mlstack_io_track": "canary", "mlstack_io_model_version": "5"}
CANARY_SERVICE = {"namespace": "models", "job": "model-server", "mlstack_io_track": "canary"}
TRACKING = {"namespace": "mlflow", "job": "mlflow", "pod": "mlflow-5c6d7f8d9-h7j2m",
            "instance": "mlflow-5c6d7f8d9-h7j2m:5000", "service": "mlflow", "endpoint": "http"}
KSM = {"job": "kube-state-metrics", "namespace": "models"}
SERVICE = {"namespace": "models", "job": "model-server"}
PREDICT = {"route": "/invocations", "method": "POST"}


def series(name: str, values: str, **labels: str) -> tuple[str, str]:
    body = ", ".join(f'{key}="{value}"' for key, value in labels.items())
    return f"{name}{{{body}}}", values


def requests(status: str, values: str, route: str = PREDICT["route"]) -> tuple[str, str]:
    return series("mlstack_http_requests_total", values, **MODEL, **{**PREDICT, "route": route}, status=status)


def latency_buckets(counts: dict[str, str], pod: dict[str, str] = MODEL) -> list[tuple[str, str]]:
    return [series("mlstack_http_request_duration_seconds_bucket", values, **pod, **PREDICT, le=le)
            for le, values in counts.items()]


def pod_requests(pod: dict[str, str], ok_per_minute: int, errors_per_minute: int) -> list[tuple[str, str]]:
    """One pod's prediction counters over 30 minutes: so many answered 200 and so many 500 each minute."""
    return [series("mlstack_http_requests_total", f"0+{count}x30", **pod, **PREDICT, status=status)
            for status, count in (("200", ok_per_minute), ("500", errors_per_minute))]


FAST, SLOW = {"0.1": "0+100x30", "0.5": "0+100x30", "+Inf": "0+100x30"}, {"0.1": "0x30", "0.5": "0+100x30", "+Inf": "0+100x30"}
MILLISECONDS = {"0.005": "0+100x30", "0.01": "0+100x30", "+Inf": "0+100x30"}
TWICE_THE_MILLISECONDS = {"0.005": "0x30", "0.01": "0+100x30", "+Inf": "0+100x30"}


@dataclass(frozen=True)
class AlertCase:
    alert: str
    story: str  # what the history is, as a test id
    input_series: list[tuple[str, str]]
    eval_time: str
    firing: list[dict] = field(default_factory=list)  # labels of each expected alert (severity added by the rule)
    value: str = ""  # `$value` as the annotations render it

    @property
    def fires(self) -> bool:
        return bool(self.firing)


HPA = {**KSM, "horizontalpodautoscaler": "model-server"}
RESTARTS = {**KSM, "pod": MODEL["pod"], "container": "server"}

CASES = [
    AlertCase("MlstackModelErrorRatioHigh", "one prediction in ten fails with 500",
              [requests("200", "0+90x30"), requests("500", "0+10x30")], "15m", [SERVICE], "10%"),
    AlertCase("MlstackModelErrorRatioHigh", "one in a thousand fails and readiness probes fail with 503",
              [requests("200", "0+999x30"), requests("500", "0+1x30"), requests("503", "0+100x30", route="/ready")], "15m"),
    AlertCase("MlstackModelLatencyHigh", "every prediction takes 100 to 500 ms",
              latency_buckets({"0.1": "0x30", "0.5": "0+100x30", "+Inf": "0+100x30"}), "15m",
              [{**SERVICE, "quantile": "0.99"}], "496ms"),
    AlertCase("MlstackModelLatencyHigh", "every prediction is under 100 ms",
              latency_buckets({"0.1": "0+100x30", "0.5": "0+100x30", "+Inf": "0+100x30"}), "15m"),
    AlertCase("MlstackModelNotReady", "the model unloads and stays unloaded",
              [series("mlstack_model_ready", "1 1 0x20", **MODEL), series("up", "1x22", **MODEL)], "15m", [MODEL]),
    AlertCase("MlstackModelNotReady", "the pod cannot be scraped",
              [series("up", "0x20", **MODEL)], "15m", [MODEL]),
    AlertCase("MlstackModelNotReady", "the model takes five minutes to load, then serves",
              [series("mlstack_model_ready", "0x5 1x15", **MODEL), series("up", "1x20", **MODEL)], "15m"),
    AlertCase("MlstackModelPodRestarting", "three restarts in fifteen minutes",
              [series("kube_pod_container_status_restarts_total", "0x20 1 2 3x8", **RESTARTS)], "30m", [RESTARTS], "3"),
    AlertCase("MlstackModelPodRestarting", "a single restart",
              [series("kube_pod_container_status_restarts_total", "0x20 1x10", **RESTARTS)], "30m"),
    AlertCase("MlstackModelAutoscalerAtMax", "at six of six replicas for twenty minutes",
              [series("kube_horizontalpodautoscaler_status_current_replicas", "6x30", **HPA),
               series("kube_horizontalpodautoscaler_spec_max_replicas", "6x30", **HPA)], "20m",
              [{"namespace": "models", "horizontalpodautoscaler": "model-server"}], "6"),
    AlertCase("MlstackModelAutoscalerAtMax", "a ten-minute burst to the maximum",
              [series("kube_horizontalpodautoscaler_status_current_replicas", "4x10 6x20", **HPA),
               series("kube_horizontalpodautoscaler_spec_max_replicas", "6x30", **HPA)], "20m"),
    AlertCase("MlstackTrackingServerDown", "the tracking server answers no scrapes",
              [series("up", "0x20", **TRACKING)], "15m", [TRACKING]),
    AlertCase("MlstackTrackingServerDown", "no tracking server target at all",
              [series("up", "1x20", **MODEL)], "15m", [{"namespace": "mlflow", "job": "mlflow"}]),
    AlertCase("MlstackTrackingServerDown", "the tracking server is scraped",
              [series("up", "1x20", **TRACKING)], "15m"),
    AlertCase("MlstackModelNoTraffic", "the request counter stands still",
              [requests("200", "100x30")], "20m", [SERVICE]),
    AlertCase("MlstackModelNoTraffic", "no prediction was ever answered",
              [series("up", "1x30", **MODEL)], "20m", [SERVICE]),
    AlertCase("MlstackModelNoTraffic", "ten predictions a minute",
              [requests("200", "0+10x30")], "20m"),
    AlertCase("MlstackCanaryErrorRatioWorse", "the canary fails one in ten, the stable version one in a thousand",
              [*pod_requests(MODEL, 999, 1), *pod_requests(CANARY, 90, 10)], "15m", [CANARY_SERVICE], "9.9%"),
    AlertCase("MlstackCanaryErrorRatioWorse", "both fail two in a hundred: a shared cause, not the new version",
              [*pod_requests(MODEL, 98, 2), *pod_requests(CANARY, 98, 2)], "15m"),
    AlertCase("MlstackCanaryErrorRatioWorse", "the canary fails half a point more, within the objective",
              [*pod_requests(MODEL, 990, 10), *pod_requests(CANARY, 985, 15)], "15m"),
    AlertCase("MlstackCanaryLatencyWorse", "the canary takes 100 to 500 ms, the stable version under 100 ms",
              [*latency_buckets(FAST), *latency_buckets(SLOW, CANARY)], "15m",
              [{**CANARY_SERVICE, "quantile": "0.99"}], "496ms"),
    AlertCase("MlstackCanaryLatencyWorse", "the canary is twice as slow but both answer within 10 ms",
              [*latency_buckets(MILLISECONDS), *latency_buckets(TWICE_THE_MILLISECONDS, CANARY)], "15m"),
    AlertCase("MlstackCanaryLatencyWorse", "both take 100 to 500 ms",
              [*latency_buckets(SLOW), *latency_buckets(SLOW, CANARY)], "15m"),
]
