"""Compare the requirements.txt MLflow wrote beside the model with what this image has installed."""

from importlib import metadata
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

# mlflow-skinny installs the same `mlflow` package as full mlflow, without the tracking server's dependencies: every
# model MLflow logs requires `mlflow`, and an image with mlflow-skinny at that version meets the requirement.
DISTRIBUTIONS_PROVIDING = {"mlflow": ("mlflow", "mlflow-skinny")}


def _requirements(path: Path) -> list[Requirement]:
    found = []
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        try:
            found.append(Requirement(line))
        except InvalidRequirement:
            continue  # a URL or local path: nothing to compare against an installed version
    return found


def _installed_version(name: str) -> str:
    for distribution in DISTRIBUTIONS_PROVIDING.get(canonicalize_name(name), (name,)):
        try:
            return metadata.version(distribution)
        except metadata.PackageNotFoundError:
            continue
    raise metadata.PackageNotFoundError(name)


def check_requirements(model_dir: str) -> tuple[list[str], list[str]]:
    """(missing packages, version mismatches) as readable lines; both empty when all is met."""
    path = Path(model_dir) / "requirements.txt"
    missing: list[str] = []
    mismatched: list[str] = []
    if not path.exists():
        return missing, mismatched
    for requirement in _requirements(path):
        if requirement.marker and not requirement.marker.evaluate():
            continue
        try:
            installed = _installed_version(requirement.name)
        except metadata.PackageNotFoundError:
            missing.append(str(requirement))
            continue
        if requirement.specifier and not requirement.specifier.contains(installed, prereleases=True):
            mismatched.append(f"{requirement} (installed {installed})")
    return missing, mismatched
