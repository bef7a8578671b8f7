"""The Cloud KMS key GKE encrypts the cluster's Secrets with (application-layer secrets encryption)."""
from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

ROTATION_PERIOD = f"{90 * 24 * 3600}s"
ENCRYPTER_DECRYPTER = "roles/cloudkms.cryptoKeyEncrypterDecrypter"


@dataclass(frozen=True)
class SecretsKeyArgs:
    project: str
    region: str  # the cluster's region: GKE needs the key where the control plane runs
    key_ring: str
    protect: bool  # losing the key makes every Secret of the cluster unreadable


class SecretsKey(pulumi.ComponentResource):
    key: gcp.kms.CryptoKey
    grant: gcp.kms.CryptoKeyIAMMember  # the cluster must wait for it, or GKE cannot use the key

    def __init__(self, name: str, args: SecretsKeyArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlstack:gcp:SecretsKey", name, None, opts)
        kept = pulumi.ResourceOptions(parent=self, protect=args.protect)
        ring = gcp.kms.KeyRing(f"{name}-ring", name=args.key_ring, location=args.region, opts=kept)
        self.key = gcp.kms.CryptoKey(f"{name}-key", name="gke-secrets", key_ring=ring.id, purpose="ENCRYPT_DECRYPT",
                                     rotation_period=ROTATION_PERIOD, opts=kept)
        number = gcp.organizations.get_project_output(project_id=args.project,
                                                      opts=pulumi.InvokeOutputOptions(parent=self)).number
        self.grant = gcp.kms.CryptoKeyIAMMember(
            f"{name}-gke-agent",
            crypto_key_id=self.key.id,
            role=ENCRYPTER_DECRYPTER,
            member=pulumi.Output.concat("serviceAccount:service-", number, "@container-engine-robot.iam.gserviceaccount.com"),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.register_outputs({"key": self.key.id})
