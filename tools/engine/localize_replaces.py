"""Print `go mod edit` flags that turn a module's local replace directives into versioned ones.

A module zip from the proxy holds no sibling directories, so `replace X => ../x` cannot
resolve: X is pinned to the version its require line names (etcd's client/v2 is v2.305.x of a
v3.5.x release), or to the given version where that line holds the placeholder v0.0.0 (the
Kubernetes staging modules). Local replaces of modules the go.mod does not require only guard
against bad imports and are dropped.

Usage: go mod edit -json | python3 localize_replaces.py PLACEHOLDER_VERSION
"""

import json
import sys


def edit_flags(go_mod: dict, version: str) -> list[str]:
    required = {req["Path"]: req["Version"] for req in go_mod.get("Require") or []}
    flags = []
    for replace in go_mod.get("Replace") or []:
        old, new = replace["Old"]["Path"], replace["New"]["Path"]
        if not new.startswith("."):
            continue
        if old in required:
            pinned = version if required[old] == "v0.0.0" else required[old]
            flags.append(f"-replace={old}={old}@{pinned}")
        else:
            flags.append(f"-dropreplace={old}")
    return flags


if __name__ == "__main__":
    print("\n".join(edit_flags(json.load(sys.stdin), sys.argv[1])))
