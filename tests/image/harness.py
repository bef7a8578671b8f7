"""The image tier's own Docker engine and registry (tools/image), driven from Python with bounded waits."""
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests.processes import wait_until_ok

REPO = Path(__file__).resolve().parents[2]
TOOLS = REPO / "tools" / "image"
MIB = 1024 * 1024
COMPILERS = ("gcc", "cc", "c++", "g++", "clang", "make")
REPORT: dict[str, str] = {}  # what the session measured, printed at its end


def run_tool(script: str, *args: str, timeout_s: float) -> str:
    completed = subprocess.run(["bash", str(TOOLS / script), *args], capture_output=True, text=True, timeout=timeout_s)
    if completed.returncode != 0:
        raise AssertionError(f"{script} {' '.join(args)} exited {completed.returncode}\n"
                             f"--- stdout ---\n{completed.stdout}\n--- stderr ---\n{completed.stderr}")
    return completed.stdout


def size_budget_mib() -> int:
    """The first number in tools/image/size-budget; the lines around it say why."""
    lines = (TOOLS / "size-budget").read_text().splitlines()
    return int(next(line for line in lines if line.strip() and not line.startswith("#")))


@dataclass(frozen=True)
class Engine:
    """What engine.sh start set up: the client, its socket and config, the registry address."""

    docker: str
    environment: dict[str, str]
    registry: str
    base_tag: str

    @classmethod
    def from_tool(cls) -> "Engine":
        values = dict(line.split("=", 1) for line in run_tool("engine.sh", "env", timeout_s=30).splitlines())
        environment = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "DOCKER_HOST": values["DOCKER_HOST"],
                       "DOCKER_CONFIG": values["DOCKER_CONFIG"], "DOCKER_BUILDKIT": "1"}
        return cls(values["DOCKER"], environment, values["REGISTRY"], values["BASE_TAG"])

    def docker_run(self, *args: str, timeout_s: float = 120, check: bool = True) -> subprocess.CompletedProcess:
        completed = subprocess.run([self.docker, *args], env=self.environment, capture_output=True, text=True,
                                   timeout=timeout_s)
        if check and completed.returncode != 0:
            raise AssertionError(f"docker {' '.join(args)} exited {completed.returncode}\n"
                                 f"--- stdout ---\n{completed.stdout[-20000:]}\n--- stderr ---\n{completed.stderr[-20000:]}")
        return completed

    def output(self, *args: str, timeout_s: float = 120) -> str:
        return self.docker_run(*args, timeout_s=timeout_s).stdout.strip()

    def configured_uid(self, ref: str) -> str:
        return self.output("image", "inspect", "--format", "{{.Config.User}}", ref).split(":")[0]

    def compilers_then(self, ref: str, commands: str) -> list[str]:
        """In a container of ref with no network: the path of every compiler found (none should be), then the
        output lines of the shell commands given."""
        probe = " ".join(f"command -v {tool};" for tool in COMPILERS)
        return self.output("run", "--rm", "--network", "none", "--entrypoint", "/bin/sh", ref,
                           "-c", f"{probe} {commands}").splitlines()


@dataclass(frozen=True)
class PushedImage:
    ref: str  # repository@sha256:digest, as pulled back from the registry
    image_id: str
    size_bytes: int


@dataclass
class Container:
    """One container of an image under test on the host network, removed by its id."""

    engine: Engine
    container_id: str
    port: int
    ready_path: str = "/ready"  # answers 200 once the server takes requests
    logs_at_removal: str | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def running(self) -> bool:
        return self.engine.output("inspect", "--format", "{{.State.Running}}", self.container_id) == "true"

    def wait_ready(self, timeout_s: float) -> "Container":
        wait_until_ok(f"{self.url}{self.ready_path}", alive=self.running, timeout_s=timeout_s, logs=self.logs,
                      what="container")
        return self

    def logs(self) -> str:
        if self.logs_at_removal is not None:
            return self.logs_at_removal
        completed = self.engine.docker_run("logs", "--tail", "300", self.container_id, check=False)
        return f"--- container stdout ---\n{completed.stdout}\n--- container stderr ---\n{completed.stderr}"

    def remove(self) -> None:
        """Keeps the last logs: a failure report is written after the session's fixtures are gone."""
        self.logs_at_removal = self.logs()
        self.engine.docker_run("rm", "--force", self.container_id, check=False, timeout_s=60)
