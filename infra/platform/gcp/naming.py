"""Physical names Google Cloud makes us choose (the rest are auto-named by Pulumi with a random suffix)."""
from ..naming import stack_slug

SERVICE_ACCOUNT_ID_MAX = 30


def service_account_id(stack: str, purpose: str) -> str:
    """`mls-<stack>-<purpose>`, within the 6-30 characters [a-z][a-z0-9-]*[a-z0-9] IAM accepts."""
    return f"mls-{stack_slug(stack, SERVICE_ACCOUNT_ID_MAX - len(f'mls--{purpose}'))}-{purpose}"


def repository_id(stack: str) -> str:
    return f"mlstack-{stack_slug(stack, 40)}"
