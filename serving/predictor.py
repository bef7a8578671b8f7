"""What both protocols call: the loaded model behind a batcher, answering within the request timeout."""

import asyncio
import gc
from typing import Any

from serving import metrics
from serving.batching import Batcher
from serving.errors import ServingError
from serving.model import Job, ServedModel
from serving.model_threads import Answer
from serving.settings import Settings
from serving.source import ModelSource


class Predictor:
    def __init__(self, settings: Settings, source: ModelSource):
        self.settings = settings
        self.source = source
        self.model: ServedModel | None = None
        self._batcher: Batcher | None = None

    @property
    def batching(self) -> bool:
        """BATCHING when set, else whether the model's flavor is known to predict row by row."""
        if self.settings.batching is not None:
            return self.settings.batching
        return self.model is not None and self.model.row_independent

    @property
    def ready(self) -> bool:
        return self._batcher is not None

    async def start(self) -> None:
        self.model = await asyncio.to_thread(ServedModel, self.source.local_path, self.settings.numeric_threads)
        # MLflow, pandas and the model leave ~350k long-lived objects; a full collection scanning them
        # paused serving for ~0.4 s under load.  Frozen, they are skipped and only request garbage is scanned.
        gc.freeze()
        self._batcher = Batcher(
            self.model.run_batch,
            limit=self.settings.max_batch_size if self.batching else 1,
            max_wait_s=self.settings.max_batch_wait_ms / 1000,
            # A batch running past half the timeout is treated as stuck, so the requests behind it still
            # have half their time left when they start on another thread.
            stall_after_s=self.settings.request_timeout / 2,
            observe_batch=metrics.batch_size.observe,
            observe_call=metrics.model_call_duration.observe,
        )
        self._batcher.start()
        metrics.model_load_duration.set(self.model.load_seconds)
        metrics.model_info.labels(self.source.name, self.source.version, self.source.run_id).set(1)
        metrics.model_ready.set(1)

    async def stop(self) -> None:
        metrics.model_ready.set(0)
        if self._batcher is not None:
            batcher, self._batcher = self._batcher, None
            await batcher.stop()

    async def predict(self, job: Job) -> Any:
        if self._batcher is None:
            raise ServingError(503, "TEMPORARILY_UNAVAILABLE", "The model is not loaded.")
        answer = self._batcher.submit(job)
        # A timer on the answer itself: lighter than asyncio.wait_for, which wraps it in another future.
        deadline = asyncio.get_running_loop().call_later(self.settings.request_timeout, _expire, answer)
        try:
            predictions = await answer
        finally:
            deadline.cancel()
        return predictions


def _expire(answer: Answer) -> None:
    if not answer.done():
        answer.set_exception(ServingError(504, "DEADLINE_EXCEEDED", "Request processing time exceeded limit"))
