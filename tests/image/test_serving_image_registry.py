"""The stack's default path: the image starts with MODEL_URI=models:/churn@champion and loads the model from an
MLflow tracking server at run time (mlflow-skinny's registry client), here a real `mlflow server` on the host."""
import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from tests.processes import free_port, stop_group, wait_until_ok

from .conftest import READY_TIMEOUT_S, SERVING_UID, STARTED_CONTAINERS, readable_by_everyone
from .harness import Container

pytestmark = pytest.mark.image


@pytest.fixture(scope="module")
def tracking_server(churn_model_dir, tmp_path_factory):
    """The store churn_model_dir registered the model in; its artifacts are file paths under the same root."""
    import mlflow

    store = mlflow.get_tracking_uri()
    store_root = Path(store.removeprefix("sqlite:///")).parent
    readable_by_everyone(str(store_root))  # pytest makes it 0700; the container's uid 10001 reads the artifacts
    port = free_port()
    log = tmp_path_factory.mktemp("tracking") / "server.log"
    with open(log, "w") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "mlflow", "server", "--backend-store-uri", store, "--host", "127.0.0.1",
             "--port", str(port), "--workers", "1"],
            env={**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}, stdout=output,
            stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_until_ok(f"http://127.0.0.1:{port}/health", alive=lambda: process.poll() is None,
                      timeout_s=READY_TIMEOUT_S, logs=log.read_text, what="mlflow server")
        yield f"http://127.0.0.1:{port}", store_root
    finally:
        stop_group(process)


@pytest.fixture(scope="module")
def registry_container(engine, serving_image, tracking_server) -> Container:
    tracking_uri, store_root = tracking_server
    port = free_port()
    container_id = engine.output(
        "run", "--detach", "--network", "host", "--read-only", "--tmpfs", "/tmp:rw,size=256m",
        "--user", f"{SERVING_UID}:{SERVING_UID}", "--cap-drop", "ALL", "--security-opt", "no-new-privileges",
        # The registered version's artifacts are file paths of the host store: visible at the same path.
        "--volume", f"{store_root}:{store_root}:ro",
        "--env", "MODEL_URI=models:/churn@champion", "--env", f"MLFLOW_TRACKING_URI={tracking_uri}",
        "--env", "HOST=127.0.0.1", "--env", f"PORT={port}",
        # The model was logged in the test venv, which lists pytest (see conftest's serving_container).
        "--env", "REQUIREMENTS_CHECK=off", serving_image.ref)
    container = Container(engine, container_id, port)
    STARTED_CONTAINERS.append(container)
    try:
        yield container.wait_ready(READY_TIMEOUT_S)
    finally:
        container.remove()


def test_the_image_loads_the_champion_from_the_registry_and_predicts_as_the_model_does(
        registry_container, churn_model, churn_rows):
    version = requests.get(f"{registry_container.url}/version", timeout=10).json()
    assert version["model_name"] == "churn"
    response = requests.post(f"{registry_container.url}/invocations",
                             json={"dataframe_split": churn_rows.to_dict(orient="split", index=False)}, timeout=30)
    assert response.status_code == 200, response.text
    assert response.json()["predictions"] == churn_model.predict(churn_rows).tolist()
