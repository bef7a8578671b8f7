"""Side-by-side benchmark: `python -m serving` against `mlflow models serve` and MLServer, on the same model.

Every server gets one worker pinned to the first usable core; wrk runs pinned to the second and drives them,
cell by cell in turn, with the same rows at 1, 16 and 64 connections, with 1-row and 100-row requests:
- `mlflow models serve` on /invocations (MLflow's scoring protocol);
- MLServer with mlserver-mlflow (bench/mlserver_peer.py) on MLflow's /invocations, and on its Open Inference V2
  route with adaptive batching;
- ours on /invocations and on V2.
Before the load, every endpoint's predictions are checked equal to the model's own in-process predict.
Then ours runs with 1 and with 2 workers (2 cores; wrk shares the second) at 64 and 128 connections, and with 1 worker
at half of each (what each of 2 workers sees), in turn.
For the cells the targets name, the bound that the HTTP floor and the model's own batched predict allow together
is computed from a wrk run against the floor and the model's time per call, timed in process and as ours' own
metrics counted it during the cell (see bound_table).
Cold start is timed from spawn to each server's readiness route answering 200, and to its first prediction.

Then a lone request (1 connection) is timed apart, because its target is a fraction of a millisecond on a
machine whose speed drifts by more than that from one minute to the next: in thousands of rounds, each round
times one call of the model's own in-process predict (bench/in_process.py, on the servers' core) and one request
to the HTTP floor (bench/http_floor.py: the same uvicorn stack answering at once), to ours and to mlflow, in a
random order.  The differences are taken within each round, a few milliseconds apart, so a drift of the machine
cancels out.  Prints Markdown tables; ratios are computed from this run's cells only.

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

import mlserver_peer
from harness import POST_SCRIPT, REPO, InProcessModel, KeepAliveClient, LoadResult, Server, cores, ensure_wrk, post, run_wrk
from model_time import ModelCalls, model_calls

sys.path.insert(0, str(REPO / "examples"))
from train_and_register import make_churn_frame, train_and_register

OURS, MLFLOW, MLSERVER, FLOOR = "ours", "mlflow", "MLServer", "HTTP floor"
OURS_2_WORKERS = "ours, 2 workers"
# One worker at half the connections: what each of two workers sees, so it shows whether a shortfall of 2 workers
# is the cores' or the batches' (each worker's batches halve while its model's cost per call does not).
OURS_HALF_LOAD = "ours, 1 worker, half the connections"
IN_PROCESS = "in-process"
SCORING, V2 = "scoring", "v2"
SCENARIOS = [(1, 1), (1, 16), (1, 64), (100, 1), (100, 16), (100, 64)]  # (rows per request, connections)
SCALING_CONNECTIONS, SCALING_PAIRS = (64, 128), 2
TARGET_CELLS = [(1, 64), (100, 16)]  # (rows, connections) of round two's throughput targets
BATCH_PREDICT_CALLS = 200
READY_PATHS = {MLFLOW: "/ping", MLSERVER: mlserver_peer.READY_PATH, OURS: "/ready", OURS_2_WORKERS: "/ready"}
LONE_ROUNDS = 2000
LONE_WARM_UP_ROUNDS = 50


@dataclass(frozen=True)
class Endpoint:
    label: str
    server: str
    path: str
    protocol: str


ENDPOINTS = [
    Endpoint("mlflow /invocations", MLFLOW, "/invocations", SCORING),
    Endpoint("MLServer /invocations", MLSERVER, "/invocations", SCORING),
    Endpoint("MLServer V2 batched", MLSERVER, mlserver_peer.INFER_PATH, V2),
    Endpoint("ours /invocations", OURS, "/invocations", SCORING),
    Endpoint("ours V2", OURS, mlserver_peer.INFER_PATH, V2),
]
MLFLOW_ENDPOINT, MLSERVER_ENDPOINTS, OURS_ENDPOINTS = ENDPOINTS[0], ENDPOINTS[1:3], ENDPOINTS[3:]


@dataclass(frozen=True)
class Bound:
    """What the HTTP floor and the model allow together, on one core, in a cell where every request shares a
    model call with the other connections' requests."""

    floor: LoadResult
    batch_predict_ms: float  # the model's own predict on the whole batch, in process, median of BATCH_PREDICT_CALLS
    in_ours: ModelCalls  # the model calls of ours' best endpoint in the cell, from its /metrics

    def requests_per_s(self, call_ms: float, connections: int) -> float:
        return 1 / (1 / self.floor.requests_per_s + call_ms / 1000 / connections)


@dataclass
class LoneTimes:
    """Per contender, its time in each round (ms), and how many of its answers were not a 2xx."""

    ms: dict[str, list[float]]
    non_2xx: dict[str, int]


@dataclass
class ColdStart:
    ready_s: float
    first_prediction_s: float


V2_DATATYPES = {"int64": "INT64", "float64": "FP64", "object": "BYTES", "str": "BYTES"}


def request_bodies(rows: int) -> dict[str, bytes]:
    """The same rows as MLflow's dataframe_split and as V2 tensors, one per column.  The V2 body carries
    MLServer's content types (a frame, a string column), which ours ignores as extra fields."""
    frame, _ = make_churn_frame(rows, seed=rows)
    split = json.loads(frame.to_json(orient="split", index=False))
    inputs = []
    for index, name in enumerate(split["columns"]):
        datatype = V2_DATATYPES[str(frame[name].dtype)]
        tensor = {"name": name, "shape": [rows], "datatype": datatype, "data": [row[index] for row in split["data"]]}
        if datatype == "BYTES":
            tensor["parameters"] = {"content_type": "str"}
        inputs.append(tensor)
    v2 = {"parameters": {"content_type": "pd"}, "inputs": inputs}
    return {SCORING: json.dumps({"dataframe_split": split}).encode(), V2: json.dumps(v2).encode()}


def predictions_in(answer: dict, protocol: str) -> list:
    return answer["predictions"] if protocol == SCORING else answer["outputs"][0]["data"]


def check_same_predictions(servers: dict[str, Server], bodies: dict[tuple[str, int], bytes], model_uri: str) -> None:
    import mlflow.pyfunc
    import pandas as pd

    model = mlflow.pyfunc.load_model(model_uri)
    for rows in {rows for _, rows in bodies}:
        split = json.loads(bodies[SCORING, rows])["dataframe_split"]
        expected = model.predict(pd.DataFrame(split["data"], columns=split["columns"])).tolist()
        for endpoint in ENDPOINTS:
            answer = post(servers[endpoint.server].url(endpoint.path), bodies[endpoint.protocol, rows])
            if answer.status_code != 200 or predictions_in(answer.json(), endpoint.protocol) != expected:
                raise SystemExit(f"{endpoint.label} answered {answer.status_code} {answer.text[:300]} for {rows} rows")


def server_commands(model_uri: str, workers: int = 1) -> dict[str, list[str]]:
    return {
        MLFLOW: [sys.executable, "-m", "mlflow", "models", "serve", "-m", model_uri, "-h", "127.0.0.1", "-p",
                 "{port}", "-w", "1", "--env-manager", "local"],
        OURS: [sys.executable, "-m", "serving", "--model-uri", model_uri, "--host", "127.0.0.1", "--port",
               "{port}", "--workers", str(workers), "--no-access-log"],
    }


FLOOR_COMMAND = [sys.executable, "-m", "uvicorn", "bench.http_floor:app", "--host", "127.0.0.1", "--port", "{port}",
                 "--loop", "uvloop", "--http", "httptools", "--lifespan", "off", "--no-access-log"]


def run_cells(wrk: str, core: int, servers: dict[str, Server], scripts: dict[tuple[str, int], Path], seconds: int
              ) -> tuple[dict[str, dict[tuple[int, int], LoadResult]], dict[str, dict[tuple[int, int], ModelCalls]]]:
    """Cell by cell, every endpoint in turn, so a change in the machine's load hits all alike; each cell starts
    once the last one's server has finished what it had accepted.  In the target cells, ours' model calls too."""
    results: dict[str, dict[tuple[int, int], LoadResult]] = {endpoint.label: {} for endpoint in ENDPOINTS}
    calls: dict[str, dict[tuple[int, int], ModelCalls]] = {endpoint.label: {} for endpoint in OURS_ENDPOINTS}
    for endpoint in ENDPOINTS:  # warm-up
        run_wrk(wrk, core, servers[endpoint.server].url(endpoint.path), scripts[endpoint.protocol, 1], 16, 3)
    for rows, connections in SCENARIOS:
        for endpoint in ENDPOINTS:
            server = servers[endpoint.server]
            counted = endpoint in OURS_ENDPOINTS and (rows, connections) in TARGET_CELLS
            before = model_calls(server.url("/metrics")) if counted else None
            cell = run_wrk(wrk, core, server.url(endpoint.path), scripts[endpoint.protocol, rows], connections, seconds)
            results[endpoint.label][rows, connections] = cell
            server.wait_idle()
            if before is not None:
                calls[endpoint.label][rows, connections] = model_calls(server.url("/metrics")) - before
            print(endpoint.label, rows, connections, cell, flush=True)
    return results, calls


def run_scaling(wrk: str, core: int, one: Server, two: Server, script: Path,
                seconds: int) -> dict[int, dict[str, list[LoadResult]]]:
    """1-row requests to ours with 1 worker, with 2, and with 1 at half the connections, in turn, SCALING_PAIRS
    times, at each connection count."""
    cells: dict[int, dict[str, list[LoadResult]]] = {}
    run_wrk(wrk, core, two.url(), script, 16, 3)  # warm-up
    for connections in SCALING_CONNECTIONS:
        contenders = ((OURS, one, connections), (OURS_2_WORKERS, two, connections),
                      (OURS_HALF_LOAD, one, connections // 2))
        cells[connections] = {label: [] for label, _, _ in contenders}
        for _ in range(SCALING_PAIRS):
            for label, server, load in contenders:
                cells[connections][label].append(run_wrk(wrk, core, server.url(), script, load, seconds))
                server.wait_idle()
                print(label, load, cells[connections][label][-1], flush=True)
    return cells


def measure_bounds(wrk: str, core: int, floor: Server, model: InProcessModel, scripts: dict[tuple[str, int], Path],
                   seconds: int, in_ours: dict[tuple[int, int], ModelCalls]) -> dict[tuple[int, int], Bound]:
    """For each target cell: the HTTP floor's req/s under the same load, and one model call on the whole batch."""
    bounds = {}
    for rows, connections in TARGET_CELLS:
        floor_cell = run_wrk(wrk, core, floor.url(), scripts[SCORING, rows], connections, seconds)
        floor.wait_idle()
        call_ms = statistics.median(model.batch_predict_ms(rows, connections) for _ in range(BATCH_PREDICT_CALLS))
        bounds[rows, connections] = Bound(floor_cell, call_ms, in_ours[rows, connections])
        print("bound", rows, connections, floor_cell, call_ms, flush=True)
    return bounds


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


def fastest(results: dict[str, dict[tuple[int, int], LoadResult]], endpoints: list[Endpoint],
            cell: tuple[int, int]) -> Endpoint:
    return max(endpoints, key=lambda endpoint: results[endpoint.label][cell].requests_per_s)


def best(results: dict[str, dict[tuple[int, int], LoadResult]], endpoints: list[Endpoint],
         cell: tuple[int, int]) -> float:
    """The req/s of the fastest of these endpoints in the cell."""
    return results[fastest(results, endpoints, cell).label][cell].requests_per_s


def load_tables(results: dict[str, dict[tuple[int, int], LoadResult]], seconds: int) -> str:
    labels = [endpoint.label for endpoint in ENDPOINTS]
    lines = [
        "Requests per second (each cell one wrk run; the ratios divide ours by the peer in the same run):",
        "",
        "| rows | conns | " + " | ".join(f"{label} req/s" for label in labels)
        + " | ours /invocations / mlflow | ours best / MLServer best | ours V2 / MLServer V2 | non-2xx |",
        "|---:|---:|" + "---:|" * (len(labels) + 4),
    ]
    for cell in SCENARIOS:
        rates = " | ".join(f"{results[label][cell].requests_per_s:.0f}" for label in labels)
        errors = "/".join(str(results[label][cell].errors) for label in labels)
        ours_scoring, ours_v2 = (results[endpoint.label][cell].requests_per_s for endpoint in OURS_ENDPOINTS)
        lines.append(f"| {cell[0]} | {cell[1]} | {rates} "
                     f"| {ours_scoring / results[MLFLOW_ENDPOINT.label][cell].requests_per_s:.1f}x "
                     f"| {best(results, OURS_ENDPOINTS, cell) / best(results, MLSERVER_ENDPOINTS, cell):.1f}x "
                     f"| {ours_v2 / results[MLSERVER_ENDPOINTS[1].label][cell].requests_per_s:.1f}x | {errors} |")
    lines += ["", "Latency, p50 / p99 ms:", "",
              "| rows | conns | " + " | ".join(labels) + " |", "|---:|---:|" + "---:|" * len(labels)]
    for cell in SCENARIOS:
        latencies = " | ".join(f"{results[label][cell].p50_ms:.2f} / {results[label][cell].p99_ms:.2f}"
                               for label in labels)
        lines.append(f"| {cell[0]} | {cell[1]} | {latencies} |")
    lines += ["", f"wrk: 1 thread pinned to the other core, {seconds} s per cell, timeout 10 s; non-2xx lists the "
              "endpoints in column order, socket errors included."]
    return "\n".join(lines)


def cold_start_table(cold: dict[str, ColdStart]) -> str:
    lines = ["| server | spawn to ready s | spawn to first prediction s |", "|---|---:|---:|"]
    lines += [f"| {label} ({READY_PATHS[label]}) | {times.ready_s:.2f} | {times.first_prediction_s:.2f} |"
              for label, times in cold.items()]
    lines += ["", f"Ours reached ready in {cold[OURS].ready_s / cold[MLFLOW].ready_s:.2f} of mlflow's time and "
              f"{cold[OURS].ready_s / cold[MLSERVER].ready_s:.2f} of MLServer's."]
    return "\n".join(lines)


def scaling_table(cells: dict[int, dict[str, list[LoadResult]]], seconds: int) -> str:
    lines = [f"| workers (cores) | conns | req/s, {SCALING_PAIRS} cells in turn | p99 ms | non-2xx |",
             "|---|---:|---:|---:|---:|"]
    ratios, per_worker = [], []
    for connections, by_label in cells.items():
        for label, results in by_label.items():
            load = connections // 2 if label == OURS_HALF_LOAD else connections
            lines.append(f"| {label} ({'0-1' if label == OURS_2_WORKERS else '0'}) | {load} "
                         f"| {' / '.join(f'{cell.requests_per_s:.0f}' for cell in results)} "
                         f"| {' / '.join(f'{cell.p99_ms:.2f}' for cell in results)} "
                         f"| {sum(cell.errors for cell in results)} |")
        total = {label: sum(cell.requests_per_s for cell in results) for label, results in by_label.items()}
        ratios.append(f"{total[OURS_2_WORKERS] / total[OURS]:.2f}x at {connections} connections")
        per_worker.append(f"{total[OURS_2_WORKERS] / (2 * total[OURS_HALF_LOAD]):.2f} at {connections}")
    lines += ["", f"2 workers / 1 worker: {', '.join(ratios)} (1-row requests, {seconds} s cells; wrk shares core 1 "
              "with the second worker).",
              f"2 workers / twice 1 worker at half the connections (what each worker sees): {', '.join(per_worker)}."]
    return "\n".join(lines)


def best_model_calls(results: dict[str, dict[tuple[int, int], LoadResult]],
                     calls: dict[str, dict[tuple[int, int], ModelCalls]]) -> dict[tuple[int, int], ModelCalls]:
    """Per target cell, the model calls of ours' endpoint with the most req/s in it."""
    return {cell: calls[fastest(results, OURS_ENDPOINTS, cell).label][cell] for cell in TARGET_CELLS}


def _both(values: list[float], form: str) -> str:
    return " / ".join(format(value, form) for value in values)


def bound_table(bounds: dict[tuple[int, int], Bound], results: dict[str, dict[tuple[int, int], LoadResult]]) -> str:
    lines = ["| rows | conns | HTTP floor req/s | model call ms: in process / in ours | requests per call in ours "
             "| bound req/s: model in process / in ours | ours best req/s | ours / bound | bound / mlflow "
             "| bound / MLServer best | ours per request, us: model + the rest (floor) |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for cell, bound in bounds.items():
        limits = [bound.requests_per_s(call_ms, cell[1]) for call_ms in (bound.batch_predict_ms,
                                                                          bound.in_ours.ms_per_call)]
        ours, mlflow, mlserver = (best(results, OURS_ENDPOINTS, cell),
                                  results[MLFLOW_ENDPOINT.label][cell].requests_per_s,
                                  best(results, MLSERVER_ENDPOINTS, cell))
        rest_us = 1e6 / ours - bound.in_ours.us_per_request  # ours keeps its core busy in these cells
        lines.append(f"| {cell[0]} | {cell[1]} | {bound.floor.requests_per_s:.0f} "
                     f"| {bound.batch_predict_ms:.2f} / {bound.in_ours.ms_per_call:.2f} "
                     f"| {bound.in_ours.requests_per_call:.1f} | {_both(limits, '.0f')} | {ours:.0f} "
                     f"| {_both([ours / limit for limit in limits], '.2f')} "
                     f"| {_both([limit / mlflow for limit in limits], '.1f')}x "
                     f"| {_both([limit / mlserver for limit in limits], '.1f')}x "
                     f"| {bound.in_ours.us_per_request:.0f} + {rest_us:.0f} ({1e6 / bound.floor.requests_per_s:.0f}) |")
    lines += ["", "The bound estimates what any server could reach on one core with this model: each request costs at "
              "least the HTTP floor's time per request (wrk against bench/http_floor.py in the same cell), plus its "
              "share of one call of the model's own predict on the whole batch: 1 / (1 / floor + call / connections). "
              f"The call is timed twice: in process (rows x connections rows, median of {BATCH_PREDICT_CALLS} calls, "
              "one at a time) and in ours during its cell (the mean of its mlstack_model_call_duration_seconds, "
              "calls that ran between HTTP work, as in any server). The last column shares ours' core time per "
              "request (1 / req/s) between the model (its calls' time over the requests they answered) and the "
              "rest (HTTP, parsing, batching, answering), beside the floor's whole time per request. The floor and "
              "the in-process calls are measured minutes apart from the servers' cells, on a machine whose speed "
              "drifts by more than 10% in that time, so 'ours / bound' is only good to about that much."]
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


def write_bodies(work: Path) -> tuple[dict[tuple[str, int], bytes], dict[tuple[str, int], Path]]:
    bodies = {(protocol, rows): body for rows in (1, 100) for protocol, body in request_bodies(rows).items()}
    scripts = {}
    for (protocol, rows), body in bodies.items():
        (work / f"body-{protocol}-{rows}.json").write_bytes(body)
        scripts[protocol, rows] = work / f"post-{protocol}-{rows}.lua"
        scripts[protocol, rows].write_text(POST_SCRIPT.format(body=work / f"body-{protocol}-{rows}.json"))
    return bodies, scripts


def start_servers(model_uri: str, env: dict[str, str], core: str, work: Path,
                  first_body: bytes) -> tuple[dict[str, Server], dict[str, ColdStart]]:
    """One at a time, so each cold start has the core to itself."""
    from mlflow.artifacts import download_artifacts

    python = mlserver_peer.mlserver_python()
    model_path = download_artifacts(model_uri, dst_path=str(work / "mlserver-model"))
    port = mlserver_peer.write_settings(work / "mlserver", model_path)
    commands = {**server_commands(model_uri), MLSERVER: mlserver_peer.command(python, work / "mlserver")}
    servers, cold = {}, {}
    for label in (MLFLOW, MLSERVER, OURS):
        servers[label] = Server(label, commands[label], env, core, work, port if label == MLSERVER else None)
        ready = servers[label].wait_ready(READY_PATHS[label])
        cold[label] = ColdStart(ready, servers[label].wait_first_prediction(first_body))
    return servers, cold


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
    servers, model = {}, None
    try:
        servers, cold = start_servers(model_uri, env, str(server_core), work, bodies[SCORING, 1])
        check_same_predictions(servers, bodies, model_uri)
        results, calls = run_cells(wrk, load_core, servers, scripts, args.seconds)
        servers[OURS_2_WORKERS] = Server(OURS_2_WORKERS, server_commands(model_uri, workers=2)[OURS], env,
                                         f"{server_core},{load_core}", work)
        servers[OURS_2_WORKERS].wait_ready(READY_PATHS[OURS_2_WORKERS])
        scaling = run_scaling(wrk, load_core, servers[OURS], servers[OURS_2_WORKERS], scripts[SCORING, 1],
                              args.seconds)
        servers[FLOOR] = Server(FLOOR, FLOOR_COMMAND, env, str(server_core), work)
        servers[FLOOR].wait_first_prediction(bodies[SCORING, 1])
        model = InProcessModel(model_uri, [work / f"body-{SCORING}-{rows}.json" for rows in (1, 100)], server_core, env)
        bounds = measure_bounds(wrk, load_core, servers[FLOOR], model, scripts, args.seconds,
                                best_model_calls(results, calls))
        lone = time_lone_requests(load_core, {label: servers[label] for label in (OURS, MLFLOW, FLOOR)}, model,
                                  {rows: bodies[SCORING, rows] for rows in (1, 100)}, args.rounds)
    finally:
        for process in [*servers.values(), *([model] if model else [])]:
            process.stop()
    report = (f"Machine: {description}\n\n{load_tables(results, args.seconds)}\n\n"
              f"Cold start, each server started alone on the server core:\n\n{cold_start_table(cold)}\n\n"
              f"What the HTTP floor and the model allow together:\n\n{bound_table(bounds, results)}\n\n"
              f"Ours on 1 and 2 cores:\n\n{scaling_table(scaling, args.seconds)}\n\n{lone_table(lone)}\n")
    print(report)
    if args.output:
        args.output.write_text(report)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
