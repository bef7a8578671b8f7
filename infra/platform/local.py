"""An existing cluster from the user's kubeconfig (kind, minikube, Docker Desktop, the engine test's control plane)."""
import pulumi_kubernetes as k8s

from ..config import StackConfig
from ..contract import Platform, Registry, TrackingStores, Workload


def local_platform(config: StackConfig) -> Platform:
    local = config.local
    provider = k8s.Provider(
        "local-cluster",
        kubeconfig=local.kubeconfig or None,
        context=local.context or None,
    )
    return Platform(
        provider=provider,
        registry=Registry(address=local.registry),
        tracking_stores=TrackingStores(),
        tracking=Workload(),
        serving=Workload(),
        storage_class=config.storage_class or None,
    )
