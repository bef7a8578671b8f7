"""Faults: timeouts, SIGTERM with requests in flight, and models that cannot be loaded."""

import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from tests.serving.testkit import (
    PYTHON,
    REPO,
    InProcessServer,
    free_port,
    serving_env,
    start_server,
    wait_for_in_progress,
)


def post(server, x: float, action: str) -> requests.Response:
    return requests.post(f"{server.url}/invocations", json={"dataframe_records": [{"x": x, "action": action}]},
                         timeout=60)


def test_a_request_past_the_timeout_gets_504_and_does_not_block_the_next(faulty_server):
    with ThreadPoolExecutor(2) as pool:
        stuck = pool.submit(post, faulty_server, 6.0, "sleep")
        wait_for_in_progress(faulty_server, 1)
        started = time.monotonic()
        quick = post(faulty_server, 2.0, "double")
        quick_seconds = time.monotonic() - started
        timed_out = stuck.result()
    assert timed_out.status_code == 504, timed_out.text
    assert timed_out.json()["error_code"] == "DEADLINE_EXCEEDED"
    assert quick.status_code == 200 and quick.json() == {"predictions": [4.0]}
    assert quick_seconds < 2.0, "the request behind a stuck model call waited out its own timeout"


def test_sigterm_finishes_in_flight_requests_then_exits_0(mlflow_store, tmp_path_factory):
    server = start_server(tmp_path_factory, mlflow_store, "--model-uri", "models:/faulty/1")
    try:
        with ThreadPoolExecutor(4) as pool:
            in_flight = [pool.submit(post, server, 1.0, "sleep") for _ in range(4)]
            wait_for_in_progress(server, 4)
            exit_code = server.stop(timeout_s=60)
            answers = [future.result() for future in in_flight]
    finally:
        server.stop()
    assert [a.status_code for a in answers] == [200] * 4
    assert exit_code == 0, server.logs()
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{server.url}/health", timeout=2)


def run_to_exit(args: list[str], tracking_uri: str, timeout_s: float = 120) -> subprocess.CompletedProcess:
    command = [PYTHON, "-m", "serving", "--host", "127.0.0.1", "--port", str(free_port()), *args]
    return subprocess.run(command, cwd=REPO, env=serving_env(tracking_uri), capture_output=True, text=True,
                          timeout=timeout_s)


def cannot_load_lines(result: subprocess.CompletedProcess) -> list[str]:
    return [line for line in result.stderr.splitlines() if "cannot load model" in line]


def test_an_unknown_registered_model_fails_start_up_with_one_line(mlflow_store):
    result = run_to_exit(["--model-uri", "models:/no-such-model@champion"], mlflow_store)
    assert result.returncode != 0
    [line] = cannot_load_lines(result)
    assert "no-such-model" in line


def test_an_unreachable_registry_fails_start_up_after_bounded_retries():
    unreachable = f"http://127.0.0.1:{free_port()}"
    started = time.monotonic()
    result = run_to_exit(["--model-uri", "models:/churn@champion", "--load-retries", "2"], unreachable)
    assert result.returncode != 0
    assert len(cannot_load_lines(result)) == 1, result.stderr
    assert time.monotonic() - started < 110


@pytest.fixture
def local_model_copy(mlflow_store, tmp_path) -> Path:
    import mlflow.artifacts

    return Path(mlflow.artifacts.download_artifacts("models:/churn/1", dst_path=str(tmp_path)))


def test_a_missing_model_requirement_fails_start_up(local_model_copy, mlflow_store):
    with open(local_model_copy / "requirements.txt", "a") as requirements:
        requirements.write("\nsurely-not-an-installed-package==1.0\n")
    result = run_to_exit(["--model-uri", str(local_model_copy)], mlflow_store)
    assert result.returncode != 0
    [line] = cannot_load_lines(result)
    assert "surely-not-an-installed-package" in line


def test_a_model_file_that_cannot_be_loaded_fails_start_up_with_one_line(local_model_copy, mlflow_store):
    for serialized in local_model_copy.glob("model.*"):
        serialized.write_bytes(b"not a model")
    result = run_to_exit(["--model-uri", str(local_model_copy)], mlflow_store)
    assert result.returncode != 0
    [line] = cannot_load_lines(result)
    assert "BadZipFile" in line


def test_a_load_failure_with_an_empty_message_is_reported_by_its_type(tmp_path, caplog):
    import mlflow.pyfunc

    from serving.app import create_app
    from serving.settings import parse_settings
    from serving.source import fetch_model

    model_dir = tmp_path / "unloadable"
    mlflow.pyfunc.save_model(str(model_dir), python_model=str(Path(__file__).with_name("unloadable_model.py")))
    settings = parse_settings(["--model-uri", str(model_dir)], env={})
    app = InProcessServer(create_app(settings, fetch_model(str(model_dir), str(tmp_path / "copy"), attempts=1)))
    with pytest.raises(RuntimeError, match="lifespan startup failed"):
        app.start()
    app.stop_loop()
    [line] = [record.getMessage() for record in caplog.records if "cannot load model" in record.getMessage()]
    assert line == f"cannot load model {model_dir}: RuntimeError"
