"""What the router answers when no route does, as JSON like every other answer: 404 for an unknown path, and 405
with an Allow header for a method a known path does not serve.  Under /v2 the body is the Open Inference error
({"error": ...}), elsewhere MLflow's ({"error_code": ..., "message": ...})."""

import orjson
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from serving.http import JSON


def protocol_error(path: str, status: int, error_code: str, message: str) -> Response:
    open_inference = path == "/v2" or path.startswith("/v2/")
    body = {"error": message} if open_inference else {"error_code": error_code, "message": message}
    return Response(orjson.dumps(body), status, media_type=JSON)


async def not_found(scope: Scope, receive: Receive, send: Send) -> None:
    """The Router's default app; lifespan and websocket scopes never reach it (the Router answers those)."""
    path = scope["path"]
    await protocol_error(path, 404, "ENDPOINT_NOT_FOUND", f"No endpoint at {path}.")(scope, receive, send)


class JsonRoute(Route):
    """A Route whose 405 is JSON and lists the allowed methods in a stable order."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.methods and scope["method"] not in self.methods:
            allowed = ", ".join(sorted(self.methods))
            path, method = scope["path"], scope["method"]
            response = protocol_error(path, 405, "METHOD_NOT_ALLOWED", f"{method} is not allowed on {path}; use {allowed}.")
            response.headers["Allow"] = allowed
            await response(scope, receive, send)
        else:
            await self.app(scope, receive, send)
