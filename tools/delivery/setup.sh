#!/usr/bin/env bash
# The delivery checks' tools, each apart from the stack's venv: the policy pack's venv (pulumi-policy needs
# protobuf 5), checkov's venv (its pins clash with the stack's) and actionlint. Each is reused while its pins hold.
set -euo pipefail
cd "$(dirname "$0")/../.."
bash tools/cached-venv.sh policy-venv policy/requirements-test.txt policy/constraints.txt >/dev/null
bash tools/cached-venv.sh checkov-venv tools/checkov/requirements.txt tools/checkov/constraints.txt >/dev/null
bash tools/delivery/actionlint.sh >/dev/null
