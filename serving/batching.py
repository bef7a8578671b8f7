"""Adaptive micro-batching: while the model works on one batch, the requests that arrive wait and
then go in together.  A lone request on an idle model is handed to a model thread by the request's own
task (unless a wait is configured), so batching adds no delay when there is no concurrency.
"""

import asyncio
from collections import deque
from collections.abc import Callable

from serving.model import Job
from serving.model_threads import Answer, ModelThreads, Outcomes

# After a batch of several requests is answered, their clients are expected back for this long: a request that
# comes meanwhile waits for them instead of taking a model call of its own.
RETURN_WINDOW_S = 0.01
# How long the batcher waits for the next of those clients before it starts the model on the requests it has.
QUIET_GAP_S = 0.001


class Batcher:
    def __init__(self, run_batch: Callable[[list[Job]], Outcomes], limit: int, max_wait_s: float,
                 stall_after_s: float, observe_batch: Callable[[int], None], observe_call: Callable[[float], None]):
        self._threads = ModelThreads(run_batch, observe_call)
        self._limit = limit
        self._max_wait_s = max_wait_s
        self._stall_after_s = stall_after_s
        self._observe_batch = observe_batch
        self._pending: deque[tuple[Job, Answer]] = deque()
        self._arrived = asyncio.Event()
        self._parked = False  # _serve waits for arrivals: nothing pending and no batch of its own running
        self._lone: tuple[asyncio.Future[None], float] | None = None  # a lone request's batch and its stall time
        self._task: asyncio.Task[None] | None = None
        self._answered = 0  # requests in the last batch answered
        self._answered_at = 0.0  # event loop time when that batch was answered

    def start(self) -> None:
        self._threads.start()
        self._task = asyncio.get_running_loop().create_task(self._serve())

    async def stop(self) -> None:
        assert self._task is not None, "stop() before start()"
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
        self._threads.stop()

    def submit(self, job: Job) -> Answer:
        loop = asyncio.get_running_loop()
        future: Answer = loop.create_future()
        if self._can_start_alone():
            # Straight to a model thread: waking _serve first cost a lone request 0.10 ms here (paired rounds).
            finished = self._threads.hand_over([job], [future])
            finished.add_done_callback(self._lone_answered)
            self._lone = finished, loop.time() + self._stall_after_s
            return future
        self._pending.append((job, future))
        self._arrived.set()
        return future

    def _lone_answered(self, finished: asyncio.Future[None]) -> None:
        self._observe_batch(1)
        self._answered, self._answered_at = 1, asyncio.get_running_loop().time()

    def _can_start_alone(self) -> bool:
        lone_running = self._lone is not None and not self._lone[0].done()
        return (self._parked and not self._pending and not self._max_wait_s and not lone_running
                and self._threads.has_idle and not self._returning())

    def _returning(self) -> int:
        """How many clients of the last batch are expected back: none when it was a lone request or long ago."""
        recent = asyncio.get_running_loop().time() - self._answered_at < RETURN_WINDOW_S
        return self._answered if self._answered > 1 and recent else 0

    async def _serve(self) -> None:
        while True:
            self._parked = True
            await self._arrived.wait()
            self._parked = False
            self._arrived.clear()
            await self._wait_for_the_lone_batch()
            await self._wait_for_the_returning()
            while self._pending:
                if self._max_wait_s:
                    await self._wait_for_more()
                batch = self._take()
                if batch:
                    await self._dispatch(batch)
                    await self._wait_for_the_returning()

    async def _wait_for_the_returning(self) -> None:
        """Under concurrency, the clients of the batch just answered send their next requests at once; the model
        starts when as many have come, or none came for QUIET_GAP_S.  Started on the first of them, the model
        would take one call per stray request, each costing the model's whole fixed time, and would hold the
        GIL while the loop still reads the others (see docs/serving.md).  After a lone request it never waits."""
        expected = min(self._returning(), self._limit)
        while len(self._pending) < expected:
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), QUIET_GAP_S)
            except TimeoutError:
                return

    async def _wait_for_the_lone_batch(self) -> None:
        """Requests that came while a lone request's batch runs are batched behind it, as behind any other."""
        if self._lone is None:
            return
        (finished, stalls_at), self._lone = self._lone, None
        remaining = stalls_at - asyncio.get_running_loop().time()
        if not finished.done() and remaining > 0:
            await asyncio.wait({finished}, timeout=remaining)

    async def _wait_for_more(self) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._max_wait_s
        while len(self._pending) < self._limit and (remaining := deadline - loop.time()) > 0:
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), remaining)
            except TimeoutError:
                return

    def _take(self) -> list[tuple[Job, Answer]]:
        batch: list[tuple[Job, Answer]] = []
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

    async def _dispatch(self, batch: list[tuple[Job, Answer]]) -> None:
        await self._threads.run([job for job, _ in batch], [future for _, future in batch], self._stall_after_s)
        # Observed once the batch is answered: the callers' tasks were woken first, so their answers are
        # written before this metric costs anything.
        self._observe_batch(len(batch))
        self._answered, self._answered_at = len(batch), asyncio.get_running_loop().time()
