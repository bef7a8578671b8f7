"""Rollout, rollback, alias pinning and the canary under mocks: every object the canary adds, and the exact diff each
step makes (two renders of the program, compared object by object and field by field)."""
import pytest

from infra.config import ConfigError, config_from_values
from infra.render import run_program, stack_config

from .conftest import objects_of_kind, one
from .schema import validate

V4, V5 = "models:/churn/4", "models:/churn/5"
GATEWAY = {"canarySplit": "gateway", "gateway": "infra/public"}


def render(**values) -> dict[tuple[str, str | None, str], dict]:
    """The local stack under mocks with keys overridden, each object keyed by (kind, namespace, name)."""
    rendered = run_program("local", stack_config("local", values))
    return {(o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"]): o for o in rendered.kubernetes_objects()}


def changed_paths(before, after, path: str = "") -> set[str]:
    """Every leaf path whose value differs between two objects."""
    if isinstance(before, dict) and isinstance(after, dict):
        return {p for key in before.keys() | after.keys()
                for p in changed_paths(before.get(key), after.get(key), f"{path}.{key}" if path else key)}
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        return {p for index, (b, a) in enumerate(zip(before, after, strict=True)) for p in changed_paths(b, a, f"{path}[{index}]")}
    return set() if before == after else {path}


def diff(before: dict, after: dict) -> tuple[set, set, dict]:
    """(added objects, removed objects, changed object -> changed leaf paths)."""
    changed = {key: changed_paths(before[key], after[key]) for key in before.keys() & after.keys()
               if before[key] != after[key]}
    return after.keys() - before.keys(), before.keys() - after.keys(), changed


STABLE = ("Deployment", "models", "model-server")
CANARY = ("Deployment", "models", "model-server-canary")
CANARY_HPA = ("HorizontalPodAutoscaler", "models", "model-server-canary")
MODEL_CHANGE = {  # what a new model version changes in a model Deployment: its env and the pod's model labels
    "spec.template.spec.containers[0].env[0].value",
    "spec.template.metadata.annotations.mlstack.io/model-version",
    "spec.template.metadata.annotations.mlstack.io/model-uri",
    "spec.template.metadata.labels.mlstack.io/model-version",
}


def container_env(deployment: dict) -> dict[str, str]:
    return {e["name"]: e.get("value") for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]}


# --- rolling update and rollback ------------------------------------------------------------------------------------

def test_model_deployment_surges_one_pod_keeps_every_old_one_and_stops_at_the_progress_deadline():
    deployment = render(rolloutDeadlineSeconds=300, awaitRollout=True)[STABLE]
    assert deployment["spec"]["strategy"]["rollingUpdate"] == {"maxUnavailable": 0, "maxSurge": 1}
    assert deployment["spec"]["progressDeadlineSeconds"] == 300
    # Readiness is the server's /ready, which turns 200 only once the model is loaded and warmed on its input example.
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["readinessProbe"]["httpGet"]["path"] == container["startupProbe"]["httpGet"]["path"] == "/ready"


def test_pulumi_stops_waiting_a_minute_after_the_deadline_so_it_fails_with_the_deadlines_message():
    annotations = render(rolloutDeadlineSeconds=300, awaitRollout=True)[STABLE]["metadata"]["annotations"]
    assert annotations == {"pulumi.com/timeoutSeconds": str(300 + 60)}


def test_without_awaiting_there_is_no_timeout_to_set():
    annotations = render(awaitRollout=False)[STABLE]["metadata"]["annotations"]
    assert annotations == {"pulumi.com/skipAwait": "true"}


def test_rollback_is_a_config_change_that_changes_only_the_model_of_the_stable_pods():
    added, removed, changed = diff(render(modelUri=V5), render(modelUri=V4))
    assert (added, removed) == (set(), set())
    assert changed == {STABLE: MODEL_CHANGE}


# --- pinning an alias -----------------------------------------------------------------------------------------------

def test_a_pinned_alias_serves_the_resolved_version_and_records_the_alias():
    deployment = render(modelUri="models:/churn@champion", modelVersion=4)[STABLE]
    assert container_env(deployment)["MODEL_URI"] == V4
    template = deployment["spec"]["template"]["metadata"]
    assert template["annotations"]["mlstack.io/model-alias"] == "champion"
    assert template["labels"]["mlstack.io/model-version"] == "4"


def test_an_alias_that_moved_shows_in_preview_as_a_new_version_of_the_stable_pods():
    added, removed, changed = diff(render(modelVersion=3), render(modelVersion=4))
    assert (added, removed) == (set(), set())
    assert changed == {STABLE: MODEL_CHANGE}


def test_an_unpinned_alias_is_served_as_the_alias_and_labelled_without_the_at_sign():
    deployment = render()[STABLE]
    assert container_env(deployment)["MODEL_URI"] == "models:/churn@champion"
    assert deployment["spec"]["template"]["metadata"]["labels"]["mlstack.io/model-version"] == "champion"


@pytest.mark.parametrize("values,key", [
    ({"modelUri": "models:/churn/3", "modelVersion": "4"}, "modelVersion"),  # nothing to pin
    ({"modelVersion": "4", "canaryModelUri": V4}, "canaryModelUri"),  # the pinned stable model itself
    ({"canarySplit": "gateway"}, "gateway"),  # a route needs its Gateway
])
def test_contradicting_rollout_keys_fail_with_one_line_naming_the_key(values, key):
    with pytest.raises(ConfigError) as raised:
        config_from_values("test", values)
    assert raised.value.key == key and "\n" not in str(raised.value)


def test_canary_config_reads_the_model_share_and_gateway():
    serving = config_from_values("test", {"canaryModelUri": V5, "canaryPercent": "25", **GATEWAY}).serving
    assert serving.canary is not None and (serving.canary.model.version, serving.canary.percent) == ("5", 25)
    assert serving.gateway is not None and (serving.gateway.namespace, serving.gateway.name) == ("infra", "public")


# --- every metric says which track and version answered ------------------------------------------------------------

def test_pods_carry_track_and_version_labels_outside_every_selector_and_the_scrape_copies_them():
    objects = render(canaryModelUri=V5)
    monitor = one_object(objects, "ServiceMonitor", "model-server")
    for key, track, version in ((STABLE, "stable", "champion"), (CANARY, "canary", "5")):
        pod_labels = objects[key]["spec"]["template"]["metadata"]["labels"]
        assert (pod_labels["mlstack.io/track"], pod_labels["mlstack.io/model-version"]) == (track, version)
        assert set(monitor["spec"]["podTargetLabels"]) == {"mlstack.io/track", "mlstack.io/model-version"}
    for selector in (objects[STABLE]["spec"]["selector"]["matchLabels"],
                     objects[("Service", "models", "model-server")]["spec"]["selector"],
                     objects[("PodDisruptionBudget", "models", "model-server")]["spec"]["selector"]["matchLabels"]):
        assert not {"mlstack.io/track", "mlstack.io/model-version"} & selector.keys()


def one_object(objects: dict, kind: str, name: str) -> dict:
    (found,) = [obj for (k, _, n), obj in objects.items() if (k, n) == (kind, name)]
    return found


# --- the canary: what it adds ----------------------------------------------------------------------------------------

def test_starting_a_canary_adds_exactly_its_deployment_and_autoscaler_and_changes_nothing_else():
    added, removed, changed = diff(render(modelUri=V4), render(modelUri=V4, canaryModelUri=V5))
    assert (added, removed, changed) == ({CANARY, CANARY_HPA}, set(), {})


def test_canary_pods_and_stable_pods_both_back_the_one_service_and_the_disruption_budget():
    objects = render(modelUri=V4, canaryModelUri=V5)
    service = objects[("Service", "models", "model-server")]["spec"]["selector"]
    budget = objects[("PodDisruptionBudget", "models", "model-server")]["spec"]["selector"]["matchLabels"]
    for key in (STABLE, CANARY):
        pod_labels = objects[key]["spec"]["template"]["metadata"]["labels"]
        assert service.items() <= pod_labels.items() and budget.items() <= pod_labels.items()
    canary = objects[CANARY]
    assert canary["spec"]["selector"]["matchLabels"] == {**service, "mlstack.io/track": "canary"}
    assert container_env(canary)["MODEL_URI"] == V5
    assert canary["spec"]["strategy"] == objects[STABLE]["spec"]["strategy"]
    assert canary["spec"]["progressDeadlineSeconds"] == objects[STABLE]["spec"]["progressDeadlineSeconds"]
    stable_pod, canary_pod = (objects[k]["spec"]["template"]["spec"] for k in (STABLE, CANARY))
    assert {**canary_pod, "containers": None} == {**stable_pod, "containers": None}  # same account, hardening, placement


@pytest.mark.parametrize("percent,stable,canary", [(10, (2, 6), (1, 1)), (25, (3, 9), (1, 3)), (50, (2, 6), (2, 6)),
                                                   (90, (1, 3), (9, 27))])
def test_canary_autoscaler_keeps_its_share_of_pods_near_the_percent(percent, stable, canary):
    objects = render(canaryModelUri=V5, canaryPercent=percent, minReplicas=stable[0], maxReplicas=stable[1])
    spec = objects[CANARY_HPA]["spec"]
    assert (spec["minReplicas"], spec["maxReplicas"]) == canary
    assert spec["scaleTargetRef"]["name"] == "model-server-canary"


def test_promotion_rolls_the_stable_pods_to_the_canarys_model_and_removes_the_canary():
    added, removed, changed = diff(render(modelUri=V4, canaryModelUri=V5), render(modelUri=V5))
    assert (added, removed) == (set(), {CANARY, CANARY_HPA})
    assert changed == {STABLE: MODEL_CHANGE}


def test_abort_removes_the_canary_and_leaves_the_stable_pods_untouched():
    added, removed, changed = diff(render(modelUri=V4, canaryModelUri=V5), render(modelUri=V4))
    assert (added, removed, changed) == (set(), {CANARY, CANARY_HPA}, {})


# --- the canary through a Gateway API route --------------------------------------------------------------------------

def test_gateway_mode_routes_everything_to_the_service_until_a_canary_starts():
    objects = render(**GATEWAY)
    route = objects[("HTTPRoute", "models", "model-server")]
    assert route["spec"]["parentRefs"] == [
        {"group": "gateway.networking.k8s.io", "kind": "Gateway", "namespace": "infra", "name": "public"}]
    assert route["spec"]["rules"] == [{"backendRefs": [{"group": "", "kind": "Service", "name": "model-server", "port": 80}]}]
    validate(route)


def test_gateway_mode_splits_requests_exactly_by_route_weights_between_per_track_services():
    before, after = render(modelUri=V4, **GATEWAY), render(modelUri=V4, canaryModelUri=V5, canaryPercent=15, **GATEWAY)
    added, removed, changed = diff(before, after)
    per_track = {("Service", "models", "model-server-stable"), ("Service", "models", "model-server-canary")}
    assert (added, removed) == ({CANARY, CANARY_HPA} | per_track, set())
    assert changed.keys() == {("HTTPRoute", "models", "model-server")}
    route = after[("HTTPRoute", "models", "model-server")]
    assert [(b["name"], b["weight"]) for b in route["spec"]["rules"][0]["backendRefs"]] == [
        ("model-server-stable", 85), ("model-server-canary", 15)]
    validate(route)
    for track in ("stable", "canary"):
        service = after[("Service", "models", f"model-server-{track}")]
        assert service["spec"]["type"] == "ClusterIP"
        pods = after[STABLE if track == "stable" else CANARY]["spec"]["template"]["metadata"]["labels"]
        assert service["spec"]["selector"].items() <= pods.items()
        assert service["spec"]["selector"]["mlstack.io/track"] == track
        validate(service)


def test_gateway_mode_admits_the_gateways_namespace_to_the_model_pods():
    policy = render(**GATEWAY)[("NetworkPolicy", "models", "model-server")]
    (rule,) = policy["spec"]["ingress"]
    assert "infra" in rule["from"][0]["namespaceSelector"]["matchExpressions"][0]["values"]


def test_an_http_route_with_a_misspelt_field_is_refused_by_the_gateway_api_schema():
    route = render(canaryModelUri=V5, **GATEWAY)[("HTTPRoute", "models", "model-server")]
    validate(route)
    with pytest.raises(Exception, match=r"backendRefz|Additional properties"):
        validate({**route, "spec": {**route["spec"], "rules": [{"backendRefz": []}]}})
    with pytest.raises(Exception, match=r"maximum|1000000"):
        bad = {**route["spec"]["rules"][0]["backendRefs"][0], "weight": 1000001}
        validate({**route, "spec": {**route["spec"], "rules": [{"backendRefs": [bad]}]}})


@pytest.mark.parametrize("overrides", [{"canaryModelUri": V5}, {"canaryModelUri": V5, **GATEWAY}])
def test_every_canary_object_validates_strictly(overrides):
    for obj in run_program("local", stack_config("local", overrides)).kubernetes_objects():
        validate(obj)


def test_the_canary_objects_land_in_the_model_namespace_under_the_component(local_stack):
    rendered = run_program("local", stack_config("local", {"canaryModelUri": V5, **GATEWAY}))
    component = next(r for r in rendered.resources if r.type == "mlstack:serving:ModelService")
    new = [r for r in rendered.resources if r.name.startswith(("model-canary", "model-route", "model-service-"))]
    assert {r.name for r in new} == {"model-canary-deployment", "model-canary-autoscaler", "model-route",
                                     "model-service-stable", "model-service-canary"}
    assert all(r.parent == component.urn for r in new)
    assert {o["metadata"]["namespace"] for o in objects_of_kind(rendered, "HTTPRoute")} == {"models"}
    assert one(rendered, "Deployment", "model-server-canary")["metadata"]["namespace"] == "models"
