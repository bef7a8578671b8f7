#!/usr/bin/env bash
# Installs Debian's Docker engine, registry and debootstrap when missing; nothing else is started or configured.
set -euo pipefail

missing=()
[ -x /usr/sbin/dockerd ] || missing+=(docker.io)
[ -x /usr/bin/docker-registry ] || missing+=(docker-registry)
command -v debootstrap >/dev/null || missing+=(debootstrap)
[ ${#missing[@]} -eq 0 ] && exit 0

echo "installing ${missing[*]}"
# The packaged docker and registry services must not start: we run our own instances. A policy-rc.d that
# refuses every start does that where the machine has none of its own.
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
  chmod +x /usr/sbin/policy-rc.d
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
export DEBIAN_FRONTEND=noninteractive
# .ci/run's other lane may be installing its own packages: wait for dpkg's lock instead of failing on it.
apt-get -o DPkg::Lock::Timeout=600 update -qq
apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}"
