"""Side-by-side benchmark: `mlflow models serve` against `python -m serving` on the same model.

Both servers get one worker pinned to the first usable core; wrk runs pinned to the second and drives them,
cell by cell in turn, with the same bodies at 1, 16 and 64 connections, with 1-row and 100-row requests.
Before the load, both servers' predictions are checked equal to each other and to the model's own in-process
predict.  Prints a Markdown table: req/s, p50, p99 and the ratios ours/mlflow.

Then a lone request (1 connection) is timed apart, because its target is a fraction of a millisecond on a
machine whose speed drifts by more than that from one minute to the next: rounds of short slices, each round
timing in turn the model's own in-process predict (bench/in_process.py, on the servers' core), the HTTP floor
(bench/http_floor.py: the same uvicorn stack answering at once), ours and mlflow.  The differences are taken
within each round, so a drift of the machine cancels out.

    .venv/bin/python bench/run.py [--seconds 10] [--output docs/benchmark.md]
"""

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

from harness import REPO, InProcessModel, Server, cores, ensure_wrk, post, run_wrk

sys.path.insert(0, str(REPO / "examples"))
from train_and_register import make_churn_frame, train_and_register  # noqa: E402

OURS, MLFLOW, FLOOR = "ours", "mlflow", "HTTP floor"
IN_PROCESS, IN_PROCESS_SAME_FRAME = "in-process", "in-process, same frame"
SCENARIOS = [(1, 1), (1, 16), (1, 64), (100, 1), (100, 16), (100, 64)]  # (rows per request, connections)
LONE_ROUNDS = 20
LONE_SLICE_SECONDS = 1
LUA = """
local file = io.open("{body}", "rb")
wrk.method = "POST"
wrk.body = file:read("*a")
file:close()
wrk.headers["Content-Type"] = "application/json"
"""


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


def time_lone_requests(wrk: str, core: int, servers: dict[str, Server], model: InProcessModel,
                       scripts: dict[int, Path]) -> dict[int, dict[str, list[float]]]:
    """Per row count and per contender, the p50 (ms) of each round's slice."""
    p50s = {}
    for rows, script in scripts.items():
        p50s[rows] = {label: [] for label in [IN_PROCESS, IN_PROCESS_SAME_FRAME, *servers]}
        for _ in range(LONE_ROUNDS):
            p50s[rows][IN_PROCESS].append(model.time_predict(rows, LONE_SLICE_SECONDS, "new").p50_ms)
            p50s[rows][IN_PROCESS_SAME_FRAME].append(model.time_predict(rows, LONE_SLICE_SECONDS, "same").p50_ms)
            for label, server in servers.items():
                p50s[rows][label].append(run_wrk(wrk, core, server.url, script, 1, LONE_SLICE_SECONDS).p50_ms)
        print(rows, "rows, lone request p50s:", p50s[rows], flush=True)
    return p50s


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


def lone_table(p50s: dict[int, dict[str, list[float]]]) -> str:
    def over_model(label: str, rows: int) -> float:
        return statistics.median(b - a for a, b in zip(p50s[rows][IN_PROCESS], p50s[rows][label]))

    lines = [
        f"A lone request: {LONE_ROUNDS} rounds of {LONE_SLICE_SECONDS}-s slices, 1 connection; medians over rounds.",
        "",
        "| rows | in-process predict p50 ms | same frame p50 ms | HTTP floor p50 ms | ours p50 ms | mlflow p50 ms "
        "| ours - in-process ms | mlflow - in-process ms |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for rows, by_label in p50s.items():
        medians = {label: statistics.median(values) for label, values in by_label.items()}
        lines.append(f"| {rows} | {medians[IN_PROCESS]:.2f} | {medians[IN_PROCESS_SAME_FRAME]:.2f} "
                     f"| {medians[FLOOR]:.2f} | {medians[OURS]:.2f} "
                     f"| {medians[MLFLOW]:.2f} | {over_model(OURS, rows):+.2f} | {over_model(MLFLOW, rows):+.2f} |")
    lines += ["", "In-process predict: `pyfunc.predict` on a new DataFrame each call (built before the timer starts),",
              "as each request brings new rows; 'same frame' passes one DataFrame to every call, so pandas and",
              "scikit-learn reuse what they cached on it. The differences are against the first, as medians of the",
              "differences within each round. The HTTP floor is what a request costs here before any server's own",
              "work: loopback TCP, waking each core, HTTP parsing."]
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
        lone = time_lone_requests(wrk, load_core, servers, model, scripts)
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
