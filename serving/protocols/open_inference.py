"""The Open Inference (V2) protocol of KServe and MLServer, for tabular models: one input per column."""

import math
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from serving.errors import ServingError, invalid_input
from serving.http import json_response, parse_json, read_body
from serving.model import Job
from serving.predictor import Predictor

V2_DATATYPES = {"long": "INT64", "integer": "INT32", "double": "FP64", "float": "FP32", "string": "BYTES",
                "boolean": "BOOL"}


def _v2_error(error: ServingError) -> Response:
    return json_response({"error": error.message}, error.status)


def _datatype_of(value: Any) -> str:
    if isinstance(value, bool):
        return "BOOL"
    if isinstance(value, int):
        return "INT64"
    if isinstance(value, float):
        return "FP64"
    return "BYTES"


def _flatten(data: Any) -> list:
    """V2 tensors may be nested by shape, e.g. [[1], [2]] for shape [2, 1]; a column is flat."""
    flat = []
    for item in data:
        flat.extend(_flatten(item)) if isinstance(item, list) else flat.append(item)
    return flat


def _column(spec: Any) -> tuple[str, list]:
    if not isinstance(spec, dict) or not isinstance(spec.get("name"), str) or not isinstance(spec.get("data"), list):
        raise invalid_input("Every input needs a 'name' and a 'data' list.")
    values = _flatten(spec["data"])
    shape = spec.get("shape")
    if shape is not None and (not isinstance(shape, list) or math.prod(shape) != len(values)):
        raise invalid_input(f"Input {spec['name']!r}: shape {shape} does not match {len(values)} values.")
    return spec["name"], values


def _columns_from_request(payload: Any) -> dict[str, list]:
    if not isinstance(payload, dict) or not isinstance(payload.get("inputs"), list) or not payload["inputs"]:
        raise invalid_input("The request must be a JSON object with a non-empty 'inputs' list.")
    return dict(_column(spec) for spec in payload["inputs"])


def _job(columns: dict[str, list], predictor: Predictor) -> Job:
    tabular = predictor.model.tabular
    if tabular is not None:
        data = tabular.check(columns)
        return Job(data, data.rows)
    import pandas as pd

    try:
        frame = pd.DataFrame(columns)
    except ValueError as error:
        raise invalid_input(str(error)) from None
    return Job(frame, len(frame))


def _outputs(predictions: Any) -> list[dict]:
    if predictions and isinstance(predictions[0], dict):
        names = list(predictions[0])
        return [_output(name, [row[name] for row in predictions]) for name in names]
    return [_output("predict", predictions)]


def _output(name: str, values: list) -> dict:
    width = len(values[0]) if values and isinstance(values[0], list) else None
    data = _flatten(values) if width is not None else values
    return {
        "name": name,
        "datatype": _datatype_of(data[0]) if data else "FP64",
        "shape": [len(values), width] if width is not None else [len(values)],
        "data": data,
    }


def _unknown_model(name: str, predictor: Predictor) -> Response | None:
    if name != predictor.source.name:
        return json_response({"error": f"Model {name} not found."}, 404)
    return None


def infer_handler(predictor: Predictor, max_body_bytes: int):
    async def infer(request: Request) -> Response:
        name = request.path_params["name"]
        if (missing := _unknown_model(name, predictor)) is not None:
            return missing
        try:
            payload = parse_json(await read_body(request, max_body_bytes))
            job = _job(_columns_from_request(payload), predictor)
            predictions = await predictor.predict(job)
        except ServingError as error:
            return _v2_error(error)
        request.state.rows = job.rows
        answer = {"model_name": name, "model_version": predictor.source.version or None, "outputs": _outputs(predictions)}
        if isinstance(payload.get("id"), str):
            answer["id"] = payload["id"]
        return json_response(answer)

    return infer


def model_metadata_handler(predictor: Predictor):
    def input_specs() -> list[dict]:
        tabular = predictor.model.tabular
        if tabular is None:
            return []
        return [{"name": name, "datatype": V2_DATATYPES[kind.label], "shape": [-1]}
                for name, kind in zip(tabular.names, tabular.kinds)]

    async def model_metadata(request: Request) -> Response:
        name = request.path_params["name"]
        if (missing := _unknown_model(name, predictor)) is not None:
            return missing
        version = predictor.source.version
        return json_response({"name": name, "versions": [version] if version else [], "platform": "mlflow",
                              "inputs": input_specs(), "outputs": []})

    return model_metadata
