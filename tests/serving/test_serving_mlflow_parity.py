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


def one_row(tenure_months) -> dict:
    return {"dataframe_records": [{"tenure_months": tenure_months, "monthly_charges": 50.0, "support_calls": 1,
                                   "contract": "one-year", "total_charges": 500.0}]}


def test_a_whole_float_in_a_long_column_is_cast_like_mlflow_does(churn_server, mlflow_server):
    ours, theirs = both(churn_server, mlflow_server, one_row(12.0))
    assert ours.status_code == theirs.status_code == 200
    assert ours.json() == theirs.json()


def test_a_fractional_float_in_a_long_column_is_refused_where_mlflow_truncates_it(churn_server, mlflow_server):
    ours, theirs = both(churn_server, mlflow_server, one_row(12.5))
    truncated, _ = both(churn_server, mlflow_server, one_row(12))
    assert theirs.status_code == 200 and theirs.json() == truncated.json()
    assert ours.status_code == 400 and "tenure_months" in ours.json()["message"]
