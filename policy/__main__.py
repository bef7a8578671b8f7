"""mlstack's policy pack, run by the Pulumi CLI: `pulumi preview --policy-pack policy`."""
from mlstack_policy import POLICIES
from pulumi_policy import EnforcementLevel, PolicyPack

PolicyPack(name="mlstack", enforcement_level=EnforcementLevel.MANDATORY, policies=POLICIES)
