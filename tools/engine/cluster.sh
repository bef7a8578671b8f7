#!/usr/bin/env bash
# A throwaway Kubernetes control plane on 127.0.0.1: etcd, kube-apiserver (RBAC, PodSecurity
# admission), kube-controller-manager, kube-scheduler and kwok faking the nodes and their pods.
# Usage: cluster.sh start|stop|status|env|logs|existing-operator [NAMESPACE]
# State (certificates, etcd data, logs, pids, kubeconfig) lives in MLSTACK_CLUSTER_DIR,
# default $ENGINE_CACHE/cluster; `start` wipes it first. Binaries come from build.sh.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/paths.sh"
source "$ENGINE_TOOLS_DIR/pki.sh"
source "$ENGINE_TOOLS_DIR/bootstrap.sh"

STATE=${MLSTACK_CLUSTER_DIR:-$ENGINE_CACHE/cluster}
PKI=$STATE/pki
LOGS=$STATE/logs
PIDS=$STATE/pids
KUBECONFIG_PATH=$STATE/kubeconfig
SERVICE_CIDR=10.96.0.0/16
SERVICE_IP=10.96.0.1
COMPONENTS=(etcd kube-apiserver kube-controller-manager kube-scheduler kwok)

log() { printf '[cluster %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

cluster_kubectl() { "$KUBERNETES_DIR/bin/kubectl" --kubeconfig "$KUBECONFIG_PATH" "$@"; }

# Polls CHECK until it succeeds or SECONDS pass; bounded, so a dead component fails the start.
wait_until() {
  local what=$1 seconds=$2
  shift 2
  local deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    if ((SECONDS >= deadline)); then
      log "timed out after ${seconds}s waiting for $what"
      return 1
    fi
    sleep 0.2
  done
  log "$what is ready"
}

launch() {
  local name=$1
  shift
  "$@" >"$LOGS/$name.log" 2>&1 &
  echo $! >"$PIDS/$name.pid"
  log "started $name (pid $!)"
}

write_kubeconfig() {
  local path=$1 identity=$2
  cat >"$path" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: mlstack-engine
  cluster: {server: "https://127.0.0.1:$API_PORT", certificate-authority: "$PKI/ca.crt"}
users:
- name: $identity
  user: {client-certificate: "$PKI/$identity.crt", client-key: "$PKI/$identity.key"}
contexts:
- name: mlstack-engine
  context: {cluster: mlstack-engine, user: $identity}
current-context: mlstack-engine
EOF
}

start_etcd() {
  launch etcd "$ETCD_DIR/bin/etcd" --name engine --data-dir "$STATE/etcd" \
    --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
    --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster "engine=http://127.0.0.1:$ETCD_PEER_PORT" \
    --unsafe-no-fsync --log-level warn
  wait_until etcd 30 curl -sf "http://127.0.0.1:$ETCD_PORT/health"
}

# Endpoints may not point at loopback, so the apiserver's own endpoint reconciler is off.
start_apiserver() {
  launch kube-apiserver "$KUBERNETES_DIR/bin/kube-apiserver" \
    --etcd-servers "http://127.0.0.1:$ETCD_PORT" \
    --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$API_PORT" \
    --endpoint-reconciler-type none --cert-dir "$STATE/apiserver-certs" \
    --tls-cert-file "$PKI/apiserver.crt" --tls-private-key-file "$PKI/apiserver.key" \
    --client-ca-file "$PKI/ca.crt" --authorization-mode RBAC \
    --requestheader-client-ca-file "$PKI/ca.crt" --requestheader-allowed-names front-proxy-client \
    --requestheader-username-headers X-Remote-User --requestheader-group-headers X-Remote-Group \
    --requestheader-extra-headers-prefix X-Remote-Extra- \
    --enable-admission-plugins PodSecurity,DefaultStorageClass,NamespaceLifecycle,ServiceAccount \
    --service-account-issuer https://kubernetes.default.svc.cluster.local \
    --service-account-key-file "$PKI/service-account.pub" \
    --service-account-signing-key-file "$PKI/service-account.key" \
    --service-cluster-ip-range "$SERVICE_CIDR" --allow-privileged=false --profiling=false
  wait_until kube-apiserver 60 curl -sf --cacert "$PKI/ca.crt" --cert "$PKI/admin.crt" \
    --key "$PKI/admin.key" "https://127.0.0.1:$API_PORT/readyz"
}

start_controllers() {
  write_kubeconfig "$STATE/controller-manager.kubeconfig" controller-manager
  write_kubeconfig "$STATE/scheduler.kubeconfig" scheduler
  launch kube-controller-manager "$KUBERNETES_DIR/bin/kube-controller-manager" \
    --kubeconfig "$STATE/controller-manager.kubeconfig" \
    --authentication-kubeconfig "$STATE/controller-manager.kubeconfig" \
    --authorization-kubeconfig "$STATE/controller-manager.kubeconfig" \
    --bind-address 127.0.0.1 --secure-port "$KCM_PORT" --leader-elect=false \
    --service-account-private-key-file "$PKI/service-account.key" --root-ca-file "$PKI/ca.crt" \
    --use-service-account-credentials --service-cluster-ip-range "$SERVICE_CIDR" --profiling=false
  launch kube-scheduler "$KUBERNETES_DIR/bin/kube-scheduler" \
    --kubeconfig "$STATE/scheduler.kubeconfig" \
    --authentication-kubeconfig "$STATE/scheduler.kubeconfig" \
    --authorization-kubeconfig "$STATE/scheduler.kubeconfig" \
    --bind-address 127.0.0.1 --secure-port "$SCHEDULER_PORT" --leader-elect=false --profiling=false
  wait_until kube-controller-manager 60 curl -skf "https://127.0.0.1:$KCM_PORT/healthz"
  wait_until kube-scheduler 60 curl -skf "https://127.0.0.1:$SCHEDULER_PORT/healthz"
}

start_kwok() {
  write_kubeconfig "$STATE/kwok.kubeconfig" kwok
  # Without --config, kwok uses its release's built-in "fast" node and pod stages: nodes turn
  # Ready at once and keep a lease, scheduled pods get an IP and turn Running and Ready.
  launch kwok "$KWOK_DIR/bin/kwok" --kubeconfig "$STATE/kwok.kubeconfig" \
    --manage-all-nodes=false --manage-nodes-with-annotation-selector kwok.x-k8s.io/node=fake \
    --cidr 10.244.0.0/16 --node-ip 10.0.0.1 --node-lease-duration-seconds 40 \
    --server-address "127.0.0.1:$KWOK_PORT"
  fake_nodes_yaml | cluster_kubectl apply -f - >/dev/null
  storage_yaml "$STATE/volumes" | cluster_kubectl apply -f - >/dev/null
  wait_until "fake nodes" 60 cluster_kubectl wait --for=condition=Ready node --all --timeout=5s
}

allocate_ports() {
  ETCD_PORT=$(free_port) ETCD_PEER_PORT=$(free_port) API_PORT=$(free_port)
  KCM_PORT=$(free_port) SCHEDULER_PORT=$(free_port) KWOK_PORT=$(free_port)
  declare -p ETCD_PORT ETCD_PEER_PORT API_PORT KCM_PORT SCHEDULER_PORT KWOK_PORT >"$STATE/ports.env"
}

dump_logs() {
  local file
  for file in "$LOGS"/*.log; do
    [[ -f $file ]] || continue
    printf '\n===== %s (last 80 lines) =====\n' "$file" >&2
    tail -n 80 "$file" >&2
  done
}

pid_of() { [[ -f $PIDS/$1.pid ]] && cat "$PIDS/$1.pid"; }

alive() {
  local pid
  pid=$(pid_of "$1") && kill -0 "$pid" 2>/dev/null
}

stop_component() {
  local name=$1 pid deadline
  pid=$(pid_of "$name") || return 0
  if kill -TERM "$pid" 2>/dev/null; then
    deadline=$((SECONDS + 15))
    while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.2; done
    kill -KILL "$pid" 2>/dev/null || true
    log "stopped $name (pid $pid)"
  fi
  rm -f "$PIDS/$name.pid"
}

cmd_stop() {
  local index
  for ((index = ${#COMPONENTS[@]} - 1; index >= 0; index--)); do
    stop_component "${COMPONENTS[index]}"
  done
}

require_binaries() {
  local binary
  for binary in "$ETCD_DIR/bin/etcd" "$KWOK_DIR/bin/kwok" "$KUBERNETES_DIR"/bin/{kube-apiserver,kube-controller-manager,kube-scheduler,kubectl}; do
    if [[ ! -x $binary ]]; then
      log "missing $binary: run tools/engine/build.sh first"
      return 1
    fi
  done
}

cmd_start() {
  local name
  require_binaries
  for name in "${COMPONENTS[@]}"; do
    if alive "$name"; then
      log "$name is already running in $STATE; run '$0 stop' first"
      return 1
    fi
  done
  rm -rf "$STATE"
  mkdir -p "$LOGS" "$PIDS" "$STATE/volumes"
  trap 'status=$?; if ((status)); then log "start failed"; dump_logs; cmd_stop; fi' EXIT
  allocate_ports
  make_pki "$PKI" "$SERVICE_IP"
  write_kubeconfig "$KUBECONFIG_PATH" admin
  local started=$SECONDS
  start_etcd
  start_apiserver
  start_controllers
  start_kwok
  trap - EXIT
  log "control plane up in $((SECONDS - started))s; KUBECONFIG=$KUBECONFIG_PATH"
}

cmd_status() {
  local name all_alive=0
  for name in "${COMPONENTS[@]}"; do
    if alive "$name"; then
      echo "$name: running (pid $(pid_of "$name"))"
    else
      echo "$name: stopped"
      all_alive=1
    fi
  done
  return "$all_alive"
}

# What `monitoring: existing-operator` expects of a cluster: the Prometheus Operator's CRDs, and the namespace
# its Prometheus and Grafana live in. No operator runs: the API server stores the custom resources.
cmd_existing_operator() {
  local namespace=${1:-monitoring} crds
  crds=$(PATH=$PATH:/usr/local/go/bin bash "$ENGINE_TOOLS_DIR/../crds/fetch.sh")
  cluster_kubectl apply --server-side -f "$crds" >/dev/null
  cluster_kubectl wait --for=condition=Established crd --all --timeout=60s >/dev/null
  cluster_kubectl create namespace "$namespace" --dry-run=client -o yaml | cluster_kubectl apply -f - >/dev/null
  log "Prometheus Operator CRDs and namespace $namespace are in place"
}

cmd_env() {
  echo "export KUBECONFIG=$KUBECONFIG_PATH"
  echo "export PATH=$KUBERNETES_DIR/bin:\$PATH"
}

main() {
  # shellcheck source=/dev/null
  [[ -f $STATE/ports.env ]] && source "$STATE/ports.env"
  case ${1:-} in
    start) cmd_start ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    env) cmd_env ;;
    logs) dump_logs ;;
    existing-operator) cmd_existing_operator "${2:-}" ;;
    *) echo "usage: $0 start|stop|status|env|logs|existing-operator [NAMESPACE]" >&2 && return 2 ;;
  esac
}

main "$@"
