"""The contract between the cloud targets and the Kubernetes layer: the values one produces and the other consumes.

It imports neither side. A platform (infra/platform/) receives the workload accounts it must bind to cloud
identities and returns one Platform value; the Kubernetes layer (infra/k8s/) builds from that value and never asks
which cloud it is on. Differences between targets are data (an object-store URI or none, identity annotations,
egress rules), never a cloud name.
"""
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

# The Kubernetes names of the two workloads: each names its Deployment, Service and service account. A cloud
# identity is bound to exactly that service account, so these names are part of the contract.
TRACKING_SERVER = "mlflow"
MODEL_SERVER = "model-server"


@dataclass(frozen=True)
class ServiceAccountRef:
    """A Kubernetes service account that a platform may bind to a cloud identity."""

    namespace: str
    name: str


@dataclass(frozen=True)
class WorkloadAccounts:
    """The service accounts of the stack's workloads, known before any of them is declared."""

    tracking: ServiceAccountRef
    serving: ServiceAccountRef

    @classmethod
    def in_namespaces(cls, tracking_namespace: str, serving_namespace: str) -> "WorkloadAccounts":
        return cls(tracking=ServiceAccountRef(tracking_namespace, TRACKING_SERVER),
                   serving=ServiceAccountRef(serving_namespace, MODEL_SERVER))


@dataclass(frozen=True)
class Registry:
    address: pulumi.Input[str]  # host[:port][/path] that images are pushed to and pulled from
    username: pulumi.Input[str] | None = None
    password: pulumi.Output[str] | None = None  # always a Pulumi secret


@dataclass(frozen=True)
class MirroredImage:
    """An upstream image as pushed to the stack's registry: `<registry>/<repository>:<tag>`, run by its digest."""

    registry: pulumi.Input[str]  # the Registry's address
    repository: str  # the path inside the registry
    tag: str  # the upstream tag, kept so the reference still says which release it is
    digest: pulumi.Output[str]  # sha256:<hex> of the pushed image

    @property
    def digest_hex(self) -> pulumi.Output[str]:
        return self.digest.apply(lambda digest: digest.removeprefix("sha256:"))


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
    tolerations: Sequence[Mapping[str, str]] = ()
    # Extended resources each container asks for, e.g. {"nvidia.com/gpu": "1"} on a GPU pool.
    accelerators: Mapping[str, str] = field(default_factory=dict)
    # NetworkPolicy egress rules for what this workload must reach on this platform (metadata server, databases).
    egress: Sequence[Mapping[str, Any]] = ()


@dataclass(frozen=True)
class TrackingStores:
    """Where MLflow keeps its metadata and artifacts.

    backend_uri None means SQLite on the tracking server's own volume (single replica); artifact_destination None
    means artifacts on that volume too. Both are served through the tracking server (--serve-artifacts).
    """

    backend_uri: pulumi.Output[str] | None = None  # always a Pulumi secret: it may carry a password
    artifact_destination: pulumi.Input[str] | None = None
    # PEM of the CA that signed the database server's certificate. Given, the tracking server verifies the server
    # against it: the Kubernetes layer mounts it and adds libpq's sslrootcert to backend_uri (sslmode set by the platform).
    database_ca_certificate: pulumi.Input[str] | None = None


@dataclass(frozen=True)
class Platform:
    provider: k8s.Provider
    registry: Registry
    tracking_stores: TrackingStores
    tracking: Workload
    serving: Workload
    storage_class: str | None = None
    kubeconfig: pulumi.Output[str] | None = None  # a secret; None when the user's own kubeconfig is used
