"""The stack's own VPC: private nodes reach the internet through Cloud NAT and Google APIs on a private range."""
from dataclasses import dataclass
from ipaddress import IPv4Network

import pulumi
import pulumi_gcp as gcp

# One VPC per stack, so a fixed plan cannot clash with another stack; the ranges are RFC 1918 and disjoint.
NODE_RANGE = "10.0.0.0/20"
POD_RANGE = "10.4.0.0/14"
SERVICE_RANGE = "10.8.0.0/20"
CONTROL_PLANE_RANGE = "172.16.0.0/28"
MANAGED_SERVICES_RANGE = "10.16.0.0/20"  # private services access: Cloud SQL gets its private IP here
POD_RANGE_NAME = "pods"
SERVICE_RANGE_NAME = "services"
# private.googleapis.com: Private Google Access on addresses that never leave Google's network, narrow enough
# for a NetworkPolicy to allow instead of all of 0.0.0.0/0 on port 443.
PRIVATE_GOOGLE_APIS_RANGE = "199.36.153.8/30"


@dataclass(frozen=True)
class NetworkArgs:
    region: str


class Network(pulumi.ComponentResource):
    network: gcp.compute.Network
    subnet: gcp.compute.Subnetwork
    services_peering: gcp.servicenetworking.Connection

    def __init__(self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlstack:gcp:Network", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.network = gcp.compute.Network(name, auto_create_subnetworks=False, routing_mode="REGIONAL", opts=child)
        self.subnet = gcp.compute.Subnetwork(
            f"{name}-nodes",
            network=self.network.id,
            region=args.region,
            ip_cidr_range=NODE_RANGE,
            private_ip_google_access=True,
            secondary_ip_ranges=[
                gcp.compute.SubnetworkSecondaryIpRangeArgs(range_name=POD_RANGE_NAME, ip_cidr_range=POD_RANGE),
                gcp.compute.SubnetworkSecondaryIpRangeArgs(range_name=SERVICE_RANGE_NAME, ip_cidr_range=SERVICE_RANGE),
            ],
            opts=child,
        )
        self._cloud_nat(name, args.region, child)
        self.services_peering = self._private_services_access(name, child)
        self._private_google_apis_dns(name, child)
        self.register_outputs({"network": self.network.id, "subnet": self.subnet.id})

    def _cloud_nat(self, name: str, region: str, opts: pulumi.ResourceOptions) -> None:
        router = gcp.compute.Router(f"{name}-router", network=self.network.id, region=region, opts=opts)
        gcp.compute.RouterNat(
            f"{name}-nat",
            router=router.name,
            region=region,
            nat_ip_allocate_option="AUTO_ONLY",
            source_subnetwork_ip_ranges_to_nat="ALL_SUBNETWORKS_ALL_IP_RANGES",
            log_config=gcp.compute.RouterNatLogConfigArgs(enable=True, filter="ERRORS_ONLY"),
            opts=opts,
        )

    def _private_services_access(self, name: str, opts: pulumi.ResourceOptions) -> gcp.servicenetworking.Connection:
        managed = IPv4Network(MANAGED_SERVICES_RANGE)
        reserved = gcp.compute.GlobalAddress(
            f"{name}-managed-services",
            network=self.network.id,
            purpose="VPC_PEERING",
            address_type="INTERNAL",
            address=str(managed.network_address),
            prefix_length=managed.prefixlen,
            opts=opts,
        )
        return gcp.servicenetworking.Connection(
            f"{name}-services-peering",
            network=self.network.id,
            service="servicenetworking.googleapis.com",
            reserved_peering_ranges=[reserved.name],
            opts=opts,
        )

    def _private_google_apis_dns(self, name: str, opts: pulumi.ResourceOptions) -> None:
        zone = gcp.dns.ManagedZone(
            f"{name}-googleapis",
            dns_name="googleapis.com.",
            visibility="private",
            private_visibility_config=gcp.dns.ManagedZonePrivateVisibilityConfigArgs(
                networks=[gcp.dns.ManagedZonePrivateVisibilityConfigNetworkArgs(network_url=self.network.id)]),
            opts=opts,
        )
        gcp.dns.RecordSet(
            f"{name}-private-googleapis",
            managed_zone=zone.name, name="private.googleapis.com.", type="A", ttl=300,
            rrdatas=[str(address) for address in IPv4Network(PRIVATE_GOOGLE_APIS_RANGE)],
            opts=opts,
        )
        gcp.dns.RecordSet(
            f"{name}-googleapis-wildcard",
            managed_zone=zone.name, name="*.googleapis.com.", type="CNAME", ttl=300,
            rrdatas=["private.googleapis.com."],
            opts=opts,
        )
