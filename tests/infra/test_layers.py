"""The layers of infra/ import only downwards: config and the contract at the bottom, platforms and the
Kubernetes layer beside each other, the stack above them; the model server never imports the stack."""
import ast
from pathlib import Path

import pytest

from infra.render import PROJECT_DIR

CLOUD_SDKS = ("pulumi_gcp", "pulumi_azure_native", "pulumi_azure")


def _imports(path: Path) -> set[str]:
    """Absolute module names a file imports, with its relative imports resolved against its package."""
    package = path.relative_to(PROJECT_DIR).with_suffix("").parts[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = list(package[: len(package) - node.level + 1]) if node.level else []
            module = ".".join([*base, *(node.module.split(".") if node.module else [])])
            found.add(module)
            found |= {f"{module}.{alias.name}" for alias in node.names}
    return found


def _imports_under(folder: str) -> dict[str, set[str]]:
    return {str(path.relative_to(PROJECT_DIR)): _imports(path) for path in (PROJECT_DIR / folder).rglob("*.py")}


def _offenders(folder: str, forbidden: tuple[str, ...]) -> dict[str, list[str]]:
    return {file: sorted(name for name in names if name.startswith(forbidden))
            for file, names in _imports_under(folder).items() if any(name.startswith(forbidden) for name in names)}


@pytest.mark.parametrize(("folder", "forbidden"), [
    ("infra/k8s", ("infra.platform", "infra.stack", "infra.image", *CLOUD_SDKS)),
    ("infra/platform", ("infra.k8s", "infra.stack", "infra.image")),
    ("infra/config", ("infra.k8s", "infra.platform", "infra.stack", "infra.contract")),
    ("serving", ("infra", "pulumi")),
])
def test_a_layer_never_imports_the_layers_beside_or_above_it(folder, forbidden):
    assert _offenders(folder, forbidden) == {}


def test_the_contract_imports_neither_the_platforms_nor_the_kubernetes_layer():
    names = _imports(PROJECT_DIR / "infra" / "contract.py")
    assert not {name for name in names if name.startswith(("infra.k8s", "infra.platform", "infra.stack", *CLOUD_SDKS))}


def test_the_import_check_sees_relative_imports():
    names = _imports(PROJECT_DIR / "infra" / "k8s" / "workload.py")
    assert "infra.contract.Workload" in names and "infra.k8s.hardening" in names
