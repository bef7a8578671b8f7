"""Which stacks the pull-request workflow previews for a change."""
import json
import subprocess
import sys

from delivery.affected import PROJECT_DIR, affected, cloud_stacks

STACKS = ["aks-dev", "aks-prod", "dev", "prod"]


def test_only_the_stacks_on_a_cloud_are_previewed():
    assert cloud_stacks() == STACKS


def test_a_stack_file_changes_its_own_stack_only():
    assert affected(["Pulumi.prod.yaml"], STACKS) == ["prod"]
    assert affected(["Pulumi.local.yaml"], STACKS) == []


def test_the_program_its_dependencies_images_and_policies_change_every_stack():
    for path in ("infra/k8s/network.py", "__main__.py", "Pulumi.yaml", "constraints.txt", "serving/app.py",
                 "tracking/Dockerfile", "policy/mlstack_policy/cost.py"):
        assert affected([path], STACKS) == STACKS, path


def test_docs_tests_and_tools_change_no_stack():
    assert affected(["README.md", "docs/gcp.md", "tests/infra/test_render.py", "bench/run.py", "infrastructure.md"], STACKS) == []


def test_on_real_commits():
    def run(base, head):
        completed = subprocess.run([sys.executable, "-m", "delivery.affected", "--base", base, "--head", head],
                                   cwd=PROJECT_DIR, capture_output=True, text=True, timeout=60, check=True)
        return json.loads(completed.stdout)
    assert run("555cb44^", "555cb44") == STACKS  # infra/config/keys.py: a default every stack reads
    assert run("137323b^", "137323b") == []  # a benchmark run: README, docs and bench only
