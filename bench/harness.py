"""What the benchmark drives: pinned server processes, the in-process model, wrk, and the paired-rounds client."""

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[1]
UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}
# wrk posts the JSON body in the file named by {body}, read once when the script loads.
POST_SCRIPT = """
local file = io.open("{body}", "rb")
wrk.method = "POST"
wrk.body = file:read("*a")
file:close()
wrk.headers["Content-Type"] = "application/json"
"""


@dataclass
class LoadResult:
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    errors: int


def ensure_wrk() -> str:
    if shutil.which("wrk") is None:
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True)
    return shutil.which("wrk")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def cores() -> tuple[int, int]:
    usable = sorted(os.sched_getaffinity(0))
    if len(usable) < 2:
        raise SystemExit("the benchmark needs two cores: one for the server, one for wrk")
    return usable[0], usable[1]


class Server:
    """A server process pinned to one core, in its own process group so forked children stop with it."""

    def __init__(self, label: str, command: list[str], env: dict[str, str], cores: str, logs: Path,
                 port: int | None = None):
        self.label, self.port = label, port or free_port()
        self.log = open(logs / f"{label.replace(' ', '_')}.log", "w")  # noqa: SIM115 -- the server writes to it for its whole life
        command = ["taskset", "-c", cores] + [part.replace("{port}", str(self.port)) for part in command]
        self.started = time.perf_counter()
        self.process = subprocess.Popen(command, env=env, cwd=REPO, stdout=self.log, stderr=subprocess.STDOUT,
                                        start_new_session=True)

    def url(self, path: str = "/invocations") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def wait_ready(self, path: str, timeout_s: float = 180) -> float:
        """Cold start: seconds from spawn to the first 200 on the server's readiness route."""
        return self._wait(lambda: requests.get(self.url(path), timeout=30), timeout_s)

    def wait_first_prediction(self, body: bytes, path: str = "/invocations", timeout_s: float = 180) -> float:
        """Seconds from spawn to the first answered prediction."""
        return self._wait(lambda: post(self.url(path), body), timeout_s)

    def _wait(self, call: Callable[[], requests.Response], timeout_s: float) -> float:
        deadline = time.perf_counter() + timeout_s
        while time.perf_counter() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"{self.label} exited with {self.process.returncode}; see {self.log.name}")
            try:
                if call().status_code == 200:
                    return time.perf_counter() - self.started
            except requests.ConnectionError:
                pass
            time.sleep(0.02)
        raise SystemExit(f"{self.label} was not ready within {timeout_s}s; see {self.log.name}")

    def wait_idle(self, quiet_s: float = 0.5, timeout_s: float = 60) -> None:
        """Until the server has used no CPU for quiet_s: wrk stops sending at the end of a cell, but a slow
        server still works through the requests it accepted, on the core the next cell is timed on."""
        deadline = time.perf_counter() + timeout_s
        used = self.cpu_ticks()
        while time.perf_counter() < deadline:
            time.sleep(quiet_s)
            used, before = self.cpu_ticks(), used
            if used - before <= 1:
                return

    def cpu_ticks(self) -> int:
        """User and system clock ticks of every process in the server's group (mlflow forks its workers)."""
        ticks = 0
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:  # the process ended while we looked
                continue
            if int(fields[2]) == self.process.pid:  # fields[2] is the process group
                ticks += int(fields[11]) + int(fields[12])
        return ticks

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)


def post(url: str, body: bytes) -> requests.Response:
    return requests.post(url, data=body, headers={"Content-Type": "application/json"}, timeout=30)


def to_ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()
    return float(value) * UNITS[unit]


def run_wrk(wrk: str, core: int, url: str, script: Path, connections: int, seconds: int) -> LoadResult:
    command = ["taskset", "-c", str(core), wrk, "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s",
               "--latency", "-s", str(script), url]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    percentile = dict(re.findall(r"^\s+(50|99)%\s+(\S+)\s*$", output, re.MULTILINE))
    if set(percentile) != {"50", "99"}:
        raise SystemExit(f"unexpected wrk output:\n{output}")
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    errors = int(non_2xx.group(1)) if non_2xx else 0
    errors += sum(map(int, socket_errors.groups())) if socket_errors else 0
    return LoadResult(float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
                      to_ms(percentile["50"]), to_ms(percentile["99"]), errors)


class InProcessModel:
    """bench/in_process.py pinned to the servers' core: the model's own predict, one call when asked."""

    def __init__(self, model_uri: str, bodies: list[Path], core: int, env: dict[str, str]):
        command = ["taskset", "-c", str(core), sys.executable, str(REPO / "bench" / "in_process.py"),
                   "--model-uri", model_uri] + [argument for body in bodies for argument in ("--body", str(body))]
        self.process = subprocess.Popen(command, env=env, cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=subprocess.DEVNULL, text=True, start_new_session=True)
        if self._answer() != "ready":
            raise SystemExit("bench/in_process.py did not load the model")

    def predict_ms(self, rows: int) -> float:
        return self._ask(f"{rows}")

    def batch_predict_ms(self, rows: int, requests: int) -> float:
        """The model's own predict on one frame holding `requests` requests of `rows` rows each."""
        return self._ask(f"{rows} {requests}")

    def _ask(self, command: str) -> float:
        self.process.stdin.write(f"{command}\n")
        self.process.stdin.flush()
        return float(self._answer())

    def _answer(self) -> str:
        line = self.process.stdout.readline().strip()
        if not line:
            raise SystemExit(f"bench/in_process.py exited with {self.process.wait(10)}")
        return line

    def stop(self) -> None:
        self.process.kill()
        self.process.wait(10)


class KeepAliveClient:
    """One HTTP/1.1 connection posting one body at a time and timing each answer, for the paired lone request.
    Raw socket, so the client's own cost stays near wrk's: on this machine both measured the HTTP floor alike."""

    def __init__(self, port: int, body: bytes, path: str = "/invocations"):
        self.request = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
                        f"Content-Length: {len(body)}\r\n\r\n").encode() + body
        self.connection = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def post_ms(self) -> tuple[int, float]:
        """The answer's status and the time from sending the request to its last byte."""
        started = time.perf_counter()
        self.connection.sendall(self.request)
        received = b""
        while b"\r\n\r\n" not in received:
            received += self._recv()
        head, _, content = received.partition(b"\r\n\r\n")
        length = _content_length(head)
        while len(content) < length:
            content += self._recv()
        return int(head.split(b" ", 2)[1]), (time.perf_counter() - started) * 1e3

    def _recv(self) -> bytes:
        chunk = self.connection.recv(65536)
        if not chunk:
            raise SystemExit("the server closed a keep-alive connection")
        return chunk

    def close(self) -> None:
        self.connection.close()


def _content_length(head: bytes) -> int:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value)
    raise SystemExit(f"an answer without Content-Length: {head!r}")
