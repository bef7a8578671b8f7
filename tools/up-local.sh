#!/usr/bin/env bash
# Quick start: `pulumi up --stack local` on the cluster your kubeconfig points at (kind, minikube, Docker Desktop).
# Without a kubeconfig context, it first starts the embedded control plane of tools/engine (etcd, kube-apiserver,
# kwok nodes) on 127.0.0.1. Extra arguments go to `pulumi up` (e.g. --yes).
# State lives in a local file backend (PULUMI_BACKEND_URL, default ~/.mlstack/state); secrets are encrypted with
# PULUMI_CONFIG_PASSPHRASE(_FILE), by default a passphrase generated once into ~/.mlstack/passphrase (mode 600).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh

home=${MLSTACK_HOME:-$HOME/.mlstack}
mkdir -p "$home/state"
export PULUMI_BACKEND_URL=${PULUMI_BACKEND_URL:-file://$home/state}
export PULUMI_SKIP_UPDATE_CHECK=true
if [ -z "${PULUMI_CONFIG_PASSPHRASE:-}" ] && [ -z "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]; then
  [ -s "$home/passphrase" ] || (umask 077 && .venv/bin/python -c 'import secrets; print(secrets.token_urlsafe(32))' > "$home/passphrase")
  export PULUMI_CONFIG_PASSPHRASE_FILE=$home/passphrase
fi

has_context() {
  if command -v kubectl >/dev/null 2>&1; then
    kubectl config current-context >/dev/null 2>&1
  else
    [ -s "${KUBECONFIG:-$HOME/.kube/config}" ]
  fi
}
if ! has_context; then
  echo "No kubeconfig context: starting the embedded control plane (tools/engine)." >&2
  bash tools/engine/build.sh
  bash tools/engine/cluster.sh start
  eval "$(bash tools/engine/cluster.sh env)"
fi

pulumi=$(command -v pulumi || true)
if [ -z "$pulumi" ]; then
  source tools/engine/paths.sh
  pulumi=$PULUMI_DIR/bin/pulumi
fi
export PATH="$PWD/.venv/bin:$PATH"
"$pulumi" login "$PULUMI_BACKEND_URL"
"$pulumi" stack select --create local
"$pulumi" up --stack local "$@"
