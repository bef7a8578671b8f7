#!/usr/bin/env bash
# Installs Debian's Docker engine, registry and debootstrap when missing; nothing else is started or configured.
set -euo pipefail

missing=()
[ -x /usr/sbin/dockerd ] || missing+=(docker.io)
[ -x /usr/bin/docker-registry ] || missing+=(docker-registry)
command -v debootstrap >/dev/null || missing+=(debootstrap)
[ ${#missing[@]} -eq 0 ] && exit 0

echo "installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# policy-rc.d or no init keeps the packaged services from starting: we run our own instances.
apt-get install -y -qq --no-install-recommends "${missing[@]}"
