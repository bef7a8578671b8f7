"""The cloud-agnostic Kubernetes layer: it consumes a Platform and never names a cloud."""
