import pytest

from infra.render import Rendered, run_program, stack_config

STACKS = ("local", "dev", "prod", "aks-dev", "aks-prod")


@pytest.fixture(scope="session")
def rendered_stacks() -> dict[str, Rendered]:
    """Each stack file's program, run once under mocks."""
    return {stack: run_program(stack, stack_config(stack)) for stack in STACKS}


@pytest.fixture(scope="session")
def local_stack(rendered_stacks) -> Rendered:
    return rendered_stacks["local"]


def render_with(**values) -> Rendered:
    """The program under mocks with the local stack's config and the given keys overridden."""
    return run_program("local", stack_config("local", values))


def objects_of_kind(rendered: Rendered, kind: str) -> list[dict]:
    return [obj for obj in rendered.kubernetes_objects() if obj["kind"] == kind]


def one(rendered: Rendered, kind: str, name: str) -> dict:
    matches = [obj for obj in objects_of_kind(rendered, kind) if obj["metadata"]["name"] == name]
    assert len(matches) == 1, f"expected one {kind} named {name}, found {len(matches)}"
    return matches[0]


def pod_specs(rendered: Rendered) -> list[tuple[str, dict]]:
    """Every pod template the stack declares, from every workload kind."""
    specs = []
    for obj in rendered.kubernetes_objects():
        template = obj.get("spec", {}).get("template") or obj.get("spec", {}).get("jobTemplate", {}).get("spec", {}).get("template")
        if template:
            specs.append((f"{obj['kind']}/{obj['metadata']['name']}", template["spec"]))
    return specs
