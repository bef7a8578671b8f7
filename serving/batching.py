"""Adaptive micro-batching: while the model works on one batch, the requests that arrive wait and
then go in together.  A lone request on an idle model is handed to a model thread by the request's own
task (unless a wait is configured), so batching adds no delay when there is no concurrency.
"""

import asyncio
from collections import deque
from collections.abc import Callable

from serving.model import Job
from serving.model_threads import Answer, ModelThreads, Outcomes


class Batcher:
    def __init__(self, run_batch: Callable[[list[Job]], Outcomes], limit: int, max_wait_s: float,
                 stall_after_s: float, observe_batch: Callable[[int], None]):
        self._threads = ModelThreads(run_batch)
        self._limit = limit
        self._max_wait_s = max_wait_s
        self._stall_after_s = stall_after_s
        self._observe_batch = observe_batch
        self._pending: deque[tuple[Job, Answer]] = deque()
        self._arrived = asyncio.Event()
        self._parked = False  # _serve waits for arrivals: nothing pending and no batch of its own running
        self._lone: tuple[asyncio.Future[None], float] | None = None  # a lone request's batch and its stall time
        self._task: asyncio.Task[None] | None = None

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
            finished.add_done_callback(lambda _: self._observe_batch(1))
            self._lone = finished, loop.time() + self._stall_after_s
            return future
        self._pending.append((job, future))
        self._arrived.set()
        return future

    def _can_start_alone(self) -> bool:
        lone_running = self._lone is not None and not self._lone[0].done()
        return (self._parked and not self._pending and not self._max_wait_s and not lone_running
                and self._threads.has_idle)

    async def _serve(self) -> None:
        while True:
            self._parked = True
            await self._arrived.wait()
            self._parked = False
            self._arrived.clear()
            await self._wait_for_the_lone_batch()
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
