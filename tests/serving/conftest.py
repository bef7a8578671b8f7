"""Shared fixtures: real models logged to a temporary SQLite MLflow store, and real server processes."""

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

REPO = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
STARTUP_TIMEOUT_S = 120
STARTED: list["ServerProcess"] = []


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """On a failure, show what every server process started so far has printed."""
    report = yield
    if report.failed and STARTED:
        report.sections.extend((f"server {server.port} logs", server.logs()) for server in STARTED)
    return report


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class ServerProcess:
    """A real `python -m serving` process on 127.0.0.1, its output in files, stopped by PID."""

    args: list[str]
    env: dict[str, str]
    workdir: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "ServerProcess":
        STARTED.append(self)
        self.stdout = open(self.workdir / f"server-{self.port}.out", "w+")
        self.stderr = open(self.workdir / f"server-{self.port}.err", "w+")
        command = [PYTHON, "-m", "serving", "--host", "127.0.0.1", "--port", str(self.port), *self.args]
        self.process = subprocess.Popen(command, cwd=REPO, env=self.env, stdout=self.stdout, stderr=self.stderr)
        return self

    def wait_ready(self, timeout_s: float = STARTUP_TIMEOUT_S) -> "ServerProcess":
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"server exited with {self.process.returncode}\n{self.logs()}")
            try:
                if requests.get(f"{self.url}/ready", timeout=1).status_code == 200:
                    return self
            except requests.ConnectionError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"server not ready after {timeout_s}s\n{self.logs()}")

    def stop(self, timeout_s: float = 30) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        return self.process.returncode

    def logs(self) -> str:
        parts = []
        for stream in (self.stdout, self.stderr):
            stream.flush()
            stream.seek(0)
            parts.append(stream.read()[-20000:])
        return "--- stdout ---\n{}\n--- stderr ---\n{}".format(*parts)


def serving_env(tracking_uri: str, **extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("MLFLOW_", "PROMETHEUS_"))}
    env.update({"MLFLOW_TRACKING_URI": tracking_uri, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1"}, **extra)
    return env


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


def start_server(tmp_path_factory, tracking_uri: str, *args: str, **env: str) -> ServerProcess:
    server = ServerProcess(list(args), serving_env(tracking_uri, **env), tmp_path_factory.mktemp("server"))
    server.start()
    try:
        return server.wait_ready()
    except BaseException:
        server.stop()
        raise


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
