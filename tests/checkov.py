"""checkov in its own venv (tools/cached-venv.sh), offline, over a directory of Kubernetes object files."""
import json
import subprocess
from pathlib import Path

import yaml

from infra.render import PROJECT_DIR


def checkov_binary() -> Path:
    python = subprocess.run(["bash", "tools/cached-venv.sh", "checkov-venv", "tools/checkov/requirements.txt",
                             "tools/checkov/constraints.txt"], cwd=PROJECT_DIR, capture_output=True, text=True,
                            check=True, timeout=900).stdout.strip()
    return Path(python).parent / "checkov"


def run_checkov(directory: Path) -> dict:
    """checkov's JSON report over every object file under directory (its kubernetes framework only)."""
    completed = subprocess.run([str(checkov_binary()), "--directory", str(directory), "--framework", "kubernetes",
                                "--output", "json", "--compact", "--skip-download"],
                               capture_output=True, text=True, timeout=600)
    assert completed.returncode in (0, 1), completed.stderr  # 1: some check failed
    report = json.loads(completed.stdout)
    return report[0] if isinstance(report, list) else report


def failed_checks(report: dict) -> set[tuple[str, str, str]]:
    """(check id, object, the object file's directory name) of every failed check."""
    return {(check["check_id"], check["resource"], Path(check["file_path"]).parent.name)
            for check in report["results"]["failed_checks"]}


def accepted(path: Path, section: str, directories: tuple[str, ...]) -> set[tuple[str, str, str]]:
    """The entries of a checkov.yaml-style list (check id -> object -> reason) for every directory."""
    listed = yaml.safe_load(path.read_text())[section] or {}
    return {(check, resource, directory) for check, resources in listed.items()
            for resource in resources for directory in directories}


def accepted_by_directory(path: Path, section: str) -> set[tuple[str, str, str]]:
    """The entries of a section keyed first by directory (directory -> check id -> object -> reason)."""
    listed = yaml.safe_load(path.read_text()).get(section) or {}
    return {(check, resource, directory) for directory, checks in listed.items()
            for check, resources in checks.items() for resource in resources}
