"""POST /invocations: MLflow's scoring protocol, as `mlflow models serve` speaks it."""

import functools
import importlib.util
import io
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from serving.errors import ServingError, bad_request, from_model_exception
from serving.http import error_response, json_response, parse_json, read_body
from serving.limits import Intake, json_values
from serving.model import Job, ServedModel
from serving.observability import Handler
from serving.predictor import Predictor
from serving.tabular import TabularInput, TabularSchema, Unconverted

FORMATS = ("dataframe_split", "dataframe_records", "instances", "inputs")
CSV, JSON, PARQUET = "text/csv", "application/json", "application/vnd.apache.parquet"
REQUIRED_INPUT_FORMAT = f"The input must be a JSON dictionary with exactly one of the input fields {set(FORMATS)}"


def parse_content_type(header: str | None) -> str:
    """The media type, after refusing charsets and parameters MLflow would refuse (415)."""
    if not header:
        raise _unsupported("none")
    media_type, *parameters = (part.strip() for part in header.split(";"))
    for parameter in parameters:
        key, _, value = parameter.partition("=")
        if key.strip().lower() != "charset":
            raise _unsupported(header, f"Unrecognized content type parameter: {key}.")
        if value.strip().strip('"').lower() != "utf-8":
            raise _unsupported(header, "The scoring server only supports UTF-8.")
    if media_type.lower() not in (CSV, JSON, PARQUET):
        raise _unsupported(header)
    if media_type.lower() == PARQUET and not parquet_readable():
        raise ServingError(415, "BAD_REQUEST", "Parquet input needs pyarrow, which this server's environment does not "
                                               f"have (the slim image leaves it out). Send {JSON} or {CSV}.")
    return media_type.lower()


@functools.cache
def parquet_readable() -> bool:
    """pyarrow is optional: mlflow-skinny does not bring it, and the serving image leaves it out for size."""
    return importlib.util.find_spec("pyarrow") is not None


def _unsupported(header: str, reason: str = "") -> ServingError:
    return ServingError(
        415, "BAD_REQUEST",
        f"{reason} This predictor only supports the following content types: {[CSV, JSON, PARQUET]}. Got '{header}'.".strip(),
    )


def _fast_tabular(schema: TabularSchema, key: str, value: Any) -> TabularInput | None:
    """The request as columns when it has one of the usual tabular shapes, else None."""
    if key == "dataframe_split":
        if type(value) is dict and type(value.get("data")) is list and type(value.get("columns")) is list \
                and set(value) <= {"columns", "data", "index"} and all(type(c) is str for c in value["columns"]):
            return schema.from_split(value["columns"], value["data"])
        return None
    if type(value) is list and value and all(type(record) is dict for record in value):
        return schema.from_records(value)
    if key == "inputs" and type(value) is dict and value and all(type(v) is list for v in value.values()):
        return schema.check(value)
    return None


def job_from_json(payload: Any, model: ServedModel) -> Job:
    if not isinstance(payload, dict):
        raise bad_request(f"{REQUIRED_INPUT_FORMAT}. Received {'a list' if isinstance(payload, list) else type(payload).__name__}.")
    params = payload.get("params")
    keys = [key for key in FORMATS if key in payload]
    if model.tabular is not None and len(keys) == 1 and (params is None or isinstance(params, dict)):
        try:
            data = _fast_tabular(model.tabular, keys[0], payload[keys[0]])
        except Unconverted:
            data = None
        if data is not None:
            return Job(data, data.rows, params)
    return _job_from_mlflow_parser(payload, model)


def _job_from_mlflow_parser(payload: dict[str, Any], model: ServedModel) -> Job:
    """Every other shape is read exactly as MLflow's scoring server reads it."""
    from mlflow.pyfunc.scoring_server import _parse_json_data

    try:
        parsed = _parse_json_data(payload, model.metadata, model.input_schema)  # type: ignore[no-untyped-call]  # mlflow's, unannotated
    except Exception as error:  # MLflow's parser refusing the input is the client's error
        raise from_model_exception(error) from None
    return Job(parsed.data, _row_count(parsed.data), parsed.params)


def _row_count(data: Any) -> int:
    return len(data) if hasattr(data, "__len__") else 1


def job_from_table(body: bytes, media_type: str, model: ServedModel) -> Job:
    from mlflow.pyfunc.scoring_server import parse_csv_input, parse_parquet_input

    try:
        if media_type == CSV:
            frame = parse_csv_input(io.StringIO(body.decode("utf-8")), schema=model.input_schema)
        else:
            frame = parse_parquet_input(io.BytesIO(body))  # type: ignore[no-untyped-call]  # mlflow's, unannotated
    except Exception as error:  # unreadable CSV or Parquet is the client's error
        raise from_model_exception(error) from None
    return Job(frame, len(frame))


def values_in(body: bytes, media_type: str) -> int:
    """An upper bound on the values the body holds, known before it is parsed."""
    if media_type == JSON:
        return json_values(body)
    if media_type == CSV:
        return body.count(b",") + body.count(b"\n") + 1
    import pyarrow.parquet

    try:
        metadata = pyarrow.parquet.ParquetFile(io.BytesIO(body)).metadata
    except Exception as error:  # an unreadable Parquet file is the client's error
        raise from_model_exception(error) from None
    bound: int = metadata.num_rows * max(metadata.num_columns, 1)  # pyarrow has no type information
    return bound


def job_from_body(body: bytes, media_type: str, model: ServedModel) -> Job:
    if media_type == JSON:
        return job_from_json(parse_json(body), model)
    return job_from_table(body, media_type, model)


def invocations_handler(predictor: Predictor, intake: Intake) -> Handler:
    async def invocations(request: Request) -> Response:
        reservation = intake.budget.reservation()
        try:
            media_type = parse_content_type(request.headers.get("content-type"))
            body = await read_body(request, intake.max_body_bytes, reservation)
            values = values_in(body, media_type)
            job = await intake.parse(body, values, reservation, job_from_body, body, media_type, predictor.model)
            predictions = await predictor.predict(job)
        except ServingError as error:
            return error_response(error)
        finally:
            reservation.release()
        request.state.rows = job.rows
        return json_response({"predictions": predictions})

    return invocations
