"""kube-prometheus-stack's objects rendered for real: `helm template` (helm built by tools/helm/build.sh) over the
chart fixture (tests/monitoring/chart_fixture: the chart itself cannot be downloaded here, see docs/monitoring.md)
with the Helm values each stack's program passes, then checkov over them, then the stack's intent checked on them:
Grafana reads no Secret and nothing outside the monitoring namespace, node-exporter alone has host access,
everything else meets Pod Security `restricted`, and the NetworkPolicies' selectors match the chart's pods."""
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from infra.config.chart_images import CHART_IMAGES
from infra.config.keys import KEYS_BY_NAME
from infra.k8s.monitoring import isolation
from infra.render import PROJECT_DIR, Rendered, run_program, stack_config, unwrapped
from infra.stack import MONITORING_MIRROR_PREFIX

from ..checkov import accepted, accepted_by_directory, failed_checks, run_checkov

pytestmark = pytest.mark.engine  # the engine tier's build makes helm

STACKS = ("local", "dev", "prod", "aks-dev", "aks-prod")
# A stack that builds no images cannot mirror the chart's: the local stack file with a prebuilt serving image.
UNMIRRORED = "local-prebuilt"
PREBUILT_SERVING = "registry.example.com/team/mlstack-serving@sha256:" + "1" * 64
RENDERS = {**{stack: (stack, {}) for stack in STACKS},
           UNMIRRORED: ("local", {"imageBuild": "false", "image": PREBUILT_SERVING})}
IMAGE_BUILD = "docker-build:index:Image"
DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")
FIXTURE = Path(__file__).parent / "chart_fixture" / "kube-prometheus-stack"
CHECKOV_LIST = Path(__file__).parent / "chart-checkov.yaml"
RELEASE_TYPE = "kubernetes:helm.sh/v3:Release"
POD_KINDS = ("Deployment", "DaemonSet", "StatefulSet", "Job")
SECRET_READ = {"get", "list", "watch", "*"}


@dataclass(frozen=True)
class StackChart:
    stack: str
    namespace: str  # the release's, i.e. mlstack:monitoringNamespace
    objects: list[dict]  # what `helm template` renders from the chart with the stack's values
    stack_objects: list[dict]  # the stack's own Kubernetes objects (namespaces, NetworkPolicies, ...)
    program: Rendered  # everything the program declared

    def of_kind(self, kind: str) -> list[dict]:
        return [o for o in self.objects if o["kind"] == kind]

    def fences(self) -> list[dict]:
        """The stack's own NetworkPolicies and Roles in the monitoring namespace."""
        return [o for o in self.stack_objects if o["kind"] in ("NetworkPolicy", "Role")
                and o["metadata"].get("namespace") == self.namespace]


def _helm() -> str:
    return subprocess.run(["bash", "tools/helm/build.sh"], cwd=PROJECT_DIR, capture_output=True, text=True,
                          check=True, timeout=1800).stdout.strip()


def _render(name: str, helm: str, values_dir: Path) -> StackChart:
    stack, overrides = RENDERS[name]
    rendered = run_program(stack, stack_config(stack, overrides))
    (release,) = [unwrapped(r.inputs) for r in rendered.resources if r.type == RELEASE_TYPE]
    fixture_version = yaml.safe_load((FIXTURE / "Chart.yaml").read_text())["version"]
    assert release["version"] == fixture_version, "the fixture stands for another chart version than the stack's pin"
    values = values_dir / f"{name}.values.yaml"
    values.write_text(yaml.safe_dump(release["values"]))
    completed = subprocess.run([helm, "template", release["name"], str(FIXTURE), "--namespace", release["namespace"],
                                "--values", str(values)], capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stderr
    objects = [o for o in yaml.safe_load_all(completed.stdout) if o]
    return StackChart(name, release["namespace"], objects, rendered.kubernetes_objects(), rendered)


@pytest.fixture(scope="module")
def charts(tmp_path_factory) -> dict[str, StackChart]:
    helm = _helm()
    values_dir = tmp_path_factory.mktemp("values")
    return {name: _render(name, helm, values_dir) for name in RENDERS}


@pytest.fixture(scope="module")
def checkov_report(charts, tmp_path_factory) -> dict:
    """checkov over the chart's objects beside the stack's NetworkPolicies and Role that fence them."""
    root = tmp_path_factory.mktemp("chart-checkov")
    for stack, chart in charts.items():
        (root / stack).mkdir()
        for index, obj in enumerate([*chart.objects, *chart.fences()]):
            (root / stack / f"{index:02d}-{obj['kind'].lower()}.yaml").write_text(yaml.safe_dump(obj))
    return run_checkov(root)


def _pod_spec(workload: dict) -> dict:
    return workload["spec"]["template"]["spec"]


def _containers(pod: dict) -> list[dict]:
    return [*pod.get("initContainers", []), *pod["containers"]]


def _grants_secret_read(rule: dict) -> bool:
    return bool({"secrets", "*"} & set(rule.get("resources", []))) and bool(SECRET_READ & set(rule["verbs"]))


def _bound_roles(chart: StackChart, service_account: str) -> list[tuple[str, str, str | None]]:
    """(kind, name, namespace) of every role bound to the ServiceAccount."""
    return [(b["roleRef"]["kind"], b["roleRef"]["name"], b["metadata"].get("namespace"))
            for b in [*chart.of_kind("RoleBinding"), *chart.of_kind("ClusterRoleBinding")]
            for s in b["subjects"] if s["kind"] == "ServiceAccount" and s["name"] == service_account]


def _grafana(chart: StackChart) -> dict:
    (grafana,) = [d for d in chart.of_kind("Deployment") if d["metadata"]["name"].endswith("grafana")]
    return grafana


def test_helm_renders_every_component_of_the_chart_for_every_stack(charts):
    for chart in charts.values():
        kinds = {o["kind"] for o in chart.objects}
        assert {"Deployment", "DaemonSet", "Service", "ServiceAccount", "ClusterRole", "Prometheus"} <= kinds
        assert len(chart.of_kind("Deployment")) == 3  # operator, Grafana, kube-state-metrics


def _listed(section: str) -> set[tuple[str, str, str]]:
    return accepted(CHECKOV_LIST, section, tuple(RENDERS))


def test_checkov_passes_the_charts_objects_except_the_listed_skips_and_open_findings(checkov_report):
    summary = checkov_report["summary"]
    assert summary["parsing_errors"] == 0 and summary["resource_count"] >= 20 * len(RENDERS)
    unexpected = (failed_checks(checkov_report) - _listed("skips") - _listed("open")
                  - accepted_by_directory(CHECKOV_LIST, "unmirrored"))
    assert unexpected == set(), "\n".join(f"{stack}: {check} on {resource}" for check, resource, stack in sorted(unexpected))


def test_every_open_or_unmirrored_chart_finding_still_fails_until_fixed(checkov_report):
    fixed = (_listed("open") | accepted_by_directory(CHECKOV_LIST, "unmirrored")) - failed_checks(checkov_report)
    assert fixed == set(), f"fixed, remove from tests/monitoring/chart-checkov.yaml: {sorted(fixed)}"


def test_only_a_stack_that_cannot_mirror_is_accepted_by_tag():
    assert {stack for _, _, stack in accepted_by_directory(CHECKOV_LIST, "unmirrored")} == {UNMIRRORED}


def test_grafana_and_its_sidecars_read_no_secret_and_nothing_outside_the_monitoring_namespace(charts):
    for chart in charts.values():
        grafana = _grafana(chart)
        account = _pod_spec(grafana)["serviceAccountName"]
        bound = _bound_roles(chart, account)
        assert bound and all(kind == "Role" and namespace == chart.namespace for kind, _, namespace in bound), bound
        roles = {(r["kind"], r["metadata"]["name"], r["metadata"].get("namespace")): r
                 for r in [*chart.of_kind("Role"), *chart.stack_objects] if r["kind"] == "Role"}
        for ref in bound:
            assert ref in roles, f"{ref} is bound but neither the chart nor the stack creates it"
            assert not any(_grants_secret_read(rule) for rule in roles[ref]["rules"]), roles[ref]
        for sidecar in [c for c in _pod_spec(grafana)["containers"] if c["name"].startswith("grafana-sc-")]:
            env = {e["name"]: e.get("value") for e in sidecar["env"]}
            assert env.get("NAMESPACE") == chart.namespace, f"{chart.stack}: {sidecar['name']} searches {env.get('NAMESPACE')}"
            assert env["RESOURCE"] == "configmap"


def test_no_cluster_role_grants_secret_read_but_the_operators(charts):
    """The operator writes the Secrets of the Prometheus and Alertmanager it runs; nothing else reads any."""
    for chart in charts.values():
        readers = {r["metadata"]["name"] for r in chart.of_kind("ClusterRole") if any(map(_grants_secret_read, r["rules"]))}
        assert readers == {"kube-prometheus-stack-operator"}, f"{chart.stack}: {readers}"


def test_node_exporter_alone_has_host_access_in_its_own_privileged_namespace(charts):
    for chart in charts.values():
        exporter_namespace = isolation.node_exporter_namespace(chart.namespace)
        (exporter,) = chart.of_kind("DaemonSet")
        assert exporter["metadata"]["namespace"] == exporter_namespace
        assert _pod_spec(exporter)["hostNetwork"] and _pod_spec(exporter)["hostPID"]
        assert _pod_spec(exporter)["automountServiceAccountToken"] is False
        levels = {n["metadata"]["name"]: n["metadata"]["labels"]["pod-security.kubernetes.io/enforce"]
                  for n in chart.stack_objects if n["kind"] == "Namespace"}
        assert levels[exporter_namespace] == "privileged" and levels[chart.namespace] == "baseline"
        in_monitoring = [w for kind in POD_KINDS for w in chart.of_kind(kind) if w is not exporter]
        assert {w["metadata"]["namespace"] for w in in_monitoring} == {chart.namespace}


def _restricted_violations(pod: dict) -> list[str]:
    """What Pod Security `restricted` (which includes `baseline`) would refuse in a pod spec."""
    problems = [f"{key}" for key in ("hostNetwork", "hostPID", "hostIPC") if pod.get(key)]
    problems += [f"hostPath volume {v['name']}" for v in pod.get("volumes", []) if "hostPath" in v]
    pod_context = pod.get("securityContext", {})
    for container in _containers(pod):
        context = container.get("securityContext", {})
        name = container["name"]
        if context.get("privileged") or context.get("allowPrivilegeEscalation", True):
            problems.append(f"{name}: privilege escalation allowed")
        if "ALL" not in context.get("capabilities", {}).get("drop", []) or context.get("capabilities", {}).get("add"):
            problems.append(f"{name}: capabilities not all dropped")
        if not context.get("runAsNonRoot", pod_context.get("runAsNonRoot")):
            problems.append(f"{name}: may run as root")
        seccomp = context.get("seccompProfile", pod_context.get("seccompProfile", {})).get("type")
        if seccomp not in ("RuntimeDefault", "Localhost"):
            problems.append(f"{name}: no seccomp profile")
        if any("hostPort" in port for port in container.get("ports", [])):
            problems.append(f"{name}: hostPort")
    return problems


def test_every_pod_of_the_monitoring_namespace_meets_pod_security_restricted(charts):
    """The namespace enforces `baseline` and warns at `restricted`: the chart's pods must draw no warning."""
    for chart in charts.values():
        for workload in [w for kind in POD_KINDS for w in chart.of_kind(kind)]:
            if workload["metadata"]["namespace"] == chart.namespace:
                assert _restricted_violations(_pod_spec(workload)) == [], f"{chart.stack}: {workload['metadata']['name']}"


def _selects(selector: dict, labels: dict) -> bool:
    return all(labels.get(key) == value for key, value in selector.get("matchLabels", {}).items())


def test_the_network_policies_fence_every_chart_pod_and_admit_the_webhook_on_the_operators_port(charts):
    for chart in charts.values():
        policies = {p["metadata"]["name"]: p["spec"] for p in chart.stack_objects
                    if p["kind"] == "NetworkPolicy" and p["metadata"]["namespace"] == chart.namespace}
        assert policies["default-deny-ingress"]["podSelector"] == {}
        webhook = policies["allow-operator-webhook"]
        webhook_pods = [d for d in chart.of_kind("Deployment")
                        if _selects(webhook["podSelector"], d["spec"]["template"]["metadata"]["labels"])]
        assert [d["metadata"]["name"] for d in webhook_pods] == ["kube-prometheus-stack-operator"]
        (operator_port,) = [p["containerPort"] for c in _pod_spec(webhook_pods[0])["containers"] for p in c["ports"]
                            if p["name"] == "https"]
        assert [p["port"] for rule in webhook["ingress"] for p in rule["ports"]] == [operator_port]
        (webhook_service,) = [s for s in chart.of_kind("Service") if s["metadata"]["name"] == "kube-prometheus-stack-operator"]
        assert [p["targetPort"] for p in webhook_service["spec"]["ports"]] == ["https"]


def test_grafana_stays_inside_the_cluster_and_takes_its_admin_password_from_the_stacks_secret(charts):
    for chart in charts.values():
        assert not chart.of_kind("Ingress")
        assert all(s["spec"]["type"] == "ClusterIP" for s in chart.of_kind("Service"))
        (grafana,) = [c for c in _pod_spec(_grafana(chart))["containers"] if c["name"] == "grafana"]
        password = {e["name"]: e for e in grafana["env"]}["GF_SECURITY_ADMIN_PASSWORD"]
        assert password["valueFrom"]["secretKeyRef"]["name"] == "grafana-admin"


def _images_the_chart_runs(chart: StackChart) -> set[str]:
    """Every image reference the chart's objects run: the containers of its pods and Jobs, the Prometheus and
    Alertmanager the operator makes pods of, and the config-reloader sidecar the operator adds to them."""
    pods = [w for kind in POD_KINDS for w in chart.of_kind(kind)]
    images = {c["image"] for pod in pods for c in _containers(_pod_spec(pod))}
    images |= {o["spec"]["image"] for kind in ("Prometheus", "Alertmanager") for o in chart.of_kind(kind)}
    images |= {arg.split("=", 1)[1] for pod in pods for c in _containers(_pod_spec(pod)) for arg in c.get("args", [])
               if arg.startswith("--prometheus-config-reloader=")}
    return images


def _admitted(repository: str, pattern: str) -> bool:
    """Binary Authorization's name patterns: a trailing * stays within one path segment, ** crosses them."""
    if pattern.endswith("**"):
        return repository.startswith(pattern[:-2])
    if pattern.endswith("*"):
        return repository.startswith(pattern[:-1]) and "/" not in repository[len(pattern) - 1:]
    return repository == pattern


def _mirror_pushes(chart: StackChart) -> set[str]:
    """What the image mirror pushed, as <pushed tag>@<digest the build reported>."""
    builds = [b for b in chart.program.of_type(IMAGE_BUILD) if "inline" in unwrapped(b.inputs)["dockerfile"]]
    return {f"{unwrapped(b.inputs)['tags'][0]}@{b.outputs['digest']}" for b in builds}


def _registry(chart: StackChart) -> str:
    """The stack's registry, read from its own serving image (<registry>/<imageRepository>@sha256:...)."""
    serving = chart.program.outputs["image"].value
    return serving.split("/" + KEYS_BY_NAME["imageRepository"].default + "@")[0]


@pytest.mark.parametrize("stack", STACKS)
def test_every_image_the_chart_runs_is_the_stacks_mirror_by_digest(charts, stack):
    chart = charts[stack]
    mirror = f"{_registry(chart)}/{MONITORING_MIRROR_PREFIX}/"
    images = _images_the_chart_runs(chart)
    assert len(images) == len(CHART_IMAGES[KEYS_BY_NAME["monitoringChartVersion"].default])
    not_mirrored = {image for image in images if not (image.startswith(mirror) and DIGEST.search(image))}
    assert not_mirrored == set(), f"{stack}: not {mirror}...@sha256:"


@pytest.mark.parametrize("stack", STACKS)
def test_each_chart_image_is_exactly_a_tag_the_mirror_pushed_with_the_digest_its_build_reported(charts, stack):
    """No digest comes from anywhere but the push, and the mirror pushes nothing the chart does not run."""
    chart = charts[stack]
    assert _images_the_chart_runs(chart) == _mirror_pushes(chart)


def test_the_prod_binary_authorization_policy_admits_every_image_the_chart_runs(charts):
    chart = charts["prod"]
    (policy,) = [unwrapped(p.inputs) for p in chart.program.of_type("gcp:binaryauthorization/policy:Policy")]
    patterns = [p["namePattern"] for p in policy["admissionWhitelistPatterns"]]
    refused = {image for image in _images_the_chart_runs(chart)
               if not any(_admitted(image.split("@")[0].rsplit(":", 1)[0], pattern) for pattern in patterns)}
    assert refused == set()


def test_a_stack_that_builds_no_images_runs_the_tables_upstream_images_by_tag(charts):
    """Without a mirror the chart's own defaults run: they are the table's images, which also checks the table
    against the fixture's (upstream's) values and appVersions."""
    chart = charts[UNMIRRORED]
    upstream = {image.ref for image in CHART_IMAGES[KEYS_BY_NAME["monitoringChartVersion"].default].values()}
    assert _images_the_chart_runs(chart) == upstream
    assert not _mirror_pushes(chart)
