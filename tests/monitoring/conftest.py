"""The stack under mocks with monitoring settings, and what its monitoring objects say."""
import json
from functools import cache
from pathlib import Path

import pytest

from infra.render import Declared, Rendered, run_program, stack_config, unwrapped

MONITORING_TYPE = "mlstack:monitoring:Monitoring"


@cache
def _render(overrides: tuple[tuple[str, str], ...]) -> Rendered:
    return run_program("local", {**stack_config("local"), **dict(overrides)})


def render_local(**overrides: str) -> Rendered:
    """The local stack file's program under mocks, with config keys overridden (values as CLI strings)."""
    return _render(tuple(sorted(overrides.items())))


def declared(rendered: Rendered, type_token: str, name: str | None = None) -> list[Declared]:
    return [r for r in rendered.of_type(type_token) if name is None or r.name == name]


def only(rendered: Rendered, type_token: str, name: str | None = None) -> Declared:
    matches = declared(rendered, type_token, name)
    assert len(matches) == 1, f"expected one {type_token} {name or ''}, found {len(matches)}"
    return matches[0]


def objects(rendered: Rendered, kind: str) -> list[dict]:
    return [unwrapped(r.inputs) for r in rendered.resources
            if r.type.startswith("kubernetes:") and r.type.endswith(":" + kind)]


def rule_groups(rendered: Rendered) -> list[dict]:
    (rule,) = objects(rendered, "PrometheusRule")
    return rule["spec"]["groups"]


def dashboard_json(rendered: Rendered) -> dict:
    (config_map,) = [c for c in objects(rendered, "ConfigMap") if c["metadata"]["labels"].get("grafana_dashboard")]
    (document,) = config_map["data"].values()
    return json.loads(document)


LIVE_PROCESSES: list = []  # every process the live tests started, for their logs on a failure


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.failed and LIVE_PROCESSES:
        report.sections.extend((f"{process.name} log", process.logs()) for process in LIVE_PROCESSES)
    return report


@pytest.fixture(scope="session")
def probe_model_uri(tmp_path_factory) -> tuple[str, str]:
    """A tracking store in a temporary SQLite file with the probe model registered: (tracking URI, model URI)."""
    import mlflow
    import pandas as pd
    from mlflow.models import infer_signature

    root = tmp_path_factory.mktemp("mlflow")
    tracking_uri = f"sqlite:///{root}/mlflow.db"
    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_experiment(experiment_id=mlflow.create_experiment("probe", artifact_location=(root / "artifacts").as_uri()))
    example = pd.DataFrame({"x": [1.0], "action": ["double"]})
    with mlflow.start_run():
        mlflow.pyfunc.log_model(name="model", python_model=str(Path(__file__).with_name("probe_model.py")),
                                signature=infer_signature(example, pd.Series([2.0])), registered_model_name="probe")
    return tracking_uri, "models:/probe/1"
