#!/usr/bin/env bash
# Builds the helm CLI from the Go module proxy (helm.sh/helm/v3, pinned below) into the engine cache and prints
# the binary's path. The chart-render test (tests/monitoring/test_chart_render.py) runs it with `helm template`.
# Idempotent: a .complete stamp beside the binary skips the build.
# helm is built in a module that also requires the kubernetes provider, which embeds this helm release: its
# dependencies then resolve to the provider's versions, so after the provider's build (tools/engine/build.sh) every
# package helm needs is already in Go's build cache, and the helm the chart test runs is the helm the provider runs.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../engine/paths.sh"

HELM_VERSION=v3.18.6
# The Kubernetes version helm assumes when rendering offline (.Capabilities.KubeVersion): its client-go v0.33
# stands for Kubernetes 1.33, as helm's own Makefile derives it.
HELM_KUBE_MAJOR=1
HELM_KUBE_MINOR=33
HELM_DIR=$ENGINE_CACHE/helm-$HELM_VERSION

export PATH=$PATH:/usr/local/go/bin GOTOOLCHAIN=local CGO_ENABLED=0 GOWORK=off

if [[ ! -f $HELM_DIR/.complete ]]; then
  mkdir -p "$HELM_DIR"
  exec 8>"$HELM_DIR/.build.lock"
  flock 8
  if [[ ! -f $HELM_DIR/.complete ]]; then
    started=$(date +%s)
    # The module proxy serves no commit id, so only the version is stamped (helm's gitCommit stays empty).
    ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION"
    for pkg in helm.sh/helm/v3/pkg/chartutil helm.sh/helm/v3/pkg/lint/rules; do
      ldflags+=" -X $pkg.k8sVersionMajor=$HELM_KUBE_MAJOR -X $pkg.k8sVersionMinor=$HELM_KUBE_MINOR"
    done
    module=$HELM_DIR/module
    rm -rf "$module" && mkdir -p "$module"
    (
      cd "$module"
      go mod init mlstack.local/helm-build 2>/dev/null
      go mod edit -require="helm.sh/helm/v3@$HELM_VERSION" \
        -require="github.com/pulumi/pulumi-kubernetes/provider/v4@$PULUMI_KUBERNETES_PROVIDER_MODULE_VERSION"
      nice -n "${ENGINE_BUILD_NICE:-10}" go build -mod=mod -p "${ENGINE_BUILD_JOBS:-2}" -trimpath -ldflags "$ldflags" \
        -o "$HELM_DIR/bin/helm" helm.sh/helm/v3/cmd/helm >&2
    )
    rm -rf "$module"
    touch "$HELM_DIR/.complete"
    printf '[helm-build] built helm %s in %ss -> %s\n' "$HELM_VERSION" "$(($(date +%s) - started))" "$HELM_DIR/bin" >&2
  fi
fi
echo "$HELM_DIR/bin/helm"
