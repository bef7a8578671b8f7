"""The stack name in the names a cloud makes us choose (the rest are auto-named by Pulumi with a random suffix)."""
import hashlib
import re

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
