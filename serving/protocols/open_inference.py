"""The Open Inference (V2) protocol of KServe and MLServer, for tabular models: one input per column."""

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from serving.errors import ServingError, invalid_input
from serving.http import json_response, parse_json, read_body
from serving.limits import Intake, json_values
from serving.model import Job
from serving.observability import Handler
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


INTEGERS = {"INT8", "INT16", "INT32", "INT64", "UINT8", "UINT16", "UINT32", "UINT64"}
FLOATS = {"FP16", "FP32", "FP64"}
# The Python types a tensor of each datatype may hold in JSON; bool is never an integer here.
VALUE_TYPES = {**dict.fromkeys(INTEGERS, (int,)), **dict.fromkeys(FLOATS, (int, float)),
               "BOOL": (bool,), "BYTES": (str,)}
# The datatypes a signature column accepts: its own, and narrower numbers MLflow widens without loss.
COLUMN_DATATYPES = {"long": INTEGERS, "integer": INTEGERS, "double": INTEGERS | FLOATS, "float": INTEGERS | FLOATS,
                    "string": {"BYTES"}, "boolean": {"BOOL"}}
MAX_DIMENSIONS = 16


def _flatten(data: list[Any], depth: int) -> list[Any]:
    """V2 tensors may be nested by shape, e.g. [[1], [2]] for shape [2, 1]; a column is flat.  Nesting deeper
    than the shape's dimensions is refused, so no input can exhaust the stack."""
    flat: list[Any] = []
    for item in data:
        if type(item) is list:
            if depth <= 1:
                raise invalid_input("'data' is nested deeper than its shape.")
            flat.extend(_flatten(item, depth - 1))
        else:
            flat.append(item)
    return flat


def _check_shape(name: str, shape: Any, values: int) -> None:
    """The product of the shape, computed without ever exceeding the number of values given."""
    if type(shape) is not list or not 0 < len(shape) <= MAX_DIMENSIONS \
            or not all(type(size) is int and size >= 0 for size in shape):
        raise invalid_input(f"Input {name!r}: 'shape' must be a list of 1 to {MAX_DIMENSIONS} non-negative integers.")
    product = 0 if 0 in shape else 1
    for size in shape:
        product *= size
        if product > values:
            break
    if product != values:
        raise invalid_input(f"Input {name!r}: shape {shape} does not match {values} values.")


def _check_datatype(name: str, datatype: Any, values: list[Any], column_kind: str | None) -> None:
    if datatype not in VALUE_TYPES:
        raise invalid_input(f"Input {name!r}: datatype {datatype!r} is not one of {sorted(VALUE_TYPES)}.")
    if column_kind is not None and datatype not in COLUMN_DATATYPES[column_kind]:
        raise invalid_input(f"Input {name!r}: datatype {datatype} does not fit the model's {column_kind} column.")
    accepted = VALUE_TYPES[datatype]
    for value in values:
        if type(value) not in accepted and value is not None:
            raise invalid_input(f"Input {name!r}: {type(value).__name__} value in a {datatype} tensor.")


def _column(spec: Any, kinds: dict[str, str]) -> tuple[str, list[Any]]:
    if not isinstance(spec, dict) or not isinstance(spec.get("name"), str) or not isinstance(spec.get("data"), list):
        raise invalid_input("Every input needs a 'name', a 'shape', a 'datatype' and a 'data' list.")
    name, shape = spec["name"], spec.get("shape")
    if type(shape) is not list:
        raise invalid_input(f"Input {name!r}: 'shape' must be a list of 1 to {MAX_DIMENSIONS} non-negative integers.")
    values = _flatten(spec["data"], min(len(shape), MAX_DIMENSIONS))
    _check_shape(name, shape, len(values))
    _check_datatype(name, spec.get("datatype"), values, kinds.get(name))
    return name, values


def _columns_from_request(payload: Any, predictor: Predictor) -> dict[str, list[Any]]:
    if not isinstance(payload, dict) or not isinstance(payload.get("inputs"), list) or not payload["inputs"]:
        raise invalid_input("The request must be a JSON object with a non-empty 'inputs' list.")
    assert predictor.model is not None, "requests are served only once the lifespan has loaded the model"
    tabular = predictor.model.tabular
    kinds = {} if tabular is None else {name: kind.label for name, kind in zip(tabular.names, tabular.kinds, strict=True)}
    columns = [_column(spec, kinds) for spec in payload["inputs"]]
    names = [name for name, _ in columns]
    if len(set(names)) != len(names):
        raise invalid_input(f"Input names must be unique; got {names}.")
    return dict(columns)


# Request parameters the protocol itself defines; the others are the model's params (MLflow's `params`).
PROTOCOL_PARAMETERS = ("content_type", "headers")


def _model_params(payload: dict[str, Any]) -> dict[str, Any] | None:
    parameters = payload.get("parameters")
    if parameters is None:
        return None
    if not isinstance(parameters, dict):
        raise invalid_input("'parameters' must be a JSON object.")
    return {key: value for key, value in parameters.items() if key not in PROTOCOL_PARAMETERS} or None


def _job(columns: dict[str, list[Any]], params: dict[str, Any] | None, predictor: Predictor) -> Job:
    assert predictor.model is not None, "requests are served only once the lifespan has loaded the model"
    tabular = predictor.model.tabular
    if tabular is not None:
        data = tabular.check(columns)
        return Job(data, data.rows, params)
    import pandas as pd

    try:
        frame = pd.DataFrame(columns)
    except ValueError as error:
        raise invalid_input(str(error)) from None
    return Job(frame, len(frame), params)


def _outputs(predictions: Any) -> list[dict[str, Any]]:
    if predictions and isinstance(predictions[0], dict):
        names = list(predictions[0])
        return [_output(name, [row[name] for row in predictions]) for name in names]
    return [_output("predict", predictions)]


def _output(name: str, values: list[Any]) -> dict[str, Any]:
    width = len(values[0]) if values and isinstance(values[0], list) else None
    data = [item for row in values for item in row] if width is not None else values
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


def _parse(body: bytes, predictor: Predictor) -> tuple[Any, Job]:
    payload = parse_json(body)
    columns = _columns_from_request(payload, predictor)
    return payload, _job(columns, _model_params(payload), predictor)


def infer_handler(predictor: Predictor, intake: Intake) -> Handler:
    async def infer(request: Request) -> Response:
        name = request.path_params["name"]
        if (missing := _unknown_model(name, predictor)) is not None:
            return missing
        reservation = intake.budget.reservation()
        try:
            body = await read_body(request, intake.max_body_bytes, reservation)
            payload, job = await intake.parse(body, json_values(body), reservation, _parse, body, predictor)
            predictions = await predictor.predict(job)
        except ServingError as error:
            return _v2_error(error)
        finally:
            reservation.release()
        request.state.rows = job.rows
        answer = {"model_name": name, "model_version": predictor.source.version or None, "outputs": _outputs(predictions)}
        if isinstance(payload.get("id"), str):
            answer["id"] = payload["id"]
        return json_response(answer)

    return infer


def model_metadata_handler(predictor: Predictor) -> Handler:
    def input_specs() -> list[dict[str, Any]]:
        assert predictor.model is not None, "requests are served only once the lifespan has loaded the model"
        tabular = predictor.model.tabular
        if tabular is None:
            return []
        return [{"name": name, "datatype": V2_DATATYPES[kind.label], "shape": [-1]}
                for name, kind in zip(tabular.names, tabular.kinds, strict=True)]

    async def model_metadata(request: Request) -> Response:
        name = request.path_params["name"]
        if (missing := _unknown_model(name, predictor)) is not None:
            return missing
        version = predictor.source.version
        return json_response({"name": name, "versions": [version] if version else [], "platform": "mlflow",
                              "inputs": input_specs(), "outputs": []})

    return model_metadata
