"""Adaptive micro-batching: while the model works on one batch, the requests that arrive wait and
then go in together.  A lone request on an idle model is run at once (unless a wait is configured),
so batching adds no delay when there is no concurrency.
"""

import asyncio
import queue
import threading
from collections import deque
from typing import Any, Callable

from serving.errors import ServingError
from serving.model import Job

# Threads beyond the first only serve while an earlier batch overran the request timeout, so a
# stuck model call delays the requests behind it by at most one timeout.
MODEL_THREADS = 4

Outcomes = list[Any]  # one per job: JSON-ready predictions or a ServingError


class Batcher:
    def __init__(self, run_batch: Callable[[list[Job]], Outcomes], limit: int, max_wait_s: float,
                 stall_after_s: float, observe_batch: Callable[[int], None]):
        self._run_batch = run_batch
        self._limit = limit
        self._max_wait_s = max_wait_s
        self._stall_after_s = stall_after_s
        self._observe_batch = observe_batch
        self._pending: deque[tuple[Job, asyncio.Future]] = deque()
        self._arrived = asyncio.Event()
        # Plain threads on a SimpleQueue answering through one call_soon_threadsafe: a lone request's
        # two hand-offs cost about a third of what run_in_executor's future chaining does.
        self._batches: queue.SimpleQueue = queue.SimpleQueue()
        self._threads = [threading.Thread(target=self._model_thread, name=f"model-{index}", daemon=True)
                         for index in range(MODEL_THREADS)]
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._task = loop.create_task(self._serve())
        for thread in self._threads:
            thread.start()

    async def stop(self) -> None:
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
        shutting_down = ServingError(503, "TEMPORARILY_UNAVAILABLE", "The server is shutting down.")
        while True:
            try:
                _, futures, _ = self._batches.get_nowait()
            except queue.Empty:
                break
            _deliver(futures, [shutting_down] * len(futures))
        for _ in self._threads:
            self._batches.put(None)

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
                if len(batch) > 1:
                    await self._let_the_loop_catch_up()

    @staticmethod
    async def _let_the_loop_catch_up() -> None:
        """Under concurrency, two loop turns before the next model call: the first sends the answers just
        delivered, the second reads the requests that came in meanwhile.  The next batch is then bigger, and
        the model thread does not hold the GIL while the loop still has I/O to do.  At 64 connections this
        raised throughput by about a third on this machine.  A lone request (a batch of one) never waits."""
        await asyncio.sleep(0)
        await asyncio.sleep(0)

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
        loop = asyncio.get_running_loop()
        finished = loop.create_future()
        self._batches.put(([job for job, _ in batch], [future for _, future in batch], (loop, finished)))
        await asyncio.wait({finished}, timeout=self._stall_after_s)

    def _model_thread(self) -> None:
        while (item := self._batches.get()) is not None:
            jobs, futures, (loop, finished) = item
            try:
                outcomes = self._run_batch(jobs)
            except Exception as error:  # noqa: BLE001 - every request of the batch gets the failure
                outcomes = [ServingError(500, "INTERNAL_ERROR", f"Prediction failed: {error}")] * len(jobs)
            try:
                loop.call_soon_threadsafe(_finish, futures, outcomes, finished)
            except RuntimeError:  # the loop closed while this batch ran: nobody is waiting for it
                return


def _finish(futures: list[asyncio.Future], outcomes: Outcomes, finished: asyncio.Future) -> None:
    _deliver(futures, outcomes)
    if not finished.done():
        finished.set_result(None)


def _deliver(futures: list[asyncio.Future], outcomes: Outcomes) -> None:
    for future, outcome in zip(futures, outcomes):
        if future.done():
            continue
        if isinstance(outcome, ServingError):
            future.set_exception(outcome)
        else:
            future.set_result(outcome)
