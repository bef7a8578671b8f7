#!/usr/bin/env bash
# Creates .venv and installs every pinned Python dependency (the stack, the model server, the tests).
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$python" -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip==26.3
.venv/bin/python -m pip install --quiet --disable-pip-version-check \
  -r requirements.txt -r serving/requirements.txt -r tracking/requirements.txt -r requirements-dev.txt -c constraints.txt
bash tools/crds/fetch.sh >/dev/null
bash tools/delivery/setup.sh
