"""More kinds of model (examples/model_kinds.py), each served by us and by `mlflow models serve` side by side: the
same answers for the same input, one request at a time and many at once (our batching path), on MLflow's scoring
protocol and on Open Inference V2."""

import json
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.serving.testkit import PYTHON, ServerProcess, histogram_totals, model_kinds, serving_env

KINDS = model_kinds().KINDS
# Custom pyfuncs are batched only when BATCHING says so; these two answer row by row, so they opt in and their
# combined model calls are compared too.
OUR_FLAGS = {"frame_pyfunc": ["--batching"], "params_pyfunc": ["--batching"]}
STARTUP_TIMEOUT_S = 300  # ten servers start at once on a busy two-core machine
FORMS = ["dataframe_split", "dataframe_records", "instances", "inputs", "csv"]
V2_DATATYPES = {"i": "INT64", "f": "FP64", "O": "BYTES"}


def mlflow_serve(uri: str) -> list[str]:
    return [PYTHON, "-m", "mlflow", "models", "serve", "-m", uri, "-h", "127.0.0.1", "-p", "{port}", "-w", "1",
            "--env-manager", "local"]


@pytest.fixture(scope="module")
def served(mlflow_store, tmp_path_factory) -> dict[str, tuple[ServerProcess, ServerProcess]]:
    """Per kind, (ours, mlflow's), all started at once and stopped at the end of the module."""
    root = tmp_path_factory.mktemp("kinds")
    uris = {name: model_kinds().register(kind, mlflow_store, root) for name, kind in KINDS.items()}
    env = serving_env(mlflow_store)
    pairs = {name: (ServerProcess(["--model-uri", uri, *OUR_FLAGS.get(name, [])], env, tmp_path_factory.mktemp(name)),
                    ServerProcess([], env, tmp_path_factory.mktemp(f"mlflow-{name}"), program=mlflow_serve(uri),
                                  ready_path="/ping"))
             for name, uri in uris.items()}
    started: list[ServerProcess] = []
    try:
        for pair in pairs.values():
            started.extend(server.start() for server in pair)
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        for server in started:
            server.wait_ready(max(deadline - time.monotonic(), 1))
        yield pairs
    finally:
        for server in started:
            server.stop()


def body(kind_name: str, rows: int, seed: int, form: str = "dataframe_split",
         params: dict | None = None) -> tuple[str, str]:
    """A request for the kind's input: (body, content type)."""
    frame = KINDS[kind_name].features(rows, seed)
    if form == "csv":
        return frame.to_csv(index=False), "text/csv"
    records = json.loads(frame.to_json(orient="records"))
    payload = {
        "dataframe_split": {"dataframe_split": json.loads(frame.to_json(orient="split", index=False))},
        "dataframe_records": {"dataframe_records": records},
        "instances": {"instances": records},
        "inputs": {"inputs": {column: frame[column].tolist() for column in frame.columns}},
    }[form]
    return json.dumps({**payload, "params": params} if params is not None else payload), "application/json"


def post(server: ServerProcess, request: tuple[str, str]) -> requests.Response:
    content, content_type = request
    return server.post("/invocations", content=content, headers={"Content-Type": content_type}, timeout=120)


def both(pair: tuple[ServerProcess, ServerProcess], request: tuple[str, str]) -> list[requests.Response]:
    return [post(server, request) for server in pair]


def model_calls(server: ServerProcess) -> tuple[float, float]:
    """(requests that went through the model, model calls) so far."""
    return histogram_totals(server, "mlstack_batch_size")


# Without a signature, MLflow reads `instances` and `inputs` as a dict of arrays, which a pipeline over named
# columns refuses: both servers answer 400 with the same error code.
REFUSED_IN_BOTH = {("unsigned", "instances"), ("unsigned", "inputs")}


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_predicts_like_mlflow_models_serve_in_every_input_form(served, kind, form):
    ours, theirs = both(served[kind], body(kind, 7, seed=11, form=form))
    if (kind, form) in REFUSED_IN_BOTH:
        assert ours.status_code == theirs.status_code == 400, (ours.text, theirs.text)
        assert ours.json()["error_code"] == theirs.json()["error_code"]
    else:
        assert ours.status_code == theirs.status_code == 200, (ours.text, theirs.text)
        assert ours.json() == theirs.json()


def test_the_dataframe_a_custom_pyfunc_returns_is_answered_as_records_like_mlflow(served):
    ours, theirs = both(served["frame_pyfunc"], body("frame_pyfunc", 3, seed=5))
    assert ours.json() == theirs.json()
    assert [set(row) for row in ours.json()["predictions"]] == [{"risk", "band"}] * 3


def test_string_labels_come_back_as_the_strings_mlflow_returns(served):
    ours, theirs = both(served["string_labels"], body("string_labels", 30, seed=2))
    assert ours.json() == theirs.json()
    assert set(ours.json()["predictions"]) == {"churns", "stays"}


@pytest.mark.parametrize("params", [None, {"scale": 0.5}, {"digits": 3}, {"scale": 0.5, "digits": 3}],
                         ids=["defaults", "scale_only", "digits_only", "both"])
def test_params_reach_the_model_and_missing_ones_take_the_signatures_defaults_as_in_mlflow(served, params):
    ours, theirs = both(served["params_pyfunc"], body("params_pyfunc", 4, seed=3, params=params))
    assert ours.status_code == theirs.status_code == 200, (ours.text, theirs.text)
    assert ours.json() == theirs.json()


@pytest.mark.parametrize("params", [{"scale": "twice"}, {"digits": 1.5}], ids=["word_for_a_double", "fraction_for_a_long"])
def test_params_of_the_wrong_type_are_refused_as_in_mlflow(served, params):
    ours, theirs = both(served["params_pyfunc"], body("params_pyfunc", 2, seed=3, params=params))
    assert ours.status_code == theirs.status_code == 400, (ours.text, theirs.text)
    assert ours.json()["error_code"] == theirs.json()["error_code"]


def test_params_sent_to_a_model_without_params_are_answered_as_in_mlflow(served):
    ours, theirs = both(served["string_labels"], body("string_labels", 3, seed=4, params={"scale": 0.5}))
    assert ours.status_code == theirs.status_code == 200, (ours.text, theirs.text)
    assert ours.json() == theirs.json()


def concurrent_requests(kind: str) -> list[tuple[str, str]]:
    """48 requests of 1 to 3 rows; for a kind that takes params, every third request sends its own."""
    params = KINDS[kind].params
    return [body(kind, 1 + seed % 3, seed, params=params if params and seed % 3 == 0 else None)
            for seed in range(48)]


@pytest.mark.parametrize("kind", KINDS)
def test_many_requests_at_once_get_the_answer_mlflow_gives_each_of_them(served, kind):
    ours_server, mlflow_server = served[kind]
    requests_before, calls_before = model_calls(ours_server)
    load = concurrent_requests(kind)
    with ThreadPoolExecutor(16) as pool:
        ours = list(pool.map(lambda request: post(ours_server, request), load))
    with ThreadPoolExecutor(4) as pool:
        theirs = list(pool.map(lambda request: post(mlflow_server, request), load))
    assert [answer.status_code for answer in ours] == [answer.status_code for answer in theirs] == [200] * len(load)
    assert [answer.json() for answer in ours] == [answer.json() for answer in theirs]
    requests_after, calls_after = model_calls(ours_server)
    assert requests_after - requests_before == len(load)
    assert calls_after - calls_before < len(load), "concurrent requests were never combined"


def v2_request(kind: str, rows: int, seed: int, parameters: dict | None = None) -> dict:
    frame = KINDS[kind].features(rows, seed)
    inputs = [{"name": column, "shape": [rows], "datatype": V2_DATATYPES[frame[column].dtype.kind],
               "data": frame[column].tolist()} for column in frame.columns]
    return {"inputs": inputs, **({"parameters": parameters} if parameters else {})}


def as_v2_outputs(predictions: list) -> dict[str, list]:
    """MLflow's predictions as V2 outputs: one per column of a DataFrame answer, else one named `predict`."""
    if predictions and isinstance(predictions[0], dict):
        return {name: [row[name] for row in predictions] for name in predictions[0]}
    return {"predict": predictions}


@pytest.mark.parametrize("kind", KINDS)
def test_v2_infer_answers_what_mlflow_models_serve_predicts(served, kind):
    ours_server, mlflow_server = served[kind]
    parameters = KINDS[kind].params
    request = v2_request(kind, 5, seed=9, parameters=parameters)
    ours = ours_server.post(f"/v2/models/{kind}/infer", json=request, timeout=120)
    theirs = post(mlflow_server, body(kind, 5, seed=9, params=parameters))
    assert ours.status_code == theirs.status_code == 200, (ours.text, theirs.text)
    assert {output["name"]: output["data"] for output in ours.json()["outputs"]} == \
        as_v2_outputs(theirs.json()["predictions"])


def test_v2_protocol_parameters_are_not_passed_to_the_model_and_the_others_are(served):
    ours_server, mlflow_server = served["params_pyfunc"]
    request = v2_request("params_pyfunc", 3, seed=6, parameters={"content_type": "pd", "scale": 0.5})
    ours = ours_server.post("/v2/models/params_pyfunc/infer", json=request, timeout=120)
    theirs = post(mlflow_server, body("params_pyfunc", 3, seed=6, params={"scale": 0.5}))
    assert ours.status_code == theirs.status_code == 200, (ours.text, theirs.text)
    assert ours.json()["outputs"][0]["data"] == theirs.json()["predictions"]


def test_v2_parameters_that_are_not_an_object_are_refused(served):
    request = {**v2_request("params_pyfunc", 1, seed=6), "parameters": [0.5]}
    answer = served["params_pyfunc"][0].post("/v2/models/params_pyfunc/infer", json=request, timeout=120)
    assert answer.status_code == 400 and "parameters" in answer.json()["error"]
