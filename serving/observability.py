"""Per-route instrumentation as plain ASGI (no BaseHTTPMiddleware): metrics and one JSON log line."""

import logging
import os
import sys
import time
from collections.abc import Awaitable, Callable

import orjson
from prometheus_client import Counter, Histogram
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from serving import metrics
from serving.connections import READ_TIMED_OUT

Handler = Callable[[Request], Awaitable[Response]]
log = logging.getLogger("serving")
CLIENT_CLOSED_REQUEST = 499  # nginx's status for it; never sent, only counted and logged


class InstrumentedRoute:
    """An ASGI app for one route template: counts, times and logs every request it answers."""

    def __init__(self, template: str, handler: Handler, access_log: bool):
        self._template = template
        self._handler = handler
        self._access_log = access_log
        self._in_progress = metrics.http_in_progress.labels(template)
        # Each route's labelled metrics, found once: prometheus-client's labels() takes a lock and builds a key
        # per call, which cost as much as the increment itself.
        self._answered: dict[tuple[str, int], Counter] = {}
        self._durations: dict[str, Histogram] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        request = Request(scope, receive)
        self._in_progress.inc()
        try:
            response = await self._answer(request)
            await response(scope, receive, send)
            status = response.status_code
        except ClientDisconnect:
            status = self._gone(scope)
        finally:
            # Counted until the answer is written; every other metric is recorded after it is sent.
            self._in_progress.dec()
        self._record(scope, request, status, time.perf_counter() - started)

    @staticmethod
    def _gone(scope: Scope) -> int:
        """The client went away before its request was read, or was too slow sending it: no answer can be
        written, and it is the client's doing, so it is counted as 499 (or 408) and never as a server error."""
        if scope.get(READ_TIMED_OUT):
            log.info("request on %s %s not sent within the read timeout", scope["method"], scope["path"])
            return 408
        log.info("client disconnected before its request on %s %s was read", scope["method"], scope["path"])
        return CLIENT_CLOSED_REQUEST

    async def _answer(self, request: Request) -> Response:
        try:
            return await self._handler(request)
        except ClientDisconnect:
            raise
        except Exception:  # a bug in a handler must still get an answer and a log line
            log.exception("unhandled error on %s %s", request.method, request.scope["path"])
            return Response(
                b'{"error_code":"INTERNAL_ERROR","message":"Internal server error."}', 500,
                media_type="application/json",
            )

    def _record(self, scope: Scope, request: Request, status: int, seconds: float) -> None:
        method = scope["method"]
        rows = getattr(request.state, "rows", 0)  # set by the prediction handlers once they have an answer
        if (answered := self._answered.get((method, status))) is None:
            answered = self._answered[method, status] = metrics.http_requests.labels(self._template, method, str(status))
        if (duration := self._durations.get(method)) is None:
            duration = self._durations[method] = metrics.http_duration.labels(self._template, method)
        answered.inc()
        duration.observe(seconds)
        if rows:
            metrics.prediction_rows.inc(rows)
        if self._access_log:
            line = {
                "time": time.time(),
                "method": method,
                "path": scope["path"],
                "status": status,
                "duration_ms": round(seconds * 1000, 3),
                "rows": rows,
                "pid": os.getpid(),
            }
            sys.stdout.write(orjson.dumps(line).decode() + "\n")
            sys.stdout.flush()
