"""Health, readiness, version and the Open Inference (V2) protocol."""

import json

import pytest
import requests


def test_liveness_and_readiness_answer_200_once_the_model_is_loaded(churn_server):
    for path in ("/ping", "/health", "/ready", "/v2/health/live", "/v2/health/ready"):
        assert requests.get(churn_server.url + path, timeout=5).status_code == 200, path


def test_answers_do_not_name_the_server_software(churn_server):
    assert "server" not in requests.get(f"{churn_server.url}/ping", timeout=5).headers


def test_unknown_paths_get_404_and_unserved_methods_405(churn_server):
    assert requests.get(f"{churn_server.url}/nowhere", timeout=5).status_code == 404
    assert requests.get(f"{churn_server.url}/invocations", timeout=5).status_code == 405
    assert requests.post(f"{churn_server.url}/ping", timeout=5).status_code == 405
    assert requests.head(f"{churn_server.url}/ping", timeout=5).status_code == 200


def test_version_names_the_resolved_registry_version_and_run(churn_server, churn_model):
    body = requests.get(f"{churn_server.url}/version", timeout=5).json()
    assert body["model_name"] == "churn"
    assert body["model_version"] == "1"
    assert body["run_id"] == churn_model.metadata.run_id
    assert body["mlflow_version"] == "3.17.2"


def v2_request(frame, request_id="r-1") -> dict:
    kinds = {"int64": "INT64", "float64": "FP64", "object": "BYTES", "str": "BYTES"}
    return {"id": request_id, "inputs": [
        {"name": column, "shape": [len(frame), 1], "datatype": kinds[str(frame[column].dtype)],
         "data": [[value] for value in json.loads(frame[column].to_json(orient="values"))]}
        for column in frame.columns
    ]}


def test_v2_infer_predicts_like_the_model_itself(churn_server, churn_rows, churn_model):
    response = requests.post(f"{churn_server.url}/v2/models/churn/infer", json=v2_request(churn_rows), timeout=30)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["model_name"] == "churn" and body["model_version"] == "1" and body["id"] == "r-1"
    [output] = body["outputs"]
    assert output["shape"] == [len(churn_rows)] and output["datatype"] == "INT64"
    assert output["data"] == churn_model.predict(churn_rows).tolist()


def test_v2_model_metadata_lists_the_signature_columns(churn_server, churn_rows):
    body = requests.get(f"{churn_server.url}/v2/models/churn", timeout=5).json()
    assert body["name"] == "churn" and body["versions"] == ["1"]
    assert [spec["name"] for spec in body["inputs"]] == list(churn_rows.columns)
    assert {spec["name"]: spec["datatype"] for spec in body["inputs"]}["contract"] == "BYTES"


@pytest.mark.parametrize("method, path", [("GET", "/v2/models/other"), ("POST", "/v2/models/other/infer")])
def test_v2_unknown_model_name_gets_404(churn_server, method, path):
    response = requests.request(method, churn_server.url + path, json={"inputs": []}, timeout=5)
    assert response.status_code == 404
    assert "other" in response.json()["error"]


@pytest.mark.parametrize("payload, words", [
    pytest.param({"inputs": []}, "non-empty 'inputs'", id="no_inputs"),
    pytest.param({"inputs": [{"name": "tenure_months", "shape": [3], "data": [1]}]}, "shape", id="shape_mismatch"),
    pytest.param({"inputs": [{"name": "tenure_months", "shape": [1], "data": [1]}]}, "missing inputs", id="missing"),
])
def test_v2_bad_requests_get_400_with_an_error_message(churn_server, payload, words):
    response = requests.post(f"{churn_server.url}/v2/models/churn/infer", json=payload, timeout=5)
    assert response.status_code == 400
    assert words in response.json()["error"]
