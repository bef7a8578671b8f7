"""The images install from hashed locks that agree with the project's lock: same versions, every file hashed."""
import re
from pathlib import Path

import pytest

from infra.render import PROJECT_DIR

PIN = re.compile(r"^([A-Za-z0-9_.\-]+)(?:\[[\w,]+\])?==(\S+)", re.M)


def _normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _pins(path: Path) -> dict[str, str]:
    return {_normalized(name): version for name, version in PIN.findall(path.read_text())}


def _lock_entries(path: Path) -> dict[str, list[str]]:
    """Each pinned package of a pip-compile lock with the hashes that follow it."""
    entries: dict[str, list[str]] = {}
    for block in re.split(r"\n(?=\S)", path.read_text().strip()):
        pinned = PIN.match(block)
        assert pinned, f"{path.name}: not a pin: {block.splitlines()[0]}"
        entries[_normalized(pinned[1])] = re.findall(r"--hash=sha256:([0-9a-f]{64})", block)
    return entries


@pytest.mark.parametrize("image", ["serving", "tracking"])
def test_the_image_lock_pins_what_the_project_lock_pins_and_hashes_every_package(image):
    lock = PROJECT_DIR / image / "requirements.lock"
    entries = _lock_entries(lock)
    project = _pins(PROJECT_DIR / "constraints.txt")
    locked = _pins(lock)
    assert {name: version for name, version in locked.items() if project.get(name) != version} == {}
    assert _pins(PROJECT_DIR / image / "requirements.txt").items() <= locked.items()
    assert [name for name, hashes in entries.items() if not hashes] == []
    assert "--find-links" not in lock.read_text() and "--index-url" not in lock.read_text()


@pytest.mark.parametrize("image", ["serving", "tracking"])
def test_the_image_installs_its_lock_with_required_hashes(image):
    dockerfile = (PROJECT_DIR / image / "Dockerfile").read_text()
    installs = re.findall(rf"pip install ((?:--[\w-]+ )+)-r /tmp/{image}-requirements.lock", dockerfile)
    assert installs and all({"--require-hashes", "--no-deps"} <= set(flags.split()) for flags in installs)
