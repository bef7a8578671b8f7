"""MLServer, the peer a user who outgrows `mlflow models serve` picks: its venv, its settings, its command.

It runs from its own venv (tools/cached-venv.sh, pinned by bench/mlserver/requirements.lock), serving the same
model directory as the others with mlserver-mlflow's runtime.  Its configuration is the fastest one found for one
core: adaptive batching on (64 requests, a few ms), inference in the server process (`parallel_workers` 0: a
separate inference process would share the one core and add a hop), and neither debug logging nor gzip.
"""

import json
import subprocess
from pathlib import Path

from harness import REPO, free_port

MODEL_NAME = "churn"
MAX_BATCH_SIZE = 64
MAX_BATCH_TIME_S = 0.002
READY_PATH = f"/v2/models/{MODEL_NAME}/ready"
INFER_PATH = f"/v2/models/{MODEL_NAME}/infer"


def mlserver_python() -> str:
    """The python of MLServer's venv, built or reused under the user's cache."""
    folder = REPO / "bench" / "mlserver"
    command = ["bash", str(REPO / "tools" / "cached-venv.sh"), "mlserver-bench", str(folder / "requirements.txt"),
               str(folder / "requirements.lock")]
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout.strip()


def write_settings(folder: Path, model_path: str) -> int:
    """Server and model settings in `folder`, for MLServer on a free HTTP port, which is returned."""
    http_port = free_port()
    folder.mkdir(parents=True, exist_ok=True)
    server = {"host": "127.0.0.1", "http_port": http_port, "grpc_port": free_port(), "metrics_port": free_port(),
              "parallel_workers": 0, "debug": False, "gzip_enabled": False, "metrics_dir": str(folder / "metrics")}
    model = {"name": MODEL_NAME, "implementation": "mlserver_mlflow.MLflowRuntime",
             "max_batch_size": MAX_BATCH_SIZE, "max_batch_time": MAX_BATCH_TIME_S, "parameters": {"uri": model_path}}
    (folder / "settings.json").write_text(json.dumps(server))
    (folder / "model-settings.json").write_text(json.dumps(model))
    return http_port


def command(python: str, folder: Path) -> list[str]:
    return [str(Path(python).parent / "mlserver"), "start", str(folder)]
