"""The project's Binary Authorization policy, declared where the cluster enforces it: deny every image except the
stack's own registry repository.

Without it, an enforcing cluster evaluates the project's default policy, which admits everything. GKE's own system
images are admitted by Google's global policy (global_policy_evaluation_mode). The monitoring chart's images come
from that repository too (mirrored, infra/image_mirror.py), except on a stack that builds no images
(`imageBuild: false`): there the chart's upstream repositories are admitted as well, or the chart could not start.
Attestations (images signed by CI) would be stronger than an allowlist; they need an attestor and a signing step in
CI, which this stack does not run.
"""
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

# The upstream repositories of kube-prometheus-stack's images (infra/config/chart_images.py), admitted only where
# the stack runs them unmirrored; review them with every chart version bump.
MONITORING_CHART_UPSTREAMS = (
    "quay.io/prometheus/*",
    "quay.io/prometheus-operator/*",
    "quay.io/kiwigrid/*",
    "registry.k8s.io/kube-state-metrics/*",
    "ghcr.io/jkroepke/kube-webhook-certgen*",  # the admission webhook's certificate Jobs (Helm hooks)
    "docker.io/grafana/*",
)


@dataclass(frozen=True)
class BinaryAuthorizationArgs:
    project: str
    registry_address: pulumi.Input[str]  # <region>-docker.pkg.dev/<project>/<repository>
    extra_patterns: Sequence[str] = ()  # admitted besides the stack's registry


class BinaryAuthorizationPolicy(pulumi.ComponentResource):
    policy: gcp.binaryauthorization.Policy

    def __init__(self, name: str, args: BinaryAuthorizationArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlstack:gcp:BinaryAuthorizationPolicy", name, None, opts)
        allowed = [{"name_pattern": pulumi.Output.concat(args.registry_address, "/**")},
                   *({"name_pattern": pattern} for pattern in args.extra_patterns)]
        self.policy = gcp.binaryauthorization.Policy(
            name,
            project=args.project,
            description="mlstack: only the stack's registry runs (and, unmirrored, the monitoring chart's upstream images)",
            global_policy_evaluation_mode="ENABLE",
            admission_whitelist_patterns=allowed,
            default_admission_rule={"evaluation_mode": "ALWAYS_DENY", "enforcement_mode": "ENFORCED_BLOCK_AND_AUDIT_LOG"},
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.register_outputs({"policy": self.policy.id})
