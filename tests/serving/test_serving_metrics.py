"""/metrics with several worker processes: totals are exact whichever worker answers the scrape."""

import json
import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.serving.testkit import start_server

ROUND = 16
CONTRACT = {
    "mlstack_http_requests": "counter",
    "mlstack_http_request_duration_seconds": "histogram",
    "mlstack_http_requests_in_progress": "gauge",
    "mlstack_prediction_rows": "counter",
    "mlstack_batch_size": "histogram",
    "mlstack_model_call_duration_seconds": "histogram",
    "mlstack_model_load_duration_seconds": "gauge",
    "mlstack_model_info": "gauge",
    "mlstack_model_ready": "gauge",
}


@pytest.fixture(scope="module")
def two_worker_server(mlflow_store, tmp_path_factory):
    server = start_server(tmp_path_factory, mlflow_store, "--model-uri", "models:/churn@champion", "--workers", "2")
    yield server
    server.stop()


def families(server) -> dict:
    text = requests.get(f"{server.url}/metrics", timeout=10).text
    return {family.name: family for family in text_string_to_metric_families(text)}


def sample(found: dict, name: str, suffix: str = "", **labels) -> float:
    family = found[name]
    return sum(s.value for s in family.samples
               if s.name == name + suffix and all(s.labels.get(k) == v for k, v in labels.items()))


def wait_for_the_last_records(server, sent: int, timeout_s: float = 10) -> None:
    """A worker records a request's metrics just after writing its answer (so they cost the caller nothing):
    a scrape sent the moment the last answer arrives can be a moment early."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = families(server)
        # A model call is timed on its thread and its batch counted on the loop, each just after the answers.
        if sample(found, "mlstack_http_requests", "_total", route="/invocations") >= sent \
                and sample(found, "mlstack_batch_size", "_sum") >= sent \
                and sample(found, "mlstack_model_call_duration_seconds", "_count") >= sample(found, "mlstack_batch_size", "_count"):
            return
        time.sleep(0.05)


def answering_pids(server) -> set[int]:
    server.stdout.flush()
    server.stdout.seek(0)
    return {line["pid"] for line in map(json.loads, server.stdout.read().splitlines())
            if line.get("path") == "/invocations"}


def test_metric_totals_are_exact_across_two_workers(two_worker_server, churn_rows):
    payload = {"dataframe_records": json.loads(churn_rows.head(3).to_json(orient="records"))}

    def post(_):
        # A new connection each time, so either worker may accept it.
        with requests.Session() as session:
            return session.post(f"{two_worker_server.url}/invocations", json=payload, timeout=60).status_code

    def send_round() -> int:
        with ThreadPoolExecutor(8) as pool:
            assert set(pool.map(post, range(ROUND))) == {200}
        return ROUND

    sent = send_round()
    if len(answering_pids(two_worker_server)) == 1:
        # Which worker accepts a connection is the kernel's choice, and an idle worker can win every time.
        # Paused, it cannot accept, so the other worker answers the next round.
        (first,) = answering_pids(two_worker_server)
        os.kill(first, signal.SIGSTOP)
        try:
            sent += send_round()
        finally:
            os.kill(first, signal.SIGCONT)
    assert len(answering_pids(two_worker_server)) == 2, "only one worker ever answered"

    wait_for_the_last_records(two_worker_server, sent)
    for _ in range(4):  # each scrape may land on either worker; every one must show the totals
        found = families(two_worker_server)
        assert {name: found[name].type for name in CONTRACT} == CONTRACT
        assert sample(found, "mlstack_http_requests", "_total", route="/invocations", method="POST",
                      status="200") == sent
        assert sample(found, "mlstack_prediction_rows", "_total") == 3 * sent
        assert sample(found, "mlstack_http_request_duration_seconds", "_count", route="/invocations") == sent
        assert sample(found, "mlstack_batch_size", "_sum") == sent
        assert sample(found, "mlstack_model_call_duration_seconds", "_count") == sample(found, "mlstack_batch_size", "_count")
        assert sample(found, "mlstack_model_call_duration_seconds", "_sum") > 0
        assert sample(found, "mlstack_model_ready") == 1
        assert sample(found, "mlstack_model_info", model_name="churn", model_version="1") == 1
        assert sample(found, "mlstack_model_load_duration_seconds") > 0
        assert sample(found, "mlstack_http_requests_in_progress", route="/invocations") == 0
