"""Shared fixtures: real models logged to a temporary SQLite MLflow store, real server processes, and the same
app driven in process."""

from pathlib import Path

import pytest

from tests.serving.testkit import STARTED, InProcessServer, example_pipeline, start_server


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """On a failure, show what every server process started so far has printed."""
    report = yield
    if report.failed and STARTED:
        report.sections.extend((f"server {server.port} logs", server.logs()) for server in STARTED)
    return report


@pytest.fixture(scope="session")
def mlflow_store(tmp_path_factory) -> str:
    """A local SQLite tracking store with registered models: `churn` (the example pipeline, sklearn), and two
    custom pyfuncs, `faulty` (fails or stalls on request) and `centring` (its answer depends on the whole frame)."""
    import mlflow
    import pandas as pd
    from mlflow.models import infer_signature

    train_and_register = example_pipeline().train_and_register
    root = tmp_path_factory.mktemp("mlflow")
    uri = f"sqlite:///{root}/mlflow.db"
    mlflow.set_tracking_uri(uri)
    for name in ("churn", "faulty", "centring"):  # artifacts under tmp, not relative to the working directory
        mlflow.create_experiment(name, artifact_location=(root / name).as_uri())
    train_and_register(uri, "churn", "champion", max_iter=30, seed=0)
    for name, example in (("faulty", pd.DataFrame({"x": [1.0], "action": ["double"]})),
                          ("centring", pd.DataFrame({"x": [1.0]}))):
        mlflow.set_experiment(name)
        with mlflow.start_run():
            mlflow.pyfunc.log_model(
                name="model", python_model=str(Path(__file__).with_name(f"{name}_model.py")),
                signature=infer_signature(example, pd.Series([2.0])), registered_model_name=name,
            )
    return uri


@pytest.fixture(scope="session")
def churn_model(mlflow_store):
    import mlflow.pyfunc

    return mlflow.pyfunc.load_model("models:/churn@champion")


@pytest.fixture(scope="session")
def churn_rows():
    frame, _ = example_pipeline().make_churn_frame(40, seed=7)
    return frame


@pytest.fixture(scope="session")
def churn_server(mlflow_store, tmp_path_factory):
    server = start_server(tmp_path_factory, mlflow_store, "--model-uri", "models:/churn@champion",
                          "--max-body-bytes", "200000")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def faulty_server(mlflow_store, tmp_path_factory):
    server = start_server(tmp_path_factory, mlflow_store, "--model-uri", "models:/faulty/1", "--request-timeout", "2",
                          "--batching")
    yield server
    server.stop()


def in_process_server(tmp_path_factory, model_uri: str, *args: str) -> InProcessServer:
    from serving.app import create_app
    from serving.settings import parse_settings
    from serving.source import fetch_model

    settings = parse_settings(["--model-uri", model_uri, *args], env={})
    source = fetch_model(model_uri, str(tmp_path_factory.mktemp("model")), attempts=1)
    return InProcessServer(create_app(settings, source)).start()


@pytest.fixture(scope="session")
def churn_app(mlflow_store, tmp_path_factory):
    """The churn model's app in this process, with the same settings as churn_server."""
    server = in_process_server(tmp_path_factory, "models:/churn@champion", "--max-body-bytes", "200000")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def faulty_app(mlflow_store, tmp_path_factory):
    server = in_process_server(tmp_path_factory, "models:/faulty/1", "--request-timeout", "2", "--batching")
    yield server
    server.stop()


# A test that takes `churn` or `faulty` runs twice: against the real server process, and in process (marker
# `in_process`, the fast tier: `pytest -m in_process tests/serving`).
BOTH = ["process", pytest.param("in_process", marks=pytest.mark.in_process)]


@pytest.fixture(params=BOTH)
def churn(request):
    return request.getfixturevalue("churn_server" if request.param == "process" else "churn_app")


@pytest.fixture(params=BOTH)
def faulty(request):
    return request.getfixturevalue("faulty_server" if request.param == "process" else "faulty_app")
