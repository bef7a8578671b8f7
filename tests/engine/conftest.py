"""One throwaway control plane (tools/engine/cluster.sh) for the whole engine tier, stopped by PID afterwards."""
import os
import subprocess
from pathlib import Path

import pytest

from tools.engine.inline_stack import engine_paths

from .kube import CLUSTER_SCRIPT, Kube

START_SECONDS = 300


@pytest.fixture(scope="session")
def engine() -> dict[str, str]:
    paths = engine_paths()
    for component in ("KUBERNETES_DIR", "ETCD_DIR", "KWOK_DIR"):
        stamp = Path(paths[component]) / ".complete"
        assert stamp.exists(), f"{paths[component]} is not built: run `bash tools/engine/build.sh` first"
    return paths


@pytest.fixture(scope="session")
def kube(engine, tmp_path_factory, request) -> Kube:
    state = tmp_path_factory.mktemp("control-plane")
    env = {**os.environ, "MLSTACK_CLUSTER_DIR": str(state)}

    def cluster(verb: str) -> subprocess.CompletedProcess:
        return subprocess.run(["bash", str(CLUSTER_SCRIPT), verb], env=env, capture_output=True, text=True,
                              timeout=START_SECONDS)

    started = cluster("start")
    try:
        assert started.returncode == 0, f"cluster.sh start failed:\n{started.stderr}"
        yield Kube(Path(engine["KUBERNETES_DIR"]) / "bin" / "kubectl", state / "kubeconfig")
    finally:
        if request.session.testsfailed:
            print(cluster("logs").stderr)
        stopped = cluster("stop")
        print(stopped.stderr)
