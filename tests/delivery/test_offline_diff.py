"""The offline per-object diff: two configs one key apart, two real commits of this repository, secrets masked."""
import json
import re
import subprocess

import pytest

from delivery import markdown
from delivery.objects import MASK, Render, diff, load
from delivery.offline_diff import PROJECT_DIR, main
from infra.render import run_program, stack_config, write

# A real pair in this repository's history: the commit that made the stack's maxBatchWaitMs default 0 instead of 5.
BATCH_WAIT_DEFAULT_COMMIT = "555cb4404b458b4f6763f93f5c1d28e02ed48c4f"


def _render(tmp_path, name, **overrides):
    out = tmp_path / name
    write(run_program("local", {**stack_config("local"), **overrides}), out)
    return out


def test_two_configs_one_key_apart_differ_in_exactly_that_field(tmp_path):
    base, head = _render(tmp_path, "base"), _render(tmp_path, "head", minReplicas="2")
    out = tmp_path / "diff.md"
    assert main(["--base-dir", str(base), "--head-dir", str(head), "--out", str(out)]) == 0
    text = out.read_text()
    assert text.startswith(markdown.MARKER)
    assert "1 changed; " in text
    assert "**~ changed** `HorizontalPodAutoscaler models/model-server`\n```diff\n- spec.minReplicas: 1\n+ spec.minReplicas: 2\n```" in text
    assert text.count("**~ changed**") == 1 and "added" not in text.split("### Stack")[1]


def test_an_unchanged_config_shows_no_changes(tmp_path):
    base, head = _render(tmp_path, "base"), _render(tmp_path, "head")
    assert diff(load(base), load(head)) == []


def test_objects_added_and_removed_are_listed_with_their_fields(tmp_path):
    base, head = _render(tmp_path, "base"), _render(tmp_path, "head", monitoring="none", allowedNamespaces='["batch"]')
    changes = diff(load(base), load(head))
    removed = {c.label for c in changes if c.status == "removed"}
    assert {"ServiceMonitor models/model-server", "PrometheusRule monitoring/mlstack-model-service"} <= removed
    assert not any(c.status == "added" for c in changes)
    policy = next(c for c in changes if c.label == "NetworkPolicy models/model-server")
    assert [(f.status, f.old, f.new) for f in policy.fields if "namespaceSelector" in f.path] == [
        ("changed", ["monitoring"], ["batch", "monitoring"])]


def test_two_real_commits_of_this_repository_differ_in_the_batch_wait_of_the_model_server(tmp_path):
    present = subprocess.run(["git", "cat-file", "-e", f"{BATCH_WAIT_DEFAULT_COMMIT}^{{commit}}"], cwd=PROJECT_DIR)
    assert present.returncode == 0, f"{BATCH_WAIT_DEFAULT_COMMIT} is not in this clone's history (a shallow clone?)"
    out = tmp_path / "diff.md"
    main(["--base", f"{BATCH_WAIT_DEFAULT_COMMIT}^", "--head", BATCH_WAIT_DEFAULT_COMMIT,
          "--stack", "local", "--stack", "dev", "--out", str(out)])
    text = out.read_text()
    expected = ("**~ changed** `Deployment models/model-server`\n```diff\n"
                "- spec.template.spec.containers[server].env[MAX_BATCH_WAIT_MS].value: 5\n"
                "+ spec.template.spec.containers[server].env[MAX_BATCH_WAIT_MS].value: 0\n```")
    for stack in ("local", "dev"):
        section = text.split(f"### Stack `{stack}`\n")[1].split("### Stack")[0]
        assert section.startswith("1 changed; "), section
        assert expected in section
    worktrees = subprocess.run(["git", "worktree", "list"], cwd=PROJECT_DIR, capture_output=True, text=True).stdout
    assert "mlstack-renders-" not in worktrees


def test_a_revision_that_cannot_be_checked_out_is_reported_not_raised(tmp_path):
    out = tmp_path / "diff.md"
    assert main(["--base", "no-such-revision", "--stack", "local", "--out", str(out)]) == 0
    assert "the base could not be rendered: `git worktree add" in out.read_text()


def test_a_stack_absent_at_the_base_shows_every_object_added(tmp_path):
    root = subprocess.run(["git", "rev-list", "--max-parents=0", "HEAD"], cwd=PROJECT_DIR, capture_output=True,
                          text=True).stdout.split()[0]
    out = tmp_path / "diff.md"
    main(["--base", root, "--stack", "local", "--out", str(out)])
    text = out.read_text()
    assert re.fullmatch(r"\d+ added; 0 unchanged", text.split("### Stack `local`\n")[1].split("\n")[0])
    assert "**+ added** `Deployment models/model-server`" in text


def _inventory(tmp_path, name, resources):
    (tmp_path / name).mkdir()
    (tmp_path / name / "resources.json").write_text(json.dumps({"stack": "test", "resources": resources}))
    return load(tmp_path / name)


def _secret(string_data, **extra):
    return {"type": "kubernetes:core/v1:Secret", "name": "creds", "parent": "urn:pulumi:x",
            "inputs": {"metadata": {"name": "creds", "namespace": "models"}, "stringData": string_data, **extra}}


def test_secret_values_are_masked_even_when_the_program_forgot_to_make_them_pulumi_secrets(tmp_path):
    base = _inventory(tmp_path, "a", [_secret({"user": "alice", "pulumiSecret": MASK})])
    head = _inventory(tmp_path, "b", [_secret({"user": "bob", "pulumiSecret": MASK})])
    text = markdown.stack_section("test", diff(base, head), 0)
    assert "alice" not in text and "bob" not in text
    assert "- stringData.user: [secret]\n+ stringData.user: [secret] (secret changed)" in text


def test_credential_named_fields_and_env_values_are_masked(tmp_path):
    def deployment(password, env_value):
        container = {"name": "app", "image": "a@sha256:1",
                     "env": [{"name": "DB_PASSWORD", "value": env_value}, {"name": "MODE", "value": "fast"}]}
        return {"type": "kubernetes:apps/v1:Deployment", "name": "app", "parent": "urn:pulumi:x",
                "inputs": {"metadata": {"name": "app", "namespace": "models"},
                           "spec": {"adminPassword": password, "template": {"spec": {"containers": [container]}}}}}
    render = _inventory(tmp_path, "a", [deployment("hunter2", "s3cret")])
    fields = render.objects["Deployment models/app"]
    assert str(fields["spec.adminPassword"]) == MASK
    assert str(fields["spec.template.spec.containers[app].env[DB_PASSWORD].value"]) == MASK
    assert fields["spec.template.spec.containers[app].env[MODE].value"] == "fast"
    changed = diff(render, _inventory(tmp_path, "b", [deployment("hunter3", "s3cret")]))
    assert "hunter" not in markdown.stack_section("test", changed, 0)


@pytest.mark.parametrize("size", [10, 100_000])
def test_a_long_comment_is_cut_under_githubs_limit_with_its_code_block_closed(size):
    render = Render("test", {f"ConfigMap models/cm-{i}": {"data.x": "v" * 100} for i in range(size)})
    text = markdown.comment("t", [markdown.stack_section("test", diff(Render("test", {}), render), 0)])
    assert len(text) < 65_536
    if size > 10:
        assert "cut here" in text and text.count("```") % 2 == 0


def test_the_diff_lists_objects_in_label_order_whatever_order_the_render_recorded_them(tmp_path):
    def config_map(name):
        return {"type": "kubernetes:core/v1:ConfigMap", "name": name, "parent": "urn:pulumi:x",
                "inputs": {"metadata": {"name": name, "namespace": "models"}, "data": {"k": name}}}

    base = _inventory(tmp_path, "base", [config_map("gone-b"), config_map("gone-a")])
    recorded = [config_map(name) for name in ("c", "a", "b")]
    orders = [_inventory(tmp_path, f"head-{index}", resources)
              for index, resources in enumerate((recorded, recorded[::-1]))]
    listed = [[(change.status, change.label) for change in diff(base, head)] for head in orders]
    assert listed[0] == listed[1] == [("added", "ConfigMap models/a"), ("added", "ConfigMap models/b"),
                                      ("added", "ConfigMap models/c"), ("removed", "ConfigMap models/gone-a"),
                                      ("removed", "ConfigMap models/gone-b")]
