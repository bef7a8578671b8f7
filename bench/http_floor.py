"""The HTTP floor: an ASGI app that reads the body and answers at once, on the same uvicorn stack as ours.

bench/run.py serves it pinned to the servers' core, so its 1-connection p50 is what a request costs on this
machine before any model or server code runs: loopback TCP, waking each core, HTTP parsing.

    uvicorn bench.http_floor:app --loop uvloop --http httptools
"""

ANSWER = b'{"predictions": [0]}'
HEADERS = [(b"content-type", b"application/json"), (b"content-length", str(len(ANSWER)).encode())]


async def app(scope, receive, send) -> None:
    if scope["type"] != "http":
        return
    more_body = True
    while more_body:
        more_body = (await receive()).get("more_body", False)
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": ANSWER})
