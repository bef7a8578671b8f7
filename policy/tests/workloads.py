"""Hand-made Kubernetes objects that pass every rule; tests break one thing at a time."""
import copy

DIGEST = "registry.example/app@sha256:" + "ab" * 32
MODEL_LABELS = {"app.kubernetes.io/name": "model-server", "app.kubernetes.io/component": "model-serving",
                "app.kubernetes.io/part-of": "mlstack"}


def container(**overrides) -> dict:
    return {
        "name": "server",
        "image": DIGEST,
        "resources": {"requests": {"cpu": "250m", "memory": "256Mi"}, "limits": {"cpu": "1", "memory": "1Gi"}},
        "securityContext": {"runAsNonRoot": True, "allowPrivilegeEscalation": False},
        **overrides,
    }


def deployment(*containers: dict, namespace: str = "models", labels: dict | None = None, pod_security: dict | None = None) -> dict:
    pod_labels = labels if labels is not None else dict(MODEL_LABELS)
    return {
        "metadata": {"name": "model-server", "namespace": namespace, "labels": pod_labels},
        "spec": {"selector": {"matchLabels": pod_labels}, "template": {
            "metadata": {"labels": pod_labels},
            "spec": {"securityContext": pod_security or {"runAsNonRoot": True, "runAsUser": 10001},
                     "containers": [copy.deepcopy(c) for c in (containers or (container(),))]},
        }},
    }


def network_policy(namespace: str = "models", match_labels: dict | None = None) -> dict:
    return {"metadata": {"name": "model-server", "namespace": namespace},
            "spec": {"podSelector": {"matchLabels": MODEL_LABELS if match_labels is None else match_labels},
                     "policyTypes": ["Ingress", "Egress"]}}


def service(app: str, service_type: str = "ClusterIP", annotations: dict | None = None) -> dict:
    metadata = {"name": app, "namespace": app, "labels": {"app.kubernetes.io/name": app}}
    if annotations:
        metadata["annotations"] = annotations
    return {"metadata": metadata, "spec": {"type": service_type, "ports": [{"port": 80}]}}
