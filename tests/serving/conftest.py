"""Shared fixtures: real models logged to a temporary SQLite MLflow store, and real server processes."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository root, for `serving`
from serving_testkit import REPO, STARTED, start_server  # noqa: E402


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """On a failure, show what every server process started so far has printed."""
    report = yield
    if report.failed and STARTED:
        report.sections.extend((f"server {server.port} logs", server.logs()) for server in STARTED)
    return report


@pytest.fixture(scope="session")
def mlflow_store(tmp_path_factory) -> str:
    """A local SQLite tracking store with two registered models: `churn` (the example pipeline) and `faulty`."""
    import mlflow
    import pandas as pd
    from mlflow.models import infer_signature

    sys.path.insert(0, str(REPO / "examples"))
    from train_and_register import train_and_register

    root = tmp_path_factory.mktemp("mlflow")
    uri = f"sqlite:///{root}/mlflow.db"
    mlflow.set_tracking_uri(uri)
    for name in ("churn", "faulty"):  # artifacts under tmp, not relative to the working directory
        mlflow.create_experiment(name, artifact_location=(root / name).as_uri())
    train_and_register(uri, "churn", "champion", max_iter=30, seed=0)
    example = pd.DataFrame({"x": [1.0], "action": ["double"]})
    mlflow.set_experiment("faulty")
    with mlflow.start_run():
        mlflow.pyfunc.log_model(
            name="model", python_model=str(Path(__file__).with_name("faulty_model.py")),
            signature=infer_signature(example, pd.Series([2.0])), registered_model_name="faulty",
        )
    return uri


@pytest.fixture(scope="session")
def churn_model(mlflow_store):
    import mlflow.pyfunc

    return mlflow.pyfunc.load_model("models:/churn@champion")


@pytest.fixture(scope="session")
def churn_rows():
    sys.path.insert(0, str(REPO / "examples"))
    from train_and_register import make_churn_frame

    frame, _ = make_churn_frame(40, seed=7)
    return frame


@pytest.fixture(scope="session")
def churn_server(mlflow_store, tmp_path_factory):
    server = start_server(tmp_path_factory, mlflow_store, "--model-uri", "models:/churn@champion",
                          "--max-body-bytes", "200000")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def faulty_server(mlflow_store, tmp_path_factory):
    server = start_server(tmp_path_factory, mlflow_store, "--model-uri", "models:/faulty/1", "--request-timeout", "2")
    yield server
    server.stop()
