"""The loaded model and what runs on the model thread: one call per batch, results split per request."""

import logging
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from serving.errors import from_model_exception
from serving.tabular import TabularInput, TabularSchema

log = logging.getLogger("serving")
# Flavors whose predict answers each row from that row alone, so requests may share a model call.  A custom
# pyfunc may centre, rank or normalise over the frame it is given: it is batched only when BATCHING says so.
ROW_INDEPENDENT_FLAVORS = ("mlflow.sklearn", "mlflow.xgboost", "mlflow.lightgbm")


@dataclass(frozen=True)
class Job:
    """One request's input: TabularInput on the fast path, or whatever MLflow's parser made of it (a DataFrame
    for tables without a fast path: no signature, CSV, values only MLflow converts)."""

    data: Any
    rows: int
    params: dict[str, Any] | None = None

    @property
    def combinable(self) -> bool:
        """A request with no rows runs alone, so its answer is the model's answer to no rows, batched or not."""
        return isinstance(self.data, (TabularInput, pd.DataFrame)) and not self.params and self.rows > 0


class ServedModel:
    def __init__(self, local_path: str, numeric_threads: int):
        import mlflow.pyfunc
        from threadpoolctl import threadpool_limits

        started = time.perf_counter()
        threadpool_limits(limits=numeric_threads)
        # MLflow's own check of the model's requirements lists the files of every installed distribution, which
        # was two thirds of the load here; serving.requirements_check compares them before the load instead.
        self.pyfunc = mlflow.pyfunc.load_model(local_path, suppress_warnings=True)
        self.metadata = self.pyfunc.metadata
        _warn_on_other_python(self.metadata.flavors.get("python_function", {}).get("python_version"))
        self.input_schema = self.metadata.get_input_schema()
        self.tabular = TabularSchema.from_mlflow(self.input_schema)
        self.flavor = self.metadata.flavors.get("python_function", {}).get("loader_module", "")
        self._predict_table = self._table_predictor()
        self._warm_up(local_path)
        self.load_seconds = time.perf_counter() - started

    @property
    def row_independent(self) -> bool:
        return self.flavor in ROW_INDEPENDENT_FLAVORS

    def _warm_up(self, local_path: str) -> None:
        """Predict the logged input example once, so lazy imports and caches are paid before /ready."""
        try:
            example = self.metadata.load_input_example(local_path)
            if example is not None:
                self.pyfunc.predict(example)
        except Exception as error:  # a bad example must not stop a model that serves
            log.warning("warm-up on the logged input example failed: %s", error)

    def _table_predictor(self) -> Callable[..., Any]:
        """How fast-path frames reach the model.  They already have exactly the columns and dtypes MLflow's
        schema enforcement produces (test_serving_parsers checks this against MLflow), so MLflow's per-call
        enforcement and signature inspection, about 1-2 ms a call, are skipped for plain signatures.
        Type-hinted models keep MLflow's full predict, which converts inputs for them, and so do models whose
        signature has params: it gives a request that sends none the signature's defaults."""
        metadata, raw = self.metadata, getattr(self.pyfunc, "_predict_fn", None)
        type_hinted = getattr(metadata, "_is_signature_from_type_hint", lambda: True)() or getattr(
            metadata, "_is_type_hint_from_example", lambda: True)()
        predict: Callable[..., Any] = self.pyfunc.predict
        if raw is not None and not type_hinted and metadata.get_params_schema() is None:
            predict = raw
        return predict

    def run_batch(self, jobs: list[Job]) -> list[Any]:
        """Predictions (JSON-ready) or a ServingError, one per job.  A batch that fails is retried
        job by job, so one bad request never fails the others that shared its model call."""
        if len(jobs) > 1:
            try:
                predictions = self._predict_combined([job.data for job in jobs])
                if predictions is not None:
                    return _split(predictions, [job.rows for job in jobs])
            except Exception:  # each job is retried alone and gets its own answer
                pass
        return [self._run_one(job) for job in jobs]

    def _predict_combined(self, parts: list[Any]) -> Any:
        """One model call on every part's rows, or None if the parts cannot make one frame: fast-path inputs
        are joined column by column; frames MLflow's parser made are concatenated only when their columns and
        dtypes agree, and go through MLflow's full predict, which enforces the signature as for each alone."""
        first = parts[0]
        if all(isinstance(part, TabularInput) for part in parts):
            assert self.tabular is not None, "a TabularInput is only parsed for a tabular schema"
            return self._predict_table(self.tabular.frame(parts))
        if all(isinstance(part, pd.DataFrame) and part.columns.equals(first.columns)
               and part.dtypes.equals(first.dtypes) for part in parts):
            return self.pyfunc.predict(pd.concat(parts, ignore_index=True))
        return None

    def _run_one(self, job: Job) -> Any:
        try:
            if isinstance(job.data, TabularInput):
                assert self.tabular is not None, "a TabularInput is only parsed for a tabular schema"
                frame = self.tabular.frame([job.data])
                predictions = self.pyfunc.predict(frame, params=job.params) if job.params else self._predict_table(frame)
            else:
                predictions = self.pyfunc.predict(job.data, params=job.params)
            return _jsonable(predictions)
        except Exception as error:  # the model's failure becomes this request's answer
            return from_model_exception(error)


def _warn_on_other_python(logged: str | None) -> None:
    """The one warning of MLflow's load that suppress_warnings silences and requirements_check does not cover."""
    running = ".".join(map(str, sys.version_info[:2]))
    if logged and ".".join(logged.split(".")[:2]) != running:
        log.warning("the model was logged with Python %s and is served with Python %s", logged, running)


def _split(predictions: Any, rows: list[int]) -> list[Any]:
    """Each request's rows of the answer.  The whole answer is made JSON-ready once and then sliced: converting a
    DataFrame slice per request cost milliseconds each (see docs/serving.md)."""
    answer = _jsonable(predictions)
    if not isinstance(answer, list) or len(answer) != sum(rows):
        raise ValueError("the model returned a different number of rows than it was given")
    parts, start = [], 0
    for count in rows:
        parts.append(answer[start : start + count])
        start += count
    return parts


def _jsonable(predictions: Any) -> Any:
    from mlflow.utils.proto_json_utils import _get_jsonable_obj

    return _get_jsonable_obj(predictions, pandas_orient="records")  # type: ignore[no-untyped-call]  # mlflow's helper is unannotated
