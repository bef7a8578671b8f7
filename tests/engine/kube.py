"""The engine tier's handles on tools/engine: where the built binaries are, and kubectl against a control plane."""
import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
ENGINE_TOOLS = REPO / "tools" / "engine"
CLUSTER_SCRIPT = ENGINE_TOOLS / "cluster.sh"


def engine_paths() -> dict[str, str]:
    """The variables paths.sh defines (binary directories, pinned versions), as the scripts see them."""
    names = "ENGINE_CACHE KUBERNETES_DIR ETCD_DIR KWOK_DIR PULUMI_DIR KUBERNETES_VERSION PULUMI_CLI_VERSION"
    script = f"source {ENGINE_TOOLS / 'paths.sh'}; for n in {names}; do echo \"$n=${{!n}}\"; done"
    out = subprocess.run(["bash", "-c", script], capture_output=True, text=True, check=True).stdout
    return dict(line.split("=", 1) for line in out.splitlines())


@dataclass(frozen=True)
class Kube:
    kubectl: Path
    kubeconfig: Path

    def run(self, *args: str, stdin: str | None = None, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess:
        command = [str(self.kubectl), "--kubeconfig", str(self.kubeconfig), *args]
        result = subprocess.run(command, input=stdin, capture_output=True, text=True, timeout=timeout)
        if check and result.returncode != 0:
            raise AssertionError(f"{' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
        return result

    def get(self, kind: str, name: str, namespace: str | None = None) -> dict:
        scope = ["-n", namespace] if namespace else []
        return json.loads(self.run("get", kind, name, *scope, "-o", "json").stdout)

    def items(self, kind: str, namespace: str, selector: str | None = None) -> list[dict]:
        matching = ["-l", selector] if selector else []
        return json.loads(self.run("get", kind, "-n", namespace, *matching, "-o", "json").stdout)["items"]

    def apply(self, manifest: str) -> None:
        self.run("apply", "--server-side", "--field-manager", "mlstack-engine-test", "-f", "-", stdin=manifest)

    def wait(self, condition: str, target: str, namespace: str | None = None, seconds: int = 90) -> None:
        scope = ["-n", namespace] if namespace else []
        self.run("wait", f"--for={condition}", target, *scope, f"--timeout={seconds}s", timeout=seconds + 15)
