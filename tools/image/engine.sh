#!/usr/bin/env bash
# A Docker engine and a registry of our own, beside anything else on the machine.
#   engine.sh start   dockerd on its own socket and roots, then a registry on 127.0.0.1:5055 (or a free port)
#   engine.sh stop    stops both by the PIDs start recorded
#   engine.sh env     prints DOCKER, DOCKER_HOST, DOCKER_CONFIG, REGISTRY, BASE_TAG, SIZE_BUDGET_FILE for callers
#   engine.sh logs    prints both logs
set -euo pipefail
# shellcheck source=paths.sh
source "$(dirname "${BASH_SOURCE[0]}")/paths.sh"

READY_TIMEOUT=${MLSTACK_ENGINE_READY_TIMEOUT:-90}
DOCKERD_PIDFILE=$IMAGE_RUN/dockerd.pid
REGISTRY_PIDFILE=$IMAGE_RUN/registry.pid
REGISTRY_PREFERRED_PORT=${MLSTACK_REGISTRY_PORT:-5055}

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

# Polls a command until it succeeds, the process dies, or the timeout passes.
wait_until() {
  local pid=$1 what=$2
  shift 2
  local deadline=$((SECONDS + READY_TIMEOUT))
  until "$@" >/dev/null 2>&1; do
    kill -0 "$pid" 2>/dev/null || { echo "$what exited before it was ready" >&2; return 1; }
    [ $SECONDS -lt $deadline ] || { echo "$what not ready after ${READY_TIMEOUT}s" >&2; return 1; }
    sleep 0.5
  done
}

start_dockerd() {
  local driver=$1
  mkdir -p "$IMAGE_CACHE/docker-$driver" "$IMAGE_RUN/exec" "$DOCKER_CONFIG"
  echo '{}' >"$IMAGE_RUN/daemon.json"
  # --config-file: ours, empty, so /etc/docker/daemon.json of the host changes nothing here.
  nice dockerd --config-file "$IMAGE_RUN/daemon.json" \
    --data-root "$IMAGE_CACHE/docker-$driver" --exec-root "$IMAGE_RUN/exec" \
    --host "unix://$DOCKER_SOCKET" --pidfile "$DOCKERD_PIDFILE" \
    --iptables=false --ip6tables=false --bridge=none --storage-driver="$driver" \
    >>"$IMAGE_RUN/dockerd.log" 2>&1 &
  # dockerd writes its own pidfile once it runs; until then its PID is only ours.
  local pid=$!
  wait_until "$pid" "dockerd ($driver)" "$DOCKER" info || { stop_pid "$pid"; return 1; }
}

start_engine() {
  if start_dockerd overlay2; then return 0; fi
  echo "overlay2 unavailable here, falling back to vfs" >&2
  start_dockerd vfs
}

# The same port every run where it is free: Docker remembers which layers a registry (host:port) already has,
# so a warm push skips compressing and uploading them. Any free port otherwise.
registry_port() {
  python3 - "$REGISTRY_PREFERRED_PORT" <<'PY'
import socket, sys
with socket.socket() as probe:
    # As the registry binds: a port whose last connections linger in TIME_WAIT is free to listen on.
    probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        probe.bind(("127.0.0.1", int(sys.argv[1])))
    except OSError:
        probe.bind(("127.0.0.1", 0))
    print(probe.getsockname()[1])
PY
}

start_registry() {
  local address
  address=127.0.0.1:$(registry_port)
  mkdir -p "$IMAGE_CACHE/registry"
  cat >"$IMAGE_RUN/registry.yml" <<YAML
version: 0.1
log: {level: info}
storage:
  filesystem: {rootdirectory: $IMAGE_CACHE/registry}
  delete: {enabled: true}
http: {addr: $address}
YAML
  docker-registry serve "$IMAGE_RUN/registry.yml" >>"$IMAGE_RUN/registry.log" 2>&1 &
  echo $! >"$REGISTRY_PIDFILE"
  echo "$address" >"$REGISTRY_ADDRESS_FILE"
  wait_until "$(cat "$REGISTRY_PIDFILE")" "registry" python3 -c \
    "import urllib.request, sys; urllib.request.urlopen('http://$address/v2/', timeout=2)"
}

# TERM, a bounded wait, then KILL: dockerd needs its time to stop containers and its containerd.
stop_pid() {
  local pid=$1 deadline=$((SECONDS + 30))
  kill -TERM "$pid" 2>/dev/null || return 0
  while kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.2; done
  if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid"; fi
}

stop_process() {
  local pidfile=$1
  if alive "$pidfile"; then stop_pid "$(cat "$pidfile")"; fi
  rm -f "$pidfile"
}

start() {
  if alive "$DOCKERD_PIDFILE" || alive "$REGISTRY_PIDFILE"; then
    echo "an engine from $IMAGE_RUN is already running: $0 stop first" >&2
    exit 1
  fi
  mkdir -p "$IMAGE_RUN"
  : >"$IMAGE_RUN/dockerd.log"
  : >"$IMAGE_RUN/registry.log"
  if ! { start_engine && start_registry; }; then
    logs >&2
    stop
    exit 1
  fi
  echo "engine: $DOCKER_HOST, registry: $(cat "$REGISTRY_ADDRESS_FILE")"
}

stop() {
  stop_process "$REGISTRY_PIDFILE"
  stop_process "$DOCKERD_PIDFILE"
  # dockerd leaves its network namespace bind-mounted under the exec root.
  local mount
  awk -v root="$IMAGE_RUN/" 'index($2, root) == 1 { print $2 }' /proc/mounts | sort -r |
    while read -r mount; do umount "$mount"; done
}

logs() {
  local name
  for name in dockerd registry; do
    echo "----- $name log ($IMAGE_RUN/$name.log)"
    tail -n 200 "$IMAGE_RUN/$name.log" 2>/dev/null || true
  done
}

print_env() {
  cat <<ENV
DOCKER=$DOCKER
DOCKER_HOST=$DOCKER_HOST
DOCKER_CONFIG=$DOCKER_CONFIG
REGISTRY=$(cat "$REGISTRY_ADDRESS_FILE" 2>/dev/null)
BASE_TAG=$BASE_TAG
SIZE_BUDGET_FILE=$SIZE_BUDGET_FILE
ENV
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  env) print_env ;;
  logs) logs ;;
  *) echo "usage: $0 start|stop|env|logs" >&2; exit 2 ;;
esac
