"""Mandatory rules for the cloud resources: storage, databases and clusters on Google Cloud and Azure.

The Azure rules are written against azure-native's resource types and input names (containerservice:ManagedCluster,
storage:StorageAccount and BlobContainer, dbforpostgresql:Server), which the AKS target is to use."""
from pulumi_policy import PolicyConfigSchema, ReportViolation, ResourceValidationArgs, ResourceValidationPolicy

from .inputs import dig, items, stack_of

PUBLIC_MEMBERS = ("allUsers", "allAuthenticatedUsers")
PRODUCTION_STACKS = ["prod", "aks-prod"]


def _gcs_bucket_not_public(args: ResourceValidationArgs, report: ReportViolation) -> None:
    props, name = args.props, args.name
    if args.resource_type == "gcp:storage/bucket:Bucket":
        if props.get("publicAccessPrevention") != "enforced":
            report(f"bucket {name}: publicAccessPrevention must be 'enforced' (it is {props.get('publicAccessPrevention')!r})", None)
        if props.get("uniformBucketLevelAccess") is not True:
            report(f"bucket {name}: uniformBucketLevelAccess must be true, so no object ACL can make an object public", None)
        return
    grantees = {
        "gcp:storage/bucketIAMMember:BucketIAMMember": [props.get("member")],
        "gcp:storage/bucketIAMBinding:BucketIAMBinding": items(props.get("members")),
        "gcp:storage/bucketAccessControl:BucketAccessControl": [props.get("entity")],
        "gcp:storage/defaultObjectAccessControl:DefaultObjectAccessControl": [props.get("entity")],
        "gcp:storage/objectAccessControl:ObjectAccessControl": [props.get("entity")],
    }.get(args.resource_type, [])
    for grantee in grantees:
        if grantee in PUBLIC_MEMBERS:
            report(f"{args.resource_type.rsplit(':', 1)[-1]} {name}: grants bucket {props.get('bucket')} to {grantee}, "
                   "which makes it public", None)


def _azure_storage_not_public(args: ResourceValidationArgs, report: ReportViolation) -> None:
    props, name = args.props, args.name
    if args.resource_type == "azure-native:storage:StorageAccount" and props.get("allowBlobPublicAccess") is not False:
        report(f"storage account {name}: allowBlobPublicAccess must be false (it is {props.get('allowBlobPublicAccess')!r})", None)
    if args.resource_type == "azure-native:storage:BlobContainer" and props.get("publicAccess") not in (None, "None"):
        report(f"blob container {name}: publicAccess must be 'None' (it is {props.get('publicAccess')!r})", None)


def _sql_without_public_ip(args: ResourceValidationArgs, report: ReportViolation) -> None:
    props, name = args.props, args.name
    if args.resource_type == "gcp:sql/databaseInstance:DatabaseInstance":
        # Cloud SQL gives an instance a public IPv4 address unless ipv4Enabled is false.
        if dig(props, "settings", "ipConfiguration", "ipv4Enabled") is not False:
            report(f"Cloud SQL instance {name}: settings.ipConfiguration.ipv4Enabled must be false (private IP only)", None)
    elif args.resource_type == "azure-native:dbforpostgresql:Server" and dig(props, "network", "publicNetworkAccess") != "Disabled":
        report(f"PostgreSQL server {name}: network.publicNetworkAccess must be 'Disabled' "
               f"(it is {dig(props, 'network', 'publicNetworkAccess')!r})", None)


def _gke_private_nodes_and_workload_identity(args: ResourceValidationArgs, report: ReportViolation) -> None:
    props, name = args.props, args.name
    if args.resource_type == "gcp:container/cluster:Cluster":
        if dig(props, "privateClusterConfig", "enablePrivateNodes") is not True:
            report(f"GKE cluster {name}: privateClusterConfig.enablePrivateNodes must be true (nodes without public IPs)", None)
        if not dig(props, "workloadIdentityConfig", "workloadPool"):
            report(f"GKE cluster {name}: workloadIdentityConfig.workloadPool must be set (Workload Identity)", None)
    if args.resource_type in ("gcp:container/cluster:Cluster", "gcp:container/nodePool:NodePool"):
        node_config = props.get("nodeConfig")
        mode = dig(node_config, "workloadMetadataConfig", "mode")
        if node_config is not None and mode != "GKE_METADATA":
            report(f"{args.resource_type.rsplit(':', 1)[-1]} {name}: nodeConfig.workloadMetadataConfig.mode must be "
                   f"'GKE_METADATA' (it is {mode!r}); otherwise pods read the node's credentials and bypass Workload Identity", None)


def _aks_local_accounts_disabled_in_production(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != "azure-native:containerservice:ManagedCluster":
        return
    production = args.get_config().get("productionStacks", PRODUCTION_STACKS)
    stack = stack_of(args.urn)
    if stack in production and args.props.get("disableLocalAccounts") is not True:
        report(f"AKS cluster {args.name}: disableLocalAccounts must be true in production stack '{stack}' "
               "(sign-in through Microsoft Entra ID only, no static admin credentials)", None)


POLICIES = [
    ResourceValidationPolicy(
        name="buckets-not-public",
        description="Cloud Storage buckets enforce public access prevention and uniform access; nothing grants allUsers.",
        validate=_gcs_bucket_not_public,
    ),
    ResourceValidationPolicy(
        name="storage-accounts-not-public",
        description="Azure storage accounts forbid public blob access; no blob container is public.",
        validate=_azure_storage_not_public,
    ),
    ResourceValidationPolicy(
        name="sql-without-public-ip",
        description="Databases (Cloud SQL, Azure PostgreSQL) have no public IP or public network access.",
        validate=_sql_without_public_ip,
    ),
    ResourceValidationPolicy(
        name="gke-private-nodes-and-workload-identity",
        description="GKE clusters have private nodes and Workload Identity, and every node pool uses the GKE metadata server.",
        validate=_gke_private_nodes_and_workload_identity,
    ),
    ResourceValidationPolicy(
        name="aks-local-accounts-disabled-in-production",
        description="AKS clusters of production stacks disable local accounts.",
        validate=_aks_local_accounts_disabled_in_production,
        config_schema=PolicyConfigSchema(properties={
            "productionStacks": {"type": "array", "items": {"type": "string"}, "default": PRODUCTION_STACKS},
        }),
    ),
]
