"""One bounded readiness poll for every process the tests start: server, Prometheus, container, MLflow."""
import time
from typing import Callable

import requests

POLL_INTERVAL_S = 0.2


def wait_until_ok(url: str, *, alive: Callable[[], bool], timeout_s: float, logs: Callable[[], str], what: str) -> None:
    """Returns once GET url answers 200; fails with the logs if the process dies or the time runs out."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not alive():
            raise AssertionError(f"{what} exited before it was ready\n{logs()}")
        try:
            if requests.get(url, timeout=5).status_code == 200:
                return
        except requests.RequestException:  # not listening yet, or too busy starting to answer in time
            pass
        time.sleep(POLL_INTERVAL_S)
    raise AssertionError(f"{what} not ready after {timeout_s}s\n{logs()}")
