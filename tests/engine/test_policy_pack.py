"""The policy pack in the real engine: the Pulumi CLI built here loads policy/ and enforces it in a preview.

The CLI starts a Python pack through pulumi-language-python, which cannot be had here; it also starts a pack given
as an executable, and policy/run-pack.sh is that executable for this pack. The program is inline (as in
test_pulumi_engine.py) and declares component resources whose type tokens and inputs are those of the resources
the rules inspect, since no provider plugin can be had either; the engine hands a policy a component's inputs
the way it hands it a custom resource's.
"""
import subprocess
from pathlib import Path

import pulumi
import pytest
from pulumi import automation as auto

from infra.render import PROJECT_DIR

pytestmark = pytest.mark.engine

DIGEST = "registry.example/app@sha256:" + "ab" * 32


def _deployment(image: str) -> dict:
    container = {"name": "server", "image": image, "securityContext": {"runAsNonRoot": True},
                 "resources": {"requests": {"cpu": "250m", "memory": "256Mi"}, "limits": {"cpu": "1", "memory": "1Gi"}}}
    return {"metadata": {"name": "web", "namespace": "apps"}, "spec": {"template": {"spec": {"containers": [container]}}}}


def program() -> None:
    variant = pulumi.Config().require("variant")
    image = "nginx:latest" if variant == "tagged-image" else DIGEST
    pulumi.ComponentResource("kubernetes:apps/v1:Deployment", "web", _deployment(image))
    if variant == "large-nodes":
        pulumi.ComponentResource("gcp:container/nodePool:NodePool", "general", {
            "nodeConfig": {"machineType": "n2-standard-32", "workloadMetadataConfig": {"mode": "GKE_METADATA"}},
            "autoscaling": {"totalMaxNodeCount": 3}})


@pytest.fixture(scope="module")
def stack(engine, tmp_path_factory) -> auto.Stack:
    assert (Path(engine["PULUMI_DIR"]) / ".complete").exists(), "run `bash tools/engine/build.sh` first"
    policy_python = subprocess.run(
        ["bash", "tools/cached-venv.sh", "policy-venv", "policy/requirements-test.txt", "policy/constraints.txt"],
        cwd=PROJECT_DIR, capture_output=True, text=True, check=True, timeout=900).stdout.strip()
    home = tmp_path_factory.mktemp("pulumi-home")
    env = {
        "PULUMI_CONFIG_PASSPHRASE": "policy-test-passphrase",
        "PULUMI_SKIP_UPDATE_CHECK": "true",
        "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
        "PULUMI_HOME": str(home),
        "PATH": "/usr/bin:/bin",
        "MLSTACK_POLICY_PYTHON": policy_python,
    }
    settings = auto.ProjectSettings(name="mlstack-policy-probe", runtime="python",
                                    backend=auto.ProjectBackend(f"file://{tmp_path_factory.mktemp('state')}"))
    options = auto.LocalWorkspaceOptions(
        work_dir=str(tmp_path_factory.mktemp("work")), pulumi_home=str(home), env_vars=env, project_settings=settings,
        pulumi_command=auto.PulumiCommand(root=engine["PULUMI_DIR"]))
    return auto.create_or_select_stack("policy", project_name=settings.name, program=program, opts=options)


def _preview(stack: auto.Stack, variant: str) -> str:
    stack.set_config("variant", auto.ConfigValue(variant))
    lines: list[str] = []
    try:
        stack.preview(policy_packs=[str(PROJECT_DIR / "policy" / "run-pack.sh")], on_output=lines.append)
    except auto.errors.CommandError as error:
        return "failed\n" + "\n".join(lines) + str(error)
    return "passed\n" + "\n".join(lines)


def test_the_engine_loads_the_pack_and_a_compliant_program_passes(stack):
    output = _preview(stack, "compliant")
    assert output.startswith("passed"), output
    assert "Loading policy packs...: done" in output or "mlstack@v1.0.0" in output, output


def test_a_mandatory_violation_stops_the_preview_with_the_rules_message(stack):
    output = _preview(stack, "tagged-image")
    assert output.startswith("failed"), output
    assert "[mandatory]  images-pinned-by-digest" in output
    assert "Deployment apps/web: container 'server' uses image 'nginx:latest', a mutable tag" in output


def test_an_advisory_finding_is_reported_and_the_preview_goes_on(stack):
    output = _preview(stack, "large-nodes")
    assert output.startswith("passed"), output
    assert "[advisory]  cost-node-machine-size" in output
    assert "machine type 'n2-standard-32' has 32 vCPUs" in output
