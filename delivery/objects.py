"""A render's resources as flat fields, and the per-object differences between two renders.

An object is identified by its resource type and Pulumi name (what the engine identifies it by) and shown by its
Kubernetes kind and namespace/name when it has one. Fields are flattened to paths; list items that carry a name
(containers, env vars, ports, volumes) are addressed by it, so inserting one does not shift every later item."""
import hashlib
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MASK = "[secret]"  # what infra.render writes for a Pulumi secret
# A field is masked here too, even if the program forgot to make it a Pulumi secret, when its key names a credential,
# when it is the value of an env var or list item so named, or when it is inside a Kubernetes Secret's data.
_SENSITIVE = re.compile(r"(?i)(password|passwd|token|credential|private_?key|secret_?key|access_?key|api_?key)$")
_ITEM = re.compile(r"\[([^\]]+)\]$")
_SECRET_KIND = "kubernetes:core/v1:Secret"
_SECRET_FIELDS = ("data", "stringData")


@dataclass(frozen=True)
class Masked:
    """A secret value: equal to another when the values are, shown only as the mask."""
    fingerprint: str

    def __str__(self) -> str:
        return MASK


@dataclass(frozen=True)
class FieldChange:
    path: str
    old: Any = None  # None where the field is added
    new: Any = None  # None where the field is removed
    status: str = "changed"  # added, removed or changed


@dataclass
class ObjectChange:
    label: str
    status: str  # added, removed or changed
    fields: list[FieldChange] = field(default_factory=list)


@dataclass(frozen=True)
class Render:
    """One stack rendered: label -> flat fields, in the order the render recorded them."""
    stack: str
    objects: dict[str, dict[str, Any]]


def load(render_dir: Path) -> Render:
    inventory = json.loads((render_dir / "resources.json").read_text())
    objects = {}
    for resource in inventory["resources"]:
        fields: dict[str, Any] = {}
        for key, value in resource["inputs"].items():
            in_secret = resource["type"] == _SECRET_KIND and key in _SECRET_FIELDS
            fields.update(_flatten(value, key, in_secret))
        objects[_label(resource)] = fields
    return Render(inventory["stack"], objects)


def _label(resource: Mapping) -> str:
    inputs, type_token = resource["inputs"], resource["type"]
    metadata = inputs.get("metadata") if isinstance(inputs.get("metadata"), Mapping) else None
    if type_token.startswith("kubernetes:") and metadata and metadata.get("name"):
        namespace = metadata.get("namespace")
        return f"{type_token.rsplit(':', 1)[-1]} {namespace + '/' if namespace else ''}{metadata['name']}"
    return f"{type_token} {resource['name']}"


def _flatten(value: Any, path: str, in_secret: bool) -> Iterator[tuple[str, Any]]:
    if isinstance(value, Mapping) and value:
        for key, item in value.items():
            yield from _flatten(item, f"{path}.{key}", in_secret)
    elif isinstance(value, list) and value and all(isinstance(item, Mapping) for item in value):
        names = [item.get("name") for item in value]
        by_name = all(isinstance(n, str) for n in names) and len(set(names)) == len(names)
        for index, item in enumerate(value):
            yield from _flatten(item, f"{path}[{names[index] if by_name else index}]", in_secret)
    elif value in (None, "", MASK) or not (in_secret or _sensitive(path)):
        yield path, value
    else:
        yield path, Masked(hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest())


def _sensitive(path: str) -> bool:
    parent, _, key = path.rpartition(".")
    item = _ITEM.search(parent)
    return bool(_SENSITIVE.search(key) or (key == "value" and item and _SENSITIVE.search(item.group(1))))


def diff(base: Render, head: Render) -> list[ObjectChange]:
    """Added and changed objects, then removed ones, each in label order: Pulumi sends its registrations from a
    thread pool, so the order a render records them in can differ from run to run, and so would the comment."""
    changes = []
    for label, fields in head.objects.items():
        if label not in base.objects:
            changes.append(ObjectChange(label, "added", [FieldChange(p, None, v, "added") for p, v in fields.items()]))
        else:
            changed = _field_changes(base.objects[label], fields)
            if changed:
                changes.append(ObjectChange(label, "changed", changed))
    for label, fields in base.objects.items():
        if label not in head.objects:
            changes.append(ObjectChange(label, "removed", [FieldChange(p, v, None, "removed") for p, v in fields.items()]))
    return sorted(changes, key=lambda change: (change.status == "removed", change.label))


def _field_changes(old: dict[str, Any], new: dict[str, Any]) -> list[FieldChange]:
    found = []
    for path in [*old, *(p for p in new if p not in old)]:
        if path not in new:
            found.append(FieldChange(path, old[path], None, "removed"))
        elif path not in old:
            found.append(FieldChange(path, None, new[path], "added"))
        elif old[path] != new[path]:
            found.append(FieldChange(path, old[path], new[path], "changed"))
    return found
