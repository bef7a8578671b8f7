"""Real server processes for the serving tests: started on 127.0.0.1, stopped by PID, logs kept."""

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

from tests.processes import stop_group, wait_until_ok
from prometheus_client.parser import text_string_to_metric_families

REPO = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
STARTUP_TIMEOUT_S = 120
STARTED: list["ServerProcess"] = []


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
    program: list[str] | None = None  # default: our server; `{port}` in it is replaced
    ready_path: str = "/ready"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "ServerProcess":
        STARTED.append(self)
        self.stdout = open(self.workdir / f"server-{self.port}.out", "w+")
        self.stderr = open(self.workdir / f"server-{self.port}.err", "w+")
        program = self.program or [PYTHON, "-m", "serving", "--host", "127.0.0.1", "--port", "{port}"]
        command = [part.replace("{port}", str(self.port)) for part in program] + self.args
        # Its own process group, so a server that forks (mlflow models serve) is stopped whole.
        self.process = subprocess.Popen(command, cwd=REPO, env=self.env, stdout=self.stdout, stderr=self.stderr,
                                        start_new_session=True)
        return self

    def wait_ready(self, timeout_s: float = STARTUP_TIMEOUT_S) -> "ServerProcess":
        wait_until_ok(self.url + self.ready_path, alive=lambda: self.process.poll() is None,
                      timeout_s=timeout_s, logs=self.logs, what="server")
        return self

    def stop(self, timeout_s: float = 30) -> int:
        return stop_group(self.process, timeout_s)

    def logs(self) -> str:
        parts = []
        for stream in (self.stdout, self.stderr):
            stream.flush()
            stream.seek(0)
            parts.append(stream.read()[-20000:])
        return "--- stdout ---\n{}\n--- stderr ---\n{}".format(*parts)


def serving_env(tracking_uri: str, **extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("MLFLOW_", "PROMETHEUS_"))}
    # `mlflow models serve` runs `uvicorn` from PATH: the venv's bin must come first.
    path = f"{Path(PYTHON).parent}{os.pathsep}{env.get('PATH', '')}"
    env.update({"MLFLOW_TRACKING_URI": tracking_uri, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1",
                "PATH": path}, **extra)
    return env


def start_server(tmp_path_factory, tracking_uri: str, *args: str, **env: str) -> ServerProcess:
    server = ServerProcess(list(args), serving_env(tracking_uri, **env), tmp_path_factory.mktemp("server"))
    server.start()
    try:
        return server.wait_ready()
    except BaseException:
        server.stop()
        raise


def scrape(server) -> dict[tuple[str, tuple], float]:
    text = requests.get(f"{server.url}/metrics", timeout=10).text
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def wait_for_in_progress(server, count: int, timeout_s: float = 20) -> None:
    """Poll /metrics until `count` /invocations requests are being answered."""
    key = ("mlstack_http_requests_in_progress", (("route", "/invocations"),))
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if scrape(server).get(key, 0) >= count:
            return
        time.sleep(0.05)
    raise AssertionError(f"never saw {count} requests in progress")
