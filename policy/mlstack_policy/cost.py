"""Advisory cost rules: node machine sizes and node pool ceilings. They warn, they never stop a deployment."""
import re
from collections.abc import Iterator, Mapping

from pulumi_policy import EnforcementLevel, PolicyConfigSchema, ReportViolation, ResourceValidationArgs, ResourceValidationPolicy

from .inputs import dig, items

MAX_VCPUS_PER_NODE = 8
MAX_NODES_PER_POOL = 10
_GCE_SHARED_CORE = re.compile(r"^(e2|f1|g1)-(micro|small|medium)$")
_GCE_CUSTOM = re.compile(r"custom-(\d+)-\d+")
# e2-standard-4, c3-standard-4-lssd; not a2/a3-highgpu-8g, whose number counts GPUs, so those are left to a hand check
_GCE_PREDEFINED = re.compile(r"-(\d+)(?:-[a-z]+)?$")
_AZURE = re.compile(r"^Standard_[A-Za-z]+(\d+)")  # Standard_D4s_v5, Standard_NC24ads_A100_v4


def vcpus(machine_type: str) -> int | None:
    """vCPUs of a GCE machine type or an Azure VM size, read from its name; None when the name does not say."""
    if _GCE_SHARED_CORE.match(machine_type):
        return 1
    for pattern in (_GCE_CUSTOM, _AZURE, _GCE_PREDEFINED):
        match = pattern.search(machine_type)
        if match:
            return int(match.group(1))
    return None


def _pools(args: ResourceValidationArgs) -> Iterator[tuple[str, Mapping]]:
    """(label, pool settings) of every node pool the resource declares, in one shape: machine, ceiling."""
    props = args.props
    if args.resource_type == "gcp:container/nodePool:NodePool":
        autoscaling = props.get("autoscaling")
        ceiling = dig(autoscaling, "totalMaxNodeCount") or dig(autoscaling, "maxNodeCount") or props.get("nodeCount")
        yield f"GKE node pool {args.name}", {"machine": dig(props, "nodeConfig", "machineType"), "ceiling": ceiling}
    elif args.resource_type == "azure-native:containerservice:AgentPool":
        yield f"AKS agent pool {args.name}", {"machine": props.get("vmSize"), "ceiling": props.get("maxCount") or props.get("count")}
    elif args.resource_type == "azure-native:containerservice:ManagedCluster":
        for profile in items(props.get("agentPoolProfiles")):
            yield (f"AKS cluster {args.name} pool {profile.get('name')}",
                   {"machine": profile.get("vmSize"), "ceiling": profile.get("maxCount") or profile.get("count")})


def _machine_size(args: ResourceValidationArgs, report: ReportViolation) -> None:
    limit = args.get_config().get("maxVcpusPerNode", MAX_VCPUS_PER_NODE)
    for label, pool in _pools(args):
        machine = pool["machine"]
        if machine is None:
            continue
        size = vcpus(machine)
        if size is None:
            report(f"{label}: cannot tell the vCPUs of machine type '{machine}'; check its cost by hand", None)
        elif size > limit:
            report(f"{label}: machine type '{machine}' has {size} vCPUs, more than {limit} per node; "
                   "prefer more, smaller nodes unless the model needs them", None)


def _node_ceiling(args: ResourceValidationArgs, report: ReportViolation) -> None:
    limit = args.get_config().get("maxNodesPerPool", MAX_NODES_PER_POOL)
    for label, pool in _pools(args):
        if pool["ceiling"] is not None and pool["ceiling"] > limit:
            report(f"{label}: may grow to {pool['ceiling']} nodes, more than {limit}; raise the limit deliberately", None)


POLICIES = [
    ResourceValidationPolicy(
        name="cost-node-machine-size",
        description="Node machine types stay within a vCPU budget per node.",
        validate=_machine_size,
        enforcement_level=EnforcementLevel.ADVISORY,
        config_schema=PolicyConfigSchema(properties={"maxVcpusPerNode": {"type": "integer", "default": MAX_VCPUS_PER_NODE}}),
    ),
    ResourceValidationPolicy(
        name="cost-node-pool-ceiling",
        description="Node pools cannot autoscale past a node count ceiling.",
        validate=_node_ceiling,
        enforcement_level=EnforcementLevel.ADVISORY,
        config_schema=PolicyConfigSchema(properties={"maxNodesPerPool": {"type": "integer", "default": MAX_NODES_PER_POOL}}),
    ),
]
