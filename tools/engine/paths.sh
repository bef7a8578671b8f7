# Where the engine-run binaries live; sourced by build.sh, cluster.sh and the tests' helpers.
# shellcheck shell=bash disable=SC2034
ENGINE_TOOLS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=versions.env
source "$ENGINE_TOOLS_DIR/versions.env"
ENGINE_CACHE=${MLSTACK_ENGINE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mlstack/engine}
KUBERNETES_DIR=$ENGINE_CACHE/kubernetes-$KUBERNETES_VERSION
ETCD_DIR=$ENGINE_CACHE/etcd-$ETCD_VERSION
KWOK_DIR=$ENGINE_CACHE/kwok-$KWOK_VERSION
PULUMI_DIR=$ENGINE_CACHE/pulumi-$PULUMI_CLI_VERSION
KUBERNETES_PROVIDER_DIR=$ENGINE_CACHE/pulumi-resource-kubernetes-$PULUMI_KUBERNETES_PROVIDER_VERSION
# build.sh's components that the control plane alone needs (the cluster tier); the Pulumi half is the rest.
ENGINE_CONTROL_PLANE="kubernetes etcd kwok"
