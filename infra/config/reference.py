"""Renders keys.py as the Pulumi.yaml `config:` block and as the README's configuration reference.

    python -m infra.config.reference pulumi-yaml   # the config block, to paste into Pulumi.yaml
    python -m infra.config.reference markdown      # the README table
"""
import json
import sys

from .keys import KEYS, Key


def pulumi_config_block() -> dict:
    return {key.name: _declaration(key) for key in KEYS}


def _declaration(key: Key) -> dict:
    declaration = {"type": key.type, "description": key.description, "default": key.default}
    if key.type == "array":
        declaration["items"] = {"type": "string"}
    if key.secret:
        declaration["secret"] = True
    return declaration


def markdown_table() -> str:
    rows = ["| key | type | default | meaning |", "| --- | --- | --- | --- |"]
    rows += [f"| `mlstack:{k.name}` | {k.type} | `{json.dumps(k.default)}` | {k.description} |" for k in KEYS]
    return "\n".join(rows)


if __name__ == "__main__":
    import yaml

    what = sys.argv[1] if len(sys.argv) > 1 else "markdown"
    print(yaml.safe_dump({"config": pulumi_config_block()}, sort_keys=False, width=200) if what == "pulumi-yaml" else markdown_table())
