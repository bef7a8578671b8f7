"""Artifact Registry for the serving image: nodes pull with their own identity, the build pushes as the caller."""
from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

from ...contract import Registry

READER_ROLE = "roles/artifactregistry.reader"
# Artifact Registry's user name for "the password is an OAuth access token".
ACCESS_TOKEN_USER = "oauth2accesstoken"


@dataclass(frozen=True)
class ArtifactRegistryArgs:
    project: str
    region: str
    repository_id: str
    node_account_email: pulumi.Input[str]


class ArtifactRegistry(pulumi.ComponentResource):
    repository: gcp.artifactregistry.Repository
    registry: Registry

    def __init__(self, name: str, args: ArtifactRegistryArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlstack:gcp:ArtifactRegistry", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.repository = gcp.artifactregistry.Repository(
            name, repository_id=args.repository_id, location=args.region, format="DOCKER",
            description="mlstack serving images",
            # A tag names one build for good (the tags are content hashes); every pushed image is scanned for CVEs.
            docker_config={"immutable_tags": True},
            vulnerability_scanning_config={"enablement_config": "INHERITED"},
            opts=child)
        gcp.artifactregistry.RepositoryIamMember(
            f"{name}-node-pull",
            repository=self.repository.name,
            location=args.region,
            role=READER_ROLE,
            member=pulumi.Output.concat("serviceAccount:", args.node_account_email),
            opts=child,
        )
        # The token of whoever runs `pulumi up` (gcloud auth application-default login, or CI's workload
        # identity): short-lived, read at each run, so no key file is created or stored.
        token = gcp.organizations.get_client_config_output(opts=pulumi.InvokeOutputOptions(parent=self)).access_token
        self.registry = Registry(
            address=pulumi.Output.concat(args.region, "-docker.pkg.dev/", args.project, "/", self.repository.repository_id),
            username=ACCESS_TOKEN_USER,
            password=pulumi.Output.secret(token),
        )
        self.register_outputs({"address": self.registry.address})
