"""Every configuration rule: good values load, each bad value fails with one line naming key, value and what is allowed."""
import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from infra.config import ConfigError, config_from_values
from infra.config.keys import KEYS
from infra.config.quantity import parse_quantity
from infra.config.reference import pulumi_config_block
from infra.render import PROJECT_DIR, stack_config

from .conftest import STACKS

BAD_VALUES = [
    ("cloud", "aws"),
    ("minReplicas", "0"),
    ("minReplicas", "two"),
    ("maxReplicas", "101"),
    ("cpuUtilizationTarget", "0"),
    ("cpuUtilizationTarget", "101"),
    ("scaleDownStabilizationSeconds", "-1"),
    ("cpuRequest", "lots"),
    ("cpuRequest", "0"),
    ("memoryLimit", "1 GB"),
    ("cpuLimit", "1.5 cores"),
    ("memoryRequest", "0Mi"),
    ("trackingCpuRequest", "x"),
    ("trackingWorkers", "0"),
    ("trackingCpuLimit", "-1"),
    ("trackingMemoryRequest", "1e9"),
    ("trackingMemoryLimit", "1Gb"),
    ("workers", "0"),
    ("maxBatchSize", "0"),
    ("maxBatchWaitMs", "1001"),
    ("serviceType", "NodePort"),
    ("allowedNamespaces", '["Not_A_Label"]'),
    ("allowedNamespaces", "team-a"),
    ("namespace", "Models"),
    ("trackingNamespace", "-mlflow"),
    ("modelUri", "churn"),
    ("modelUri", "models:/churn"),
    ("modelUri", "models:/churn/0"),
    ("modelUri", "runs:/not-a-run-id/model"),
    ("modelUri", "s3://bucket/model"),
    ("mlflowVersion", "latest"),
    ("trackingImage", "not an image"),
    ("trackingImage", "registry.example.com/mlflow:1"),  # with the default imageBuild: true
    ("trackingImageRepository", "Upper/Case"),
    ("trackingStorageSize", "big"),
    ("registry", "https://localhost:5000"),
    ("imageRepository", "Upper/Case"),
    ("imageBuild", "yes"),
    ("awaitRollout", "1"),
    ("rolloutDeadlineSeconds", "10"),
    ("rolloutDeadlineSeconds", "7201"),
    ("modelVersion", "latest"),
    ("modelVersion", "-1"),
    ("canaryModelUri", "churn/5"),
    ("canaryModelUri", "models:/churn@champion"),  # the stable model itself
    ("canaryPercent", "0"),
    ("canaryPercent", "100"),
    ("canarySplit", "istio"),
    ("gateway", "public"),
    ("gateway", "Infra/public"),
    ("monitoring", "datadog"),
    ("monitoringNamespace", "monitoring!"),
    ("monitoringChartVersion", "latest"),
    ("prometheusRetention", "15 days"),
    ("prometheusStorageSize", "-1Gi"),
    ("latencyObjectiveMs", "0"),
    ("errorRatioObjectivePercent", "101"),
    ("expectTraffic", "maybe"),
    ("mlflowAdminUser", "root user"),
    ("storageClass", "Fast SSD"),
    ("image", "registry.example.com/x:1"),
    ("imageBase", "Not An Image"),
    ("monitoringRelease", "Kube_Prometheus"),
    ("prometheusCpuRequest", "fast"),
    ("prometheusCpuLimit", "0"),
    ("prometheusMemoryRequest", "2 GiB"),
    ("prometheusMemoryLimit", "-2Gi"),
    ("unknownKey", "x"),
]


@pytest.mark.parametrize("key,value", BAD_VALUES, ids=[f"{k}={v}" for k, v in BAD_VALUES])
def test_a_bad_value_fails_with_one_line_naming_key_value_and_what_is_allowed(key, value):
    with pytest.raises(ConfigError) as raised:
        config_from_values("test", {key: value})
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith(f"mlstack:{key} = {value!r} is not allowed: ")
    assert len(message.split("is not allowed: ", 1)[1]) > 3
    assert raised.value.key == key


def test_every_key_has_a_bad_value_test_here_or_in_its_platform_tests():
    from tests.platform.test_azure_config import AZURE_BAD_VALUES
    from tests.platform.test_gcp_config import GCP_BAD_VALUES

    free_text = {"kubeconfig", "kubeContext"}
    tested = {key for key, _ in BAD_VALUES + GCP_BAD_VALUES + AZURE_BAD_VALUES}
    assert {k.name for k in KEYS} - free_text - tested == set()


@pytest.mark.parametrize("uri,name,version", [
    ("models:/churn@champion", "churn", "@champion"),
    ("models:/churn/3", "churn", "3"),
    ("runs:/0123456789abcdef0123456789abcdef/model", "0123456789abcdef0123456789abcdef", "model"),
])
def test_model_uri_forms_give_the_model_name_and_version(uri, name, version):
    model = config_from_values("test", {"modelUri": uri}).serving.model
    assert (model.name, model.version) == (name, version)


@given(st.integers(-5, 120), st.integers(-5, 120))
def test_replica_bounds_are_accepted_exactly_when_one_le_min_le_max_le_100(low, high):
    values = {"minReplicas": str(low), "maxReplicas": str(high)}
    valid = 1 <= low <= high <= 100
    if valid:
        serving = config_from_values("test", values).serving
        assert (serving.min_replicas, serving.max_replicas) == (low, high)
    else:
        with pytest.raises(ConfigError):
            config_from_values("test", values)


def test_a_limit_below_its_request_names_the_limit():
    with pytest.raises(ConfigError, match=r"^mlstack:memoryLimit = '256Mi' .*at least memoryRequest"):
        config_from_values("test", {"memoryRequest": "512Mi", "memoryLimit": "256Mi"})
    with pytest.raises(ConfigError, match=r"^mlstack:trackingCpuLimit"):
        config_from_values("test", {"trackingCpuRequest": "2", "trackingCpuLimit": "1500m"})


def test_a_prebuilt_image_is_required_without_a_build_and_refused_with_one():
    with pytest.raises(ConfigError, match=r"^mlstack:image = ''"):
        config_from_values("test", {"imageBuild": "false"})
    with pytest.raises(ConfigError, match=r"^mlstack:image = 'reg.example/x:1'"):
        config_from_values("test", {"image": "reg.example/x:1"})
    digest = "registry.example.com/team/server@sha256:" + "a" * 64
    assert config_from_values("test", {"imageBuild": "false", "image": digest}).image.prebuilt == digest


@given(st.decimals(min_value=0, max_value=10**6, places=3), st.sampled_from(["", "m", "k", "Mi", "Gi"]))
def test_quantities_parse_to_their_value_in_base_units(number, suffix):
    factor = {"": 1, "m": 0.001, "k": 1000, "Mi": 2**20, "Gi": 2**30}[suffix]
    parsed = parse_quantity(f"{number}{suffix}")
    assert parsed is not None and abs(float(parsed) - float(number) * factor) <= 1e-6 * max(1.0, float(number) * factor)


@pytest.mark.parametrize("stack", STACKS)
def test_every_stack_file_loads(stack):
    config = config_from_values(stack, stack_config(stack))
    assert config.stack == stack


def test_pulumi_yaml_declares_every_key_with_its_type_and_default():
    project = yaml.safe_load((PROJECT_DIR / "Pulumi.yaml").read_text())
    assert project["config"] == pulumi_config_block()


def test_defaults_satisfy_the_rules():
    config = config_from_values("test", {})
    assert config.cloud == "local" and config.serving.min_replicas <= config.serving.max_replicas


def test_readme_configuration_reference_lists_every_key_as_keys_py_declares_it():
    from infra.config.reference import markdown_table

    readme = (PROJECT_DIR / "README.md").read_text()
    section = readme.split("<!-- config-reference:start -->\n", 1)[1].split("\n<!-- config-reference:end -->", 1)[0]
    assert section == markdown_table()


def test_every_reference_command_the_project_files_name_exists():
    import re

    from infra.config.reference import COMMANDS, main

    named = {match for path in ("Pulumi.yaml", "README.md", "infra/config/keys.py")
             for match in re.findall(r"python -m infra\.config\.reference ([a-z-]+)", (PROJECT_DIR / path).read_text())}
    assert named and named <= set(COMMANDS), f"unknown commands named: {named - set(COMMANDS)}"
    with pytest.raises(SystemExit) as refused:
        main(["pulumi-yaml"])
    assert refused.value.code == 2


def test_a_memory_limit_too_small_for_its_workers_names_the_key_and_the_least_that_fits():
    with pytest.raises(ConfigError) as refused:
        config_from_values("test", {"memoryRequest": "256Mi", "memoryLimit": "1Gi", "workers": "3"})
    assert str(refused.value).startswith("mlstack:memoryLimit") and "1182Mi for 3 worker(s)" in str(refused.value)
    assert config_from_values("test", {"workers": "2", "memoryLimit": "2Gi"}).serving.memory_budget_bytes == 347 * 2**20
