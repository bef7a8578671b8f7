#!/usr/bin/env bash
# Installs Debian's Prometheus server and promtool for the `prometheus` test tier (tests/monitoring).
# Debian's package is the Prometheus build these machines can fetch. The tests start their own Prometheus on
# 127.0.0.1 and stop it again, so the package's own daemon is kept from starting.
set -euo pipefail

if command -v prometheus >/dev/null && command -v promtool >/dev/null; then
  prometheus --version 2>&1 | head -1
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "run as root (apt-get install): sudo $0" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# invoke-rc.d asks policy-rc.d whether to start a service; 101 means no. Only a policy we add is removed again.
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
  chmod 755 /usr/sbin/policy-rc.d
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
# .ci/run's other lane may be installing its own packages: wait for dpkg's lock instead of failing on it.
apt-get -o DPkg::Lock::Timeout=600 update -qq
apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends prometheus >/dev/null
prometheus --version 2>&1 | head -1
