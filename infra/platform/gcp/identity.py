"""A Google service account that exactly one Kubernetes service account may act as (Workload Identity)."""
from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

from ...contract import ServiceAccountRef, WorkloadIdentity

WORKLOAD_IDENTITY_USER = "roles/iam.workloadIdentityUser"
GSA_ANNOTATION = "iam.gke.io/gcp-service-account"


@dataclass(frozen=True)
class WorkloadServiceAccountArgs:
    project: str
    account_id: str
    display_name: str
    workload_pool: str
    kubernetes_account: ServiceAccountRef
    bucket: pulumi.Input[str]
    bucket_role: str
    cluster: pulumi.Resource  # the pool <project>.svc.id.goog exists once a cluster uses it


class WorkloadServiceAccount(pulumi.ComponentResource):
    account: gcp.serviceaccount.Account
    identity: WorkloadIdentity

    def __init__(self, name: str, args: WorkloadServiceAccountArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlstack:gcp:WorkloadServiceAccount", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.account = gcp.serviceaccount.Account(
            name, account_id=args.account_id, display_name=args.display_name, opts=child)
        member = pulumi.Output.concat("serviceAccount:", self.account.email)
        gcp.serviceaccount.IAMMember(
            f"{name}-workload-identity",
            service_account_id=self.account.name,
            role=WORKLOAD_IDENTITY_USER,
            member=kubernetes_member(args.workload_pool, args.kubernetes_account),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[args.cluster]),
        )
        gcp.storage.BucketIAMMember(f"{name}-bucket", bucket=args.bucket, role=args.bucket_role, member=member, opts=child)
        self.identity = WorkloadIdentity(service_account_annotations={GSA_ANNOTATION: self.account.email})
        self.register_outputs({"email": self.account.email})


def kubernetes_member(workload_pool: str, account: ServiceAccountRef) -> str:
    return f"serviceAccount:{workload_pool}[{account.namespace}/{account.name}]"
