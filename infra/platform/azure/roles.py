"""Built-in Azure roles the stack grants, by their fixed IDs, and one role assignment helper."""
import pulumi
from pulumi_azure_native import authorization

ACR_PULL = "7f951dda-4ed3-4680-a7ca-43fe172d538d"
ACR_PUSH = "8311e382-0749-4cb8-b61a-04e5fd8cc7ed"
STORAGE_BLOB_DATA_CONTRIBUTOR = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"
AKS_RBAC_CLUSTER_ADMIN = "b1ff04bb-8a4e-4dc4-8eb5-8693973ce19b"
# A managed identity: saying so lets ARM skip the directory lookup that fails while a new identity replicates.
SERVICE_PRINCIPAL = "ServicePrincipal"


def role_definition_id(subscription_id: str, role: str) -> str:
    return f"/subscriptions/{subscription_id}/providers/Microsoft.Authorization/roleDefinitions/{role}"


def grant(name: str, *, subscription_id: str, role: str, scope: pulumi.Input[str], principal_id: pulumi.Input[str],
          principal_type: str, opts: pulumi.ResourceOptions) -> authorization.RoleAssignment:
    return authorization.RoleAssignment(
        name,
        scope=scope,
        role_definition_id=role_definition_id(subscription_id, role),
        principal_id=principal_id,
        principal_type=principal_type,
        opts=opts,
    )
