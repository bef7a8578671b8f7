"""The model's own in-process predict, one call per command, so bench/run.py can pair it with each request.

bench/run.py starts this pinned to the servers' core (`taskset`), so the model's numeric thread pools see the
same single core as the servers' do.  Each line `ROWS` on stdin gets one `pyfunc.predict` call on a DataFrame
built just before the timer starts, as each request brings new rows, and is answered with the call's time in
ms.  A line `ROWS COPIES` times instead what a server batching COPIES such requests needs at least: one call of
the model's own predict, without MLflow's per-call schema enforcement (as the server's fast path calls it), on
the rows repeated COPIES times.  It prints `ready` once the model is loaded and warm.

    python bench/in_process.py --model-uri URI --body BODY.json [--body ...]
"""

import argparse
import json
import sys
import time

WARM_UP_CALLS = 50


def load_splits(paths: list[str]) -> dict[int, dict]:
    splits = {}
    for path in paths:
        with open(path, "rb") as body:
            split = json.loads(body.read())["dataframe_split"]
        splits[len(split["data"])] = split
    return splits


def time_one_predict(model, split: dict) -> float:
    import pandas as pd

    frame = pd.DataFrame(split["data"], columns=split["columns"])
    started = time.perf_counter()
    model.predict(frame)
    return (time.perf_counter() - started) * 1e3


def time_one_batch(model, split: dict, copies: int) -> float:
    import pandas as pd

    frame = pd.DataFrame(split["data"] * copies, columns=split["columns"])
    started = time.perf_counter()
    model._predict_fn(frame)
    return (time.perf_counter() - started) * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model-uri", required=True)
    parser.add_argument("--body", action="append", required=True, help="a JSON file with a dataframe_split body")
    args = parser.parse_args()
    import mlflow.pyfunc

    model = mlflow.pyfunc.load_model(args.model_uri)
    splits = load_splits(args.body)
    for split in splits.values():
        for _ in range(WARM_UP_CALLS):
            time_one_predict(model, split)
    print("ready", flush=True)
    for command in sys.stdin:
        rows, *copies = map(int, command.split())
        spent = time_one_batch(model, splits[rows], copies[0]) if copies else time_one_predict(model, splits[rows])
        print(f"{spent:.6f}", flush=True)


if __name__ == "__main__":
    main()
