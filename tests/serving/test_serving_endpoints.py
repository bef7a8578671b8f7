"""Health, readiness, version and the Open Inference (V2) protocol, against the real server and in process."""

import json

import pytest

import serving


def test_liveness_and_readiness_answer_200_once_the_model_is_loaded(churn):
    for path in ("/ping", "/health", "/ready", "/v2/health/live", "/v2/health/ready"):
        assert churn.get(path).status_code == 200, path


def test_answers_do_not_name_the_server_software(churn):
    assert "server" not in churn.get("/ping").headers


@pytest.mark.parametrize("path, body", [
    ("/nowhere", {"error_code": "ENDPOINT_NOT_FOUND", "message": "No endpoint at /nowhere."}),
    ("/invocations/extra", {"error_code": "ENDPOINT_NOT_FOUND", "message": "No endpoint at /invocations/extra."}),
    ("/v2/nowhere", {"error": "No endpoint at /v2/nowhere."}),
    ("/v2/models/churn/explain", {"error": "No endpoint at /v2/models/churn/explain."}),
    ("/v2/models/churn/versions/1/nowhere", {"error": "No endpoint at /v2/models/churn/versions/1/nowhere."}),
])
def test_unknown_paths_get_a_json_404_in_the_error_shape_of_their_protocol(churn, path, body):
    response = churn.get(path)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/json"
    assert response.json() == body


@pytest.mark.parametrize("method, path, allowed", [
    ("GET", "/invocations", "POST"),
    ("PUT", "/invocations", "POST"),
    ("POST", "/ping", "GET, HEAD"),
    ("TRACE", "/v2", "GET, HEAD"),
    ("DELETE", "/v2/models/churn", "GET, HEAD"),
    ("OPTIONS", "/v2/models/churn/versions/1/ready", "GET, HEAD"),
    ("GET", "/v2/models/churn/infer", "POST"),
    ("PATCH", "/v2/models/churn/versions/1/infer", "POST"),
    ("POST", "/v2/health/live", "GET, HEAD"),
])
def test_an_undeclared_method_gets_405_naming_the_allowed_ones_with_a_json_body(churn, method, path, allowed):
    response = churn.request(method, path)
    assert response.status_code == 405
    assert response.headers["allow"] == allowed
    body = response.json()
    assert method in (body["error"] if path.startswith("/v2") else body["message"])


@pytest.mark.parametrize("path", ["/ping", "/v2", "/v2/models/churn", "/v2/models/churn/ready",
                                  "/v2/models/churn/versions/1/ready"])
def test_head_is_answered_wherever_get_is(churn, path):
    assert churn.request("HEAD", path).status_code == 200


def test_version_names_the_resolved_registry_version_and_run(churn, churn_model):
    body = churn.get("/version").json()
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


def test_v2_infer_predicts_like_the_model_itself(churn, churn_rows, churn_model):
    response = churn.post("/v2/models/churn/infer", json=v2_request(churn_rows))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["model_name"] == "churn" and body["model_version"] == "1" and body["id"] == "r-1"
    [output] = body["outputs"]
    assert output["shape"] == [len(churn_rows)] and output["datatype"] == "INT64"
    assert output["data"] == churn_model.predict(churn_rows).tolist()


def test_v2_model_metadata_lists_the_signature_columns(churn, churn_rows):
    body = churn.get("/v2/models/churn").json()
    assert body["name"] == "churn" and body["versions"] == ["1"]
    assert [spec["name"] for spec in body["inputs"]] == list(churn_rows.columns)
    assert {spec["name"]: spec["datatype"] for spec in body["inputs"]}["contract"] == "BYTES"


def test_v2_server_metadata_names_the_server_its_version_and_no_extensions(churn):
    response = churn.get("/v2")
    assert response.status_code == 200
    assert response.json() == {"name": "mlstack-serving", "version": serving.__version__, "extensions": []}


@pytest.mark.parametrize("path", ["/v2/models/churn/ready", "/v2/models/churn/versions/1/ready"])
def test_v2_model_readiness_answers_200_for_the_served_model_and_its_version(churn, path):
    response = churn.get(path)
    assert response.status_code == 200
    assert response.json() == {"name": "churn", "ready": True}


def test_v2_versioned_routes_answer_as_the_unversioned_ones_for_the_served_version(churn, churn_rows, churn_model):
    assert churn.get("/v2/models/churn/versions/1").json() == churn.get("/v2/models/churn").json()
    response = churn.post("/v2/models/churn/versions/1/infer", json=v2_request(churn_rows, "r-2"))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["model_name"] == "churn" and body["model_version"] == "1" and body["id"] == "r-2"
    assert body["outputs"][0]["data"] == churn_model.predict(churn_rows).tolist()


@pytest.mark.parametrize("method, path, words", [
    ("GET", "/v2/models/other", "Model other not found."),
    ("GET", "/v2/models/other/ready", "Model other not found."),
    ("POST", "/v2/models/other/infer", "Model other not found."),
    ("GET", "/v2/models/other/versions/1", "Model other not found."),
    ("GET", "/v2/models/churn/versions/2", "Model churn has no version 2."),
    ("GET", "/v2/models/churn/versions/2/ready", "Model churn has no version 2."),
    ("POST", "/v2/models/churn/versions/latest/infer", "Model churn has no version latest."),
])
def test_v2_unknown_model_name_or_version_gets_404_with_the_protocols_error(churn, method, path, words):
    response = churn.request(method, path, json={"inputs": []})
    assert response.status_code == 404
    assert response.json() == {"error": words}


def tensor(name: str, shape, datatype, data) -> dict:
    return {"name": name, "shape": shape, "datatype": datatype, "data": data}


@pytest.mark.parametrize("payload, words", [
    pytest.param({"inputs": []}, "non-empty 'inputs'", id="no_inputs"),
    pytest.param({"inputs": [tensor("tenure_months", [3], "INT64", [1])]}, "shape", id="shape_mismatch"),
    pytest.param({"inputs": [tensor("tenure_months", [1], "INT64", [1])]}, "missing inputs", id="missing"),
    pytest.param({"inputs": [tensor("tenure_months", [1], "NOPE", [1])]}, "datatype 'NOPE'", id="unknown_datatype"),
    pytest.param({"inputs": [tensor("tenure_months", [1], None, [1])]}, "datatype None", id="no_datatype"),
    pytest.param({"inputs": [tensor("tenure_months", [1], "BYTES", ["1"])]}, "does not fit", id="bytes_for_long"),
    pytest.param({"inputs": [tensor("contract", [1], "INT64", [1])]}, "does not fit", id="int64_for_string"),
    pytest.param({"inputs": [tensor("tenure_months", [1], "INT64", [1.5])]}, "float value", id="value_not_datatype"),
    pytest.param({"inputs": [tensor("tenure_months", ["x" * 10, 100000], "INT64", [1])]}, "'shape'", id="string_in_shape"),
    pytest.param({"inputs": [tensor("tenure_months", [2**62] * 8000, "INT64", [1])]}, "'shape'", id="long_shape"),
    pytest.param({"inputs": [tensor("tenure_months", [2**62, 2**62, 0], "INT64", [1])]}, "does not match", id="big_shape"),
    pytest.param({"inputs": [tensor("tenure_months", [10**30], "INT64", [1])]}, "'shape'", id="huge_shape"),
    pytest.param({"inputs": [tensor("tenure_months", None, "INT64", [1])]}, "'shape'", id="no_shape"),
    pytest.param('{"inputs": [{"name": "tenure_months", "shape": [1], "datatype": "INT64", "data": '
                 + "[" * 1000 + "1" + "]" * 1000 + "}]}", "nested deeper", id="deep_data"),
    pytest.param({"inputs": [tensor("contract", [1], "BYTES", ["a"])] * 2}, "unique", id="duplicate_names"),
])
def test_v2_bad_requests_get_400_with_an_error_message(churn, payload, words):
    body = payload if isinstance(payload, str) else json.dumps(payload)
    response = churn.post("/v2/models/churn/infer", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert words in response.json()["error"]
