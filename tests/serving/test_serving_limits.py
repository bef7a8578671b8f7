"""Hostile and careless clients against the real server: bodies that would cost too much, slow or idle
connections, too many connections, clients that hang up.  Health checks stay answered throughout."""

import json
import socket
import time

import pytest
import requests

from serving.errors import ServingError
from serving.limits import MemoryBudget
from tests.serving.testkit import pinging, resident_kib, scrape, start_server

READ_TIMEOUT_S = 1.0
MAX_CONNECTIONS = 12
BUDGET_BYTES = 384 * 1024 * 1024  # the default


@pytest.fixture(scope="module")
def server(mlflow_store, tmp_path_factory):
    """Default limits, except short read and keep-alive timeouts and few connections, so the tests are quick."""
    server = start_server(tmp_path_factory, mlflow_store, "--model-uri", "models:/churn@champion",
                          "--read-timeout", str(READ_TIMEOUT_S), "--keep-alive-timeout", "1",
                          "--max-connections", str(MAX_CONNECTIONS))
    yield server
    server.stop()


def post_json(server, body: bytes, path: str = "/invocations") -> requests.Response:
    return requests.post(server.url + path, data=body, headers={"Content-Type": "application/json"}, timeout=120)


def test_a_body_of_empty_lists_answers_413_before_it_is_parsed_and_health_stays_answered(server):
    body = b'{"instances": [' + b",".join([b"[]"] * 5_500_000) + b"]}"  # just under the 16 MiB body limit
    peak_before = resident_kib(server.process.pid, "VmHWM")
    with pinging(server) as pings:
        response = post_json(server, body)
    assert response.status_code == 413, response.text[:300]
    assert response.json()["error_code"] == "REQUEST_LIMIT_EXCEEDED"
    assert pings and max(pings) < 1.0, pings
    grown_kib = resident_kib(server.process.pid, "VmHWM") - peak_before
    assert grown_kib * 1024 < BUDGET_BYTES, f"resident memory peaked {grown_kib} KiB higher"


def test_a_large_valid_request_within_the_budget_is_answered_right_while_health_stays_answered(
        server, churn_rows, churn_model):
    repeats = 150_000 // len(churn_rows)  # about 7 MiB: a large body, parsed on the parser thread
    frame = churn_rows.loc[churn_rows.index.repeat(repeats)].reset_index(drop=True)
    body = json.dumps({"dataframe_split": json.loads(frame.to_json(orient="split", index=False))}).encode()
    assert len(body) < 16 * 1024 * 1024
    peak_before = resident_kib(server.process.pid, "VmHWM")
    with pinging(server) as pings:
        response = post_json(server, body)
    assert response.status_code == 200, response.text[:300]
    assert response.json()["predictions"] == churn_model.predict(churn_rows).tolist() * repeats \
        or response.json()["predictions"] == churn_model.predict(frame).tolist()
    assert pings and max(pings) < 1.0, pings
    assert (resident_kib(server.process.pid, "VmHWM") - peak_before) * 1024 < BUDGET_BYTES


def test_requests_that_together_would_exceed_the_budget_are_shed_with_503_and_one_alone_with_413():
    budget = MemoryBudget(100)
    first, second = budget.reservation(), budget.reservation()
    first.take(60)
    with pytest.raises(ServingError) as busy:
        second.take(60)
    assert busy.value.status == 503
    with pytest.raises(ServingError) as too_large:
        second.take(101)
    assert too_large.value.status == 413
    first.release()
    second.take(60)
    assert budget.used == 60


def connect(server) -> socket.socket:
    connection = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    return connection


def read_until_closed(connection: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (bounded by the socket's timeout)."""
    received = b""
    while chunk := connection.recv(65536):
        received += chunk
    return received


def test_an_idle_connection_is_closed_after_the_read_timeout(server):
    with connect(server) as connection:
        started = time.monotonic()
        assert read_until_closed(connection) == b""
    assert READ_TIMEOUT_S <= time.monotonic() - started < READ_TIMEOUT_S + 5


def test_half_sent_headers_get_408_and_the_connection_is_closed(server):
    with connect(server) as connection:
        connection.sendall(b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: appl")
        assert read_until_closed(connection).startswith(b"HTTP/1.1 408 ")


def status_count(server, status: str) -> float:
    return scrape(server).get(("mlstack_http_requests_total",
                               (("method", "POST"), ("route", "/invocations"), ("status", status))), 0.0)


def wait_for_count(server, status: str, at_least: float, timeout_s: float = 10) -> None:
    deadline = time.monotonic() + timeout_s
    while status_count(server, status) < at_least:
        assert time.monotonic() < deadline, f"never counted a {status}"
        time.sleep(0.05)


def test_a_body_sent_too_slowly_gets_408_and_is_counted_as_408(server):
    before = status_count(server, "408"), status_count(server, "500")
    with connect(server) as connection:
        connection.sendall(b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                           b"Content-Length: 1000\r\n\r\n{\"dataframe_split\"")
        assert read_until_closed(connection).startswith(b"HTTP/1.1 408 ")
    wait_for_count(server, "408", before[0] + 1)
    assert status_count(server, "500") == before[1]


def test_a_client_that_hangs_up_mid_upload_is_counted_apart_and_logged_without_a_traceback(server):
    before = status_count(server, "499"), status_count(server, "500")
    with connect(server) as connection:
        connection.sendall(b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                           b"Content-Length: 1000\r\n\r\n{\"dataframe_split\"")
        time.sleep(0.2)  # the server has started reading the body
    wait_for_count(server, "499", before[0] + 1)
    assert status_count(server, "500") == before[1]
    logs = server.logs()
    assert "client disconnected before its request on POST /invocations was read" in logs
    assert "Traceback" not in logs and " ERROR " not in logs


def test_an_idle_keep_alive_connection_is_closed_after_the_keep_alive_timeout(server):
    with connect(server) as connection:
        connection.sendall(b"GET /ping HTTP/1.1\r\nHost: x\r\n\r\n")
        started = time.monotonic()
        assert read_until_closed(connection).startswith(b"HTTP/1.1 200 ")
    assert time.monotonic() - started < 5


def test_connections_past_the_limit_are_shed_with_503_and_served_again_once_they_close(server):
    idle = [connect(server) for _ in range(MAX_CONNECTIONS)]
    try:
        time.sleep(0.2)  # every connection accepted
        shed = requests.get(f"{server.url}/ping", timeout=5)
    finally:
        for connection in idle:
            connection.close()
    assert shed.status_code == 503
    deadline = time.monotonic() + 10
    while requests.get(f"{server.url}/ping", timeout=5).status_code != 200:
        assert time.monotonic() < deadline
        time.sleep(0.05)
