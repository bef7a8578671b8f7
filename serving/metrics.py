"""Prometheus metrics, shared by every worker process through prometheus-client's multiprocess mode.

PROMETHEUS_MULTIPROC_DIR must be set before this module is first imported (serving.__main__ does it).  Without it
(the app driven in process by a test) the metrics are this process's alone.
"""

import os

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, Gauge, Histogram, generate_latest, multiprocess

_MULTIPROCESS = "PROMETHEUS_MULTIPROC_DIR" in os.environ
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256)

http_requests = Counter("mlstack_http_requests", "HTTP requests answered.", ["route", "method", "status"])
http_duration = Histogram(
    "mlstack_http_request_duration_seconds", "Time to answer an HTTP request.", ["route", "method"],
    buckets=LATENCY_BUCKETS,
)
http_in_progress = Gauge(
    "mlstack_http_requests_in_progress", "HTTP requests being answered.", ["route"], multiprocess_mode="livesum"
)
prediction_rows = Counter("mlstack_prediction_rows", "Rows predicted.")
batch_size = Histogram("mlstack_batch_size", "Requests combined into one model call.", buckets=BATCH_BUCKETS)
model_call_duration = Histogram(
    "mlstack_model_call_duration_seconds", "Time of one model call (one batch), on the model thread.",
    buckets=LATENCY_BUCKETS,
)
model_load_duration = Gauge(
    "mlstack_model_load_duration_seconds", "Seconds the model took to load.", multiprocess_mode="livemax"
)
model_info = Gauge(
    "mlstack_model_info", "The model being served.", ["model_name", "model_version", "run_id"],
    multiprocess_mode="livemax",
)
model_ready = Gauge("mlstack_model_ready", "1 when every live worker has its model loaded.", multiprocess_mode="livemin")


def render() -> tuple[bytes, str]:
    """Every worker's values, merged, in the Prometheus text format."""
    if not _MULTIPROCESS:
        return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]  # prometheus_client leaves it unannotated
    return generate_latest(registry), CONTENT_TYPE_LATEST


def forget_this_process() -> None:
    """Drop this worker's live gauges so a stopped worker no longer counts as in progress or ready."""
    if _MULTIPROCESS:
        multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]  # prometheus_client leaves it unannotated
