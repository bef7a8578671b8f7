#!/usr/bin/env bash
# The local base image: a minimal Debian with Python 3.11, made by debootstrap and `docker import`.
#   base.sh rootfs   build the root filesystem tarball once; it is kept under the cache between runs
#   base.sh import   also load it into the running engine (started by engine.sh) unless already there
# Prints the base image tag on the last line.
set -euo pipefail
# shellcheck source=paths.sh
source "$(dirname "${BASH_SOURCE[0]}")/paths.sh"

build_rootfs_tarball() {
  [ -f "$BASE_TARBALL" ] && return 0
  mkdir -p "$(dirname "$BASE_TARBALL")"
  local work
  work=$(mktemp -d "$IMAGE_CACHE/base/work.XXXXXX")
  trap 'remove_work_dir "$work"' RETURN
  echo "debootstrap $BASE_SUITE with $BASE_PACKAGES (once per recipe)" >&2
  nice debootstrap --variant=minbase --include="$BASE_PACKAGES" "$BASE_SUITE" "$work/rootfs" "$DEBIAN_MIRROR" \
    >"$work/debootstrap.log" 2>&1 || { cat "$work/debootstrap.log" >&2; return 1; }
  strip_rootfs "$work/rootfs"
  tar --numeric-owner --xattrs -C "$work/rootfs" -cf "$work/rootfs.tar" .
  mv "$work/rootfs.tar" "$BASE_TARBALL"
}

# debootstrap unmounts what it mounted unless it dies half-way: never delete through a mount.
remove_work_dir() {
  local work=$1 mount
  awk -v root="$work/" 'index($2, root) == 1 { print $2 }' /proc/mounts | sort -r |
    while read -r mount; do umount -l "$mount"; done
  rm -rf --one-file-system "$work"
}

# Package caches, indexes, docs and translations: an image never reads them, and every layer on top carries them.
strip_rootfs() {
  local root=$1
  rm -rf "$root"/var/cache/apt/* "$root"/var/lib/apt/lists/* "$root"/var/log/* \
    "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/usr/share/locale/*
  find "$root/usr/lib/python3.11" -name __pycache__ -prune -exec rm -rf {} +
}

import_into_engine() {
  "$DOCKER" image inspect "$BASE_TAG" >/dev/null 2>&1 && return 0
  "$DOCKER" import --change 'ENV LANG=C.UTF-8' --change 'CMD ["python3"]' "$BASE_TARBALL" "$BASE_TAG" >/dev/null
}

case "${1:-import}" in
  rootfs) build_rootfs_tarball ;;
  import) build_rootfs_tarball && import_into_engine ;;
  *) echo "usage: $0 [rootfs|import]" >&2; exit 2 ;;
esac
echo "$BASE_TAG"
