"""uvicorn's httptools protocol with a read deadline.

uvicorn closes idle keep-alive connections, but a connection that never sends a request, or sends its headers
or body slowly, stays open for ever, and the request timeout starts only once the body is read.  Here each
request must arrive whole within `read_timeout` seconds of the connection opening or of its first byte; if it
does not, the client gets 408 (when it has started a request) and the connection is closed.
"""

import asyncio

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

# Set in the scope of a request whose body did not arrive in time, so its route counts a 408, not a disconnect.
READ_TIMED_OUT = "mlstack.read_timed_out"
_TIMEOUT_BODY = b'{"error_code":"REQUEST_TIMEOUT","message":"The request was not sent in time."}'
REQUEST_TIMEOUT_ANSWER = (b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\nconnection: close\r\n"
                          b"content-length: %d\r\n\r\n%s" % (len(_TIMEOUT_BODY), _TIMEOUT_BODY))


class ReadDeadlineProtocol(HttpToolsProtocol):
    def __init__(self, *args, read_timeout: float, **kwargs):
        super().__init__(*args, **kwargs)
        self._read_timeout = read_timeout
        self._deadline: asyncio.TimerHandle | None = None
        self._request_started = False

    def connection_made(self, transport) -> None:
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        if self._deadline is None and self._awaiting_request():
            self._arm()  # the first bytes after a keep-alive pause
        super().data_received(data)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._request_started = True
        if self._deadline is None:
            self._arm()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._request_started = False
        self._disarm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _awaiting_request(self) -> bool:
        return self.cycle is None or self.cycle.response_complete

    def _arm(self) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(self._read_timeout, self._read_timed_out)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _read_timed_out(self) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        response_started = self.cycle is not None and self.cycle.response_started
        if self._request_started and not response_started:
            self.transport.write(REQUEST_TIMEOUT_ANSWER)
            if self.cycle is not None:
                self.cycle.scope[READ_TIMED_OUT] = True
        self.transport.close()
