"""Stack configuration: every key declared in keys.py, validated once, before any resource is declared."""
from typing import Any

import pulumi
from pulumi.runtime import config as runtime_config

from .errors import ConfigError
from .keys import KEYS, NAMESPACE
from .model import StackConfig, build_config
from .reader import Reader

__all__ = ["KEYS", "ConfigError", "StackConfig", "config_from_values", "load_config"]


def load_config() -> StackConfig:
    """The current stack's configuration, as the Pulumi engine (or the mocks) passes it to the program."""
    prefix = NAMESPACE + ":"
    keys = set(runtime_config.CONFIG.get()) | set(runtime_config.get_config_env())
    raw = {key[len(prefix):]: runtime_config.get_config(key) for key in keys if key.startswith(prefix)}
    return config_from_values(pulumi.get_stack(), raw)


def config_from_values(stack: str, raw: dict[str, Any]) -> StackConfig:
    return build_config(stack, Reader(raw))
