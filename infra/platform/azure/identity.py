"""A user-assigned managed identity that exactly one Kubernetes service account may act as (workload identity).

The federated credential trusts tokens of the cluster's OIDC issuer for that one subject; the AKS webhook then gives
the pods of that account a projected token and the client ID, which azure-identity exchanges for an Entra ID token.
No client secret exists.
"""
from dataclasses import dataclass

import pulumi
from pulumi_azure_native import managedidentity

from ...contract import ServiceAccountRef, WorkloadIdentity
from . import roles

TOKEN_AUDIENCE = "api://AzureADTokenExchange"
CLIENT_ID_ANNOTATION = "azure.workload.identity/client-id"
USE_LABEL = "azure.workload.identity/use"  # the webhook mutates only pods that carry it


@dataclass(frozen=True)
class WorkloadManagedIdentityArgs:
    subscription_id: str
    resource_group_name: pulumi.Input[str]
    location: str
    oidc_issuer_url: pulumi.Input[str]
    kubernetes_account: ServiceAccountRef
    role: str
    scope: pulumi.Input[str]  # what the role is granted on


class WorkloadManagedIdentity(pulumi.ComponentResource):
    identity: managedidentity.UserAssignedIdentity
    workload_identity: WorkloadIdentity

    def __init__(self, name: str, args: WorkloadManagedIdentityArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlstack:azure:WorkloadManagedIdentity", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.identity = managedidentity.UserAssignedIdentity(
            name, resource_group_name=args.resource_group_name, location=args.location, opts=child)
        managedidentity.FederatedIdentityCredential(
            f"{name}-federated",
            resource_group_name=args.resource_group_name,
            resource_name_=self.identity.name,
            issuer=args.oidc_issuer_url,
            subject=kubernetes_subject(args.kubernetes_account),
            audiences=[TOKEN_AUDIENCE],
            opts=child,
        )
        roles.grant(f"{name}-role", subscription_id=args.subscription_id, role=args.role, scope=args.scope,
                    principal_id=self.identity.principal_id, principal_type=roles.SERVICE_PRINCIPAL, opts=child)
        self.workload_identity = WorkloadIdentity(
            service_account_annotations={CLIENT_ID_ANNOTATION: self.identity.client_id},
            pod_labels={USE_LABEL: "true"},
        )
        self.register_outputs({"client_id": self.identity.client_id})


def kubernetes_subject(account: ServiceAccountRef) -> str:
    return f"system:serviceaccount:{account.namespace}:{account.name}"
