"""Kubernetes recommended labels and the object metadata every mlstack object carries."""
from collections.abc import Mapping
from typing import Any

import pulumi

PART_OF = "mlstack"
MANAGED_BY = "pulumi"
ANNOTATION_PREFIX = "mlstack.io/"


def selector_labels(name: str, component: str) -> dict[str, str]:
    """The stable subset used in selectors: changing it would orphan pods, so it never carries a version."""
    return {
        "app.kubernetes.io/name": name,
        "app.kubernetes.io/component": component,
        "app.kubernetes.io/part-of": PART_OF,
    }


def labels(name: str, component: str, version: str | None = None) -> dict[str, str]:
    result = {**selector_labels(name, component), "app.kubernetes.io/managed-by": MANAGED_BY}
    if version:
        result["app.kubernetes.io/version"] = version[:63]
    return result


def metadata(name: str, namespace: pulumi.Input[str] | None, object_labels: Mapping[str, str], **extra: Any) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "labels": dict(object_labels), **extra}
    if namespace is not None:
        meta["namespace"] = namespace
    return meta
