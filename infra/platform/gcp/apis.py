"""The Google Cloud APIs the stack calls, enabled before anything else is declared."""
from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

BASE_SERVICES = (
    "compute.googleapis.com",
    "container.googleapis.com",
    "artifactregistry.googleapis.com",
    "sqladmin.googleapis.com",
    "servicenetworking.googleapis.com",
    "dns.googleapis.com",
    "iam.googleapis.com",
    "storage.googleapis.com",
    "cloudkms.googleapis.com",
    "containerscanning.googleapis.com",  # Artifact Registry's vulnerability scanning
)
BINARY_AUTHORIZATION_SERVICE = "binaryauthorization.googleapis.com"


@dataclass(frozen=True)
class ProjectApisArgs:
    binary_authorization: bool


class ProjectApis(pulumi.ComponentResource):
    services: list[gcp.projects.Service]

    def __init__(self, name: str, args: ProjectApisArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlstack:gcp:ProjectApis", name, None, opts)
        wanted = BASE_SERVICES + ((BINARY_AUTHORIZATION_SERVICE,) if args.binary_authorization else ())
        self.services = [
            # Another stack or team may use the same API: destroying this stack must not switch it off.
            gcp.projects.Service(f"{name}-{service.split('.')[0]}", service=service, disable_on_destroy=False,
                                 opts=pulumi.ResourceOptions(parent=self))
            for service in wanted
        ]
        self.register_outputs({"services": [s.service for s in self.services]})
