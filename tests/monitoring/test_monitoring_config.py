"""The monitoring keys: defaults, and one-line errors for bad values."""
import pytest

from infra.config import ConfigError, config_from_values


def test_defaults_install_a_pinned_chart_with_bounded_prometheus():
    monitoring = config_from_values("test", {}).monitoring
    assert (monitoring.mode, monitoring.release, monitoring.chart_version) == ("kube-prometheus-stack", "kube-prometheus-stack", "88.5.3")
    assert monitoring.prometheus_resources.memory_limit == "2Gi"


@pytest.mark.parametrize("key,value", [
    ("monitoringRelease", "Kube_Prometheus"),
    ("monitoringRelease", "x" * 54),
    ("prometheusCpuRequest", "lots"),
    ("prometheusCpuLimit", "100m"),  # below the 250m request
    ("prometheusMemoryRequest", "0"),
    ("prometheusMemoryLimit", "512Mi"),  # below the 1Gi request
])
def test_a_bad_monitoring_value_fails_with_one_line_naming_the_key(key, value):
    with pytest.raises(ConfigError) as raised:
        config_from_values("test", {key: value})
    assert raised.value.key == key
    assert str(raised.value).startswith(f"mlstack:{key} = {value!r} is not allowed: ")
    assert "\n" not in str(raised.value)


def test_a_chart_version_whose_images_the_stack_does_not_know_is_refused_naming_the_known_ones():
    """Without its row in the image table the chart's images could not be mirrored."""
    with pytest.raises(ConfigError) as raised:
        config_from_values("test", {"monitoringChartVersion": "88.5.4"})
    assert str(raised.value) == ("mlstack:monitoringChartVersion = '88.5.4' is not allowed: a kube-prometheus-stack "
                                 "version whose images infra/config/chart_images.py lists: 88.5.3")
