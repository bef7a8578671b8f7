"""Typed, validated access to raw config strings; each failure is one ConfigError line."""
import ipaddress
import json
import re
from collections.abc import Iterable, Mapping
from decimal import Decimal
from re import Pattern

from .errors import ConfigError
from .keys import KEYS_BY_NAME
from .quantity import parse_quantity

DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


class Reader:
    """Reads each key once from the raw values (strings, as the Pulumi CLI passes them), defaults applied."""

    def __init__(self, raw: Mapping[str, str]):
        unknown = sorted(set(raw) - set(KEYS_BY_NAME))
        if unknown:
            raise ConfigError(unknown[0], raw[unknown[0]], f"unknown key; known keys: {', '.join(sorted(KEYS_BY_NAME))}")
        self._raw = raw

    def _text(self, name: str) -> str:
        if name in self._raw:
            return self._raw[name]
        default = KEYS_BY_NAME[name].default
        if isinstance(default, bool):
            return "true" if default else "false"
        if isinstance(default, list):
            return json.dumps(default)
        return str(default)

    def string(self, name: str, *, choices: Iterable[str] | None = None,
               pattern: Pattern[str] | None = None, allowed: str = "") -> str:
        value = self._text(name)
        if choices is not None and value not in choices:
            raise ConfigError(name, value, f"one of {', '.join(choices)}")
        if pattern is not None and not pattern.match(value):
            raise ConfigError(name, value, allowed)
        return value

    def dns_label(self, name: str) -> str:
        return self.string(name, pattern=DNS_LABEL, allowed="a DNS label (lower-case letters, digits, '-'; at most 63)")

    def integer(self, name: str, low: int, high: int) -> int:
        text = self._text(name)
        allowed = f"an integer from {low} to {high}"
        try:
            value = int(text)
        except ValueError:
            raise ConfigError(name, text, allowed) from None
        if not low <= value <= high:
            raise ConfigError(name, text, allowed)
        return value

    def boolean(self, name: str) -> bool:
        text = self._text(name)
        if text not in ("true", "false"):
            raise ConfigError(name, text, "true or false")
        return text == "true"

    def dns_labels(self, name: str) -> tuple[str, ...]:
        text = self._text(name)
        allowed = "a list of namespace names (DNS labels)"
        try:
            values = json.loads(text)
        except ValueError:
            raise ConfigError(name, text, allowed) from None
        if not isinstance(values, list) or not all(isinstance(v, str) and DNS_LABEL.match(v) for v in values):
            raise ConfigError(name, text, allowed)
        return tuple(values)

    def quantity(self, name: str, unit: str) -> tuple[str, Decimal]:
        text = self._text(name)
        value = parse_quantity(text)
        if value is None or value <= 0:
            raise ConfigError(name, text, f"a positive Kubernetes quantity of {unit} (e.g. 500m, 2, 512Mi, 1Gi)")
        return text, value

    def ipv4_cidrs(self, name: str) -> tuple[str, ...]:
        text = self._text(name)
        allowed = 'a list of IPv4 CIDR blocks such as ["203.0.113.0/24"] (host bits zero)'
        try:
            values = json.loads(text)
            if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
                raise ValueError(text)
            return tuple(str(ipaddress.IPv4Network(v, strict=True)) for v in values)
        except ValueError:
            raise ConfigError(name, text, allowed) from None
