"""The gcp config section: good values load, each bad value fails with one line naming key, value and what is allowed."""
import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from infra.config import ConfigError, config_from_values
from infra.config.keys import KEYS
from infra.render import PROJECT_DIR

GCP_BAD_VALUES = [
    ("gcpProject", "My-Project"),
    ("gcpProject", "short"),
    ("gcpRegion", "europe west1"),
    ("gcpZone", "us-central1-a"),
    ("gcpClusterLocation", "multi-regional"),
    ("gcpReleaseChannel", "regular"),
    ("gcpMasterAuthorizedNetworks", '["10.0.0.1/8"]'),
    ("gcpMasterAuthorizedNetworks", "203.0.113.0/24"),
    ("gcpMasterAuthorizedNetworks", '["2001:db8::/32"]'),
    ("gcpBinaryAuthorization", "on"),
    ("gcpDeletionProtection", "no"),
    ("gcpMachineType", "E2 Standard"),
    ("gcpMinNodes", "0"),
    ("gcpMaxNodes", "101"),
    ("gcpSpotNodes", "sometimes"),
    ("gcpGpuType", "tpu-v5"),
    ("gcpGpuCount", "9"),
    ("gcpGpuMachineType", "g2_standard_4"),
    ("gcpGpuMaxNodes", "0"),
    ("gcpSqlTier", "n1-standard-1"),
    ("gcpSqlHighAvailability", "2"),
    ("gcpSqlBackups", "daily"),
    ("gcpBucketVersioning", "yes"),
    ("gcpNoncurrentVersionDays", "0"),
]


@pytest.mark.parametrize("key,value", GCP_BAD_VALUES, ids=[f"{k}={v}" for k, v in GCP_BAD_VALUES])
def test_a_bad_gcp_value_fails_with_one_line_naming_key_value_and_what_is_allowed(key, value):
    with pytest.raises(ConfigError) as raised:
        config_from_values("test", {"cloud": "gcp", "gcpProject": "my-project-1",
                                    "gcpMasterAuthorizedNetworks": '["203.0.113.0/24"]', key: value})
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith(f"mlstack:{key} = {value!r} is not allowed: ")
    assert raised.value.key == key


def test_every_gcp_key_has_a_bad_value_in_this_list():
    assert {k.name for k in KEYS if k.name.startswith("gcp")} == {key for key, _ in GCP_BAD_VALUES}


def test_the_project_is_required_on_gcp_only():
    assert config_from_values("test", {"cloud": "local"}).gcp.project == ""
    with pytest.raises(ConfigError, match=r"^mlstack:gcpProject = '' is not allowed: .*required when cloud is gcp"):
        config_from_values("test", {"cloud": "gcp"})


def test_a_regional_cluster_without_gpu_pool_ignores_the_zone_and_is_located_in_the_region():
    gcp = config_from_values("test", {"gcpRegion": "us-central1", "gcpClusterLocation": "regional"}).gcp
    assert gcp.regional and gcp.cluster_location == "us-central1"


def test_a_gpu_pool_needs_a_zone_of_the_region_even_on_a_regional_cluster():
    values = {"gcpRegion": "us-central1", "gcpClusterLocation": "regional", "gcpGpuType": "nvidia-l4"}
    with pytest.raises(ConfigError) as raised:
        config_from_values("test", values)
    assert raised.value.key == "gcpZone"
    gpu = config_from_values("test", {**values, "gcpZone": "us-central1-a", "gcpGpuCount": "2"}).gcp.gpu
    assert (gpu.accelerator, gpu.count, gpu.machine_type) == ("nvidia-l4", 2, "g2-standard-4")


def test_no_gpu_pool_when_no_accelerator_type_is_set():
    assert config_from_values("test", {}).gcp.gpu is None


def test_master_authorized_networks_are_kept_as_normalised_cidrs():
    gcp = config_from_values("test", {"gcpMasterAuthorizedNetworks": '["203.0.113.0/24", "198.51.100.7"]'}).gcp
    assert gcp.master_authorized_networks == ("203.0.113.0/24", "198.51.100.7/32")


@given(st.integers(-2, 102), st.integers(-2, 102))
def test_node_bounds_are_accepted_exactly_when_one_le_min_le_max_le_100(low, high):
    values = {"gcpMinNodes": str(low), "gcpMaxNodes": str(high)}
    if 1 <= low <= high <= 100:
        gcp = config_from_values("test", values).gcp
        assert (gcp.min_nodes, gcp.max_nodes) == (low, high)
    else:
        with pytest.raises(ConfigError) as raised:
            config_from_values("test", values)
        assert raised.value.key in values


def test_a_gke_stack_without_master_authorized_networks_is_refused_and_other_clouds_do_not_need_them():
    with pytest.raises(ConfigError) as raised:
        config_from_values("test", {"cloud": "gcp", "gcpProject": "my-project-1"})
    assert str(raised.value) == ("mlstack:gcpMasterAuthorizedNetworks = '[]' is not allowed: at least one IPv4 CIDR when "
                                 "cloud is gcp: only these networks reach the control plane")
    assert config_from_values("test", {}).gcp.master_authorized_networks == ()


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_cloud_stack_files_encrypt_their_secrets_with_a_cloud_kms_key_of_their_project(stack):
    document = yaml.safe_load((PROJECT_DIR / f"Pulumi.{stack}.yaml").read_text())
    project, region = document["config"]["mlstack:gcpProject"], document["config"]["mlstack:gcpRegion"]
    assert document["secretsprovider"] == (f"gcpkms://projects/{project}/locations/{region}/keyRings/pulumi/"
                                           f"cryptoKeys/mlstack-{stack}")
