"""mlstack's policies: mandatory security rules (kubernetes, clouds) and advisory cost rules."""
from . import clouds, cost, kubernetes

POLICIES = [*kubernetes.POLICIES, *clouds.POLICIES, *cost.POLICIES]
