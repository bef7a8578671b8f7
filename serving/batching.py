"""Adaptive micro-batching: while the model works on one batch, the requests that arrive wait and
then go in together.  A lone request on an idle model is run at once (unless a wait is configured),
so batching adds no delay when there is no concurrency.
"""

import asyncio
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any, Callable

from serving.errors import ServingError
from serving.model import Job

# Threads beyond the first only serve while an earlier batch overran the request timeout, so a
# stuck model call delays the requests behind it by at most one timeout.
MODEL_THREADS = 4


class Batcher:
    def __init__(self, run_batch: Callable[[list[Job]], list[Any]], limit: int, max_wait_s: float,
                 stall_after_s: float, observe_batch: Callable[[int], None]):
        self._run_batch = run_batch
        self._limit = limit
        self._max_wait_s = max_wait_s
        self._stall_after_s = stall_after_s
        self._observe_batch = observe_batch
        self._pending: deque[tuple[Job, asyncio.Future]] = deque()
        self._arrived = asyncio.Event()
        self._pool = ThreadPoolExecutor(max_workers=MODEL_THREADS, thread_name_prefix="model")
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._serve())

    async def stop(self) -> None:
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
        self._pool.shutdown(wait=False, cancel_futures=True)

    def submit(self, job: Job) -> asyncio.Future:
        future = asyncio.get_running_loop().create_future()
        self._pending.append((job, future))
        self._arrived.set()
        return future

    async def _serve(self) -> None:
        while True:
            await self._arrived.wait()
            self._arrived.clear()
            while self._pending:
                if self._max_wait_s:
                    await self._wait_for_more()
                batch = self._take()
                if batch:
                    await self._dispatch(batch)

    async def _wait_for_more(self) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._max_wait_s
        while len(self._pending) < self._limit and (remaining := deadline - loop.time()) > 0:
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), remaining)
            except TimeoutError:
                return

    def _take(self) -> list[tuple[Job, asyncio.Future]]:
        batch = []
        while self._pending and len(batch) < self._limit:
            job, future = self._pending[0]
            if future.done():  # its caller timed out or went away: no model time for it
                self._pending.popleft()
                continue
            if batch and not job.combinable:
                break
            batch.append(self._pending.popleft())
            if not job.combinable:
                break
        return batch

    async def _dispatch(self, batch: list[tuple[Job, asyncio.Future]]) -> None:
        self._observe_batch(len(batch))
        work = asyncio.get_running_loop().run_in_executor(self._pool, self._run_batch, [job for job, _ in batch])
        work.add_done_callback(partial(_deliver, [future for _, future in batch]))
        await asyncio.wait({work}, timeout=self._stall_after_s)


def _deliver(futures: list[asyncio.Future], work: asyncio.Future) -> None:
    if work.cancelled():
        outcomes = [ServingError(503, "TEMPORARILY_UNAVAILABLE", "The server is shutting down.")] * len(futures)
    elif work.exception() is not None:
        outcomes = [ServingError(500, "INTERNAL_ERROR", f"Prediction failed: {work.exception()}")] * len(futures)
    else:
        outcomes = work.result()
    for future, outcome in zip(futures, outcomes):
        if future.done():
            continue
        if isinstance(outcome, ServingError):
            future.set_exception(outcome)
        else:
            future.set_result(outcome)
