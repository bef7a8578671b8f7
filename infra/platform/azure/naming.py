"""Names Azure makes us choose (the rest are auto-named by Pulumi with a random suffix)."""
import hashlib
import re

from ..naming import stack_slug


def resource_group_name(stack: str) -> str:
    return f"mlstack-{stack_slug(stack, 80)}"


def dns_prefix(stack: str) -> str:
    """The cluster's DNS prefix: 1-54 characters, letters, digits and '-', starting and ending alphanumeric."""
    return f"mlstack-{stack_slug(stack, 40)}"


def _globally_unique(prefix: str, stack: str, subscription_id: str, room: int) -> str:
    """`prefix`, the stack's letters and digits, and a hash of subscription and stack: names in a DNS zone shared by
    every Azure customer (<name>.azurecr.io, <name>.blob.core.windows.net) must be unique there, lower-case, no '-'."""
    digest = hashlib.sha256(f"{subscription_id}/{stack}".encode()).hexdigest()[:8]
    letters = re.sub(r"[^a-z0-9]", "", stack.lower())[: room - len(prefix) - len(digest)]
    return f"{prefix}{letters}{digest}"


def registry_name(stack: str, subscription_id: str) -> str:
    return _globally_unique("mlstack", stack, subscription_id, 50)


def storage_account_name(stack: str, subscription_id: str) -> str:
    return _globally_unique("mlflow", stack, subscription_id, 24)
