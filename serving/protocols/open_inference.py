"""The Open Inference (V2) protocol of KServe and MLServer, for tabular models: one input per column.  The REST
surface is the standard one: server metadata, model metadata, readiness and inference, each model route also
under /versions/{version}; every error is the protocol's {"error": ...}."""

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from serving import __version__
from serving.errors import ServingError, invalid_input
from serving.http import json_response, parse_json, read_body
from serving.limits import Intake, json_values
from serving.model import Job, ServedModel
from serving.observability import Handler
from serving.predictor import Predictor
from serving.source import ModelSource

V2_DATATYPES = {"long": "INT64", "integer": "INT32", "double": "FP64", "float": "FP32", "string": "BYTES",
                "boolean": "BOOL"}


SERVER_NAME = "mlstack-serving"
MODEL_PATHS = ("/v2/models/{name}", "/v2/models/{name}/versions/{version}")


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
# The same with null, which every tensor may hold, as sets to compare a column's value types with.
ALLOWED_TYPES = {datatype: frozenset((*types, type(None))) for datatype, types in VALUE_TYPES.items()}
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


def _check_datatype(name: str, datatype: Any, values: list[Any], value_types: set[type], column_kind: str | None) -> None:
    if datatype not in VALUE_TYPES:
        raise invalid_input(f"Input {name!r}: datatype {datatype!r} is not one of {sorted(VALUE_TYPES)}.")
    if column_kind is not None and datatype not in COLUMN_DATATYPES[column_kind]:
        raise invalid_input(f"Input {name!r}: datatype {datatype} does not fit the model's {column_kind} column.")
    if value_types <= ALLOWED_TYPES[datatype]:
        return
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
    values, value_types = spec["data"], set(map(type, spec["data"]))  # the types collected in C
    if list in value_types:  # nested by its shape; the usual column is flat
        values = _flatten(values, min(len(shape), MAX_DIMENSIONS))
        value_types = set(map(type, values))
    _check_shape(name, shape, len(values))
    _check_datatype(name, spec.get("datatype"), values, value_types, kinds.get(name))
    return name, values


def _columns_from_request(payload: Any, model: ServedModel) -> dict[str, list[Any]]:
    if not isinstance(payload, dict) or not isinstance(payload.get("inputs"), list) or not payload["inputs"]:
        raise invalid_input("The request must be a JSON object with a non-empty 'inputs' list.")
    tabular = model.tabular
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


def _job(columns: dict[str, list[Any]], params: dict[str, Any] | None, model: ServedModel) -> Job:
    tabular = model.tabular
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


def _parse(body: bytes, model: ServedModel) -> tuple[Any, Job]:
    payload = parse_json(body)
    columns = _columns_from_request(payload, model)
    return payload, _job(columns, _model_params(payload), model)


def _loaded(predictor: Predictor) -> ServedModel:
    """Requests reach a route only once the lifespan has loaded the model; after it has stopped, 503."""
    if predictor.model is None:
        raise ServingError(503, "TEMPORARILY_UNAVAILABLE", "The model is not loaded.")
    return predictor.model


def _addressed_version(request: Request, source: ModelSource) -> str:
    """The served version, if the path names the served model (and, if it names one, its version); else 404."""
    name, version = request.path_params["name"], request.path_params.get("version")
    if name != source.name:
        raise ServingError(404, "RESOURCE_DOES_NOT_EXIST", f"Model {name} not found.")
    if version is not None and version != source.version:
        raise ServingError(404, "RESOURCE_DOES_NOT_EXIST", f"Model {name} has no version {version}.")
    return source.version


ModelHandler = Callable[[Request, str], Awaitable[Response]]


def _model_route(handle: ModelHandler, source: ModelSource) -> Handler:
    """A route under /v2/models/{name}[/versions/{version}]: the addressed model must be the served one, and any
    ServingError is answered as the protocol's error."""
    async def route(request: Request) -> Response:
        try:
            return await handle(request, _addressed_version(request, source))
        except ServingError as error:
            return _v2_error(error)

    return route


def _infer(predictor: Predictor, intake: Intake) -> ModelHandler:
    async def infer(request: Request, version: str) -> Response:
        model = _loaded(predictor)
        reservation = intake.budget.reservation()
        try:
            body = await read_body(request, intake.max_body_bytes, reservation)
            payload, job = await intake.parse(body, json_values(body), reservation, _parse, body, model)
            predictions = await predictor.predict(job)
        finally:
            reservation.release()
        request.state.rows = job.rows
        answer = {"model_name": request.path_params["name"], "outputs": _outputs(predictions)}
        if version:
            answer["model_version"] = version
        if isinstance(payload.get("id"), str):
            answer["id"] = payload["id"]
        return json_response(answer)

    return infer


def _model_metadata(predictor: Predictor) -> ModelHandler:
    async def model_metadata(request: Request, version: str) -> Response:
        tabular = _loaded(predictor).tabular
        inputs = [] if tabular is None else [
            {"name": name, "datatype": V2_DATATYPES[kind.label], "shape": [-1]}
            for name, kind in zip(tabular.names, tabular.kinds, strict=True)]
        return json_response({"name": request.path_params["name"], "versions": [version] if version else [],
                              "platform": "mlflow", "inputs": inputs, "outputs": []})

    return model_metadata


def _model_ready(predictor: Predictor) -> ModelHandler:
    async def model_ready(request: Request, version: str) -> Response:
        ready = predictor.ready
        return json_response({"name": request.path_params["name"], "ready": ready}, 200 if ready else 503)

    return model_ready


async def server_metadata(request: Request) -> Response:
    return json_response({"name": SERVER_NAME, "version": __version__, "extensions": []})


def open_inference_routes(predictor: Predictor, intake: Intake) -> list[tuple[str, str, Handler]]:
    """(path, method, handler) for every route of the protocol but the server's health, which app.py serves."""
    handlers = {"": ("GET", _model_metadata(predictor)), "/ready": ("GET", _model_ready(predictor)),
                "/infer": ("POST", _infer(predictor, intake))}
    routes: list[tuple[str, str, Handler]] = [("/v2", "GET", server_metadata)]
    for suffix, (method, handle) in handlers.items():
        route = _model_route(handle, predictor.source)
        routes += [(f"{model}{suffix}", method, route) for model in MODEL_PATHS]
    return routes
