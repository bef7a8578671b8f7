"""Side by side with `mlflow models serve` on the same registered model: same predictions, same refusals."""

import json

import pytest
import requests

from tests.serving.testkit import PYTHON, ServerProcess, serving_env


@pytest.fixture(scope="module")
def mlflow_server(mlflow_store, tmp_path_factory):
    program = [PYTHON, "-m", "mlflow", "models", "serve", "-m", "models:/churn@champion", "-h", "127.0.0.1",
               "-p", "{port}", "-w", "1", "--env-manager", "local"]
    server = ServerProcess([], serving_env(mlflow_store), tmp_path_factory.mktemp("mlflow-serve"), program=program,
                           ready_path="/ping")
    server.start()
    try:
        yield server.wait_ready()
    finally:
        server.stop()


def both(churn_server, mlflow_server, body, content_type="application/json"):
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return [requests.post(f"{server.url}/invocations", data=data, headers={"Content-Type": content_type}, timeout=60)
            for server in (churn_server, mlflow_server)]


def payloads(frame) -> dict:
    records = json.loads(frame.to_json(orient="records"))
    return {
        "dataframe_split": {"dataframe_split": json.loads(frame.to_json(orient="split", index=False))},
        "dataframe_records": {"dataframe_records": records},
        "instances": {"instances": records},
        "inputs": {"inputs": {column: frame[column].tolist() for column in frame.columns}},
    }


@pytest.mark.parametrize("form", ["dataframe_split", "dataframe_records", "instances", "inputs", "csv"])
def test_predictions_match_mlflow_models_serve(churn_server, mlflow_server, churn_rows, form):
    if form == "csv":
        ours, theirs = both(churn_server, mlflow_server, churn_rows.to_csv(index=False), "text/csv")
    else:
        ours, theirs = both(churn_server, mlflow_server, payloads(churn_rows)[form])
    assert ours.status_code == theirs.status_code == 200, (ours.text, theirs.text)
    assert ours.json() == theirs.json()


@pytest.mark.parametrize("body", [
    pytest.param(b"{not json", id="malformed_json"),
    pytest.param({"dataframe_records": [{"tenure_months": 1}]}, id="missing_columns"),
    pytest.param({"columns": ["a"], "data": [[1]]}, id="pre_2_0_format"),
])
def test_bad_input_is_a_client_error_in_both(churn_server, mlflow_server, body):
    ours, theirs = both(churn_server, mlflow_server, body)
    assert ours.status_code == theirs.status_code == 400, (ours.text, theirs.text)
    assert ours.json()["error_code"] == theirs.json()["error_code"]


ROW = {"tenure_months": 12, "monthly_charges": 50.0, "support_calls": 1, "contract": "one-year", "total_charges": 500.0}


def one_row(tenure_months=12, **changes) -> dict:
    return {"dataframe_records": [{**ROW, "tenure_months": tenure_months, **changes}]}


@pytest.mark.parametrize("body", [
    pytest.param(json.dumps(one_row()).replace("50.0", "NaN"), id="nan_literal_in_a_double_column"),
    pytest.param(json.dumps(one_row()).replace("50.0", "Infinity"), id="infinity_literal_in_a_double_column"),
    pytest.param(one_row(True), id="boolean_in_a_long_column"),
    pytest.param(one_row(monthly_charges=False), id="boolean_in_a_double_column"),
    pytest.param(one_row("12"), id="numeric_string_in_a_long_column"),
    pytest.param(one_row(monthly_charges="50.5"), id="numeric_string_in_a_double_column"),
    pytest.param({"dataframe_split": {"columns": [*ROW, "contract"], "data": [[*ROW.values(), "two-year"]]}},
                 id="duplicate_column_name"),
    pytest.param(one_row(None), id="null_in_a_long_column"),
    pytest.param(one_row("twelve"), id="word_in_a_long_column"),
    pytest.param(one_row(-(2**63) - 1), id="below_the_long_range"),
])
def test_answers_like_mlflow_models_serve_where_no_difference_is_documented(churn_server, mlflow_server, body):
    ours, theirs = both(churn_server, mlflow_server, body)
    assert ours.status_code == theirs.status_code, (ours.text, theirs.text)
    if theirs.status_code == 200:
        assert ours.json() == theirs.json()
    else:
        assert ours.json()["error_code"] == theirs.json()["error_code"]


# Every deliberate difference from `mlflow models serve`; README.md lists each with its reason.
def test_a_number_in_a_string_column_is_refused_where_mlflow_passes_it_to_the_model_unconverted(
        churn_server, mlflow_server):
    ours, theirs = both(churn_server, mlflow_server, one_row(contract=12))
    assert theirs.status_code == 200
    assert ours.status_code == 400 and "contract" in ours.json()["message"]


def test_a_long_past_its_range_is_refused_where_mlflow_wraps_it_around(churn_server, mlflow_server):
    ours, theirs = both(churn_server, mlflow_server, one_row(2**63))
    wrapped, _ = both(churn_server, mlflow_server, one_row(-(2**63)))
    assert theirs.status_code == 200 and theirs.json() == wrapped.json()
    assert ours.status_code == 400 and "range" in ours.json()["message"]


def test_a_whole_float_in_a_long_column_is_cast_like_mlflow_does(churn_server, mlflow_server):
    ours, theirs = both(churn_server, mlflow_server, one_row(12.0))
    assert ours.status_code == theirs.status_code == 200
    assert ours.json() == theirs.json()


def test_a_fractional_float_in_a_long_column_is_refused_where_mlflow_truncates_it(churn_server, mlflow_server):
    ours, theirs = both(churn_server, mlflow_server, one_row(12.5))
    truncated, _ = both(churn_server, mlflow_server, one_row(12))
    assert theirs.status_code == 200 and theirs.json() == truncated.json()
    assert ours.status_code == 400 and "tenure_months" in ours.json()["message"]
