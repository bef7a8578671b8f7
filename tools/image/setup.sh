#!/usr/bin/env bash
# Everything the image tier needs before an engine starts: Debian's packages and the base root filesystem.
# Both steps do nothing when already done, so a warm machine pays seconds.
set -euo pipefail
here=$(dirname "${BASH_SOURCE[0]}")
bash "$here/install.sh"
bash "$here/base.sh" rootfs
