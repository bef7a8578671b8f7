"""Physical names Google Cloud makes us choose (the rest are auto-named by Pulumi with a random suffix)."""
import hashlib
import re

SERVICE_ACCOUNT_ID_MAX = 30
_HASH_LENGTH = 6


def stack_slug(stack: str, room: int) -> str:
    """The stack name as at most `room` characters of [a-z0-9-], neither starting nor ending with '-'.

    Stacks of one project share its namespaces of names, so names carry the stack; a stack name that is not
    already such a slug, or is too long, is shortened and kept unique by a hash of it.
    """
    slug = re.sub(r"[^a-z0-9]+", "-", stack.lower()).strip("-")
    if slug == stack and len(slug) <= room:
        return slug
    digest = hashlib.sha256(stack.encode()).hexdigest()[:_HASH_LENGTH]
    head = slug[: room - _HASH_LENGTH - 1].strip("-")
    return f"{head}-{digest}" if head else digest


def service_account_id(stack: str, purpose: str) -> str:
    """`mls-<stack>-<purpose>`, within the 6-30 characters [a-z][a-z0-9-]*[a-z0-9] IAM accepts."""
    return f"mls-{stack_slug(stack, SERVICE_ACCOUNT_ID_MAX - len(f'mls--{purpose}'))}-{purpose}"


def repository_id(stack: str) -> str:
    return f"mlstack-{stack_slug(stack, 40)}"
