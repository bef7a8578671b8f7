"""Pod hardening shared by every workload: Pod Security Standards `restricted`, and then some."""

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


def pod_security_context() -> dict:
    return {
        "runAsNonRoot": True,
        "runAsUser": RUN_AS_USER,
        "runAsGroup": RUN_AS_USER,
        "fsGroup": RUN_AS_USER,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def container_security_context() -> dict:
    return {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def tmp_volume(size_limit: str = "1Gi") -> dict:
    """The one writable path of a read-only root filesystem."""
    return {"name": TMP_VOLUME, "emptyDir": {"sizeLimit": size_limit}}


def tmp_mount() -> dict:
    return {"name": TMP_VOLUME, "mountPath": "/tmp"}


def spread_over_nodes_and_zones(selector: dict) -> list[dict]:
    """Prefer spreading replicas; ScheduleAnyway so a one-node or one-zone cluster still schedules them."""
    return [
        {"maxSkew": 1, "topologyKey": key, "whenUnsatisfiable": "ScheduleAnyway", "labelSelector": {"matchLabels": selector}}
        for key in ("kubernetes.io/hostname", "topology.kubernetes.io/zone")
    ]


def resources(quantities: Resources, workload: Workload) -> dict:
    """Requests and limits; extended resources such as GPUs are requested and limited alike, as Kubernetes requires."""
    return {
        "requests": {"cpu": quantities.cpu_request, "memory": quantities.memory_request, **workload.accelerators},
        "limits": {"cpu": quantities.cpu_limit, "memory": quantities.memory_limit, **workload.accelerators},
    }


def http_probe(path: str, port: str, period: int, failures: int, timeout: int = 2) -> dict:
    return {"httpGet": {"path": path, "port": port}, "periodSeconds": period, "failureThreshold": failures, "timeoutSeconds": timeout}


def pod_spec(*, service_account: pulumi.Input[str], selector: dict, workload: Workload,
             containers: list, volumes: list, grace_seconds: int = 30) -> dict:
    """A pod that meets `restricted`, holds no API token, spreads its replicas and stops gracefully."""
    return {
        "serviceAccountName": service_account,
        "automountServiceAccountToken": False,
        "securityContext": pod_security_context(),
        "terminationGracePeriodSeconds": grace_seconds,
        "topologySpreadConstraints": spread_over_nodes_and_zones(selector),
        "nodeSelector": dict(workload.node_selector) or None,
        "tolerations": list(workload.tolerations) or None,
        "containers": containers,
        "volumes": volumes,
    }
