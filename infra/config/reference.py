"""Renders keys.py as the Pulumi.yaml `config:` block and as the README's configuration reference.

    python -m infra.config.reference sync          # rewrite both from keys.py (run after editing keys.py)
    python -m infra.config.reference markdown      # print the README table
"""
import argparse
import json
import sys
from pathlib import Path
from typing import Any

import yaml

from .keys import KEYS, Key

PROJECT_DIR = Path(__file__).resolve().parents[2]
COMMANDS = ("sync", "markdown")
README_START, README_END = "<!-- config-reference:start -->", "<!-- config-reference:end -->"


def pulumi_config_block() -> dict[str, Any]:
    return {key.name: _declaration(key) for key in KEYS}


def _declaration(key: Key) -> dict[str, Any]:
    declaration: dict[str, Any] = {"type": key.type, "description": key.description, "default": key.default}
    if key.type == "array":
        declaration["items"] = {"type": "string"}
    if key.secret:
        declaration["secret"] = True
    return declaration


def markdown_table() -> str:
    rows = ["| key | type | default | meaning |", "| --- | --- | --- | --- |"]
    rows += [f"| `mlstack:{k.name}` | {k.type} | `{json.dumps(k.default)}` | {k.description} |" for k in KEYS]
    return "\n".join(rows)


def sync() -> None:
    project_file = PROJECT_DIR / "Pulumi.yaml"
    header = project_file.read_text().split("\nconfig:\n", 1)[0]
    project_file.write_text(header + "\n" + yaml.safe_dump({"config": pulumi_config_block()}, sort_keys=False, width=200))
    readme = PROJECT_DIR / "README.md"
    before, rest = readme.read_text().split(README_START, 1)
    after = rest.split(README_END, 1)[1]
    readme.write_text(f"{before}{README_START}\n{markdown_table()}\n{README_END}{after}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.config.reference", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=COMMANDS,
                        help="sync: rewrite Pulumi.yaml and the README from keys.py; markdown: print the README table")
    if parser.parse_args(argv).command == "sync":
        sync()
    else:
        print(markdown_table())
    return 0


if __name__ == "__main__":
    sys.exit(main())
