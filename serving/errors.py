"""One place that turns failures into MLflow's error JSON: {"error_code": ..., "message": ...}."""

from dataclasses import dataclass

import orjson


@dataclass
class ServingError(Exception):
    status: int
    error_code: str
    message: str

    def body(self) -> bytes:
        return orjson.dumps({"error_code": self.error_code, "message": self.message})


def bad_request(message: str) -> ServingError:
    return ServingError(400, "BAD_REQUEST", message)


def invalid_input(message: str) -> ServingError:
    return ServingError(400, "INVALID_PARAMETER_VALUE", message)


def from_model_exception(exc: Exception) -> ServingError:
    """The model or MLflow's schema enforcement refused the input: a client error, never a 5xx.

    MLflow answers some bad inputs with a 5xx (its INTERNAL_ERROR default); here any failure
    caused by the request's data is the caller's to fix, so it is a 400.
    """
    from mlflow.exceptions import MlflowException

    if isinstance(exc, MlflowException):
        status = exc.get_http_status_code()  # type: ignore[no-untyped-call]  # mlflow leaves this method unannotated
        return ServingError(400, exc.error_code if status < 500 else "BAD_REQUEST", exc.message)
    return ServingError(
        400,
        "BAD_REQUEST",
        "Encountered an unexpected error while evaluating the model. Verify that the input is "
        f"compatible with the model for inference. Error: {type(exc).__name__}: {exc}",
    )
