"""One hardened workload: the skeleton every server of the stack stands on.

A namespace under the `restricted` Pod Security Standard, a service account without an API token, a Service, a
PodDisruptionBudget, a default-deny NetworkPolicy plus exactly the declared allows, and the URL clients call. The
component that owns it adds what differs between servers: the Deployment and its own objects.

It is a helper, not a ComponentResource: its objects are children of the owning component, so their URNs, and the
stacks already deployed with them, stay as they were before it existed.
"""
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from ..contract import ServiceAccountRef, Workload
from . import hardening, network
from .endpoints import ServiceEndpoint
from .meta import labels, metadata, selector_labels

PORT_NAME = "http"


@dataclass(frozen=True)
class SidePort:
    """A second port of the workload's pods with callers of its own, e.g. metrics only the monitoring namespace reads."""

    name: str
    port: int  # the container port, and the Service port of the same number
    callers: Sequence[str]


@dataclass(frozen=True)
class WorkloadArgs:
    account: ServiceAccountRef  # names the namespace, and the service account, Deployment, Service and policy
    component: str
    platform: Workload
    container_port: int
    service_port: int
    callers: Sequence[str]  # namespaces whose pods may call the container port
    egress: Sequence[Mapping[str, Any]] = ()  # beyond cluster DNS and what the platform adds
    service_type: str = "ClusterIP"
    version: str | None = None  # the app.kubernetes.io/version label, when it names what runs
    side_ports: Sequence[SidePort] = ()


class HardenedWorkload:
    def __init__(self, owner: pulumi.Resource, name: str, args: WorkloadArgs):
        self._owner = owner
        self._name = name
        self.args = args
        self.name = args.account.name
        namespace = hardening.restricted_namespace(
            f"{name}-namespace", args.account.namespace, pulumi.ResourceOptions(parent=owner))
        self.in_namespace = pulumi.ResourceOptions(parent=owner, depends_on=[namespace])
        self.namespace: pulumi.Output[str] = namespace.metadata.name
        self.selector = selector_labels(self.name, args.component)
        self.labels = labels(self.name, args.component, args.version)
        self.account = k8s.core.v1.ServiceAccount(
            f"{name}-account",
            metadata=self.metadata(annotations=dict(args.platform.identity.service_account_annotations)),
            automount_service_account_token=False,
            opts=self.in_namespace,
        )

    def metadata(self, suffix: str = "", **extra: object) -> dict[str, object]:
        """Metadata of an object of this workload, named after it (plus a suffix) in its namespace."""
        return metadata(self.name + suffix, self.namespace, self.labels, **extra)

    def pod_template(self, containers: list[dict[str, object]], volumes: list[dict[str, object]],
                     annotations: Mapping[str, pulumi.Input[str]] | None = None, grace_seconds: int = 30,
                     labels: Mapping[str, str] | None = None,
                     init_containers: Sequence[dict[str, object]] = ()) -> dict[str, object]:
        """A pod template under this workload's account, labels (plus `labels`) and platform placement, hardened."""
        template_metadata: dict[str, object] = {
            "labels": {**self.labels, **self.args.platform.identity.pod_labels, **(labels or {})}}
        if annotations:
            template_metadata["annotations"] = dict(annotations)
        return {
            "metadata": template_metadata,
            "spec": hardening.pod_spec(
                service_account=self.account.metadata.name, selector=self.selector, workload=self.args.platform,
                containers=containers, volumes=volumes, grace_seconds=grace_seconds, init_containers=init_containers),
        }

    def expose(self, disruption_budget: bool = True) -> ServiceEndpoint:
        """The Service, the disruption budget and the network policies; returns where clients reach it."""
        args = self.args
        service = self.service()
        if disruption_budget:
            k8s.policy.v1.PodDisruptionBudget(
                f"{self._name}-disruption-budget",
                metadata=self.metadata(),
                spec={"maxUnavailable": 1, "selector": {"matchLabels": self.selector}},
                opts=self.in_namespace,
            )
        self._network_policies()
        url = pulumi.Output.concat("http://", service.metadata.name, ".", self.namespace,
                                   f".svc.cluster.local:{args.service_port}")
        return ServiceEndpoint(self.name, args.account.namespace, args.service_port, PORT_NAME, self.selector,
                               service, url)

    def service(self, suffix: str = "", selector: Mapping[str, str] | None = None,
                service_type: str | None = None) -> k8s.core.v1.Service:
        """A Service of this workload's pods (or the subset `selector` picks), named after it plus a suffix."""
        args = self.args
        return k8s.core.v1.Service(
            f"{self._name}-service{suffix}",
            metadata=self.metadata(suffix),
            spec={
                "type": service_type or args.service_type,
                "selector": dict(selector or self.selector),
                "ports": [{"name": PORT_NAME, "port": args.service_port, "targetPort": PORT_NAME, "protocol": "TCP"},
                          *({"name": p.name, "port": p.port, "targetPort": p.name, "protocol": "TCP"} for p in args.side_ports)],
            },
            opts=self.in_namespace,
        )

    def _network_policies(self) -> None:
        args = self.args
        network.deny_all(f"{self._name}-default-deny", self.namespace, self.in_namespace)
        network.allow(
            f"{self._name}-allow", self.name, self.namespace, self.selector,
            ingress=[{"from": [network.namespaces_peer(callers)], "ports": [{"protocol": "TCP", "port": port}]}
                     for port, callers in [(args.container_port, args.callers), *((p.port, p.callers) for p in args.side_ports)]],
            egress=[network.dns_egress(), *args.egress, *args.platform.egress],
            opts=self.in_namespace,
        )

    def container_port(self) -> dict[str, Any]:
        return {"name": PORT_NAME, "containerPort": self.args.container_port, "protocol": "TCP"}
