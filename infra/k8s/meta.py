"""Kubernetes recommended labels and the object metadata every mlstack object carries."""
import re
from collections.abc import Mapping
from typing import Any

import pulumi

PART_OF = "mlstack"
MANAGED_BY = "pulumi"
ANNOTATION_PREFIX = "mlstack.io/"
# Pod labels only, never selector labels of the stable Deployment (its selector is immutable): the ServiceMonitor
# copies them onto every scraped series, so each metric says which track and model version answered.
TRACK_LABEL = ANNOTATION_PREFIX + "track"
STABLE, CANARY = "stable", "canary"  # the values of TRACK_LABEL
MODEL_VERSION_LABEL = ANNOTATION_PREFIX + "model-version"
_NOT_IN_LABEL_VALUE = re.compile(r"[^A-Za-z0-9._-]+")


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


def label_value(text: str) -> str:
    """`text` as a label value: at most 63 of [A-Za-z0-9._-], alphanumeric at both ends ('@champion' -> 'champion')."""
    return _NOT_IN_LABEL_VALUE.sub("-", text)[:63].strip("._-")
