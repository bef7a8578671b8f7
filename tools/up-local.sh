#!/usr/bin/env bash
# Quick start: `pulumi up --stack local` on the cluster your kubeconfig points at (kind, minikube, Docker Desktop).
# Without a kubeconfig context, it first starts the embedded control plane of tools/engine (etcd, kube-apiserver,
# kwok nodes) on 127.0.0.1. Extra arguments go to `pulumi up` (e.g. --yes).
# Without the Pulumi CLI's python language host (the CLI tools/engine builds has none), the same program runs through
# the Automation API instead (tools/engine/inline_stack.py, as the engine tier runs it): same engine, providers and
# state. That path cannot build images: it deploys `mlstack:image` and `mlstack:trackingImage` as given.
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
embedded=
if ! has_context; then
  embedded=yes
  echo "No kubeconfig context: starting the embedded control plane (tools/engine)." >&2
  bash tools/engine/build.sh
  bash tools/engine/cluster.sh start
  eval "$(bash tools/engine/cluster.sh env)"
fi

pulumi=$(command -v pulumi || true)
has_language_host() {
  [ -n "$pulumi" ] && { command -v pulumi-language-python >/dev/null 2>&1 ||
    [ -x "$(dirname "$(readlink -f "$pulumi")")/pulumi-language-python" ]; }
}
if has_language_host; then
  export PATH="$PWD/.venv/bin:$PATH"
  "$pulumi" login "$PULUMI_BACKEND_URL"
  "$pulumi" stack select --create local
  exec "$pulumi" up --stack local "$@"
fi

echo "The Pulumi CLI's python language host is missing: running the stack through the Automation API." >&2
bash tools/engine/build.sh
run_config=(imageBuild=false)
if [ -n "$embedded" ]; then
  # The embedded control plane runs no containers and cannot fetch the monitoring chart: image references are
  # recorded, never pulled, and monitoring targets an existing Prometheus Operator (its CRDs, installed here).
  bash tools/engine/cluster.sh existing-operator monitoring
  digest=sha256:$(printf '0%.0s' {1..64})
  run_config+=(monitoring=existing-operator "image=localhost:5000/mlstack-serving@$digest"
    "trackingImage=localhost:5000/mlstack-tracking@$digest" "kubeconfig=$KUBECONFIG")
fi
inline=(env "MLSTACK_HOME=$home" "PULUMI_BACKEND_URL=$PULUMI_BACKEND_URL" .venv/bin/python -m tools.engine.inline_stack)
"${inline[@]}" up local "${run_config[@]}"

kubectl=$(command -v kubectl || true)
[ -n "$kubectl" ] || { source tools/engine/paths.sh && kubectl=$KUBERNETES_DIR/bin/kubectl; }
echo
echo "Reach them (from $PWD${embedded:+, after: export KUBECONFIG=$KUBECONFIG}):"
echo "  MLflow:         $kubectl -n mlflow port-forward svc/mlflow 5000:5000   -> http://localhost:5000 (user admin)"
echo "  model service:  $kubectl -n models port-forward svc/model-server 8080:80 -> http://localhost:8080/invocations"
echo "  admin password: ${inline[*]} outputs local --show-secrets"
if [ -n "$embedded" ]; then
  echo "  (the embedded control plane's pods are kwok's: Running and Ready, but no container answers a port-forward)"
fi
echo "Destroy:"
echo "  ${inline[*]} destroy local"
if [ -n "$embedded" ]; then
  echo "  bash tools/engine/cluster.sh stop"
fi
