"""Small HTTP helpers shared by the protocol modules."""

import json
from typing import Any

import orjson
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from serving.errors import ServingError
from serving.limits import Reservation, too_large

JSON = "application/json"


def json_response(content: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(content, option=orjson.OPT_SERIALIZE_NUMPY), status, media_type=JSON)


def error_response(error: ServingError) -> Response:
    return Response(error.body(), error.status, media_type=JSON)


async def read_body(request: Request, limit: int, reservation: Reservation) -> bytes:
    """The whole body, refused with 413 as soon as it is known to exceed `limit` bytes; each chunk is taken from
    the request's memory reservation as it arrives."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise too_large(limit)
    chunks, size, more = [], 0, True
    while more:  # ASGI messages read directly: Starlette's request.stream() wraps each in an async generator
        message = await request.receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        chunk, more = message.get("body", b""), message.get("more_body", False)
        size += len(chunk)
        if size > limit:
            raise too_large(limit)
        reservation.take(len(chunk))
        chunks.append(chunk)
    return b"".join(chunks)


def parse_json(body: bytes) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as error:
        try:  # NaN and Infinity, which MLflow's parser (Python's json) reads and orjson refuses
            return json.loads(body)
        except (ValueError, RecursionError):
            pass
        raise ServingError(
            400, "BAD_REQUEST", f"Invalid input. Ensure that input is a valid JSON formatted string. Error: '{error}'"
        ) from None
