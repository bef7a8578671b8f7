"""infra.resolve_model against a real MLflow registry (SQLite) holding the example model: the alias is pinned in the
stack file, the program then serves the pinned version, and a moved alias becomes a one-line config change."""
import subprocess
import sys

import pytest
import yaml
from mlflow.tracking import MlflowClient

from infra.render import PROJECT_DIR, run_program, stack_config
from infra.resolve_model import with_key

STACK = "pin-test"
STACK_FILE = """# a stack file with comments, which the pin must keep
config:
  mlstack:cloud: local  # where it runs
  mlstack:modelUri: models:/churn@champion
"""


def run(*command: str, cwd) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *command], cwd=cwd, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def registry(tmp_path_factory) -> str:
    """Two versions of the example's `churn` model, trained and registered by examples/train_and_register.py."""
    root = tmp_path_factory.mktemp("registry")
    tracking_uri = f"sqlite:///{root}/mlflow.db"
    for seed in ("0", "1"):
        trained = run(str(PROJECT_DIR / "examples" / "train_and_register.py"), "--tracking-uri", tracking_uri,
                      "--max-iter", "5", "--seed", seed, cwd=root)
        assert trained.returncode == 0, trained.stdout + trained.stderr
    return tracking_uri


@pytest.fixture
def project(tmp_path):
    (tmp_path / f"Pulumi.{STACK}.yaml").write_text(STACK_FILE)
    return tmp_path


def resolve(project, tracking_uri: str) -> subprocess.CompletedProcess:
    return run("-m", "infra.resolve_model", "--stack", STACK, "--tracking-uri", tracking_uri,
               "--project-dir", str(project), cwd=PROJECT_DIR)


def served_model(project) -> str:
    rendered = run_program(STACK, stack_config(STACK, project_dir=project))
    (deployment,) = [o for o in rendered.kubernetes_objects()
                     if o["kind"] == "Deployment" and o["metadata"]["name"] == "model-server"]
    env = {e["name"]: e.get("value") for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]}
    return env["MODEL_URI"]


def test_pinning_writes_the_version_the_alias_names_and_the_program_serves_it(registry, project):
    resolved = resolve(project, registry)
    assert resolved.returncode == 0, resolved.stderr
    assert resolved.stdout.strip() == f"mlstack:modelVersion: 2 (was unpinned) in Pulumi.{STACK}.yaml"
    text = (project / f"Pulumi.{STACK}.yaml").read_text()
    assert text.startswith("# a stack file with comments") and "# where it runs" in text
    assert yaml.safe_load(text)["config"]["mlstack:modelVersion"] == 2
    assert served_model(project) == "models:/churn/2"


def test_a_moved_alias_changes_the_pin_and_so_the_served_version(registry, project):
    assert resolve(project, registry).returncode == 0
    client = MlflowClient(tracking_uri=registry)
    client.set_registered_model_alias("churn", "champion", "1")
    try:
        moved = resolve(project, registry)
    finally:
        client.set_registered_model_alias("churn", "champion", "2")
    assert moved.returncode == 0, moved.stderr
    assert moved.stdout.strip() == f"mlstack:modelVersion: 1 (was 2) in Pulumi.{STACK}.yaml"
    assert served_model(project) == "models:/churn/1"


def test_an_alias_the_registry_does_not_know_fails_with_one_line(registry, project):
    (project / f"Pulumi.{STACK}.yaml").write_text(STACK_FILE.replace("@champion", "@challenger"))
    failed = resolve(project, registry)
    assert failed.returncode == 1
    assert failed.stderr.startswith("cannot resolve the alias: ") and failed.stderr.count("\n") == 1


def test_a_stack_without_an_alias_has_nothing_to_pin(project):
    (project / f"Pulumi.{STACK}.yaml").write_text(STACK_FILE.replace("@champion", "/3"))
    failed = resolve(project, "sqlite:///unused.db")
    assert failed.returncode == 2
    assert failed.stderr.strip() == ("mlstack:modelUri = 'models:/churn/3' is not allowed: "
                                     "models:/<name>@<alias> in the stack file, for an alias to pin")


@pytest.mark.parametrize("text,expected", [
    ("config:\n  mlstack:modelVersion: 3\n", "config:\n  mlstack:modelVersion: 4\n"),
    ("config:\n  mlstack:cloud: gcp\n", "config:\n  mlstack:modelVersion: 4\n  mlstack:cloud: gcp\n"),
    ("# only a comment\n", "# only a comment\nconfig:\n  mlstack:modelVersion: 4\n"),
])
def test_setting_the_key_keeps_every_other_line(text, expected):
    assert with_key(text, "modelVersion", "4") == expected
