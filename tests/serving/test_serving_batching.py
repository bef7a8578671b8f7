"""Adaptive micro-batching: same answers on and off, and a bad request never fails its batch mates."""

import asyncio
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from serving import batching
from serving.batching import Batcher
from serving.model import Job
from serving.tabular import TabularInput
from tests.serving.testkit import histogram_totals, start_server, wait_for_in_progress


def batch_totals(server) -> tuple[float, float]:
    """(requests that went through the model, model calls) so far."""
    return histogram_totals(server, "mlstack_batch_size")


class HeldModel:
    """A model whose calls record their batch sizes and block until released, so requests can queue behind one."""

    def __init__(self) -> None:
        self.calls: list[int] = []
        self.release = threading.Event()

    def __call__(self, jobs):
        self.calls.append(len(jobs))
        self.release.wait(10)
        return [job.rows for job in jobs]

    def batcher(self) -> Batcher:
        batcher = Batcher(self, limit=64, max_wait_s=0, stall_after_s=30, observe_batch=lambda size: None,
                          observe_call=lambda seconds: None)
        batcher.start()
        return batcher


def rows_job(rows: int) -> Job:
    return Job(TabularInput({"x": [1.0] * rows}, rows), rows)


def predict_each_row_concurrently(server, rows: list[dict], connections: int = 16) -> list:
    def one(row):
        response = requests.post(f"{server.url}/invocations", json={"dataframe_records": [row]}, timeout=60)
        assert response.status_code == 200, response.text
        return response.json()["predictions"][0]

    with ThreadPoolExecutor(connections) as pool:
        return list(pool.map(one, rows))


@pytest.fixture(scope="module")
def unbatched_server(mlflow_store, tmp_path_factory):
    server = start_server(tmp_path_factory, mlflow_store, "--model-uri", "models:/churn@champion", "--no-batching")
    yield server
    server.stop()


def test_batching_on_and_off_give_identical_predictions(churn_server, unbatched_server, churn_rows, churn_model):
    rows = json.loads(churn_rows.to_json(orient="records"))
    calls_before = batch_totals(churn_server)
    batched = predict_each_row_concurrently(churn_server, rows)
    calls_after = batch_totals(churn_server)
    unbatched = predict_each_row_concurrently(unbatched_server, rows)
    assert batched == unbatched == churn_model.predict(churn_rows).tolist()
    requests_served, model_calls = (after - before for after, before in zip(calls_after, calls_before, strict=True))
    assert requests_served == len(rows) and model_calls < len(rows), "concurrent requests were never combined"
    unbatched_requests, unbatched_calls = batch_totals(unbatched_server)
    assert unbatched_requests == unbatched_calls


def test_a_bad_request_in_a_batch_fails_alone(faulty_server):
    def post(x: float, action: str) -> requests.Response:
        return requests.post(f"{faulty_server.url}/invocations",
                             json={"dataframe_records": [{"x": x, "action": action}]}, timeout=30)

    with ThreadPoolExecutor(8) as pool:
        blocker = pool.submit(post, 0.5, "sleep")  # holds the model so the next requests queue up together
        wait_for_in_progress(faulty_server, 1)
        before = batch_totals(faulty_server)
        good = [pool.submit(post, float(x), "double") for x in range(6)]
        bad = pool.submit(post, 1.0, "raise")
        results = [future.result() for future in good]
        failed = bad.result()
        assert blocker.result().status_code == 200
    after = batch_totals(faulty_server)
    assert [r.json() for r in results] == [{"predictions": [2.0 * x]} for x in range(6)]
    assert failed.status_code == 400 and "asked to fail" in failed.json()["message"]
    requests_served, model_calls = (a - b for a, b in zip(after, before, strict=True))
    assert model_calls < requests_served, "the requests were not combined into a batch"


def test_each_model_call_is_timed_once_whole_on_the_model_thread(faulty_server):
    def model_time() -> tuple[float, float]:
        return histogram_totals(faulty_server, "mlstack_model_call_duration_seconds")

    held_s = 0.3
    (time_before, timed_before), (_, calls_before) = model_time(), batch_totals(faulty_server)
    response = requests.post(f"{faulty_server.url}/invocations",
                             json={"dataframe_records": [{"x": held_s, "action": "sleep"}]}, timeout=30)
    assert response.status_code == 200
    deadline = time.monotonic() + 10  # both are recorded just after the answer is handed over
    while model_time()[1] == timed_before or batch_totals(faulty_server)[1] == calls_before:
        assert time.monotonic() < deadline, "the call was never recorded"
        time.sleep(0.05)
    (time_after, timed_after), (_, calls_after) = model_time(), batch_totals(faulty_server)
    assert timed_after - timed_before == calls_after - calls_before == 1
    assert time_after - time_before >= held_s


def test_requests_that_arrive_during_a_lone_requests_call_go_in_together_behind_it():
    model = HeldModel()

    async def scenario():
        batcher = model.batcher()
        await asyncio.sleep(0)  # the batcher parks, waiting for requests
        lone = batcher.submit(rows_job(1))
        while not model.calls:  # the lone request is in the model
            await asyncio.sleep(0.001)
        followers = [batcher.submit(rows_job(rows)) for rows in (2, 3, 4)]
        await asyncio.sleep(0.05)
        model.release.set()
        answers = await asyncio.gather(lone, *followers)
        await batcher.stop()
        return answers

    assert asyncio.run(scenario()) == [1, 2, 3, 4]
    assert model.calls == [1, 3]


def test_the_clients_of_a_batch_coming_back_go_in_together_not_the_first_alone(monkeypatch):
    # Windows wide enough that a slow machine's scheduling cannot decide the test.
    monkeypatch.setattr(batching, "RETURN_WINDOW_S", 5.0)
    monkeypatch.setattr(batching, "QUIET_GAP_S", 1.0)
    model = HeldModel()

    async def scenario():
        batcher = model.batcher()
        await asyncio.sleep(0)
        lone = batcher.submit(rows_job(1))
        while not model.calls:
            await asyncio.sleep(0.001)
        first_round = [batcher.submit(rows_job(1)) for _ in range(3)]
        model.release.set()
        await asyncio.gather(lone, *first_round)
        await asyncio.sleep(0.002)  # the batcher has parked by now, as on a server writing the answers
        second_round = []
        for _ in range(3):  # the three clients come back one loop turn apart, as their answers are written
            second_round.append(batcher.submit(rows_job(2)))
            await asyncio.sleep(0)
        answers = await asyncio.gather(*second_round)
        await batcher.stop()
        return answers

    assert asyncio.run(scenario()) == [2, 2, 2]
    assert model.calls == [1, 3, 3]


@pytest.fixture(scope="module")
def centring_server(mlflow_store, tmp_path_factory):
    server = start_server(tmp_path_factory, mlflow_store, "--model-uri", "models:/centring/1")
    yield server
    server.stop()


def test_a_custom_pyfunc_is_not_batched_by_default_so_frame_wide_answers_stay_each_callers_own(centring_server):
    def centred(base: float) -> list:
        response = requests.post(f"{centring_server.url}/invocations",
                                 json={"dataframe_records": [{"x": base}, {"x": base + 2.0}]}, timeout=60)
        assert response.status_code == 200, response.text
        return response.json()["predictions"]

    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(centred, [float(base) for base in range(64)]))
    assert answers == [[-1.0, 1.0]] * 64
    assert requests.get(f"{centring_server.url}/version", timeout=5).json()["batching"] is False
    requests_served, model_calls = batch_totals(centring_server)
    assert requests_served == model_calls == 64


def test_sklearn_is_batched_by_default_and_a_custom_pyfunc_when_batching_opts_in(churn_server, faulty_server):
    churn = requests.get(f"{churn_server.url}/version", timeout=5).json()
    faulty = requests.get(f"{faulty_server.url}/version", timeout=5).json()
    assert (churn["model_flavor"], churn["batching"]) == ("mlflow.sklearn", True)
    assert (faulty["model_flavor"], faulty["batching"]) == ("mlflow.pyfunc.loaders.code_model", True)


def test_a_request_with_no_rows_gets_the_same_answer_alone_and_among_concurrent_requests(churn_server, churn_rows):
    empty = {"dataframe_split": {"columns": list(churn_rows.columns), "data": []}}
    alone = requests.post(f"{churn_server.url}/invocations", json=empty, timeout=30)
    rows = json.loads(churn_rows.to_json(orient="records"))
    before = batch_totals(churn_server)

    def one(index: int) -> requests.Response:
        payload = empty if index % 2 else {"dataframe_records": [rows[index % len(rows)]]}
        return requests.post(f"{churn_server.url}/invocations", json=payload, timeout=30)

    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(one, range(200)))
    requests_served, model_calls = (a - b for a, b in zip(batch_totals(churn_server), before, strict=True))
    assert model_calls < requests_served, "the requests were never combined, so this proved nothing"
    assert {(a.status_code, a.text) for a in answers[1::2]} == {(alone.status_code, alone.text)}
    assert all(a.status_code == 200 for a in answers[::2])
