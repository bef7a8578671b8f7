"""The azure config section: good values load, each bad value fails with one line naming key, value and what is allowed."""
import ipaddress
import json

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from infra.config import ConfigError, config_from_values
from infra.config.azure import AZURE_REGIONS
from infra.config.keys import KEYS
from infra.render import PROJECT_DIR

SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"
AZURE_BAD_VALUES = [
    ("azureSubscriptionId", "my-subscription"),
    ("azureSubscriptionId", "0000000-0000-0000-0000-000000000000"),
    ("azureLocation", "westeurope2"),
    ("azureLocation", "West Europe"),
    ("azureAvailabilityZones", '["4"]'),
    ("azureAvailabilityZones", '["1", "1"]'),
    ("azureAvailabilityZones", "1,2,3"),
    ("azureAvailabilityZones", "[1, 2]"),
    ("azureUpgradeChannel", "Stable"),
    ("azureClusterTier", "Premium"),
    ("azureAuthorizedIpRanges", '["10.0.0.1/8"]'),
    ("azureAuthorizedIpRanges", '["203.0.113.0/33"]'),
    ("azureAuthorizedIpRanges", "203.0.113.0/24"),
    ("azureDisableLocalAccounts", "yes"),
    ("azureDeletionProtection", "1"),
    ("azureKubeloginMode", "devicecode"),
    ("azureDeployerPrincipalType", "Group"),
    ("azureSystemVmSize", "D2s_v5"),
    ("azureSystemMinNodes", "0"),
    ("azureSystemMaxNodes", "101"),
    ("azureVmSize", "standard_d4s_v5"),
    ("azureMinNodes", "-1"),
    ("azureMaxNodes", "many"),
    ("azureGpuVmSize", "Standard_D4s_v5"),
    ("azureGpuCount", "0"),
    ("azureGpuMaxNodes", "0"),
    ("azureRegistrySku", "basic"),
    ("azurePostgresSku", "B1ms"),
    ("azurePostgresSku", "Standard_F2s_v2"),
    ("azurePostgresHighAvailability", "maybe"),
    ("azurePostgresBackupDays", "6"),
    ("azurePostgresGeoRedundantBackup", "on"),
    ("azureBlobSoftDeleteDays", "366"),
]


def _load(**values: str):
    return config_from_values("test", {"cloud": "azure", "azureSubscriptionId": SUBSCRIPTION, **values})


@pytest.mark.parametrize("key,value", AZURE_BAD_VALUES, ids=[f"{k}={v}" for k, v in AZURE_BAD_VALUES])
def test_a_bad_azure_value_fails_with_one_line_naming_key_value_and_what_is_allowed(key, value):
    with pytest.raises(ConfigError) as raised:
        _load(**{key: value})
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith(f"mlstack:{key} = {value!r} is not allowed: ")
    assert raised.value.key == key


def test_every_azure_key_has_a_bad_value_in_this_list():
    assert {k.name for k in KEYS if k.name.startswith("azure")} == {key for key, _ in AZURE_BAD_VALUES}


def test_the_subscription_is_required_on_azure_only():
    assert config_from_values("test", {"cloud": "local"}).azure.subscription_id == ""
    with pytest.raises(ConfigError, match=r"^mlstack:azureSubscriptionId = '' is not allowed: .*required when cloud is azure"):
        config_from_values("test", {"cloud": "azure"})


def test_an_azure_typo_fails_on_every_stack_not_only_on_azure_ones():
    with pytest.raises(ConfigError) as raised:
        config_from_values("test", {"cloud": "local", "azureLocation": "mars"})
    assert raised.value.key == "azureLocation"


@pytest.mark.parametrize("region", sorted(AZURE_REGIONS))
def test_every_known_region_is_accepted(region):
    assert _load(azureLocation=region).azure.location == region


def test_a_user_pool_with_min_above_max_names_the_max_and_the_min():
    with pytest.raises(ConfigError, match=r"^mlstack:azureMaxNodes = '2' is not allowed: an integer from azureMinNodes \(3\) to 100$"):
        _load(azureMinNodes="3", azureMaxNodes="2")


def test_the_postgres_tier_follows_the_sku_family():
    tiers = {sku: _load(azurePostgresSku=sku).azure.postgres.tier
             for sku in ("Standard_B1ms", "Standard_D2ds_v5", "Standard_E4ds_v5")}
    assert tiers == {"Standard_B1ms": "Burstable", "Standard_D2ds_v5": "GeneralPurpose", "Standard_E4ds_v5": "MemoryOptimized"}


def test_a_burstable_database_cannot_have_a_standby():
    with pytest.raises(ConfigError) as raised:
        _load(azurePostgresSku="Standard_B2s", azurePostgresHighAvailability="true")
    assert raised.value.key == "azurePostgresHighAvailability" and "Standard_B2s" in str(raised.value)
    assert _load(azurePostgresSku="Standard_D2ds_v5", azurePostgresHighAvailability="true").azure.postgres.high_availability


def test_no_gpu_pool_unless_a_gpu_vm_size_is_set():
    assert _load().azure.gpu is None
    gpu = _load(azureGpuVmSize="Standard_NC8as_T4_v3", azureGpuCount="1", azureGpuMaxNodes="2").azure.gpu
    assert (gpu.vm_size, gpu.count, gpu.max_nodes) == ("Standard_NC8as_T4_v3", 1, 2)


@given(st.integers(-2, 102), st.integers(-2, 102), st.sampled_from(["azureSystem", "azure"]))
def test_pool_bounds_are_accepted_exactly_when_one_le_min_le_max_le_100(low, high, prefix):
    values = {f"{prefix}MinNodes": str(low), f"{prefix}MaxNodes": str(high)}
    if 1 <= low <= high <= 100:
        azure = _load(**values).azure
        pool = azure.system_pool if prefix == "azureSystem" else azure.user_pool
        assert (pool.min_nodes, pool.max_nodes) == (low, high)
    else:
        with pytest.raises(ConfigError) as raised:
            _load(**values)
        assert raised.value.key in values


@given(st.lists(st.tuples(st.ip_addresses(v=4), st.integers(0, 32)), max_size=4))
def test_authorized_ranges_are_accepted_exactly_when_every_entry_is_a_cidr_with_zero_host_bits(entries):
    texts = [f"{address}/{prefix}" for address, prefix in entries]
    valid = all(ipaddress.IPv4Network(text, strict=False).network_address == address
                for text, (address, _) in zip(texts, entries, strict=True))
    if valid:
        assert _load(azureAuthorizedIpRanges=json.dumps(texts)).azure.authorized_ip_ranges == tuple(texts)
    else:
        with pytest.raises(ConfigError) as raised:
            _load(azureAuthorizedIpRanges=json.dumps(texts))
        assert raised.value.key == "azureAuthorizedIpRanges"


@given(st.lists(st.sampled_from(["0", "1", "2", "3", "4"]), max_size=4))
def test_zones_are_accepted_exactly_when_distinct_and_among_one_two_three(zones):
    if set(zones) <= {"1", "2", "3"} and len(set(zones)) == len(zones):
        assert _load(azureAvailabilityZones=json.dumps(zones)).azure.zones == tuple(zones)
    else:
        with pytest.raises(ConfigError):
            _load(azureAvailabilityZones=json.dumps(zones))


@pytest.mark.parametrize("stack", ["aks-dev", "aks-prod"])
def test_aks_stack_files_encrypt_their_secrets_with_a_key_vault_key_of_their_own(stack):
    document = yaml.safe_load((PROJECT_DIR / f"Pulumi.{stack}.yaml").read_text())
    assert document["config"]["mlstack:cloud"] == "azure"
    assert document["secretsprovider"] == f"azurekeyvault://mlstack-{stack}.vault.azure.net/keys/mlstack-{stack}"
