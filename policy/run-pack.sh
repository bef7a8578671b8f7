#!/usr/bin/env bash
# The pack as a binary analyzer plugin, for a Pulumi CLI without the python language host (pulumi-language-python
# cannot be had here: docs/engine.md): `--policy-pack policy/run-pack.sh`. The CLI starts an executable pack with the
# engine's address alone, from the program's directory; this runs the SDK's policy runner on the pack directory, in
# the pack's own venv (MLSTACK_POLICY_PYTHON, or the venv/ that PulumiPolicy.yaml names).
set -euo pipefail
pack=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$pack"
exec "${MLSTACK_POLICY_PYTHON:-$pack/venv/bin/python}" -u -m pulumi.policy "$1" "$pack"
