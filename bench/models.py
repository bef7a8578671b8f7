"""Per kind of model (examples/model_kinds.py), our throughput against `mlflow models serve`'s, in one run.

For each kind in turn: both servers start with one worker pinned to the first usable core (ours with the same
flags as the parity tests give it), must answer the same bodies with the same predictions, and then wrk, pinned
to the second core, drives them cell by cell in turn (mlflow, then ours) with 1-row requests at 64 connections
and 100-row requests at 16.  Prints a Markdown table: req/s of each and the ratio ours/mlflow.

    .venv/bin/python bench/models.py [--seconds 5] [--kinds lightgbm,unsigned] [--output FILE]
"""

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

from harness import POST_SCRIPT, REPO, LoadResult, Server, cores, ensure_wrk, post, run_wrk

sys.path.append(str(REPO))
from examples.model_kinds import KINDS, register

OURS, MLFLOW = "ours", "mlflow"
SCENARIOS = [(1, 64), (100, 16)]  # (rows per request, connections)
# Custom pyfuncs are batched only when told; these two answer row by row (see tests/serving/test_serving_model_kinds).
OUR_FLAGS = {"frame_pyfunc": ["--batching"], "params_pyfunc": ["--batching"]}


def server_commands(kind: str, model_uri: str) -> dict[str, list[str]]:
    return {
        MLFLOW: [sys.executable, "-m", "mlflow", "models", "serve", "-m", model_uri, "-h", "127.0.0.1", "-p",
                 "{port}", "-w", "1", "--env-manager", "local"],
        OURS: [sys.executable, "-m", "serving", "--model-uri", model_uri, "--host", "127.0.0.1", "--port",
               "{port}", "--workers", "1", "--no-access-log", *OUR_FLAGS.get(kind, [])],
    }


def write_bodies(kind: str, work: Path) -> dict[int, Path]:
    """Per row count, a dataframe_split body file and the wrk script that posts it."""
    scripts = {}
    for rows, _ in SCENARIOS:
        frame = KINDS[kind].features(rows, seed=rows)
        body = work / f"{kind}-{rows}.json"
        body.write_text(json.dumps({"dataframe_split": json.loads(frame.to_json(orient="split", index=False))}))
        scripts[rows] = work / f"{kind}-{rows}.lua"
        scripts[rows].write_text(POST_SCRIPT.format(body=body))
    return scripts


def check_same_predictions(servers: dict[str, Server], scripts: dict[int, Path]) -> None:
    for rows, script in scripts.items():
        body = script.with_suffix(".json").read_bytes()
        answers = {label: post(server.url, body) for label, server in servers.items()}
        if any(answer.status_code != 200 for answer in answers.values()) or \
                answers[OURS].json() != answers[MLFLOW].json():
            raise SystemExit(f"different answers for {rows} rows: "
                             + "; ".join(f"{label} {a.status_code} {a.text[:200]}" for label, a in answers.items()))


def bench_kind(kind: str, model_uri: str, env: dict[str, str], work: Path, wrk: str, seconds: int
               ) -> dict[tuple[int, int], dict[str, LoadResult]]:
    server_core, load_core = cores()
    scripts = write_bodies(kind, work)
    servers: dict[str, Server] = {}
    try:
        for label, command in server_commands(kind, model_uri).items():
            servers[label] = Server(f"{kind} {label}", command, env, server_core, work)
            servers[label].wait_first_prediction(scripts[1].with_suffix(".json").read_bytes())
        check_same_predictions(servers, scripts)
        for server in servers.values():
            run_wrk(wrk, load_core, server.url, scripts[1], 16, 2)  # warm-up
        results: dict[tuple[int, int], dict[str, LoadResult]] = {}
        for rows, connections in SCENARIOS:
            for label, server in servers.items():
                results.setdefault((rows, connections), {})[label] = run_wrk(
                    wrk, load_core, server.url, scripts[rows], connections, seconds)
                server.wait_idle()
            print(kind, rows, connections, results[(rows, connections)], flush=True)
        return results
    finally:
        for server in servers.values():
            server.stop()


def table(results: dict[str, dict[tuple[int, int], dict[str, LoadResult]]], seconds: int) -> str:
    lines = ["| model | rows | conns | mlflow req/s | ours req/s | req/s ours/mlflow | non-2xx (mlflow/ours) |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for kind, cells in results.items():
        for (rows, connections), cell in cells.items():
            theirs, ours = cell[MLFLOW], cell[OURS]
            lines.append(f"| {kind} | {rows} | {connections} | {theirs.requests_per_s:.0f} | {ours.requests_per_s:.0f} "
                         f"| {ours.requests_per_s / theirs.requests_per_s:.1f}x | {theirs.errors}/{ours.errors} |")
    load = os.getloadavg()[0]
    lines += ["", f"One worker each on one core, wrk (1 thread) on the other, {seconds} s per cell, mlflow then ours; "
                  f"load average at the end {load:.2f}."]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--kinds", default=",".join(KINDS), help=f"comma-separated, of {', '.join(KINDS)}")
    parser.add_argument("--output", type=Path, help="also write the table (Markdown) here")
    args = parser.parse_args()
    kinds = args.kinds.split(",")
    if unknown := set(kinds) - set(KINDS):
        raise SystemExit(f"unknown kinds {sorted(unknown)}; known: {', '.join(KINDS)}")
    wrk = ensure_wrk()
    work = Path(tempfile.mkdtemp(prefix="mlstack-bench-models-"))
    tracking_uri = f"sqlite:///{work}/mlflow.db"
    # `mlflow models serve` runs `uvicorn` from PATH: the venv's bin must come first.
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    env = {**os.environ, "MLFLOW_TRACKING_URI": tracking_uri, "PYTHONPATH": str(REPO), "PATH": path}
    results = {kind: bench_kind(kind, register(KINDS[kind], tracking_uri, work), env, work, wrk, args.seconds)
               for kind in kinds}
    report = table(results, args.seconds)
    print(report)
    if args.output:
        args.output.write_text(report + "\n")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
