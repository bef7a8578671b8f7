"""The per-route ASGI wrapper, called in process: what it answers and what it counts, and when."""

import asyncio

import orjson
from prometheus_client import REGISTRY
from starlette.responses import Response

from serving.observability import InstrumentedRoute


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def call(route: InstrumentedRoute, path: str, on_send=lambda message: None) -> list[dict]:
    sent = []

    async def receive() -> dict:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict) -> None:
        on_send(message)
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": path, "raw_path": path.encode(), "headers": [],
             "query_string": b"", "root_path": "", "http_version": "1.1", "scheme": "http"}
    asyncio.run(route(scope, receive, send))
    return sent


def test_a_handler_that_raises_gets_a_500_in_mlflows_error_shape_and_is_counted():
    async def broken(request):
        raise RuntimeError("a bug")

    route = InstrumentedRoute("/broken", broken, access_log=False)
    counted = sample("mlstack_http_requests_total", route="/broken", method="POST", status="500")
    start, body = call(route, "/broken")
    assert start["status"] == 500
    assert orjson.loads(body["body"]) == {"error_code": "INTERNAL_ERROR", "message": "Internal server error."}
    assert sample("mlstack_http_requests_total", route="/broken", method="POST", status="500") == counted + 1
    assert sample("mlstack_http_requests_in_progress", route="/broken") == 0


def test_a_request_is_in_progress_until_its_answer_is_written():
    async def answer(request):
        return Response(b"{}", 200, media_type="application/json")

    in_progress_while_sending = []
    route = InstrumentedRoute("/slow-writer", answer, access_log=False)
    call(route, "/slow-writer", lambda message: in_progress_while_sending.append(
        sample("mlstack_http_requests_in_progress", route="/slow-writer")))
    assert in_progress_while_sending == [1, 1]
    assert sample("mlstack_http_requests_in_progress", route="/slow-writer") == 0


def test_rows_are_counted_for_answered_predictions_only():
    async def predicted(request):
        request.state.rows = 3
        return Response(b"{}", 200, media_type="application/json")

    async def refused(request):
        return Response(b"{}", 400, media_type="application/json")

    rows = sample("mlstack_prediction_rows_total")
    call(InstrumentedRoute("/predicted", predicted, access_log=False), "/predicted")
    call(InstrumentedRoute("/refused", refused, access_log=False), "/refused")
    assert sample("mlstack_prediction_rows_total") == rows + 3


def test_a_client_that_hangs_up_is_counted_as_499_with_no_answer_and_no_error_log(caplog):
    from starlette.requests import ClientDisconnect

    async def reading(request):
        raise ClientDisconnect()

    route = InstrumentedRoute("/hangup", reading, access_log=False)
    with caplog.at_level("INFO", logger="serving"):
        sent = call(route, "/hangup")
    assert sent == []
    assert sample("mlstack_http_requests_total", route="/hangup", method="POST", status="499") == 1
    assert sample("mlstack_http_requests_total", route="/hangup", method="POST", status="500") == 0
    assert [record.levelname for record in caplog.records] == ["INFO"]
    assert sample("mlstack_http_requests_in_progress", route="/hangup") == 0
