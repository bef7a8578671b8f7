"""What a component offers the others: where it answers, where its metrics are, how a client signs in.

Components publish these values; the stack wires one component's value into another's arguments, so no consumer
needs to know how the provider of a value is built.
"""
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi


@dataclass(frozen=True)
class ServiceEndpoint:
    """A workload's Service inside the cluster."""

    name: str
    namespace: str
    port: int  # the Service port clients call
    port_name: str  # names the Service port and the container port behind it
    selector: Mapping[str, str]  # the Service's pods; also a subset of the Service's own labels
    service: pulumi.Resource
    url: pulumi.Output[str]


@dataclass(frozen=True)
class BasicAuth:
    username: pulumi.Input[str]
    password: pulumi.Output[str]  # always a Pulumi secret


@dataclass(frozen=True)
class ScrapeTarget:
    """A Service whose pods serve Prometheus metrics; the ServiceMonitor lives beside it, in its namespace."""

    service_name: str  # becomes the `job` label of the scraped series
    namespace: str
    service_labels: Mapping[str, str]  # a subset of the Service's own labels: what the ServiceMonitor selects
    port_name: str
    path: str = "/metrics"
    basic_auth: BasicAuth | None = None
    service: pulumi.Resource | None = None  # created first: the namespace must exist
    pod_labels: Sequence[str] = ()  # pod labels copied onto every scraped series

    @classmethod
    def of(cls, endpoint: ServiceEndpoint, basic_auth: BasicAuth | None = None,
           pod_labels: Sequence[str] = ()) -> "ScrapeTarget":
        return cls(endpoint.name, endpoint.namespace, endpoint.selector, endpoint.port_name,
                   basic_auth=basic_auth, service=endpoint.service, pod_labels=tuple(pod_labels))


@dataclass(frozen=True)
class ClientAccess:
    """How a client reaches a server that asks for credentials: its endpoint and a user kept secret end to end."""

    endpoint: ServiceEndpoint
    username: pulumi.Input[str]
    password: pulumi.Output[str]  # always a Pulumi secret
