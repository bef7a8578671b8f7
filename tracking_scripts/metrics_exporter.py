"""Serves the tracking server's Prometheus metrics on a port of their own, outside MLflow's auth app.

MLflow's basic-auth app guards its /metrics like every other path, so scraping it would need an MLflow user. This
sidecar reads the same multiprocess files the server's workers write (shared /tmp) and answers without credentials;
a NetworkPolicy lets only the monitoring namespace reach its port.

Environment: METRICS_DIRECTORY (MLflow's --expose-prometheus directory), METRICS_PORT.
"""
import os
import threading

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.multiprocess import MultiProcessCollector


def main() -> None:
    directory = os.environ["METRICS_DIRECTORY"]
    os.makedirs(directory, exist_ok=True)  # the collector refuses a missing directory; the server may start later
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=directory)
    start_http_server(int(os.environ["METRICS_PORT"]), registry=registry)
    threading.Event().wait()


if __name__ == "__main__":
    main()
