"""The threads that call the model, so the event loop keeps serving while a batch runs.

The first thread serves every batch while none is stuck, so its caches stay warm: rotating batches over all the
threads cost a lone request 0.2 to 0.5 ms on the benchmark machine.  The others only take a batch while earlier
ones overran their time, so a stuck model call delays the requests behind it by at most that time.  Each thread
has its own inbox, a `queue.SimpleQueue`, and answers through one `call_soon_threadsafe`: a third of the hand-off
cost of `run_in_executor` and its chained futures.
"""

import asyncio
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

from serving.errors import ServingError
from serving.model import Job

MODEL_THREADS = 4

Outcomes = list[Any]  # one per job: JSON-ready predictions or a ServingError
Answer = asyncio.Future[Any]  # one request's JSON-ready predictions, or its ServingError raised
Batch = tuple[list[Job], list[Answer], asyncio.AbstractEventLoop, asyncio.Future[None]]


class ModelThreads:
    def __init__(self, run_batch: Callable[[list[Job]], Outcomes], observe_call: Callable[[float], None],
                 count: int = MODEL_THREADS):
        self._run_batch = run_batch
        self._observe_call = observe_call
        self._inboxes: list[queue.SimpleQueue[Batch | None]] = [queue.SimpleQueue() for _ in range(count)]
        self._busy = [False] * count  # read and written on the event loop only
        self._freed = asyncio.Event()
        self._threads = [threading.Thread(target=self._serve, args=(index,), name=f"model-{index}", daemon=True)
                         for index in range(count)]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        """Each thread ends after the batch it is running, if any."""
        for inbox in self._inboxes:
            inbox.put(None)

    @property
    def has_idle(self) -> bool:
        return not all(self._busy)

    def hand_over(self, jobs: list[Job], futures: list[Answer]) -> asyncio.Future[None]:
        """Hand the batch to the first idle thread (there must be one); the returned future is set once every
        request of the batch is answered."""
        index = self._busy.index(False)
        self._busy[index] = True
        loop = asyncio.get_running_loop()
        finished: asyncio.Future[None] = loop.create_future()
        self._inboxes[index].put((jobs, futures, loop, finished))
        return finished

    async def run(self, jobs: list[Job], futures: list[Answer], stall_after_s: float) -> None:
        """Start the batch on the first idle thread and return when it is answered or has run stall_after_s."""
        while not self.has_idle:
            self._freed.clear()
            await self._freed.wait()
        await asyncio.wait({self.hand_over(jobs, futures)}, timeout=stall_after_s)

    def _serve(self, index: int) -> None:
        inbox = self._inboxes[index]
        while (item := inbox.get()) is not None:
            jobs, futures, loop, finished = item
            started = time.perf_counter()
            try:
                outcomes = self._run_batch(jobs)
            except Exception as error:  # every request of the batch gets the failure
                outcomes = [ServingError(500, "INTERNAL_ERROR", f"Prediction failed: {error}")] * len(jobs)
            seconds = time.perf_counter() - started
            try:
                loop.call_soon_threadsafe(self._finish, index, futures, outcomes, finished)
            except RuntimeError:  # the loop closed while this batch ran: nobody is waiting for it
                return
            # Recorded after the answers are handed to the loop, so the metric does not delay them.
            self._observe_call(seconds)

    def _finish(self, index: int, futures: list[Answer], outcomes: Outcomes, finished: asyncio.Future[None]) -> None:
        for future, outcome in zip(futures, outcomes, strict=True):
            if future.done():  # its caller timed out or went away
                continue
            if isinstance(outcome, ServingError):
                future.set_exception(outcome)
            else:
                future.set_result(outcome)
        self._busy[index] = False
        self._freed.set()
        finished.set_result(None)
