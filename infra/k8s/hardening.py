"""Pod hardening shared by every workload: Pod Security Standards `restricted`, and then some."""

from collections.abc import Sequence
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from ..config.model import Resources
from ..contract import Workload
from .meta import labels, metadata

RUN_AS_USER = 10001
TMP_VOLUME = "tmp"


def restricted_namespace(resource_name: str, name: str, opts: pulumi.ResourceOptions) -> k8s.core.v1.Namespace:
    """A namespace whose pods must meet the `restricted` Pod Security Standard (enforced, not only audited)."""
    pss = {f"pod-security.kubernetes.io/{mode}": "restricted" for mode in ("enforce", "audit", "warn")}
    return k8s.core.v1.Namespace(
        resource_name,
        metadata=metadata(name, None, {**labels(name, "namespace"), **pss}),
        opts=opts,
    )


def pod_security_context() -> dict[str, Any]:
    return {
        "runAsNonRoot": True,
        "runAsUser": RUN_AS_USER,
        "runAsGroup": RUN_AS_USER,
        "fsGroup": RUN_AS_USER,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def container_security_context() -> dict[str, Any]:
    return {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def tmp_volume(size_limit: str = "1Gi") -> dict[str, Any]:
    """The one writable path of a read-only root filesystem."""
    return {"name": TMP_VOLUME, "emptyDir": {"sizeLimit": size_limit}}


def tmp_mount() -> dict[str, Any]:
    return {"name": TMP_VOLUME, "mountPath": "/tmp"}


def spread_over_nodes_and_zones(selector: dict[str, Any]) -> list[dict[str, Any]]:
    """Prefer spreading replicas; ScheduleAnyway so a one-node or one-zone cluster still schedules them."""
    return [
        {"maxSkew": 1, "topologyKey": key, "whenUnsatisfiable": "ScheduleAnyway", "labelSelector": {"matchLabels": selector}}
        for key in ("kubernetes.io/hostname", "topology.kubernetes.io/zone")
    ]


def resources(quantities: Resources, workload: Workload) -> dict[str, Any]:
    """Requests and limits; extended resources such as GPUs are requested and limited alike, as Kubernetes requires."""
    return {
        "requests": {"cpu": quantities.cpu_request, "memory": quantities.memory_request, **workload.accelerators},
        "limits": {"cpu": quantities.cpu_limit, "memory": quantities.memory_limit, **workload.accelerators},
    }


def http_probe(path: str, port: str, period: int, failures: int, timeout: int = 2) -> dict[str, Any]:
    return {"httpGet": {"path": path, "port": port}, "periodSeconds": period, "failureThreshold": failures, "timeoutSeconds": timeout}


def pod_spec(*, service_account: pulumi.Input[str], selector: dict[str, Any], workload: Workload,
             containers: list[dict[str, Any]], volumes: list[dict[str, Any]], grace_seconds: int = 30,
             init_containers: Sequence[dict[str, Any]] = ()) -> dict[str, Any]:
    """A pod that meets `restricted`, holds no API token, spreads its replicas and stops gracefully."""
    # The key only when there are init containers, so pods without them render exactly as before.
    init = {"initContainers": list(init_containers)} if init_containers else {}
    return {
        "serviceAccountName": service_account,
        "automountServiceAccountToken": False,
        "securityContext": pod_security_context(),
        "terminationGracePeriodSeconds": grace_seconds,
        "topologySpreadConstraints": spread_over_nodes_and_zones(selector),
        "nodeSelector": dict(workload.node_selector) or None,
        "tolerations": list(workload.tolerations) or None,
        **init,
        "containers": containers,
        "volumes": volumes,
    }
