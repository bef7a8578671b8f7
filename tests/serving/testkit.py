"""The serving tests' helpers, in one place: real server processes (started on 127.0.0.1, stopped by PID, logs
kept), the same app driven in process, and the example pipeline."""

import asyncio
import importlib.util
import os
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import orjson
import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.processes import stop_group, wait_until_ok

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
        # Open for the server's whole life: its logs are read back when a test fails.
        self.stdout = open(self.workdir / f"server-{self.port}.out", "w+")  # noqa: SIM115
        self.stderr = open(self.workdir / f"server-{self.port}.err", "w+")  # noqa: SIM115
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

    def request(self, method: str, path: str, content: bytes | str = b"", headers: dict[str, str] | None = None,
                json=None, timeout: float = 30) -> requests.Response:
        return requests.request(method, self.url + path, data=content, headers=headers, json=json, timeout=timeout)

    def get(self, path: str, **options) -> requests.Response:
        return self.request("GET", path, **options)

    def post(self, path: str, **options) -> requests.Response:
        return self.request("POST", path, **options)

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


def histogram_totals(server, name: str) -> tuple[float, float]:
    """(sum, count) of an unlabelled histogram so far: 0 for both until it was first observed."""
    samples = scrape(server)
    return samples.get((f"{name}_sum", ()), 0.0), samples.get((f"{name}_count", ()), 0.0)


def wait_for_in_progress(server, count: int, timeout_s: float = 20) -> None:
    """Poll /metrics until `count` /invocations requests are being answered."""
    key = ("mlstack_http_requests_in_progress", (("route", "/invocations"),))
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if scrape(server).get(key, 0) >= count:
            return
        time.sleep(0.05)
    raise AssertionError(f"never saw {count} requests in progress")


def resident_kib(pid: int, field: str) -> int:
    with open(f"/proc/{pid}/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith(field + ":"))


@contextmanager
def pinging(server):
    """Pings /ping every 50 ms in a thread; yields the list of how long each took (a failed ping is 99 s)."""
    took, stop = [], threading.Event()

    def ping():
        while not stop.is_set():
            started = time.monotonic()
            try:
                ok = requests.get(f"{server.url}/ping", timeout=5).status_code == 200
            except requests.RequestException:
                ok = False
            took.append(time.monotonic() - started if ok else 99.0)
            stop.wait(0.05)

    thread = threading.Thread(target=ping)
    thread.start()
    try:
        yield took
    finally:
        stop.set()
        thread.join()


def example_pipeline():
    """examples/train_and_register.py as a module, without putting examples/ on sys.path."""
    spec = importlib.util.spec_from_file_location("train_and_register", REPO / "examples" / "train_and_register.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def model_kinds():
    """examples/model_kinds.py, the models the kind-by-kind parity tests and bench/models.py serve."""
    return importlib.import_module("examples.model_kinds")


@dataclass
class Answer:
    """What the in-process client got back, with the parts of requests.Response the tests read."""

    status_code: int
    headers: dict[str, str]
    content: bytes

    @property
    def text(self) -> str:
        return self.content.decode()

    def json(self):
        return orjson.loads(self.content)


class InProcessServer:
    """The ASGI app in this process, driven by plain ASGI messages on a private event loop: the lifespan runs
    as under uvicorn, requests take microseconds, and no port or process is involved."""

    def __init__(self, app):
        self._app = app
        self._loop = asyncio.new_event_loop()
        self._lifespan_inbox: asyncio.Queue | None = None
        self._lifespan_outbox: asyncio.Queue | None = None

    def start(self) -> "InProcessServer":
        self._loop.run_until_complete(self._lifespan("startup"))
        return self

    def stop(self) -> None:
        try:
            self._loop.run_until_complete(self._lifespan("shutdown"))
        finally:
            self.stop_loop()

    def stop_loop(self) -> None:
        """Only the event loop: for an app whose start-up failed."""
        self._loop.close()

    async def _lifespan(self, event: str) -> None:
        if self._lifespan_inbox is None:
            self._lifespan_inbox, self._lifespan_outbox = asyncio.Queue(), asyncio.Queue()
            scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
            self._lifespan_task = asyncio.ensure_future(
                self._app(scope, self._lifespan_inbox.get, self._lifespan_outbox.put))
        await self._lifespan_inbox.put({"type": f"lifespan.{event}"})
        got = asyncio.ensure_future(self._lifespan_outbox.get())
        await asyncio.wait({got, self._lifespan_task}, return_when=asyncio.FIRST_COMPLETED)
        if not got.done():
            got.cancel()
            self._lifespan_task.result()  # the app's own exception, if it raised
            raise RuntimeError(f"lifespan ended without answering {event}")
        message = got.result()
        if message["type"] != f"lifespan.{event}.complete":
            await asyncio.wait({self._lifespan_task})  # the app re-raises what failed: collected, not left for GC
            raise RuntimeError(f"lifespan {event} failed: {message.get('message', '')}") from self._lifespan_task.exception()

    def request(self, method: str, path: str, content: bytes | str = b"", headers: dict[str, str] | None = None,
                json=None, timeout: float = 30) -> Answer:
        content = content.encode() if isinstance(content, str) else content
        if json is not None:
            content, headers = orjson.dumps(json), {"content-type": "application/json", **(headers or {})}
        return self._loop.run_until_complete(self._request(method, path, content, headers or {}))

    def get(self, path: str, **options) -> Answer:
        return self.request("GET", path, **options)

    def post(self, path: str, **options) -> Answer:
        return self.request("POST", path, **options)

    async def _request(self, method: str, path: str, content: bytes, headers: dict[str, str]) -> Answer:
        all_headers = {"host": "in-process", "content-length": str(len(content)), **headers}
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
                 "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
                 "headers": [(k.lower().encode(), v.encode()) for k, v in all_headers.items()],
                 "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80), "state": {}}
        messages = [{"type": "http.request", "body": content, "more_body": False}]
        sent: list[dict] = []

        async def receive() -> dict:
            return messages.pop(0) if messages else {"type": "http.disconnect"}

        async def send(message: dict) -> None:
            sent.append(message)

        await self._app(scope, receive, send)
        start = next(message for message in sent if message["type"] == "http.response.start")
        body = b"".join(message.get("body", b"") for message in sent if message["type"] == "http.response.body")
        return Answer(start["status"], {k.decode(): v.decode() for k, v in start["headers"]}, body)
