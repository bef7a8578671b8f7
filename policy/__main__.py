"""mlstack's policy pack, run by the Pulumi CLI: `pulumi preview --policy-pack policy`."""
from pulumi_policy import EnforcementLevel, PolicyPack

from mlstack_policy import POLICIES

PolicyPack(name="mlstack", enforcement_level=EnforcementLevel.MANDATORY, policies=POLICIES)
