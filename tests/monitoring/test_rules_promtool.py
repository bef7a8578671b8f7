"""The generated rules pass `promtool check rules`, and every alert fires and stays quiet on synthetic series."""
import re
import shutil
import subprocess

import pytest
import yaml

from infra.render import run_program, stack_config

from .conftest import render_local, rule_groups
from .promtool_cases import CASES, AlertCase

pytestmark = pytest.mark.prometheus

_LABEL = re.compile(r"\{\{ \$labels\.(\w+) \}\}")
_VALUE = re.compile(r"\{\{ \$value( \| \w+)? \}\}")
STACKS = ("local", "dev", "prod", "aks-dev", "aks-prod")


@pytest.fixture(scope="module")
def promtool() -> str:
    path = shutil.which("promtool")
    assert path, "promtool not found: run tools/prometheus/install.sh"
    return path


@pytest.fixture(scope="module")
def groups() -> list[dict]:
    return rule_groups(render_local(expectTraffic="true"))


@pytest.fixture(scope="module")
def rules_file(groups, tmp_path_factory):
    path = tmp_path_factory.mktemp("rules") / "rules.yaml"
    path.write_text(yaml.safe_dump({"groups": groups}, sort_keys=False))
    return path


def run(*command: str) -> subprocess.CompletedProcess:
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


def alert_rules(groups: list[dict]) -> dict[str, dict]:
    return {rule["alert"]: rule for group in groups for rule in group["rules"] if "alert" in rule}


@pytest.mark.parametrize("stack", STACKS)
def test_promtool_accepts_the_rules_every_stack_file_generates(promtool, stack, tmp_path):
    groups = rule_groups(run_program(stack, {**stack_config(stack), "expectTraffic": "true"}))
    rules_file = tmp_path / "rules.yaml"
    rules_file.write_text(yaml.safe_dump({"groups": groups}, sort_keys=False))
    checked = run(promtool, "check", "rules", str(rules_file))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    count = sum(len(group["rules"]) for group in groups)
    assert f"SUCCESS: {count} rules found" in checked.stdout


def test_every_alert_has_a_firing_and_a_quiet_case(groups):
    covered = {(case.alert, case.fires) for case in CASES}
    for alert in alert_rules(groups):
        assert {(alert, True), (alert, False)} <= covered, alert


def expected_alert(rule: dict, labels: dict, value: str) -> dict:
    """The alert promtool must report: the rule's labels and annotations, expanded for these labels and value."""
    def expand(text: str) -> str:
        return _VALUE.sub(value, _LABEL.sub(lambda m: labels[m.group(1)], text))

    return {"exp_labels": {**labels, **rule["labels"]},
            "exp_annotations": {key: expand(text) for key, text in rule["annotations"].items()}}


def promtool_test(case: AlertCase, rule: dict, rules_file) -> dict:
    return {
        "rule_files": [str(rules_file)],
        "evaluation_interval": "1m",
        "tests": [{
            "interval": "1m",
            "input_series": [{"series": name, "values": values} for name, values in case.input_series],
            "alert_rule_test": [{
                "eval_time": case.eval_time,
                "alertname": case.alert,
                "exp_alerts": [expected_alert(rule, labels, case.value) for labels in case.firing],
            }],
        }],
    }


@pytest.mark.parametrize("case", CASES, ids=[f"{c.alert}: {c.story}" for c in CASES])
def test_alert_fires_exactly_when_the_history_says(case, promtool, groups, rules_file, tmp_path):
    test_file = tmp_path / "test.yaml"
    test_file.write_text(yaml.safe_dump(promtool_test(case, alert_rules(groups)[case.alert], rules_file), sort_keys=False))
    tested = run(promtool, "test", "rules", str(test_file))
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "SUCCESS" in tested.stdout
