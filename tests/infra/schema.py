"""Validation of rendered objects: built-in kinds by kubernetes-validate, custom resources by their real CRD schemas."""
import subprocess
from functools import lru_cache
from pathlib import Path

import jsonschema
import kubernetes_validate
import yaml

from infra.render import PROJECT_DIR


def _engine_kubernetes_minor() -> str:
    """The schema of the release the engine tier's API server runs (tools/engine/versions.env), patch level 0."""
    versions = (PROJECT_DIR / "tools" / "engine" / "versions.env").read_text()
    release = next(line.split("=", 1)[1] for line in versions.splitlines() if line.startswith("KUBERNETES_VERSION="))
    major, minor = release.strip().lstrip("v").split(".")[:2]
    return f"{major}.{minor}.0"


KUBERNETES_VERSION = _engine_kubernetes_minor()


class _CrdLoader(yaml.SafeLoader):
    """PyYAML reads a bare `=` as YAML 1.1's value tag, which the CRDs use as a plain string (an enum member)."""


_CrdLoader.add_constructor("tag:yaml.org,2002:value", lambda loader, node: loader.construct_scalar(node))


# Each prints the directory of one project's pinned CRDs: the Prometheus Operator's, the Gateway API's.
CRD_SCRIPTS = ("tools/crds/fetch.sh", "tools/crds/fetch-gateway-api.sh")


def _crd_files() -> list[Path]:
    files = []
    for script in CRD_SCRIPTS:
        crd_dir = Path(subprocess.run(["bash", script], cwd=PROJECT_DIR, check=True,
                                      capture_output=True, text=True, timeout=300).stdout.strip())
        files += sorted(crd_dir.glob("*.yaml"))
    return files


@lru_cache(maxsize=1)
def custom_resource_schemas() -> dict[tuple[str, str], dict]:
    """(apiVersion, kind) -> strict JSON schema, from the CRDs the tools/crds scripts bring."""
    schemas = {}
    for path in _crd_files():
        crd = yaml.load(path.read_text(), Loader=_CrdLoader)
        for version in crd["spec"]["versions"]:
            api_version = f"{crd['spec']['group']}/{version['name']}"
            schemas[(api_version, crd["spec"]["names"]["kind"])] = _strict(version["schema"]["openAPIV3Schema"])
    return schemas


def _strict(schema: dict) -> dict:
    """Reject unknown fields the way the API server's strict field validation does."""
    schema = dict(schema)
    if schema.get("pattern", "").startswith("^(?i)"):
        schema["pattern"] = "(?i)^" + schema["pattern"][5:]  # Go's RE2 takes flags after ^, Python's re only first
    if "properties" in schema:
        schema["properties"] = {name: _strict(sub) for name, sub in schema["properties"].items()}
        if not schema.get("x-kubernetes-preserve-unknown-fields") and "additionalProperties" not in schema:
            schema["additionalProperties"] = False
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            schema[key] = _strict(schema[key])
    return schema


def validate(obj: dict) -> None:
    """Raises when the object does not match its schema; every kind must have one."""
    custom = custom_resource_schemas().get((obj["apiVersion"], obj["kind"]))
    if custom is not None:
        jsonschema.validate(obj, custom)
    else:
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
