"""The offline render: one file per Kubernetes object plus resources.json, every object valid against Kubernetes 1.31."""
import json
import subprocess
import sys

import pytest
import yaml

from infra.render import PROJECT_DIR

from .conftest import STACKS
from .schema import validate


@pytest.fixture(scope="module", params=STACKS)
def rendered_dir(request, tmp_path_factory):
    out = tmp_path_factory.mktemp(f"render-{request.param}")
    completed = subprocess.run([sys.executable, "-m", "infra.render", "--stack", request.param, "--out", str(out)],
                               cwd=PROJECT_DIR, capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stderr
    return request.param, out


def _object_files(out):
    return sorted(path for path in out.glob("*.yaml") if not path.name.startswith("helm-release-"))


def test_every_rendered_object_validates_strictly_against_the_kubernetes_or_crd_schema(rendered_dir):
    _stack, out = rendered_dir
    files = _object_files(out)
    assert len(files) >= 15
    for path in files:
        validate(yaml.safe_load(path.read_text()))


def test_inventory_lists_every_resource_with_type_name_parent_and_inputs(rendered_dir):
    stack, out = rendered_dir
    inventory = json.loads((out / "resources.json").read_text())
    assert inventory["stack"] == stack
    types = {r["type"] for r in inventory["resources"]}
    assert {"mlstack:serving:ModelService", "mlstack:tracking:TrackingServer", "kubernetes:apps/v1:Deployment"} <= types
    for resource in inventory["resources"]:
        assert resource["name"] and resource["parent"].startswith("urn:pulumi:") and "inputs" in resource
    kubernetes_objects = [r for r in inventory["resources"]
                          if r["type"].startswith("kubernetes:") and not r["type"].startswith("kubernetes:helm")]
    assert len(_object_files(out)) == len(kubernetes_objects)


def test_a_bad_config_value_stops_the_render_with_one_line(tmp_path):
    stack_file = PROJECT_DIR / "Pulumi.badcfg-test.yaml"
    stack_file.write_text("config:\n  mlstack:minReplicas: 0\n")
    try:
        completed = subprocess.run([sys.executable, "-m", "infra.render", "--stack", "badcfg-test", "--out", str(tmp_path)],
                                   cwd=PROJECT_DIR, capture_output=True, text=True, timeout=120)
    finally:
        stack_file.unlink()
    assert completed.returncode == 2
    assert completed.stderr.strip() == "mlstack:minReplicas = '0' is not allowed: an integer from 1 to 100"


def test_a_custom_resource_with_an_unknown_field_is_rejected(local_stack):
    monitor = next(o for o in local_stack.kubernetes_objects() if o["kind"] == "ServiceMonitor")
    validate(monitor)
    with pytest.raises(Exception, match=r"endpoints|Additional properties"):
        validate({**monitor, "spec": {**monitor["spec"], "endpointz": []}})


def test_renders_after_an_asyncio_run_left_the_thread_without_an_event_loop():
    """In a subprocess, as the test suite's order could otherwise decide it: asyncio.run() unsets the loop."""
    script = ("import asyncio\nasync def nothing(): pass\nasyncio.run(nothing())\n"
              "from infra.render import run_program, stack_config\n"
              "print(len(run_program('local', stack_config('local')).resources))\n")
    completed = subprocess.run([sys.executable, "-c", script], cwd=PROJECT_DIR, capture_output=True, text=True,
                               timeout=120)
    assert completed.returncode == 0, completed.stderr
    assert int(completed.stdout) > 0
