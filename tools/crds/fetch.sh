#!/usr/bin/env bash
# Fetches the Prometheus Operator CRDs (ServiceMonitor, PrometheusRule, ...) from the Go module proxy, checksum-verified,
# so tests validate our custom resources against the real schemas and the engine tier can install them.
# Prints the directory that holds the CRD YAML files.
set -euo pipefail
version=${PROMETHEUS_OPERATOR_VERSION:-v0.85.0}
module=github.com/prometheus-operator/prometheus-operator
dir=$(cd /tmp && GOFLAGS=-mod=mod go mod download -json "$module@$version" | sed -n 's/.*"Dir": "\(.*\)",/\1/p')
crds="$dir/example/prometheus-operator-crd"
[ -f "$crds/monitoring.coreos.com_servicemonitors.yaml" ] || { echo "no CRDs under $crds" >&2; exit 1; }
echo "$crds"
