#!/usr/bin/env bash
# Builds the engine run's binaries from the Go module proxy into a cache outside the repo.
# Idempotent: a component whose directory holds a .complete stamp is skipped. Go's module and
# build caches are reused between runs, so a rebuild after a version bump only compiles what changed.
# Environment: MLSTACK_ENGINE_CACHE (default ${XDG_CACHE_HOME:-~/.cache}/mlstack/engine),
# ENGINE_BUILD_JOBS (go build -p, default 2), ENGINE_BUILD_NICE (default 10: a build in the background yields to
# interactive work), ENGINE_COMPONENTS (default: all buildable ones).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/paths.sh"

export PATH=$PATH:/usr/local/go/bin
# A go.mod asking for a newer toolchain must fail here, not download one.
# GOWORK=off: k8s.io/kubernetes ships a go.work naming its staging directories, absent from the zip.
export GOTOOLCHAIN=local CGO_ENABLED=0 GOWORK=off
JOBS=${ENGINE_BUILD_JOBS:-2}
COMPONENTS=${ENGINE_COMPONENTS:-"$ENGINE_CONTROL_PLANE pulumi kubernetes-provider"}
TIMES_LOG=$ENGINE_CACHE/build-times.log

log() { printf '[engine-build %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

# Copies module@version out of the read-only module cache into a writable source tree.
unpack_module() {
  local module=$1 version=$2 dest=$3 dir
  dir=$(go mod download -json "$module@$version" | python3 -c \
    'import json,sys; d=json.load(sys.stdin); print(d["Dir"]) if "Dir" in d else sys.exit(d["Error"])')
  rm -rf "$dest"
  mkdir -p "$(dirname "$dest")"
  cp -r "$dir" "$dest"
  chmod -R u+w "$dest"
}

# Rewrites `replace X => ../x` into `replace X => X@version` (see localize_replaces.py).
localize_replaces() {
  local src=$1 version=$2
  local -a flags
  mapfile -t flags < <(cd "$src" && go mod edit -json | python3 "$ENGINE_TOOLS_DIR/localize_replaces.py" "$version")
  if ((${#flags[@]})); then
    (cd "$src" && go mod edit "${flags[@]}")
  fi
}

# go build of one main package, timed; -mod=mod lets go.sum gain the replacement modules' sums.
go_build() {
  local src=$1 out=$2 pkg=$3 ldflags=$4 started
  started=$(date +%s)
  (cd "$src" && nice -n "${ENGINE_BUILD_NICE:-10}" go build -mod=mod -p "$JOBS" -trimpath -ldflags "-s -w $ldflags" -o "$out" "$pkg")
  local seconds=$(($(date +%s) - started))
  log "built $(basename "$out") in ${seconds}s"
  printf '%s\t%s\t%s\t%ss\n' "$(date -u +%FT%TZ)" "$(basename "$out")" "$(basename "$(dirname "$(dirname "$out")")")" "$seconds" >>"$TIMES_LOG"
}

kubernetes_ldflags() {
  local minor=${KUBERNETES_VERSION#v1.}
  minor=${minor%%.*}
  local pkg version_flags=""
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    version_flags+=" -X $pkg.gitVersion=$KUBERNETES_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
    version_flags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=$(date -u +%FT%TZ)"
  done
  echo "$version_flags"
}

build_kubernetes() {
  local src=$KUBERNETES_DIR/src binary ldflags
  unpack_module k8s.io/kubernetes "$KUBERNETES_VERSION" "$src"
  # Staging modules are published as k8s.io/<name> v0.<minor>.<patch> of the same release.
  localize_replaces "$src" "v0.${KUBERNETES_VERSION#v1.}"
  ldflags=$(kubernetes_ldflags)
  for binary in kube-apiserver kube-controller-manager kube-scheduler kubectl; do
    go_build "$src" "$KUBERNETES_DIR/bin/$binary" "./cmd/$binary" "$ldflags"
  done
}

build_etcd() {
  local src=$ETCD_DIR/src
  unpack_module go.etcd.io/etcd/server/v3 "$ETCD_VERSION" "$src"
  localize_replaces "$src" "$ETCD_VERSION"
  go_build "$src" "$ETCD_DIR/bin/etcd" . ""
}

build_kwok() {
  local src=$KWOK_DIR/src
  unpack_module sigs.k8s.io/kwok "$KWOK_VERSION" "$src"
  go_build "$src" "$KWOK_DIR/bin/kwok" ./cmd/kwok "-X sigs.k8s.io/kwok/pkg/consts.Version=$KWOK_VERSION"
}

build_pulumi() {
  local src=$PULUMI_DIR/src
  unpack_module github.com/pulumi/pulumi/pkg/v3 "$PULUMI_CLI_VERSION" "$src"
  localize_replaces "$src" "$PULUMI_CLI_VERSION"
  go_build "$src" "$PULUMI_DIR/bin/pulumi" ./cmd/pulumi \
    "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$PULUMI_CLI_VERSION"
}

# The provider's go.mod replaces its sdk/v4 with ../sdk, absent from the module zip: localize_replaces
# pins it to the version the require line names. main.go embeds a schema that generate.go stamps
# with the release version; the same version goes into the binary, which reports it to the engine.
build_kubernetes_provider() {
  local src=$KUBERNETES_PROVIDER_DIR/src version=${PULUMI_KUBERNETES_PROVIDER_VERSION#v} started
  unpack_module github.com/pulumi/pulumi-kubernetes/provider/v4 "$PULUMI_KUBERNETES_PROVIDER_MODULE_VERSION" "$src"
  localize_replaces "$src" "$PULUMI_KUBERNETES_PROVIDER_VERSION"
  started=$(date +%s)
  (cd "$src/cmd/pulumi-resource-kubernetes" && VERSION=$version nice -n "${ENGINE_BUILD_NICE:-10}" go run -mod=mod -p "$JOBS" ./generate.go)
  log "generated the provider schema in $(($(date +%s) - started))s"
  go_build "$src" "$KUBERNETES_PROVIDER_DIR/bin/pulumi-resource-kubernetes" ./cmd/pulumi-resource-kubernetes \
    "-X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=$version"
}

component_dir() {
  case $1 in
    kubernetes) echo "$KUBERNETES_DIR" ;;
    etcd) echo "$ETCD_DIR" ;;
    kwok) echo "$KWOK_DIR" ;;
    pulumi) echo "$PULUMI_DIR" ;;
    kubernetes-provider) echo "$KUBERNETES_PROVIDER_DIR" ;;
    *) log "unknown component: $1" && return 1 ;;
  esac
}

build_component() {
  local name=$1 dir started lock
  dir=$(component_dir "$name")
  # One lock per component: a second build.sh (CI's control-plane tier beside the build of the Pulumi half) waits
  # only for the components it needs, and two builds never unpack into one directory.
  exec {lock}>"$dir.lock"
  flock "$lock"
  if [[ -f $dir/.complete ]]; then
    log "$name: already built in $dir"
  else
    started=$(date +%s)
    "build_${name//-/_}"
    # The sources are only needed while building; Go's caches keep what a rebuild reuses.
    rm -rf "$dir/src"
    touch "$dir/.complete"
    log "$name: done in $(($(date +%s) - started))s -> $dir/bin"
  fi
  exec {lock}>&-
}

# Modules the engine run would need but the module proxy refuses: say so once, plainly.
report_unavailable_plugins() {
  local module
  for module in \
    "github.com/pulumi/pulumi/sdk/python/cmd/pulumi-language-python/v3@$PULUMI_SDK_VERSION" \
    "github.com/pulumi/pulumi-kubernetes/provider/v4@$PULUMI_KUBERNETES_VERSION" \
    "github.com/pulumi/pulumi-random/provider/v4@$PULUMI_RANDOM_VERSION" \
    "github.com/pulumi/pulumi-docker-build/provider@$PULUMI_DOCKER_BUILD_VERSION"; do
    # Without the ",direct" fallback: a proxy miss must not turn into a git clone.
    if ! GOPROXY=$(go env GOPROXY | sed 's/,direct$//') go mod download "$module" >/dev/null 2>&1; then
      log "unavailable from the module proxy: $module"
    fi
  done
}

main() {
  mkdir -p "$ENGINE_CACHE"
  local name
  for name in $COMPONENTS; do
    build_component "$name"
  done
  # helm for the chart-render test (tests/monitoring) compiles almost nothing once the provider is built.
  if [[ " $COMPONENTS " == *" kubernetes-provider "* ]]; then
    bash "$ENGINE_TOOLS_DIR/../helm/build.sh" >/dev/null
  fi
  report_unavailable_plugins
}

main "$@"
