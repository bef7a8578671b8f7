"""The stack's own virtual network: a node subnet and a subnet delegated to the PostgreSQL flexible server.

Pods get addresses from an overlay range (Azure CNI Overlay), so the VNet only holds nodes and the database; the
ranges are RFC 1918, disjoint, and a VNet per stack means a fixed plan cannot clash with another stack.
"""
from dataclasses import dataclass

import pulumi
from pulumi_azure_native import network

VNET_RANGE = "10.40.0.0/16"
NODE_RANGE = "10.40.0.0/20"
DATABASE_RANGE = "10.40.16.0/28"  # the smallest subnet a flexible server accepts
POD_RANGE = "10.244.0.0/16"  # overlay: never routed in the VNet
SERVICE_RANGE = "10.41.0.0/16"
DNS_SERVICE_IP = "10.41.0.10"
POSTGRES_DELEGATION = "Microsoft.DBforPostgreSQL/flexibleServers"
# Storage is reached from the node subnet over a service endpoint: the account refuses every other network.
STORAGE_SERVICE_ENDPOINT = "Microsoft.Storage"


@dataclass(frozen=True)
class VirtualNetworkArgs:
    resource_group_name: pulumi.Input[str]
    location: str


class VirtualNetwork(pulumi.ComponentResource):
    vnet: network.VirtualNetwork
    node_subnet: network.Subnet
    database_subnet: network.Subnet

    def __init__(self, name: str, args: VirtualNetworkArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlstack:azure:VirtualNetwork", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.vnet = network.VirtualNetwork(
            name,
            resource_group_name=args.resource_group_name,
            location=args.location,
            address_space={"address_prefixes": [VNET_RANGE]},
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=["subnets"]),  # subnets are resources of their own
        )
        self.node_subnet = network.Subnet(
            f"{name}-nodes",
            resource_group_name=args.resource_group_name,
            virtual_network_name=self.vnet.name,
            address_prefix=NODE_RANGE,
            service_endpoints=[{"service": STORAGE_SERVICE_ENDPOINT}],
            opts=child,
        )
        self.database_subnet = network.Subnet(
            f"{name}-database",
            resource_group_name=args.resource_group_name,
            virtual_network_name=self.vnet.name,
            address_prefix=DATABASE_RANGE,
            delegations=[{"name": "postgres", "service_name": POSTGRES_DELEGATION}],
            # Two subnets of one VNet cannot be written at once: ARM refuses the second with "AnotherOperationInProgress".
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.node_subnet]),
        )
        self.register_outputs({"vnet": self.vnet.id, "node_subnet": self.node_subnet.id})
