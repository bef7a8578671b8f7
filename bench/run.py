"""Side-by-side benchmark: `mlflow models serve` against `python -m serving` on the same model.

Both servers get one worker pinned to the first usable core; wrk runs pinned to the second and drives them,
cell by cell in turn, with the same bodies at 1, 16 and 64 connections, with 1-row and 100-row requests.
Before the load, both servers' predictions are checked equal to each other and to the model's own in-process
predict.  Prints a Markdown table: req/s, p50, p99 and the ratios ours/mlflow.

Then a lone request (1 connection) is timed apart, because its target is a fraction of a millisecond on a
machine whose speed drifts by more than that from one minute to the next: in thousands of rounds, each round
times one call of the model's own in-process predict (bench/in_process.py, on the servers' core) and one request
to the HTTP floor (bench/http_floor.py: the same uvicorn stack answering at once), to ours and to mlflow, in a
random order.  The differences are taken within each round, a few milliseconds apart, so a drift of the machine
cancels out.

    .venv/bin/python bench/run.py [--seconds 10] [--rounds 2000] [--output docs/benchmark.md]
"""

import argparse
import json
import math
import os
import platform
import random
import shutil
import statistics
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from harness import REPO, InProcessModel, KeepAliveClient, Server, cores, ensure_wrk, post, run_wrk

sys.path.insert(0, str(REPO / "examples"))
from train_and_register import make_churn_frame, train_and_register

OURS, MLFLOW, FLOOR = "ours", "mlflow", "HTTP floor"
IN_PROCESS = "in-process"
SCENARIOS = [(1, 1), (1, 16), (1, 64), (100, 1), (100, 16), (100, 64)]  # (rows per request, connections)
LONE_ROUNDS = 2000
LONE_WARM_UP_ROUNDS = 50
LUA = """
local file = io.open("{body}", "rb")
wrk.method = "POST"
wrk.body = file:read("*a")
file:close()
wrk.headers["Content-Type"] = "application/json"
"""


@dataclass
class LoneTimes:
    """Per contender, its time in each round (ms), and how many of its answers were not a 2xx."""

    ms: dict[str, list[float]]
    non_2xx: dict[str, int]


def request_body(rows: int) -> bytes:
    frame, _ = make_churn_frame(rows, seed=rows)
    return json.dumps({"dataframe_split": json.loads(frame.to_json(orient="split", index=False))}).encode()


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


def server_commands(model_uri: str) -> dict[str, list[str]]:
    return {
        MLFLOW: [sys.executable, "-m", "mlflow", "models", "serve", "-m", model_uri, "-h", "127.0.0.1", "-p",
                 "{port}", "-w", "1", "--env-manager", "local"],
        OURS: [sys.executable, "-m", "serving", "--model-uri", model_uri, "--host", "127.0.0.1", "--port",
               "{port}", "--workers", "1", "--no-access-log"],
    }


FLOOR_COMMAND = [sys.executable, "-m", "uvicorn", "bench.http_floor:app", "--host", "127.0.0.1", "--port", "{port}",
                 "--loop", "uvloop", "--http", "httptools", "--lifespan", "off", "--no-access-log"]


def run_cells(wrk: str, core: int, servers: dict[str, Server], scripts: dict[int, Path], seconds: int) -> dict:
    """Cell by cell, mlflow then ours, so a change in the machine's load hits both alike; each cell starts
    once the last one's server has finished what it had accepted."""
    results = {label: {} for label in servers}
    for server in servers.values():
        run_wrk(wrk, core, server.url, scripts[1], 16, 3)  # warm-up
    for rows, connections in SCENARIOS:
        for label, server in servers.items():
            results[label][(rows, connections)] = run_wrk(wrk, core, server.url, scripts[rows], connections, seconds)
            server.wait_idle()
            print(label, rows, connections, results[label][(rows, connections)], flush=True)
    return results


def time_lone_requests(core: int, servers: dict[str, Server], model: InProcessModel, bodies: dict[int, bytes],
                       rounds: int) -> dict[int, LoneTimes]:
    """Round by round, one request to each server and one in-process predict, in a new random order each
    round: contenders a few milliseconds apart see the machine at the same speed."""
    os.sched_setaffinity(0, {core})  # this process is the client, on the load core as wrk is
    order_of_rounds = random.Random(0)
    timings = {}
    for rows, body in bodies.items():
        clients = {label: KeepAliveClient(server.port, body) for label, server in servers.items()}
        calls = {IN_PROCESS: lambda rows=rows: (200, model.predict_ms(rows)),
                 **{label: client.post_ms for label, client in clients.items()}}
        for _ in range(LONE_WARM_UP_ROUNDS):
            for call in calls.values():
                call()
        times = LoneTimes({label: [] for label in calls}, dict.fromkeys(calls, 0))
        order = list(calls)
        for _ in range(rounds):
            order_of_rounds.shuffle(order)
            for label in order:
                status, ms = calls[label]()
                times.ms[label].append(ms)
                times.non_2xx[label] += not 200 <= status < 300
        for client in clients.values():
            client.close()
        timings[rows] = times
        print(rows, "rows, lone request medians:", {label: statistics.median(ms) for label, ms in times.ms.items()},
              flush=True)
    return timings


def machine_description() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    memory_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    load = os.getloadavg()
    return (f"{cpu}, {os.cpu_count()} cores, {memory_gib:.0f} GiB, Linux {platform.release()}, "
            f"Python {platform.python_version()}; load average at start {load[0]:.2f} (shared machine)")


def load_table(results: dict[str, dict], cold: dict[str, float], seconds: int) -> str:
    lines = [
        "| rows | conns | mlflow req/s | mlflow p50 ms | mlflow p99 ms | ours req/s | ours p50 ms | ours p99 ms "
        "| req/s ours/mlflow | p99 ours/mlflow | non-2xx (mlflow/ours) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for rows, connections in SCENARIOS:
        a, b = results[MLFLOW][(rows, connections)], results[OURS][(rows, connections)]
        lines.append(f"| {rows} | {connections} | {a.requests_per_s:.0f} | {a.p50_ms:.2f} | {a.p99_ms:.2f} "
                     f"| {b.requests_per_s:.0f} | {b.p50_ms:.2f} | {b.p99_ms:.2f} "
                     f"| {b.requests_per_s / a.requests_per_s:.1f}x | {b.p99_ms / a.p99_ms:.3f} | {a.errors}/{b.errors} |")
    lines += [
        "",
        f"Cold start (spawn to first prediction): mlflow {cold[MLFLOW]:.2f} s, ours {cold[OURS]:.2f} s.",
        f"wrk: 1 thread pinned to the other core, {seconds} s per cell, timeout 10 s.",
    ]
    return "\n".join(lines)


def median_and_interval(values: list[float]) -> tuple[float, float, float]:
    """The median and its distribution-free 95% confidence interval (order statistics of the binomial)."""
    ordered = sorted(values)
    outer = max(0, int(len(ordered) / 2 - 1.96 * math.sqrt(len(ordered)) / 2))
    return statistics.median(ordered), ordered[outer], ordered[-1 - outer]


def lone_table(timings: dict[int, LoneTimes]) -> str:
    def over(times: LoneTimes, label: str, *baseline: str) -> str:
        """The median, over rounds, of label's time minus the baseline contenders' times in the same round."""
        differences = [mine - sum(theirs) for mine, *theirs in
                       zip(times.ms[label], *(times.ms[other] for other in baseline), strict=True)]
        median, low, high = median_and_interval(differences)
        return f"{median:+.2f} ({low:+.2f} to {high:+.2f})"

    rounds = len(next(iter(timings.values())).ms[IN_PROCESS])
    lines = [
        f"A lone request: {rounds} rounds per row count, 1 connection; each round times one in-process predict "
        "and one request to each server, in a new random order.",
        "",
        "| rows | in-process predict p50 ms | HTTP floor p50 ms | ours p50 ms | mlflow p50 ms "
        "| ours - in-process ms (95% CI) | ours - in-process - floor ms (95% CI) | mlflow - in-process ms (95% CI) "
        "| non-2xx (mlflow/ours) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for rows, times in timings.items():
        p50 = {label: statistics.median(values) for label, values in times.ms.items()}
        lines.append(
            f"| {rows} | {p50[IN_PROCESS]:.2f} | {p50[FLOOR]:.2f} | {p50[OURS]:.2f} | {p50[MLFLOW]:.2f} "
            f"| {over(times, OURS, IN_PROCESS)} | {over(times, OURS, IN_PROCESS, FLOOR)} "
            f"| {over(times, MLFLOW, IN_PROCESS)} | {times.non_2xx[MLFLOW]}/{times.non_2xx[OURS]} |")
    lines += ["", "In-process predict: `pyfunc.predict` in a process pinned to the servers' core, on a new DataFrame",
              "each call (built before its timer starts), as each request brings new rows. Differences are taken",
              "within each round; their medians are shown with a 95% interval. The HTTP floor is what a request",
              "costs here before any server's own work: loopback TCP, waking each core, HTTP parsing. The client",
              "is bench/harness.py's KeepAliveClient on the load core: one keep-alive connection per server."]
    return "\n".join(lines)


def register_model(work: Path) -> tuple[str, dict[str, str]]:
    """A fresh SQLite registry holding the example model; the model URI and the servers' environment."""
    tracking_uri = f"sqlite:///{work}/mlflow.db"
    # `mlflow models serve` runs `uvicorn` from PATH: the venv's bin must come first.
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    env = {**os.environ, "MLFLOW_TRACKING_URI": tracking_uri, "PYTHONPATH": str(REPO), "PATH": path}
    import mlflow

    mlflow.set_tracking_uri(tracking_uri)
    mlflow.create_experiment("churn", artifact_location=(work / "artifacts").as_uri())
    return train_and_register(tracking_uri, "churn", "champion", max_iter=100, seed=0), env


def write_bodies(work: Path) -> tuple[dict[int, bytes], dict[int, Path]]:
    bodies = {rows: request_body(rows) for rows in (1, 100)}
    scripts = {}
    for rows, body in bodies.items():
        (work / f"body-{rows}.json").write_bytes(body)
        scripts[rows] = work / f"post-{rows}.lua"
        scripts[rows].write_text(LUA.format(body=work / f"body-{rows}.json"))
    return bodies, scripts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=LONE_ROUNDS, help="rounds of the lone-request timing")
    parser.add_argument("--output", type=Path, help="also write the report (Markdown) here")
    args = parser.parse_args()
    wrk = ensure_wrk()
    server_core, load_core = cores()
    work = Path(tempfile.mkdtemp(prefix="mlstack-bench-"))
    model_uri, env = register_model(work)
    bodies, scripts = write_bodies(work)
    description = machine_description()
    servers, cold, model = {}, {}, None
    try:
        for label, command in server_commands(model_uri).items():  # one at a time: each cold start has the core
            servers[label] = Server(label, command, env, server_core, work)
            cold[label] = servers[label].wait_first_prediction(bodies[1])
        check_same_predictions(list(servers.values()), bodies, model_uri)
        results = run_cells(wrk, load_core, servers, scripts, args.seconds)
        servers[FLOOR] = Server(FLOOR, FLOOR_COMMAND, env, server_core, work)
        servers[FLOOR].wait_first_prediction(bodies[1])
        model = InProcessModel(model_uri, [work / f"body-{rows}.json" for rows in bodies], server_core, env)
        lone = time_lone_requests(load_core, servers, model, bodies, args.rounds)
    finally:
        for process in [*servers.values(), *([model] if model else [])]:
            process.stop()
    report = f"Machine: {description}\n\n{load_table(results, cold, args.seconds)}\n\n{lone_table(lone)}\n"
    print(report)
    if args.output:
        args.output.write_text(report)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
