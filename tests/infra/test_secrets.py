"""Secrets stay Pulumi secrets end to end: in outputs, in Kubernetes Secrets, and in the rendered review files."""
import json
import subprocess
import sys

import pytest

from infra.render import PROJECT_DIR, is_secret, unwrapped

from .conftest import STACKS

SECRET_OUTPUT_WORDS = ("password", "kubeconfig", "connection", "uri_with_credentials", "token")


@pytest.mark.parametrize("stack", STACKS)
def test_every_output_holding_a_password_or_kubeconfig_is_a_secret(rendered_stacks, stack):
    outputs = rendered_stacks[stack].outputs
    sensitive = [name for name in outputs if any(word in name.lower() for word in SECRET_OUTPUT_WORDS)]
    assert "mlflowAdminPassword" in sensitive
    for name in sensitive:
        assert outputs[name].secret, f"{stack}: output {name} is not a secret"


@pytest.mark.parametrize("stack", STACKS)
def test_every_kubernetes_secret_is_built_only_from_secret_values(rendered_stacks, stack):
    secrets = rendered_stacks[stack].of_type("kubernetes:core/v1:Secret")
    assert secrets
    for secret in secrets:
        for field in ("stringData", "data"):
            if field in secret.inputs:
                assert is_secret(secret.inputs[field]) or all(is_secret(v) for v in secret.inputs[field].values()), secret.name


def test_render_writes_no_secret_value(tmp_path, local_stack):
    password = unwrapped(local_stack.outputs["mlflowAdminPassword"].value)
    completed = subprocess.run([sys.executable, "-m", "infra.render", "--stack", "local", "--out", str(tmp_path)],
                               cwd=PROJECT_DIR, capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stderr
    written = "".join(path.read_text() for path in tmp_path.iterdir())
    assert password not in written
    assert json.loads((tmp_path / "resources.json").read_text())["outputs"]["mlflowAdminPassword"] == "[secret]"
