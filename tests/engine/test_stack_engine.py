"""The real stack program through the real Pulumi engine and the real kubernetes provider, on the kwok control plane.

`infra.stack.build_stack(load_config())` runs inline through the Automation API (tools/engine/inline_stack.py)
on the repo's Pulumi.local.yaml with the switches the machine needs: no image build (digests), monitoring on an
existing Prometheus Operator (its CRDs installed here), rollouts awaited. The tests run in file order: each
builds on the state the one before left.
"""
import filecmp
import json
import os
import re
import secrets
import signal
import subprocess
import threading
import time
from pathlib import Path

import pulumi
import pytest
from pulumi import automation as auto

from infra.render import run_program, stack_config
from tools.engine.inline_stack import EngineRun, Plugins, open_stack, stack_program

from .kube import CLUSTER_SCRIPT

pytestmark = pytest.mark.engine

STACK = "local"
IMAGE = "localhost:5000/mlstack-serving@sha256:" + "ab" * 32
TRACKING_IMAGE = "localhost:5000/mlstack-tracking@sha256:" + "cd" * 32
MODEL, NEXT_MODEL = "models:/churn/7", "models:/churn/8"
ENGINE_CONFIG = {"imageBuild": "false", "image": IMAGE, "trackingImage": TRACKING_IMAGE,
                 "monitoring": "existing-operator", "awaitRollout": "true", "modelUri": MODEL}
MONITORING_NAMESPACE = "monitoring"  # the existing operator's namespace: the stack's default, not its own
PART_OF = "app.kubernetes.io/part-of=mlstack"
# Every kind the stack declares inside a namespace.
DECLARED_KINDS = "deployments,services,pvc,secrets,configmaps,serviceaccounts,networkpolicies,pdb,hpa,servicemonitors,prometheusrules"
BROKEN_AWAIT = "20s"
TIMES: dict[str, float] = {}


class Events:
    """The engine's event stream of one operation: which step each resource took, and every diagnostic."""

    def __init__(self):
        self.steps: dict[str, str] = {}
        self.changed_paths: dict[str, list[str]] = {}
        self.diagnostics: list[str] = []

    def __call__(self, event: auto.EngineEvent) -> None:
        if event.resource_pre_event:
            step = event.resource_pre_event.metadata
            self.steps[step.urn] = step.op.value
            self.changed_paths[step.urn] = sorted(step.detailed_diff or {})
        if event.diagnostic_event:
            self.diagnostics.append(event.diagnostic_event.message)

    def changed(self) -> dict[str, str]:
        return {urn: op for urn, op in self.steps.items() if op not in ("same", "read")}


def timed(label: str, operation, *args, **kwargs):
    started = time.monotonic()
    try:
        return operation(*args, **kwargs)
    finally:
        TIMES[label] = round(time.monotonic() - started, 1)


def rendered_urns(config: dict[str, str]) -> set[str]:
    """The URNs the program declares under mocks; the engine's top-level URNs do not name the stack as parent."""
    declared = run_program(STACK, {**stack_config(STACK), **config}).resources
    return {resource.urn.replace("::pulumi:pulumi:Stack$", "::") for resource in declared}


@pytest.fixture(scope="module")
def operator_crds(kube) -> None:
    """The cluster as `existing-operator` expects it: the Prometheus Operator's CRDs and its namespace."""
    env = {**os.environ, "MLSTACK_CLUSTER_DIR": str(kube.kubeconfig.parent)}
    subprocess.run(["bash", str(CLUSTER_SCRIPT), "existing-operator", MONITORING_NAMESPACE], env=env, check=True,
                   timeout=300)


@pytest.fixture(scope="module")
def run(engine, tmp_path_factory) -> EngineRun:
    state = tmp_path_factory.mktemp("pulumi-state")
    return EngineRun(
        work_dir=tmp_path_factory.mktemp("project"), backend_url=f"file://{state}",
        pulumi_home=tmp_path_factory.mktemp("pulumi-home"),
        secrets_env={"PULUMI_CONFIG_PASSPHRASE": secrets.token_urlsafe(24)},
        pulumi_dir=Path(engine["PULUMI_DIR"]), plugins=Plugins.built(engine))


@pytest.fixture(scope="module")
def backend(run) -> Path:
    return Path(run.backend_url.removeprefix("file://"))


@pytest.fixture(scope="module")
def config(kube) -> dict[str, str]:
    return {**ENGINE_CONFIG, "kubeconfig": str(kube.kubeconfig)}


@pytest.fixture(scope="module")
def stack(run, config, operator_crds, kube, engine):
    assert (run.plugins.kubernetes_dir / "pulumi-resource-kubernetes").exists(), "run `bash tools/engine/build.sh`"
    opened = open_stack(run, STACK, config)
    try:
        yield opened
    finally:
        # Beside build.sh's build-times.log: docs/engine.md quotes these.
        with open(Path(engine["ENGINE_CACHE"]) / "stack-times.log", "a") as log:
            stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            log.writelines(f"{stamp}\t{label}\t{seconds}s\n" for label, seconds in TIMES.items())
        if STACK in {s.name for s in opened.workspace.list_stacks()}:
            opened.destroy()


def set_config(stack: auto.Stack, **values: str) -> None:
    stack.set_all_config({f"mlstack:{key}": auto.ConfigValue(value) for key, value in values.items()})


def restore_config(stack: auto.Stack, *keys: str) -> None:
    """Back to the repo's stack file: its value, or the key's default where the file has none."""
    repo_values = stack_config(STACK)
    set_config(stack, **{key: repo_values[key] for key in keys if key in repo_values})
    stack.remove_all_config([f"mlstack:{key}" for key in keys if key not in repo_values])


# 1
def test_preview_of_the_empty_stack_lists_every_resource_the_render_lists(stack, config):
    events = Events()
    preview = timed("preview (empty stack)", stack.preview, on_event=events)
    declared = rendered_urns(config)
    engine_creates = {urn for urn, op in events.steps.items() if op == "create"}
    assert declared <= engine_creates, sorted(declared - engine_creates)
    # Beyond the program's own: the stack itself, and the default provider of random (no explicit one is declared).
    extras = {urn.split("::")[-2] for urn in engine_creates - declared}
    assert extras == {"pulumi:pulumi:Stack", "pulumi:providers:random"}, extras
    assert preview.change_summary[auto.OpType.CREATE] == len(declared) + 1  # the summary counts no default provider


# 9
def test_a_bad_config_value_stops_preview_with_one_line_naming_the_key(stack):
    set_config(stack, serviceType="NodePort")
    try:
        with pytest.raises(auto.CommandError) as failed:
            stack.preview()
    finally:
        restore_config(stack, "serviceType")
    message = str(failed.value)
    assert re.search(r"mlstack:serviceType = 'NodePort' is not allowed: .*ClusterIP.*LoadBalancer", message), message
    assert "Traceback" not in message


# 2
def test_up_creates_everything_and_both_deployments_become_available(stack, kube, config, run):
    events = Events()
    result = timed("up (create)", stack.up, on_event=events)
    assert result.summary.result == "succeeded"
    assert events.diagnostics, "no diagnostic was read from the engine's event stream"  # the awaits report progress
    assert not [d for d in events.diagnostics if "expected to have version" in d], events.diagnostics
    for namespace, name in (("models", "model-server"), ("mlflow", "mlflow")):
        deployment = kube.get("deployment", name, namespace)
        available = next(c for c in deployment["status"]["conditions"] if c["type"] == "Available")
        assert available["status"] == "True"
        assert deployment["status"]["readyReplicas"] == deployment["spec"]["replicas"]
    outputs = result.outputs
    assert outputs["mlflowUrl"].value == "http://mlflow.mlflow.svc.cluster.local:5000"
    assert outputs["mlflowAdminPassword"].secret and len(outputs["mlflowAdminPassword"].value) == 32
    assert not outputs["mlflowUrl"].secret


def test_the_provider_that_ran_is_the_one_built_here(stack, run):
    """`pulumi plugin ls`: the built binary is installed under its own release and was used by the up above."""
    plugins = json.loads(run.pulumi("plugin", "ls", "--output", "json").stdout)
    kubernetes = [p for p in plugins if p["name"] == "kubernetes"]
    assert [p["version"] for p in kubernetes] == [run.plugins.kubernetes_version]
    assert kubernetes[0]["lastUsedTime"] > kubernetes[0]["installTime"]
    installed = run.pulumi_home / "plugins" / f"resource-kubernetes-v{run.plugins.kubernetes_version}"
    assert filecmp.cmp(installed / "pulumi-resource-kubernetes",
                       run.plugins.kubernetes_dir / "pulumi-resource-kubernetes", shallow=False)
    providers = {r["type"]: r for r in stack.export_stack().deployment["resources"] if r["type"].startswith("pulumi:providers:")}
    assert providers["pulumi:providers:kubernetes"]["inputs"]["version"] == run.plugins.kubernetes_version
    assert providers["pulumi:providers:random"]["inputs"]["version"] == run.plugins.random_version


# 3
def test_no_change_preview_passes_and_refresh_finds_no_drift(stack):
    timed("preview (no changes)", stack.preview, expect_no_changes=True)
    events = Events()
    refresh = timed("refresh", stack.refresh, on_event=events)
    assert set(refresh.summary.resource_changes) == {"same"}, (refresh.summary.resource_changes, events.changed())
    stack.preview(expect_no_changes=True)


def model_deployment_urn(urns) -> str:
    return next(urn for urn in urns if urn.endswith("kubernetes:apps/v1:Deployment::model-deployment"))


# 4
def test_a_new_model_version_updates_only_the_model_deployment_and_rolls_it_out(stack, kube):
    set_config(stack, modelUri=NEXT_MODEL)
    events = Events()
    stack.preview(diff=True, on_event=events)
    changed = events.changed()
    deployment = model_deployment_urn(changed)
    assert changed == {deployment: "update"}, changed
    paths = events.changed_paths[deployment]
    assert paths and all(path.startswith("spec.template.") for path in paths), paths
    result = timed("up (model version)", stack.up)
    assert result.summary.resource_changes.get("update") == 1
    pods = kube.items("pods", "models", "app.kubernetes.io/name=model-server")
    serving = [p for p in pods if not p["metadata"].get("deletionTimestamp")]
    assert serving and all(p["metadata"]["annotations"]["mlstack.io/model-uri"] == NEXT_MODEL for p in serving)


def test_a_new_min_replicas_updates_only_the_autoscaler(stack, kube):
    set_config(stack, minReplicas="2")
    events = Events()
    stack.preview(diff=True, on_event=events)
    changed = events.changed()
    assert len(changed) == 1 and next(iter(changed)).endswith("::model-autoscaler"), changed
    assert events.changed_paths[next(iter(changed))] == ["spec.minReplicas"]
    stack.up()
    assert kube.get("hpa", "model-server", "models")["spec"]["minReplicas"] == 2


# 5
def short_model_await(args: pulumi.ResourceTransformationArgs):
    """The provider awaits a rollout for 10 minutes by default; the standard customTimeouts option cuts that."""
    if args.type_ != "kubernetes:apps/v1:Deployment" or args.name != "model-deployment":
        return None
    return pulumi.ResourceTransformationResult(args.props, pulumi.ResourceOptions.merge(
        args.opts, pulumi.ResourceOptions(custom_timeouts=pulumi.CustomTimeouts(update=BROKEN_AWAIT))))


def test_a_rollout_that_never_becomes_ready_fails_up_and_the_good_config_converges(stack, run, kube):
    program = stack_program(run.plugins)

    def short_await_program():
        pulumi.runtime.register_stack_transformation(short_model_await)
        program()

    # On kwok no image is pulled: a pod that no node can fit never becomes Ready, as a broken image would not.
    set_config(stack, cpuRequest="64", cpuLimit="64")  # the nodes have 8 CPUs each
    stack.workspace.program = short_await_program
    try:
        with pytest.raises(auto.CommandError) as failed:
            timed(f"up (broken, {BROKEN_AWAIT} await)", stack.up)
    finally:
        stack.workspace.program = program
        restore_config(stack, "cpuRequest", "cpuLimit")
    message = str(failed.value)
    assert "model-server" in message and re.search(r"[Tt]imeout|timed out|not available", message), message
    result = timed("up (recovery)", stack.up)
    assert result.summary.result == "succeeded"
    stack.preview(expect_no_changes=True)
    deployment = kube.get("deployment", "model-server", "models")
    assert deployment["status"]["readyReplicas"] == deployment["spec"]["replicas"]


# 7
def test_no_secret_output_is_stored_in_plain_text(stack, backend, run):
    shown = stack.outputs()
    secret_values = [output.value for output in shown.values() if output.secret]
    assert secret_values, "the stack has no secret outputs"
    files = [p for root in (backend, run.work_dir) for p in root.rglob("*") if p.is_file()]
    assert any(p.name == f"{STACK}.json" for p in files)
    for path in files:
        text = path.read_text(errors="replace")
        for value in secret_values:
            assert value not in text, f"{path} holds a secret output in plain text"


def labelled_objects(kube, kinds: str) -> set[tuple[str, str, str]]:
    listed = json.loads(kube.run("get", kinds, "-A", "-l", PART_OF, "-o", "json").stdout)["items"]
    return {(o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"]) for o in listed}


def cluster_leftovers(kube) -> set[tuple[str, str, str]]:
    return labelled_objects(kube, f"{DECLARED_KINDS},pods,replicasets")


# 8
def test_destroy_removes_every_object_namespace_and_claim(stack, kube):
    claims = [(c["metadata"]["namespace"], c["spec"]["volumeName"]) for c in kube.items("pvc", "mlflow")]
    assert claims
    result = timed("destroy", stack.destroy)
    assert result.summary.result == "succeeded"
    assert cluster_leftovers(kube) == set()
    for namespace in ("models", "mlflow"):
        assert "NotFound" in kube.run("get", "namespace", namespace, check=False).stderr
    for _, volume in claims:
        assert kube.get("pv", volume)["status"]["phase"] == "Released"
    assert not stack.export_stack().deployment.get("resources")


# 6
def pulumi_children() -> list[int]:
    """This process's children running the pulumi CLI (the Automation API's subprocesses)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)
            comm = fields[0].split("(", 1)[1]
            ppid = int(fields[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if ppid == os.getpid() and comm == "pulumi":
            found.append(int(stat.parent.name))
    return found


def test_an_interrupted_up_recovers_and_converges_without_duplicates_or_orphans(stack, kube, config):
    interrupted = threading.Event()

    def interrupt_at_first_deployment(event: auto.EngineEvent) -> None:
        pre = event.resource_pre_event
        if pre and pre.metadata.type == "kubernetes:apps/v1:Deployment" and not interrupted.is_set():
            for pid in pulumi_children():
                os.kill(pid, signal.SIGINT)
            interrupted.set()

    with pytest.raises(auto.CommandError):
        stack.up(on_event=interrupt_at_first_deployment)
    assert interrupted.is_set()
    stack.cancel()
    stack.refresh(clear_pending_creates=True)
    result = stack.up()
    assert result.summary.result == "succeeded"
    stack.preview(expect_no_changes=True)
    resources = stack.export_stack().deployment["resources"]
    urns = [r["urn"] for r in resources]
    assert len(urns) == len(set(urns))
    declared = rendered_urns(config)
    assert {u for u in urns if "::pulumi:pulumi:Stack::" not in u and "::pulumi:providers:random::" not in u} == declared
    in_state = {(r["outputs"]["kind"], r["outputs"]["metadata"].get("namespace"), r["outputs"]["metadata"]["name"])
                for r in resources if r["type"].startswith("kubernetes:") and "kind" in r.get("outputs", {})}
    orphans = labelled_objects(kube, DECLARED_KINDS) - in_state
    assert not orphans, f"objects of the stack in the cluster that its state does not know: {orphans}"


def test_destroy_and_stack_rm_leave_no_state(stack, backend, kube):
    stack.destroy()
    assert cluster_leftovers(kube) == set()
    stack.workspace.remove_stack(STACK)
    assert STACK not in {s.name for s in stack.workspace.list_stacks()}
    stacks_dir = backend / ".pulumi" / "stacks" / "mlstack"
    assert not (stacks_dir / f"{STACK}.json").exists()
    # The file backend keeps the removed stack's last checkpoint as a .bak: it holds no resource.
    for backup in stacks_dir.glob(f"{STACK}.json.bak"):
        assert not json.loads(backup.read_text())["checkpoint"]["latest"].get("resources"), backup
