"""Azure Container Registry for the images: no admin user; nodes pull as the kubelet identity, the build pushes as
the caller through a short-lived token."""
from dataclasses import dataclass

import pulumi
from pulumi_azure_native import authorization, containerregistry

from ...contract import Registry
from . import acr_token, roles


@dataclass(frozen=True)
class ContainerRegistryArgs:
    subscription_id: str
    resource_group_name: pulumi.Input[str]
    location: str
    registry_name: str
    sku: str
    kubelet_object_id: pulumi.Input[str]
    deployer_object_id: pulumi.Input[str]  # whoever runs `pulumi up` pushes the images
    deployer_principal_type: str
    tenant_id: pulumi.Input[str]


class ContainerRegistry(pulumi.ComponentResource):
    registry: containerregistry.Registry
    pushes: Registry

    def __init__(self, name: str, args: ContainerRegistryArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlstack:azure:ContainerRegistry", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.registry = containerregistry.Registry(
            name,
            resource_group_name=args.resource_group_name,
            location=args.location,
            registry_name=args.registry_name,
            sku={"name": args.sku},
            admin_user_enabled=False,
            anonymous_pull_enabled=False,
            opts=child,
        )
        roles.grant(f"{name}-kubelet-pull", subscription_id=args.subscription_id, role=roles.ACR_PULL,
                    scope=self.registry.id, principal_id=args.kubelet_object_id,
                    principal_type=roles.SERVICE_PRINCIPAL, opts=child)
        push = roles.grant(f"{name}-deployer-push", subscription_id=args.subscription_id, role=roles.ACR_PUSH,
                           scope=self.registry.id, principal_id=args.deployer_object_id,
                           principal_type=args.deployer_principal_type, opts=child)
        self.pushes = Registry(
            address=self.registry.login_server,
            username=acr_token.TOKEN_USER,
            password=self._push_token(args.tenant_id, push),
        )
        self.register_outputs({"login_server": self.registry.login_server})

    def _push_token(self, tenant_id: pulumi.Input[str], push: authorization.RoleAssignment) -> pulumi.Output[str] | None:
        """Exchanged at `pulumi up` only, once the push role exists: a preview pushes nothing, so it logs in nowhere."""
        if pulumi.runtime.is_dry_run():
            return None
        access_token = authorization.get_client_token_output(opts=pulumi.InvokeOutputOptions(parent=self)).token
        exchanged = pulumi.Output.all(self.registry.login_server, tenant_id, access_token, push.id).apply(
            lambda parts: acr_token.refresh_token(parts[0], parts[1], parts[2]))
        return pulumi.Output.secret(exchanged)

