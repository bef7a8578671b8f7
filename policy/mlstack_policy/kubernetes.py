"""Mandatory rules for the Kubernetes objects the stack declares."""
import re
from collections.abc import Callable, Mapping

from pulumi_policy import ReportViolation, ResourceValidationArgs, ResourceValidationPolicy, StackValidationArgs, StackValidationPolicy

from .inputs import containers, dig, object_ref, pod_spec

_DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")
# The labels infra/k8s/meta.py gives the model service's pods (app.kubernetes.io/component: model-serving).
MODEL_SERVICE_LABELS = {"app.kubernetes.io/component": "model-serving", "app.kubernetes.io/part-of": "mlstack"}
# Names (app.kubernetes.io/name) of the services that must never face the internet: MLflow holds the model registry,
# Grafana every metric; both are reached through kubectl port-forward.
PRIVATE_APPS = ("mlflow", "grafana")
# Annotations that make a LoadBalancer Service internal on GKE and AKS.
INTERNAL_LB_ANNOTATIONS = {
    "networking.gke.io/load-balancer-type": "Internal",
    "cloud.google.com/load-balancer-type": "Internal",
    "service.beta.kubernetes.io/azure-load-balancer-internal": "true",
}
KUBE_PROMETHEUS_STACK = "kube-prometheus-stack"

ContainerCheck = Callable[[Mapping, Mapping], str | None]


def _each_container(check: ContainerCheck) -> Callable[[ResourceValidationArgs, ReportViolation], None]:
    def validate(args: ResourceValidationArgs, report: ReportViolation) -> None:
        pod = pod_spec(args.resource_type, args.props)
        if pod is None:
            return
        for container in containers(pod):
            problem = check(container, pod)
            if problem:
                report(f"{object_ref(args.resource_type, args.props)}: container '{container.get('name')}' {problem}", None)
    return validate


def _missing_resources(container: Mapping, _pod: Mapping) -> str | None:
    resources = container.get("resources")
    missing = [f"{section}.{quantity}" for section in ("requests", "limits") for quantity in ("cpu", "memory")
               if not dig(resources, section, quantity)]
    if missing:
        return f"has no resources.{', resources.'.join(missing)}: every container needs CPU and memory requests and limits"
    return None


def _may_run_as_root(container: Mapping, pod: Mapping) -> str | None:
    own, shared = container.get("securityContext") or {}, pod.get("securityContext") or {}
    user = own.get("runAsUser", shared.get("runAsUser"))
    if user == 0:
        return "runs as uid 0: set runAsUser to a non-root uid"
    if own.get("runAsNonRoot", shared.get("runAsNonRoot")) is not True:
        return "may run as root: set runAsNonRoot: true in its own or the pod's securityContext"
    return None


def _mutable_image(container: Mapping, _pod: Mapping) -> str | None:
    image = container.get("image") or ""
    if not _DIGEST.search(image):
        return f"uses image '{image}', a mutable tag: reference it by digest (repository@sha256:<digest>)"
    return None


def _is_internal(annotations: Mapping | None) -> bool:
    return any((annotations or {}).get(key) == value for key, value in INTERNAL_LB_ANNOTATIONS.items())


def _no_public_load_balancer(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type == "kubernetes:core/v1:Service":
        app = dig(args.props, "metadata", "labels", "app.kubernetes.io/name")
        if (app in PRIVATE_APPS and dig(args.props, "spec", "type") == "LoadBalancer"
                and not _is_internal(dig(args.props, "metadata", "annotations"))):
            report(f"{object_ref(args.resource_type, args.props)}: {app} must not be exposed by a public LoadBalancer; "
                   "keep it ClusterIP (reach it with kubectl port-forward) or make the load balancer internal", None)
    elif args.resource_type == "kubernetes:helm.sh/v3:Release" and args.props.get("chart") == KUBE_PROMETHEUS_STACK:
        service = dig(args.props, "values", "grafana", "service")
        if dig(service, "type") == "LoadBalancer" and not _is_internal(dig(service, "annotations")):
            report(f"Helm release {args.props.get('name') or args.name}: grafana.service.type is a public LoadBalancer; "
                   "keep Grafana ClusterIP (reach it with kubectl port-forward) or make the load balancer internal", None)


def _selects(selector: Mapping | None, pod_labels: Mapping) -> bool:
    """Whether a NetworkPolicy's podSelector picks pods with these labels (matchLabels; an empty selector picks all)."""
    if dig(selector, "matchExpressions"):
        return True  # expressions are not evaluated here: a policy that names them is trusted to be deliberate
    wanted = dig(selector, "matchLabels") or {}
    return all(pod_labels.get(key) == value for key, value in wanted.items())


def _network_policy_per_model_namespace(args: StackValidationArgs, report: ReportViolation) -> None:
    policies = [r.props for r in args.resources if r.resource_type == "kubernetes:networking.k8s.io/v1:NetworkPolicy"]
    for resource in args.resources:
        pod = pod_spec(resource.resource_type, resource.props)
        pod_labels = dig(resource.props, "spec", "template", "metadata", "labels") or {}
        if pod is None or any(pod_labels.get(k) != v for k, v in MODEL_SERVICE_LABELS.items()):
            continue
        namespace = dig(resource.props, "metadata", "namespace")
        guarding = [p for p in policies if dig(p, "metadata", "namespace") == namespace
                    and _selects(dig(p, "spec", "podSelector"), pod_labels)]
        if not guarding:
            report(f"{object_ref(resource.resource_type, resource.props)} runs the model service, but no NetworkPolicy "
                   f"in namespace '{namespace}' selects its pods: every namespace with a model service needs one", resource.urn)


POLICIES = [
    ResourceValidationPolicy(
        name="containers-have-requests-and-limits",
        description="Every container sets CPU and memory requests and limits.",
        validate=_each_container(_missing_resources),
    ),
    ResourceValidationPolicy(
        name="containers-run-as-non-root",
        description="Every container runs as a non-root user (runAsNonRoot, never uid 0).",
        validate=_each_container(_may_run_as_root),
    ),
    ResourceValidationPolicy(
        name="images-pinned-by-digest",
        description="No container image by a mutable tag: every image is referenced by digest.",
        validate=_each_container(_mutable_image),
    ),
    ResourceValidationPolicy(
        name="no-public-load-balancer-for-mlflow-or-grafana",
        description="MLflow and Grafana are never exposed by a public LoadBalancer.",
        validate=_no_public_load_balancer,
    ),
    StackValidationPolicy(
        name="network-policy-for-every-model-service",
        description="Every namespace that runs a model service has a NetworkPolicy selecting its pods.",
        validate=_network_policy_per_model_namespace,
    ),
]
