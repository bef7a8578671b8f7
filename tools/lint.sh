#!/usr/bin/env bash
# The default tier's static checks: ruff (lint and imports), mypy --strict (the stack and the model server), and
# ShellCheck over every shell script the repository tracks. Run by tools/test.sh before the tests.
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/ruff check --quiet .
.venv/bin/mypy --no-error-summary infra serving
git ls-files -z '*.sh' .ci/run | xargs -0 .venv/bin/shellcheck
echo "lint: ruff, mypy and shellcheck clean"
