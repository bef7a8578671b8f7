"""Real processes for the live monitoring test: the model server and Prometheus on 127.0.0.1, stopped by PID.

Also the cluster-level series that only a cluster's exporters would give Prometheus.
"""
import os
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import requests
import yaml

from tests.processes import free_port, stop_group, wait_until_ok

REPO = Path(__file__).resolve().parents[2]
READY_TIMEOUT_S = 120
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")



@dataclass
class LocalProcess:
    """A process in its own session (so its workers stop with it), output in a file, ready when a URL says 200."""

    name: str
    workdir: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        raise NotImplementedError

    def environment(self) -> dict[str, str]:
        return dict(os.environ)

    ready_path = "/"

    def start(self):
        # Open for the process's whole life: logs() reads it back when a test fails.
        self.log = open(self.workdir / f"{self.name}.log", "w+")  # noqa: SIM115
        self.process = subprocess.Popen(self.command(), cwd=REPO, env=self.environment(), stdout=self.log,
                                        stderr=subprocess.STDOUT, start_new_session=True)
        return self

    def wait_ready(self):
        wait_until_ok(self.url + self.ready_path, alive=lambda: self.process.poll() is None,
                      timeout_s=READY_TIMEOUT_S, logs=self.logs, what=self.name)
        return self

    def stop(self) -> None:
        if self.process is not None:
            stop_group(self.process)

    def logs(self) -> str:
        self.log.flush()
        self.log.seek(0)
        return f"--- {self.name} ---\n" + self.log.read()[-20000:]


@dataclass
class ModelServer(LocalProcess):
    """`python -m serving` with a model from a local tracking store."""

    tracking_uri: str = ""
    args: tuple[str, ...] = ()
    ready_path = "/ready"

    def command(self) -> list[str]:
        return [sys.executable, "-m", "serving", "--host", "127.0.0.1", "--port", str(self.port), *self.args]

    def environment(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "PROMETHEUS_"))}
        return {**env, "MLFLOW_TRACKING_URI": self.tracking_uri, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1"}


@dataclass
class Prometheus(LocalProcess):
    """Debian's Prometheus with our rule file, scraping every second so a test sees rates within seconds."""

    rule_file: Path | None = None
    scrape_configs: list[dict] = field(default_factory=list)
    ready_path = "/-/ready"

    def command(self) -> list[str]:
        config = self.workdir / "prometheus.yml"
        config.write_text(yaml.safe_dump({
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "rule_files": [str(self.rule_file)],
            "scrape_configs": self.scrape_configs,
        }))
        return ["prometheus", f"--config.file={config}", f"--storage.tsdb.path={self.workdir / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}"]

    def query(self, expr: str) -> list[dict]:
        body = requests.get(f"{self.url}/api/v1/query", params={"query": expr}, timeout=10).json()
        assert body["status"] == "success", f"{expr}: {body}"
        return body["data"]["result"]

    def rules(self) -> list[dict]:
        groups = requests.get(f"{self.url}/api/v1/rules", timeout=10).json()["data"]["groups"]
        return [rule for group in groups for rule in group["rules"]]


class ClusterSeries:
    """What kube-state-metrics and the kubelet's cAdvisor would say about the model server's pod and autoscaler.

    Neither runs on this machine, so this endpoint serves their series under their metric and label names, with
    CPU and memory read from the real server processes, for the dashboard's capacity panels to be evaluated.
    """

    def __init__(self, namespace: str, workload: str, pod: str, server_pid: int, max_replicas: int):
        self.labels = {"namespace": namespace, "pod": pod, "container": "server"}
        self.autoscaler = {"namespace": namespace, "horizontalpodautoscaler": workload}
        self.server_pid = server_pid
        self.max_replicas = max_replicas
        self.port = free_port()
        self._http = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler())

    def start(self) -> "ClusterSeries":
        threading.Thread(target=self._http.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self._http.shutdown()
        self._http.server_close()

    def exposition(self) -> str:
        cpu_seconds, memory_bytes = process_tree_usage(self.server_pid)
        lines = [
            _sample("kube_horizontalpodautoscaler_status_current_replicas", self.autoscaler, 1),
            _sample("kube_horizontalpodautoscaler_status_desired_replicas", self.autoscaler, 1),
            _sample("kube_horizontalpodautoscaler_spec_max_replicas", self.autoscaler, self.max_replicas),
            _sample("kube_pod_container_status_restarts_total", self.labels, 0),
            _sample("container_cpu_usage_seconds_total", self.labels, cpu_seconds),
            _sample("container_memory_working_set_bytes", self.labels, memory_bytes),
        ]
        return "\n".join(lines) + "\n"

    def _handler(self):
        series = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                body = series.exposition().encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass  # Prometheus scrapes every second: the test log is for failures

        return Handler


def _sample(name: str, labels: dict, value: float) -> str:
    body = ",".join(f'{key}="{val}"' for key, val in labels.items())
    return f"{name}{{{body}}} {value}"


def process_tree_usage(pid: int) -> tuple[float, int]:
    """CPU seconds and resident bytes of a process and its descendants (the server's workers), from /proc."""
    cpu, rss = 0.0, 0
    for member in [pid, *_descendants(pid)]:
        try:
            fields = Path(f"/proc/{member}/stat").read_text().rsplit(")", 1)[1].split()
            pages = int(Path(f"/proc/{member}/statm").read_text().split()[1])
        except (FileNotFoundError, ProcessLookupError):
            continue  # a worker that just exited
        cpu += (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime + stime
        rss += pages * PAGE_SIZE
    return cpu, rss


def _descendants(pid: int) -> list[int]:
    found = []
    for children in Path(f"/proc/{pid}/task").glob("*/children"):
        for child in map(int, children.read_text().split()):
            found += [child, *_descendants(child)]
    return found
