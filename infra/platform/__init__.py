"""The one value every cloud target produces and the Kubernetes layer consumes.

Nothing downstream of Platform may ask which cloud it is on: differences between targets are expressed as data
(an object-store URI or none, a database URI or none, identity annotations), never as a cloud name.
"""
from dataclasses import dataclass, field
from typing import Mapping, Optional, Sequence

import pulumi
import pulumi_kubernetes as k8s


@dataclass(frozen=True)
class Registry:
    address: pulumi.Input[str]  # host[:port][/path] that images are pushed to and pulled from
    username: Optional[pulumi.Input[str]] = None
    password: Optional[pulumi.Output[str]] = None  # always a Pulumi secret


@dataclass(frozen=True)
class WorkloadIdentity:
    """How a Kubernetes service account becomes a cloud identity: annotations on it, labels on its pods."""

    service_account_annotations: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    pod_labels: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Workload:
    """What the platform gives one workload: its cloud identity, where it runs, and what it must reach."""

    identity: WorkloadIdentity = field(default_factory=WorkloadIdentity)
    node_selector: Mapping[str, str] = field(default_factory=dict)
    tolerations: Sequence[dict] = ()
    # Extended resources each container asks for, e.g. {"nvidia.com/gpu": "1"} on a GPU pool.
    accelerators: Mapping[str, str] = field(default_factory=dict)
    # NetworkPolicy egress rules for what this workload must reach on this platform (metadata server, databases).
    egress: Sequence[dict] = ()


@dataclass(frozen=True)
class TrackingStores:
    """Where MLflow keeps its metadata and artifacts.

    backend_uri None means SQLite on the tracking server's own volume (single replica); artifact_destination None
    means artifacts on that volume too. Both are served through the tracking server (--serve-artifacts).
    """

    backend_uri: Optional[pulumi.Output[str]] = None  # always a Pulumi secret: it may carry a password
    artifact_destination: Optional[pulumi.Input[str]] = None


@dataclass(frozen=True)
class Platform:
    provider: k8s.Provider
    registry: Registry
    tracking_stores: TrackingStores
    tracking: Workload
    serving: Workload
    storage_class: Optional[str] = None
    kubeconfig: Optional[pulumi.Output[str]] = None  # a secret; None when the user's own kubeconfig is used


def build_platform(config) -> Platform:
    """The platform of the configured cloud. Cloud modules are imported only when selected: their SDKs are large."""
    if config.cloud == "local":
        from .local import local_platform

        return local_platform(config)
    if config.cloud == "gcp":
        from .gcp import gcp_platform

        return gcp_platform(config)
    from ..config import ConfigError

    raise ConfigError("cloud", config.cloud, "local or gcp (the azure target is not built yet)")
