#!/usr/bin/env bash
# Fetches the Gateway API CRDs (HTTPRoute, Gateway, ...) of the standard channel from the Go module proxy, so tests
# validate the stack's HTTPRoute against the real schema. The module is pinned and its hash checked twice: by the Go
# checksum database, and against the h1: sum below. Prints the directory that holds the CRD YAML files.
set -euo pipefail
version=${GATEWAY_API_VERSION:-v1.3.0}
expected_sum=${GATEWAY_API_SUM:-h1:q6okN+/UKDATola4JY7zXzx40WO4VISk7i9DIfOvr9M=}
module=sigs.k8s.io/gateway-api
download=$(cd /tmp && GOFLAGS=-mod=mod go mod download -json "$module@$version")
sum=$(sed -n 's/.*"Sum": "\(.*\)",/\1/p' <<<"$download")
[ "$sum" = "$expected_sum" ] || { echo "$module@$version has sum $sum, expected $expected_sum" >&2; exit 1; }
dir=$(sed -n 's/.*"Dir": "\(.*\)",/\1/p' <<<"$download")
crds="$dir/config/crd/standard"
[ -f "$crds/gateway.networking.k8s.io_httproutes.yaml" ] || { echo "no CRDs under $crds" >&2; exit 1; }
echo "$crds"
