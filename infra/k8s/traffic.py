"""How requests are shared between the stable model and a canary: by pod count, or by Gateway API route weights.

Behind one Service, kube-proxy spreads connections evenly over the ready pods of both Deployments, so the canary's
share is its share of the pods. A Gateway API HTTPRoute splits requests by weight instead, exactly, whatever the
pod counts; it needs a Gateway controller in the cluster (GKE's, Envoy Gateway, Istio, ...).
"""
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from ..config.model import CanaryConfig, GatewayRef
from .meta import CANARY, STABLE, TRACK_LABEL
from .workload import HardenedWorkload

GATEWAY_GROUP = "gateway.networking.k8s.io"
ROUTE_API_VERSION = f"{GATEWAY_GROUP}/v1"
MAX_REPLICAS = 100


def canary_replicas(stable_min: int, stable_max: int, percent: int) -> tuple[int, int]:
    """Autoscaler bounds of the canary that keep canary/(canary + stable) near `percent` at both ends.

    At least one canary pod, so a small stable count over-serves a small share: 1 canary beside 2 stable is 33%.
    """
    def scaled(stable: int) -> int:
        return min(MAX_REPLICAS, max(1, round(stable * percent / (100 - percent))))

    low = scaled(stable_min)
    return low, max(low, scaled(stable_max))


def http_route(resource_name: str, unit: HardenedWorkload, gateway: GatewayRef, canary: CanaryConfig | None,
               service: pulumi.Resource) -> k8s.apiextensions.CustomResource:
    """The model's route on the Gateway: all to the Service, or split by weight between per-track Services."""
    backends: list[dict[str, Any]]
    depends_on = [service]
    if canary is None:
        backends = [_backend(unit.name, unit.args.service_port)]
    else:
        backends = []
        for track, weight in ((STABLE, 100 - canary.percent), (CANARY, canary.percent)):
            suffix = "-" + track
            # ClusterIP whatever serviceType says: only the Gateway calls these.
            depends_on.append(unit.service(suffix, {**unit.selector, TRACK_LABEL: track}, service_type="ClusterIP"))
            backends.append({**_backend(unit.name + suffix, unit.args.service_port), "weight": weight})
    return k8s.apiextensions.CustomResource(
        resource_name,
        api_version=ROUTE_API_VERSION,
        kind="HTTPRoute",
        metadata=unit.metadata(),
        spec={
            "parentRefs": [{"group": GATEWAY_GROUP, "kind": "Gateway", "namespace": gateway.namespace, "name": gateway.name}],
            "rules": [{"backendRefs": backends}],
        },
        opts=pulumi.ResourceOptions.merge(unit.in_namespace, pulumi.ResourceOptions(depends_on=depends_on)),
    )


def _backend(service_name: str, port: int) -> dict[str, Any]:
    return {"group": "", "kind": "Service", "name": service_name, "port": port}
