"""uvicorn's httptools protocol with a read deadline.

uvicorn closes idle keep-alive connections, but a connection that never sends a request, or sends its headers
or body slowly, stays open for ever, and the request timeout starts only once the body is read.  Here each
request must arrive whole within `read_timeout` seconds of the connection opening or of its first byte; if it
does not, the client gets 408 (when it has started a request) and the connection is closed.

A request only notes when its reading started; one sweeper per server checks every connection a few times per
read timeout, so no timer is armed and cancelled per request on the hot path.
"""

import asyncio
from collections.abc import Collection
from typing import Any, cast

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

# Set in the scope of a request whose body did not arrive in time, so its route counts a 408, not a disconnect.
READ_TIMED_OUT = "mlstack.read_timed_out"
_TIMEOUT_BODY = b'{"error_code":"REQUEST_TIMEOUT","message":"The request was not sent in time."}'
REQUEST_TIMEOUT_ANSWER = (b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\nconnection: close\r\n"
                          b"content-length: %d\r\n\r\n%s" % (len(_TIMEOUT_BODY), _TIMEOUT_BODY))
SWEEPS_PER_TIMEOUT = 4
MAX_SWEEP_INTERVAL_S = 1.0


class ReadDeadlineProtocol(HttpToolsProtocol):
    def __init__(self, *args: Any, read_timeout: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._read_timeout = read_timeout
        self._reading_since: float | None = None
        self._request_started = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]  # as uvicorn's own
        super().connection_made(transport)
        self._reading_since = self.loop.time()
        if getattr(self.server_state, "read_deadline_sweeper", None) is None:
            interval = min(MAX_SWEEP_INTERVAL_S, self._read_timeout / SWEEPS_PER_TIMEOUT)
            sweeper = self.loop.create_task(_sweep(self.connections, interval))
            self.server_state.read_deadline_sweeper = sweeper  # type: ignore[attr-defined]  # one per server: rides on its shared state

    def data_received(self, data: bytes) -> None:
        if self._reading_since is None and (self.cycle is None or self.cycle.response_complete):
            self._reading_since = self.loop.time()  # the first bytes after a keep-alive pause
        super().data_received(data)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._request_started = True
        if self._reading_since is None:
            self._reading_since = self.loop.time()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._request_started = False
        self._reading_since = None

    def close_if_overdue(self, now: float) -> None:
        if self._reading_since is None or now - self._reading_since < self._read_timeout:
            return
        self._reading_since = None
        if self.transport.is_closing():
            return
        response_started = self.cycle is not None and self.cycle.response_started
        if self._request_started and not response_started:
            self.transport.write(REQUEST_TIMEOUT_ANSWER)
            if self.cycle is not None:
                cast(dict[str, Any], self.cycle.scope)[READ_TIMED_OUT] = True  # an extension key the ASGI TypedDict does not list
        self.transport.close()


async def _sweep(connections: Collection[object], interval: float) -> None:
    loop = asyncio.get_running_loop()
    while True:
        await asyncio.sleep(interval)
        now = loop.time()
        for connection in list(connections):
            if isinstance(connection, ReadDeadlineProtocol):
                connection.close_if_overdue(now)
