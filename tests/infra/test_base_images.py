"""Every image we build starts from a base pinned by digest, or from the BASE_IMAGE build argument (whose default is
pinned) that the image tier sets to its locally debootstrapped base and `imageBase` sets in a stack. A stage that
only carries files (the serving image's model, `scratch` unless a model is baked in) runs nothing of its image."""
import re
from pathlib import Path

import pytest

from infra.render import PROJECT_DIR

DIGEST = re.compile(r"^[^\s@]+@sha256:[0-9a-f]{64}$")
REPLACEABLE_BASE = "BASE_IMAGE"  # what tests/image/conftest.py and infra/image.py pass as --build-arg
FROM = re.compile(r"^FROM\s+(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?\s*$", re.I | re.M)
ARG = re.compile(r"^ARG\s+(\w+)(?:=(\S+))?\s*$", re.M)
VARIABLE = re.compile(r"^\$\{?(\w+)\}?$")
REFERENCE = re.compile(r"\$\{?(\w+)\}?")


def _dockerfiles() -> list[Path]:
    return sorted(path for path in PROJECT_DIR.rglob("Dockerfile*")
                  if path.suffix != ".dockerignore" and not any(part.startswith(".") for part in path.parts[len(PROJECT_DIR.parts):]))


def unpinned_bases(text: str) -> list[str]:
    """Each FROM whose image is neither digest-pinned, an earlier stage (also when named through arguments with their
    defaults, as the serving image picks the stage its venv is finished from), scratch, the pinned BASE_IMAGE
    argument, nor an argument that defaults to scratch."""
    first_from = FROM.search(text)
    global_args = dict(ARG.findall(text[: first_from.start()] if first_from else text))
    stages: set[str] = set()
    refused = []
    for image, stage in FROM.findall(text):
        if REFERENCE.sub(lambda reference: global_args.get(reference[1], ""), image).lower() in stages:
            pass  # an earlier stage, named directly or through arguments' defaults
        elif variable := VARIABLE.match(image):
            name = variable[1]
            default = global_args.get(name, "")
            if default != "scratch" and (name != REPLACEABLE_BASE or not DIGEST.match(default)):
                refused.append(f"FROM {image} (default {global_args.get(name) or 'none'})")
        elif image != "scratch" and not DIGEST.match(image):
            refused.append(f"FROM {image}")
        if stage:
            stages.add(stage.lower())
    return refused


def test_the_project_has_the_dockerfiles_this_check_is_about():
    assert {path.relative_to(PROJECT_DIR).as_posix() for path in _dockerfiles()} >= {"serving/Dockerfile",
                                                                                        "tracking/Dockerfile"}


@pytest.mark.parametrize("dockerfile", _dockerfiles(), ids=lambda path: path.relative_to(PROJECT_DIR).as_posix())
def test_every_from_is_pinned_by_digest_or_is_the_replaceable_pinned_base(dockerfile):
    assert unpinned_bases(dockerfile.read_text()) == []


def test_serving_and_tracking_default_to_the_same_base():
    defaults = {dict(ARG.findall((PROJECT_DIR / image / "Dockerfile").read_text()))[REPLACEABLE_BASE]
                for image in ("serving", "tracking")}
    assert len(defaults) == 1


@pytest.mark.parametrize("text, refused", [
    ("FROM python:3.11-slim\n", ["FROM python:3.11-slim"]),
    ("ARG BASE_IMAGE=python:3.11-slim\nFROM ${BASE_IMAGE}\n", ["FROM ${BASE_IMAGE} (default python:3.11-slim)"]),
    (f"ARG OTHER=python@sha256:{'a' * 64}\nFROM $OTHER\n", [f"FROM $OTHER (default python@sha256:{'a' * 64})"]),
    ("FROM python:3.11-slim@sha256:abc\n", ["FROM python:3.11-slim@sha256:abc"]),
    (f"FROM python:3.11-slim@sha256:{'a' * 64} AS build\nFROM build\nFROM scratch\n", []),
    (f"ARG BASE_IMAGE=python:3.11-slim@sha256:{'b' * 64}\nFROM ${{BASE_IMAGE}} AS build\nFROM ${{BASE_IMAGE}}\n", []),
    ("ARG MODEL_IMAGE=scratch\nFROM ${MODEL_IMAGE} AS model\n", []),
    ("ARG MODEL_IMAGE\nFROM ${MODEL_IMAGE} AS model\n", ["FROM ${MODEL_IMAGE} (default none)"]),
    (f"ARG SOURCE=a\nFROM python@sha256:{'c' * 64} AS venv-a\nFROM venv-${{SOURCE}}\n", []),
    (f"ARG SOURCE=b\nFROM python@sha256:{'c' * 64} AS venv-a\nFROM venv-${{SOURCE}}\n", ["FROM venv-${SOURCE}"]),
])
def test_the_check_refuses_tags_short_digests_and_other_arguments(text, refused):
    assert unpinned_bases(text) == refused
