"""Runs the policies the way the engine does (inputs wrapped in the SDK's unknown-checking proxies), without the CLI."""
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from pulumi_policy import (
    EnforcementLevel,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
)
from pulumi_policy.proxy import unknown_checking_proxy

sys.path.insert(0, str(Path(__file__).parent))
from mlstack_policy import POLICIES

PROJECT_DIR = Path(__file__).resolve().parent.parent
STACKS = ("local", "dev", "prod", "aks-dev", "aks-prod")


@dataclass(frozen=True)
class Resource:
    type: str
    name: str
    props: dict


@dataclass(frozen=True)
class Violation:
    policy: str
    level: EnforcementLevel
    message: str


def urn(stack: str, resource_type: str, name: str) -> str:
    return f"urn:pulumi:{stack}::mlstack::{resource_type}::{name}"


def _options() -> PolicyResourceOptions:
    return PolicyResourceOptions(False, [], None, [], None, [])


def messages(policy, resource_type: str, props: dict, name: str = "subject", stack: str = "dev",
             config: dict | None = None) -> list[str]:
    """What one resource policy reports for one resource."""
    found: list[str] = []
    args = ResourceValidationArgs(resource_type, unknown_checking_proxy(props), urn(stack, resource_type, name), name,
                                  _options(), None, config)
    policy.validate(args, lambda message, _urn=None: found.append(message))
    return found


def stack_messages(policy, resources: list[Resource], stack: str = "dev") -> list[str]:
    """What one stack policy reports for a whole stack."""
    found: list[str] = []
    policy_resources = [PolicyResource(r.type, unknown_checking_proxy(r.props), urn(stack, r.type, r.name), r.name,
                                       _options(), None, None, [], {}) for r in resources]
    policy.validate(StackValidationArgs(policy_resources), lambda message, _urn=None: found.append(message))
    return found


def evaluate(resources: list[Resource], stack: str) -> list[Violation]:
    """Every policy of the pack over a stack's resources, as the engine would run them in a preview."""
    violations = []
    for policy in POLICIES:
        level = policy.enforcement_level or EnforcementLevel.MANDATORY
        if isinstance(policy, ResourceValidationPolicy):
            found = [m for r in resources for m in messages(policy, r.type, r.props, r.name, stack)]
        else:
            found = stack_messages(policy, resources, stack)
        violations += [Violation(policy.name, level, message) for message in found]
    return violations


def mandatory(violations: list[Violation]) -> list[Violation]:
    return [v for v in violations if v.level == EnforcementLevel.MANDATORY]


def policy_named(name: str):
    return next(p for p in POLICIES if p.name == name)


@pytest.fixture(scope="session")
def rendered_resources(tmp_path_factory) -> dict[str, list[Resource]]:
    """Every stack's resources from the offline render, run by the stack's own interpreter (its venv has the
    providers' SDKs; this one has the policy SDK)."""
    python = os.environ.get("MLSTACK_STACK_PYTHON", str(PROJECT_DIR / ".venv" / "bin" / "python"))
    rendered = {}
    for stack in STACKS:
        out = tmp_path_factory.mktemp(f"render-{stack}")
        completed = subprocess.run([python, "-m", "infra.render", "--stack", stack, "--out", str(out)],
                                   cwd=PROJECT_DIR, capture_output=True, text=True, timeout=300)
        assert completed.returncode == 0, completed.stderr
        inventory = json.loads((out / "resources.json").read_text())
        rendered[stack] = [Resource(r["type"], r["name"], r["inputs"]) for r in inventory["resources"]]
    return rendered
