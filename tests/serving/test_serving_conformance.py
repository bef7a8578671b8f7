"""The fuzz tier's conformance test: schemathesis generates requests, valid and not, from our OpenAPI description
of the Open Inference REST dataplane (serving/openapi/dataplane.yaml) and sends them to the real server, serving
the real churn model on 127.0.0.1.  Each answer must be no 5xx but 503/504 (shed load, deadline), carry a status
code the description declares, and have a body that conforms to the schema declared for it."""

import pytest
import schemathesis
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.serving.testkit import REPO, scrape, start_server

pytestmark = pytest.mark.fuzz
DATAPLANE = REPO / "serving" / "openapi" / "dataplane.yaml"
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


# Pinned to the model the server serves, so requests reach the model rather than its 404.
schema = schemathesis.openapi.from_path(DATAPLANE, config=SchemathesisConfig.from_dict({
    "seed": 19,
    "parameters": {"model_name": "churn", "model_version": "1"},
    "generation": {"mode": "all", "max-examples": 40},
}))


@pytest.fixture(scope="module")
def churn_url(mlflow_store, tmp_path_factory):
    """The real server; once every operation has run, its own count shows that generated requests reached the
    model (200) and its validation (400) on both inference routes, so a passing run is not one of 404s only."""
    server = start_server(tmp_path_factory, mlflow_store, "--model-uri", "models:/churn@champion", "--no-access-log")
    try:
        yield server.url
        answered = scrape(server)
    finally:
        server.stop()
    for route in ("/v2/models/{name}/infer", "/v2/models/{name}/versions/{version}/infer"):
        for status in ("200", "400"):
            labels = (("method", "POST"), ("route", route), ("status", status))
            assert answered.get(("mlstack_http_requests_total", labels), 0) > 0, f"no {status} on {route}"


@schema.parametrize()
def test_every_generated_request_gets_a_declared_status_and_a_conforming_json_answer(case, churn_url):
    case.call_and_validate(base_url=churn_url, checks=CHECKS)
