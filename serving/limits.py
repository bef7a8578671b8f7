"""What requests may cost a worker, bounded before the cost is paid.

Every prediction request holds a reservation on the worker's memory budget: its body as it is read, then an
estimate of what parsing it and building its frame will cost, taken before it is parsed.  A request that alone
would exceed the budget answers 413; one that would exceed it together with the requests in flight answers 503,
so the client may retry.  Large bodies are parsed on one parser thread, so the event loop keeps answering
health checks, and two large requests are never expanded at once.
"""

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from serving.errors import ServingError

# Peak resident bytes one JSON value cost on top of its text, from parsing to the answer: measured on the churn
# model (docs/serving.md, "What a request may cost").  A value is counted by its separator or opening bracket.
BYTES_PER_VALUE = 110
# Bodies up to this size are parsed on the event loop: a thread hand-off would cost more than the parse.
INLINE_PARSE_BYTES = 64 * 1024


def too_large(limit: int, what: str = "The request body") -> ServingError:
    return ServingError(413, "REQUEST_LIMIT_EXCEEDED", f"{what} is larger than the limit of {limit} bytes.")


def json_values(body: bytes) -> int:
    """An upper bound on the values in a JSON text, counted without parsing it."""
    return body.count(b",") + body.count(b"[") + body.count(b"{") + 1


class MemoryBudget:
    def __init__(self, limit: int):
        self.limit = limit
        self.used = 0

    def reservation(self) -> "Reservation":
        return Reservation(self)


class Reservation:
    """One request's share of the budget; release() when its answer is written."""

    def __init__(self, budget: MemoryBudget):
        self._budget = budget
        self.held = 0

    def take(self, size: int, what: str = "The request body") -> None:
        budget = self._budget
        if self.held + size > budget.limit:
            raise too_large(budget.limit, f"{what}, with what it costs to parse,")
        if budget.used + size > budget.limit:
            raise ServingError(503, "TEMPORARILY_UNAVAILABLE",
                               "The server is busy with other large requests; retry later.")
        budget.used += size
        self.held += size

    def release(self) -> None:
        self._budget.used -= self.held
        self.held = 0


class Parser:
    """Runs a parse inline for small bodies, on the one parser thread for large ones."""

    def __init__(self) -> None:
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="parse")

    async def run(self, size: int, parse: Callable[..., Any], *args: Any) -> Any:
        if size <= INLINE_PARSE_BYTES:
            return parse(*args)
        return await asyncio.get_running_loop().run_in_executor(self._thread, parse, *args)

    def stop(self) -> None:
        self._thread.shutdown(wait=False, cancel_futures=True)


@dataclass
class Intake:
    """How the prediction routes take a request in: its body within the limits (serving.http.read_body), parsed
    where it does not stall the event loop."""

    max_body_bytes: int
    budget: MemoryBudget
    parser: Parser = field(default_factory=Parser)

    async def parse(self, body: bytes, values: int, reservation: Reservation, parse: Callable[..., Any],
                    *args: Any) -> Any:
        """parse(*args), once the estimated cost of `values` values is reserved."""
        reservation.take(values * BYTES_PER_VALUE, "The request")
        return await self.parser.run(len(body), parse, *args)
