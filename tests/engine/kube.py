"""The engine tier's handle on a control plane: kubectl against it, and where cluster.sh is."""
import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
ENGINE_TOOLS = REPO / "tools" / "engine"
CLUSTER_SCRIPT = ENGINE_TOOLS / "cluster.sh"


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
