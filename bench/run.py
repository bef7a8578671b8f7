"""Side-by-side benchmark: `mlflow models serve` against `python -m serving` on the same model.

Both servers get one worker pinned to the first usable core; wrk runs pinned to the second and
drives them, cell by cell in turn, with the same bodies at 1, 16 and 64 connections, with 1-row and 100-row requests.
Before the load, both servers' predictions are checked equal to each other and to the model's own
in-process predict.  Prints a Markdown table: req/s, p50, p99 and the ratios ours/mlflow.

    .venv/bin/python bench/run.py [--seconds 10] [--output docs/benchmark.md]
"""

import argparse
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "examples"))
from train_and_register import make_churn_frame, train_and_register  # noqa: E402

SCENARIOS = [(1, 1), (1, 16), (1, 64), (100, 1), (100, 16), (100, 64)]  # (rows per request, connections)
UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}
LUA = """
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

    def __init__(self, label: str, command: list[str], env: dict[str, str], core: int, logs: Path):
        self.label, self.port = label, free_port()
        self.log = open(logs / f"{label.replace(' ', '_')}.log", "w")
        command = ["taskset", "-c", str(core)] + [part.replace("{port}", str(self.port)) for part in command]
        self.started = time.perf_counter()
        self.process = subprocess.Popen(command, env=env, cwd=REPO, stdout=self.log, stderr=subprocess.STDOUT,
                                        start_new_session=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/invocations"

    def wait_first_prediction(self, body: bytes, timeout_s: float = 180) -> float:
        """Cold start: seconds from spawn to the first answered prediction."""
        deadline = time.perf_counter() + timeout_s
        while time.perf_counter() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"{self.label} exited with {self.process.returncode}; see {self.log.name}")
            try:
                if post(self.url, body).status_code == 200:
                    return time.perf_counter() - self.started
            except requests.ConnectionError:
                time.sleep(0.05)
        raise SystemExit(f"{self.label} gave no prediction within {timeout_s}s; see {self.log.name}")

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


def request_body(rows: int) -> bytes:
    frame, _ = make_churn_frame(rows, seed=rows)
    return json.dumps({"dataframe_split": json.loads(frame.to_json(orient="split", index=False))}).encode()


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


def in_process_predict_ms(model_uri: str, bodies: dict[int, bytes], core: int) -> dict[int, float]:
    """The model's own pyfunc predict, median over repeated calls, on the server's core."""
    import mlflow.pyfunc
    import pandas as pd

    usable = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {core})
    model = mlflow.pyfunc.load_model(model_uri)
    timings = {}
    for rows, body in bodies.items():
        split = json.loads(body)["dataframe_split"]
        frame = pd.DataFrame(split["data"], columns=split["columns"])
        model.predict(frame)
        samples = []
        for _ in range(200):
            started = time.perf_counter()
            model.predict(frame)
            samples.append((time.perf_counter() - started) * 1e3)
        timings[rows] = statistics.median(samples)
    os.sched_setaffinity(0, usable)
    return timings


def check_same_predictions(servers: list[Server], bodies: dict[int, bytes], model_uri: str) -> None:
    import mlflow.pyfunc
    import pandas as pd

    model = mlflow.pyfunc.load_model(model_uri)
    for rows, body in bodies.items():
        split = json.loads(body)["dataframe_split"]
        expected = model.predict(pd.DataFrame(split["data"], columns=split["columns"])).tolist()
        for server in servers:
            answer = post(server.url, body)
            if answer.status_code != 200 or answer.json() != {"predictions": expected}:
                raise SystemExit(f"{server.label} answered {answer.status_code} {answer.text[:200]} for {rows} rows")


def machine_description() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    memory_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    load = os.getloadavg()
    return (f"{cpu}, {os.cpu_count()} cores, {memory_gib:.0f} GiB, Linux {platform.release()}, "
            f"Python {platform.python_version()}; load average at start {load[0]:.2f} (shared machine)")


def table(results: dict[str, dict], cold: dict[str, float], predict_ms: dict[int, float], seconds: int) -> str:
    ours, theirs = "ours", "mlflow"
    lines = [
        "| rows | conns | mlflow req/s | mlflow p50 ms | mlflow p99 ms | ours req/s | ours p50 ms | ours p99 ms "
        "| req/s ours/mlflow | p99 ours/mlflow | non-2xx (mlflow/ours) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for rows, connections in SCENARIOS:
        a, b = results[theirs][(rows, connections)], results[ours][(rows, connections)]
        lines.append(f"| {rows} | {connections} | {a.requests_per_s:.0f} | {a.p50_ms:.2f} | {a.p99_ms:.2f} "
                     f"| {b.requests_per_s:.0f} | {b.p50_ms:.2f} | {b.p99_ms:.2f} "
                     f"| {b.requests_per_s / a.requests_per_s:.1f}x | {b.p99_ms / a.p99_ms:.3f} | {a.errors}/{b.errors} |")
    lines += [
        "",
        f"Cold start (spawn to first prediction): mlflow {cold[theirs]:.2f} s, ours {cold[ours]:.2f} s.",
        f"In-process `pyfunc.predict` median on the server core: 1 row {predict_ms[1]:.2f} ms, "
        f"100 rows {predict_ms[100]:.2f} ms.",
        f"wrk: 1 thread pinned to the other core, {seconds} s per cell, timeout 10 s.",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--output", type=Path, help="also write the report (Markdown) here")
    args = parser.parse_args()
    wrk = ensure_wrk()
    server_core, load_core = cores()
    work = Path(tempfile.mkdtemp(prefix="mlstack-bench-"))
    tracking_uri = f"sqlite:///{work}/mlflow.db"
    # `mlflow models serve` runs `uvicorn` from PATH: the venv's bin must come first.
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    env = {**os.environ, "MLFLOW_TRACKING_URI": tracking_uri, "PYTHONPATH": str(REPO), "PATH": path}
    import mlflow

    mlflow.set_tracking_uri(tracking_uri)
    mlflow.create_experiment("churn", artifact_location=(work / "artifacts").as_uri())
    model_uri = train_and_register(tracking_uri, "churn", "champion", max_iter=100, seed=0)
    bodies = {rows: request_body(rows) for rows in (1, 100)}
    scripts = {}
    for rows, body in bodies.items():
        (work / f"body-{rows}.json").write_bytes(body)
        scripts[rows] = work / f"post-{rows}.lua"
        scripts[rows].write_text(LUA.format(body=work / f"body-{rows}.json"))
    description = machine_description()
    predict_ms = in_process_predict_ms(model_uri, bodies, server_core)
    commands = {
        "mlflow": [sys.executable, "-m", "mlflow", "models", "serve", "-m", model_uri, "-h", "127.0.0.1", "-p",
                   "{port}", "-w", "1", "--env-manager", "local"],
        "ours": [sys.executable, "-m", "serving", "--model-uri", model_uri, "--host", "127.0.0.1", "--port",
                 "{port}", "--workers", "1", "--no-access-log"],
    }
    servers, cold = {}, {}
    try:
        for label, command in commands.items():  # one at a time, so each cold start has the core alone
            servers[label] = Server(label, command, env, server_core, work)
            cold[label] = servers[label].wait_first_prediction(bodies[1])
        check_same_predictions(list(servers.values()), bodies, model_uri)
        results = {label: {} for label in servers}
        for label, server in servers.items():
            run_wrk(wrk, load_core, server.url, scripts[1], 16, 3)  # warm-up
        # Cell by cell, mlflow then ours, so a change in the machine's load hits both alike.
        for rows, connections in SCENARIOS:
            for label, server in servers.items():
                result = run_wrk(wrk, load_core, server.url, scripts[rows], connections, args.seconds)
                results[label][(rows, connections)] = result
                print(label, rows, connections, result, flush=True)
    finally:
        for server in servers.values():
            server.stop()
    report = f"Machine: {description}\n\n{table(results, cold, predict_ms, args.seconds)}\n"
    print(report)
    if args.output:
        args.output.write_text(report)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
