"""The model's own in-process predict, timed on command, so bench/run.py can interleave it with the servers.

bench/run.py starts this pinned to the servers' core (`taskset`), so the model's numeric thread pools see the
same single core as the servers' do.  Only `pyfunc.predict` is timed, one call after another, in one of two ways:
- `new`: each call gets a DataFrame built just before the timer starts, as each request brings new rows.  This
  is the model's own cost per request, what the servers are held to.
- `same`: every call gets the same DataFrame object.  pandas and scikit-learn then reuse what they cached on it
  in earlier calls, which no new request can; shown for comparison.
After loading it prints `ready`; then each line `ROWS SECONDS new|same` on stdin is answered with one JSON
line: calls per second and the p50 and p99 in ms.

    python bench/in_process.py --model-uri URI --body BODY.json [--body ...]
"""

import argparse
import json
import statistics
import sys
import time

WARM_UP_SECONDS = 0.5


def load_splits(paths: list[str]) -> dict[int, dict]:
    splits = {}
    for path in paths:
        with open(path, "rb") as body:
            split = json.loads(body.read())["dataframe_split"]
        splits[len(split["data"])] = split
    return splits


def time_predict(model, split: dict, seconds: float, mode: str) -> dict[str, float]:
    import pandas as pd

    def new_frame():
        return pd.DataFrame(split["data"], columns=split["columns"])

    same = new_frame()
    samples_ms = []
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        frame = new_frame() if mode == "new" else same
        started = time.perf_counter()
        model.predict(frame)
        samples_ms.append((time.perf_counter() - started) * 1e3)
    percentiles = statistics.quantiles(samples_ms, n=100, method="inclusive")
    return {"calls_per_s": len(samples_ms) / seconds, "p50_ms": statistics.median(samples_ms),
            "p99_ms": percentiles[98]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model-uri", required=True)
    parser.add_argument("--body", action="append", required=True, help="a JSON file with a dataframe_split body")
    args = parser.parse_args()
    import mlflow.pyfunc

    model = mlflow.pyfunc.load_model(args.model_uri)
    splits = load_splits(args.body)
    for split in splits.values():
        time_predict(model, split, WARM_UP_SECONDS, "new")
    print("ready", flush=True)
    for command in sys.stdin:
        rows, seconds, mode = command.split()
        print(json.dumps(time_predict(model, splits[int(rows)], float(seconds), mode)), flush=True)


if __name__ == "__main__":
    main()
