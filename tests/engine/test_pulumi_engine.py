"""The Pulumi CLI built from source is a working engine: file backend, passphrase secrets, no downloads.

The program runs inline through the Automation API, whose language server lives in the pulumi SDK, because
pulumi-language-python cannot be built here (docs/engine.md). It declares only component resources: no
provider plugin is needed, and with automatic acquisition off none may be fetched.
"""
import secrets
from pathlib import Path

import pulumi
import pytest
from pulumi import automation as auto

pytestmark = pytest.mark.engine

STACK = "engine"


class TokenHolder(pulumi.ComponentResource):
    def __init__(self, name: str, token: pulumi.Input[str], label: str):
        super().__init__("mlstack:engine:TokenHolder", name, {"label": label})
        self.token = pulumi.Output.secret(token)
        self.register_outputs({"token": self.token, "label": label})


def program() -> None:
    config = pulumi.Config()
    holder = TokenHolder("holder", config.require_secret("token"), config.require("label"))
    pulumi.export("token", holder.token)
    pulumi.export("label", config.require("label"))


@pytest.fixture(scope="module")
def pulumi_env(engine, tmp_path_factory) -> dict[str, str]:
    return {
        "PULUMI_CONFIG_PASSPHRASE": "engine-test-passphrase",
        "PULUMI_SKIP_UPDATE_CHECK": "true",
        "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
        "PULUMI_HOME": str(tmp_path_factory.mktemp("pulumi-home")),
    }


@pytest.fixture(scope="module")
def backend(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("pulumi-state")


@pytest.fixture(scope="module")
def stack(engine, pulumi_env, backend, tmp_path_factory) -> auto.Stack:
    assert (Path(engine["PULUMI_DIR"]) / ".complete").exists(), "run `bash tools/engine/build.sh` first"
    settings = auto.ProjectSettings(name="mlstack-engine-probe", runtime="python",
                                    backend=auto.ProjectBackend(f"file://{backend}"))
    options = auto.LocalWorkspaceOptions(
        work_dir=str(tmp_path_factory.mktemp("work")), pulumi_home=pulumi_env["PULUMI_HOME"], env_vars=pulumi_env,
        project_settings=settings, pulumi_command=auto.PulumiCommand(root=engine["PULUMI_DIR"]))
    created = auto.create_or_select_stack(STACK, project_name=settings.name, program=program, opts=options)
    created.set_config("label", auto.ConfigValue("first"))
    return created


@pytest.fixture(scope="module")
def token(stack) -> str:
    value = "tok-" + secrets.token_hex(16)
    stack.set_config("token", auto.ConfigValue(value, secret=True))
    return value


def test_engine_is_the_cli_built_from_source(stack, engine):
    assert stack.workspace.pulumi_command.version is not None
    assert f"v{stack.workspace.pulumi_command.version}" == engine["PULUMI_CLI_VERSION"]


def test_up_returns_the_secret_output_and_stores_it_encrypted(stack, token, backend):
    result = stack.up()
    assert result.summary.result == "succeeded"
    assert result.outputs["token"].value == token and result.outputs["token"].secret
    state_files = [p for p in backend.rglob("*") if p.is_file()]
    assert any(p.name == f"{STACK}.json" for p in state_files)
    for path in state_files:
        assert token not in path.read_text(errors="replace"), f"{path} holds the secret in plain text"


def test_preview_after_up_expects_no_changes(stack, token):
    preview = stack.preview(expect_no_changes=True)
    assert set(preview.change_summary) == {auto.OpType.SAME}


def test_a_changed_input_shows_as_exactly_one_update(stack, token):
    stack.set_config("label", auto.ConfigValue("second"))
    try:
        preview = stack.preview(diff=True)
        assert preview.change_summary.get(auto.OpType.UPDATE) == 1, preview.change_summary
        assert "mlstack:engine:TokenHolder" in preview.stdout
    finally:
        stack.set_config("label", auto.ConfigValue("first"))


def test_destroy_leaves_no_resources_in_the_state(stack, token):
    stack.up()
    stack.destroy()
    deployment = stack.export_stack().deployment
    assert not deployment.get("resources")
