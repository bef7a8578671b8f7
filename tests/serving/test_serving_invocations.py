"""POST /invocations, against the real server and in process: every input format MLflow accepts, every error shape."""

import io
import json

import pandas as pd
import pytest

JSON_HEADERS = {"Content-Type": "application/json"}


def invoke(server, payload, headers=JSON_HEADERS):
    body = payload if isinstance(payload, (bytes, str)) else json.dumps(payload)
    return server.post("/invocations", content=body, headers=headers)


@pytest.fixture(scope="module")
def expected(churn_model, churn_rows) -> list:
    return churn_model.predict(churn_rows).tolist()


def records(frame: pd.DataFrame) -> list[dict]:
    return json.loads(frame.to_json(orient="records"))


def split(frame: pd.DataFrame) -> dict:
    return json.loads(frame.to_json(orient="split", index=False))


@pytest.mark.parametrize("make_payload", [
    pytest.param(lambda f: {"dataframe_split": split(f)}, id="dataframe_split"),
    pytest.param(lambda f: {"dataframe_split": {**split(f), "index": list(range(len(f)))}}, id="split_with_index"),
    pytest.param(lambda f: {"dataframe_records": records(f)}, id="dataframe_records"),
    pytest.param(lambda f: {"instances": records(f)}, id="instances"),
    pytest.param(lambda f: {"inputs": records(f)}, id="inputs_records"),
    pytest.param(lambda f: {"inputs": {c: f[c].tolist() for c in f.columns}}, id="inputs_columns"),
    pytest.param(lambda f: {"dataframe_split": split(f[list(reversed(f.columns))])}, id="columns_in_any_order"),
])
def test_every_json_format_predicts_like_the_model_itself(churn, churn_rows, expected, make_payload):
    response = invoke(churn, make_payload(churn_rows))
    assert response.status_code == 200, response.text
    assert response.json() == {"predictions": expected}


def test_csv_body_predicts_like_the_model_itself(churn, churn_rows, expected):
    response = invoke(churn, churn_rows.to_csv(index=False), {"Content-Type": "text/csv"})
    assert response.status_code == 200, response.text
    assert response.json() == {"predictions": expected}


def test_parquet_body_predicts_like_the_model_itself(churn, churn_rows, expected):
    buffer = io.BytesIO()
    churn_rows.to_parquet(buffer)
    response = invoke(churn, buffer.getvalue(), {"Content-Type": "application/vnd.apache.parquet"})
    assert response.status_code == 200, response.text
    assert response.json() == {"predictions": expected}


def test_extra_columns_are_ignored_as_mlflow_does(churn, churn_rows, expected):
    response = invoke(churn, {"dataframe_records": records(churn_rows.assign(customer_id="c-1"))})
    assert response.json() == {"predictions": expected}


def test_null_in_a_double_column_reaches_the_model_as_nan(churn, churn_rows, churn_model):
    rows = records(churn_rows.head(2))
    rows[0]["monthly_charges"] = None
    response = invoke(churn, {"dataframe_records": rows})
    frame = churn_rows.head(2).astype({"monthly_charges": "float64"}).copy()
    frame.loc[frame.index[0], "monthly_charges"] = float("nan")
    assert response.status_code == 200, response.text
    assert response.json()["predictions"] == churn_model.predict(frame).tolist()


def test_charset_utf8_is_accepted(churn, churn_rows, expected):
    headers = {"Content-Type": "application/json; charset=utf-8"}
    assert invoke(churn, {"dataframe_split": split(churn_rows)}, headers).json() == {"predictions": expected}


def assert_error(response, status: int, error_code: str, words: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error_code", "message"}
    assert body["error_code"] == error_code
    assert words.lower() in body["message"].lower()


def one_row(churn_rows, **changes) -> dict:
    row = records(churn_rows.head(1))[0]
    row.update(changes)
    return {"dataframe_records": [{k: v for k, v in row.items() if v is not DROP}]}


DROP = object()


@pytest.mark.parametrize("payload, status, code, words", [
    pytest.param(b'{"dataframe_split": ', 400, "BAD_REQUEST", "valid JSON", id="malformed_json"),
    pytest.param(b"", 400, "BAD_REQUEST", "valid JSON", id="empty_body"),
    pytest.param(b"[1, 2]", 400, "BAD_REQUEST", "exactly one of the input fields", id="top_level_list"),
    pytest.param({"rows": []}, 400, "BAD_REQUEST", "exactly one of the input fields", id="unknown_format_key"),
    pytest.param({"inputs": [], "instances": []}, 400, "BAD_REQUEST", "exactly one", id="two_format_keys"),
])
def test_malformed_requests_get_mlflow_errors(churn, payload, status, code, words):
    assert_error(invoke(churn, payload), status, code, words)


@pytest.mark.parametrize("changes, words", [
    pytest.param({"tenure_months": 3.5}, "tenure_months", id="fractional_float_in_long_column"),
    pytest.param({"tenure_months": "three"}, "tenure_months", id="string_in_long_column"),
    pytest.param({"contract": 12}, "contract", id="number_in_string_column"),
    pytest.param({"tenure_months": None}, "tenure_months", id="null_in_long_column"),
    pytest.param({"support_calls": DROP}, "missing inputs ['support_calls']", id="missing_column"),
])
def test_inputs_that_break_the_signature_get_400(churn, churn_rows, changes, words):
    response = invoke(churn, one_row(churn_rows, **changes))
    assert response.status_code == 400, response.text
    assert words.lower() in response.json()["message"].lower()


def test_rows_of_the_wrong_width_get_400(churn, churn_rows):
    payload = {"dataframe_split": {"columns": list(churn_rows.columns), "data": [[1, 2.0]]}}
    assert_error(invoke(churn, payload), 400, "INVALID_PARAMETER_VALUE", "one per column")


@pytest.mark.parametrize("content_type", ["text/plain", "application/xml", "application/json; charset=latin-1",
                                          "application/json; format=pandas-split"])
def test_unsupported_content_types_get_415(churn, churn_rows, content_type):
    response = invoke(churn, {"dataframe_split": split(churn_rows)}, {"Content-Type": content_type})
    assert_error(response, 415, "BAD_REQUEST", "content type")


def test_body_over_the_limit_gets_413_and_the_server_keeps_serving(churn, churn_rows, expected):
    huge = {"dataframe_records": records(churn_rows) * 200}
    assert_error(invoke(churn, huge), 413, "REQUEST_LIMIT_EXCEEDED", "limit")
    assert invoke(churn, {"dataframe_split": split(churn_rows)}).json() == {"predictions": expected}


def test_unreadable_csv_gets_400(churn):
    response = invoke(churn, "tenure_months,contract\n1,2,3,4\n\"", {"Content-Type": "text/csv"})
    assert response.status_code == 400, response.text


def test_a_model_that_raises_gets_400_and_the_server_keeps_serving(faulty):
    failing = invoke(faulty, {"dataframe_records": [{"x": 1.0, "action": "raise"}]})
    assert_error(failing, 400, "BAD_REQUEST", "asked to fail")
    working = invoke(faulty, {"dataframe_records": [{"x": 1.5, "action": "double"}]})
    assert working.json() == {"predictions": [3.0]}


def test_parquet_without_pyarrow_is_refused_as_unsupported_naming_what_to_send(churn_app, churn_rows, monkeypatch):
    """The serving image ships no pyarrow: a Parquet body gets MLflow's 415 shape, not a 500."""
    from serving.protocols import mlflow_scoring

    buffer = io.BytesIO()
    churn_rows.to_parquet(buffer)
    monkeypatch.setattr(mlflow_scoring, "parquet_readable", lambda: False)
    response = invoke(churn_app, buffer.getvalue(), {"Content-Type": "application/vnd.apache.parquet"})
    assert response.status_code == 415
    assert response.json()["error_code"] == "BAD_REQUEST"
    assert "needs pyarrow" in response.json()["message"] and "application/json" in response.json()["message"]
