"""Starting and stopping the processes the tests run: a free port, one bounded readiness poll, one process-group
stop."""
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable

import requests

POLL_INTERVAL_S = 0.2


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now (the kernel's pick)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


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


def stop_group(process: subprocess.Popen, timeout_s: float = 30) -> int:
    """SIGTERM the process's whole group (servers fork workers), SIGKILL it if it outlives timeout_s; its exit code."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)
    return process.returncode
