"""Reading resource inputs the way the engine hands them to a policy: camelCase keys, nested mappings and sequences
(proxies during a real run, so only the Mapping/Sequence interfaces are used)."""
from collections.abc import Mapping, Sequence
from typing import Any

_POD_SPEC_PATHS: dict[str, tuple[str, ...]] = {
    "kubernetes:core/v1:Pod": ("spec",),
    "kubernetes:apps/v1:Deployment": ("spec", "template", "spec"),
    "kubernetes:apps/v1:StatefulSet": ("spec", "template", "spec"),
    "kubernetes:apps/v1:DaemonSet": ("spec", "template", "spec"),
    "kubernetes:apps/v1:ReplicaSet": ("spec", "template", "spec"),
    "kubernetes:batch/v1:Job": ("spec", "template", "spec"),
    "kubernetes:batch/v1:CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}


def dig(value: Any, *keys: str) -> Any:
    """value[k1][k2]..., or None as soon as a level is missing or not a mapping."""
    for key in keys:
        if not isinstance(value, Mapping) or key not in value:
            return None
        value = value[key]
    return value


def items(value: Any) -> list:
    """A sequence input as a list; None or a non-sequence as an empty list."""
    return list(value) if isinstance(value, Sequence) and not isinstance(value, str) else []


def pod_spec(resource_type: str, props: Mapping) -> Mapping | None:
    path = _POD_SPEC_PATHS.get(resource_type)
    return dig(props, *path) if path else None


def containers(pod: Mapping) -> list[Mapping]:
    """Every container that runs in the pod: init containers too."""
    return items(pod.get("initContainers")) + items(pod.get("containers"))


def kind(resource_type: str) -> str:
    return resource_type.rsplit(":", 1)[-1]


def object_ref(resource_type: str, props: Mapping) -> str:
    """'Kind namespace/name' of a Kubernetes object, for messages."""
    namespace = dig(props, "metadata", "namespace")
    name = dig(props, "metadata", "name")
    return f"{kind(resource_type)} {namespace + '/' if namespace else ''}{name}"


def stack_of(urn: str) -> str:
    """The stack a URN belongs to: urn:pulumi:<stack>::<project>::<type>::<name>."""
    return urn.split("::", 1)[0].rsplit(":", 1)[-1]
