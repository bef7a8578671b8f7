"""The fuzz tier (`bash tools/test.sh fuzz`): generated requests, valid and hostile, against the real server.

Throughout: no 5xx but 503 and 504, /ping answered within 1 s, the worker's peak resident memory grows by less
than its configured budget, and every 200 for a valid request equals the model's own prediction.
"""

import json
from dataclasses import dataclass

import pandas as pd
import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.serving.testkit import pinging, resident_kib, start_server

pytestmark = pytest.mark.fuzz
BUDGET_BYTES = 64 * 1024 * 1024
RUNS = settings(max_examples=250, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
CONTRACTS = ("month-to-month", "one-year", "two-year")
V2_TYPES = {"tenure_months": "INT64", "monthly_charges": "FP64", "support_calls": "INT64", "contract": "BYTES",
            "total_charges": "FP64"}


@dataclass
class Fuzzed:
    server: object
    peak_before_kib: int
    pings: list


@pytest.fixture(scope="module")
def fuzzed(mlflow_store, tmp_path_factory):
    """The churn server with a small memory budget, so generated bodies can reach it; /ping is timed throughout."""
    server = start_server(tmp_path_factory, mlflow_store, "--model-uri", "models:/churn@champion",
                          "--memory-budget-bytes", str(BUDGET_BYTES), "--max-body-bytes", str(8 * 1024 * 1024),
                          "--no-access-log")
    try:
        with pinging(server) as pings:
            yield Fuzzed(server, resident_kib(server.process.pid, "VmHWM"), pings)
    finally:
        server.stop()
    assert pings and max(pings) < 1.0, f"/ping took up to {max(pings):.2f} s"


def send(fuzzed: Fuzzed, path: str, body: bytes, content_type: str = "application/json") -> requests.Response:
    response = requests.post(fuzzed.server.url + path, data=body, headers={"Content-Type": content_type}, timeout=60)
    assert response.status_code < 500 or response.status_code in (503, 504), (body[:300], response.text[:300])
    grown = (resident_kib(fuzzed.server.process.pid, "VmHWM") - fuzzed.peak_before_kib) * 1024
    assert grown < BUDGET_BYTES, f"peak resident memory grew {grown} bytes"
    assert not fuzzed.pings or max(fuzzed.pings) < 1.0, f"/ping took {max(fuzzed.pings):.2f} s"
    return response


rows = st.lists(st.fixed_dictionaries({
    "tenure_months": st.integers(0, 120),
    "monthly_charges": st.floats(0, 500, allow_nan=False),
    "support_calls": st.integers(0, 20),
    "contract": st.sampled_from(CONTRACTS),
    "total_charges": st.floats(0, 60000, allow_nan=False),
}), min_size=1, max_size=30)


def scoring_body(form: str, records: list[dict]) -> dict:
    frame = pd.DataFrame(records)
    if form == "dataframe_split":
        return {form: {"columns": list(frame.columns), "data": frame.values.tolist()}}
    if form == "inputs":
        return {form: {column: frame[column].tolist() for column in frame.columns}}
    return {form: records}


@RUNS
@given(records=rows, form=st.sampled_from(["dataframe_split", "dataframe_records", "instances", "inputs", "v2"]))
def test_every_valid_request_is_answered_with_the_models_own_prediction(fuzzed, churn_model, records, form):
    frame = pd.DataFrame(records)
    if form == "v2":
        inputs = [{"name": c, "shape": [len(frame)], "datatype": V2_TYPES[c], "data": frame[c].tolist()}
                  for c in frame.columns]
        response = send(fuzzed, "/v2/models/churn/infer", json.dumps({"inputs": inputs}).encode())
    else:
        response = send(fuzzed, "/invocations", json.dumps(scoring_body(form, records)).encode())
    if response.status_code in (503, 504):
        return
    assert response.status_code == 200, response.text
    expected = churn_model.predict(frame).tolist()
    answer = response.json()
    assert (answer["outputs"][0]["data"] if form == "v2" else answer["predictions"]) == expected


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=6) | st.dictionaries(st.text(max_size=12), inner, max_size=6),
    max_leaves=60,
)
column_names = st.sampled_from(["tenure_months", "monthly_charges", "support_calls", "contract", "total_charges",
                                "other"])


def deeply_nested(depth: int) -> str:
    return "[" * depth + "1" + "]" * depth


@RUNS
@given(key=st.sampled_from(["dataframe_split", "dataframe_records", "instances", "inputs", "params", "other"]),
       value=json_values | st.dictionaries(column_names, json_values, max_size=6)
       | st.lists(st.dictionaries(column_names, json_values, max_size=6), max_size=6))
def test_any_scoring_request_gets_a_client_error_or_an_answer(fuzzed, key, value):
    send(fuzzed, "/invocations", json.dumps({key: value}, allow_nan=True).encode())


@RUNS
@given(name=column_names, shape=st.lists(st.integers(-2, 2**70) | st.text(max_size=3) | st.none(), max_size=5)
       | json_values, datatype=st.sampled_from([*V2_TYPES.values(), "FP32", "BOOL", "NOPE", None]),
       data=json_values)
def test_any_open_inference_request_gets_a_client_error_or_an_answer(fuzzed, name, shape, datatype, data):
    tensor = {"name": name, "shape": shape, "datatype": datatype, "data": data}
    send(fuzzed, "/v2/models/churn/infer", json.dumps({"inputs": [tensor]}, allow_nan=True).encode())


@RUNS
@given(body=st.binary(max_size=2000) | st.sampled_from([
    b'{"instances": [' + b",".join([b"[]"] * 2_000_000) + b"]}",
    b'{"inputs": ' + deeply_nested(3000).encode() + b"}",
    b'{"instances": ' + deeply_nested(900).encode() + b"}",
    b'{"dataframe_split": {"columns": ["a"], "data": [' + b",".join([b"[1]"] * 1_000_000) + b"]}}",
    b'{"inputs": [{"name": "contract", "shape": ["xxxxxxxx", 100000000], "datatype": "BYTES", "data": ["a"]}]}',
]), content_type=st.sampled_from(["application/json", "text/csv", "application/vnd.apache.parquet"]))
def test_any_body_of_any_content_type_gets_a_client_error_or_an_answer(fuzzed, body, content_type):
    send(fuzzed, "/invocations", body, content_type)
    if content_type == "application/json":
        send(fuzzed, "/v2/models/churn/infer", body)
