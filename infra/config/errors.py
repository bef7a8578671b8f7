import pulumi

from .keys import NAMESPACE


class ConfigError(pulumi.RunError):
    """A bad configuration value. RunError makes `pulumi preview` print the message alone, without a traceback."""

    def __init__(self, key: str, value: object, allowed: str):
        self.key = key
        super().__init__(f"{NAMESPACE}:{key} = {value!r} is not allowed: {allowed}")
