"""The guarantees of the GKE platform hold for every valid gcp configuration, not only for the stack files."""
import ipaddress
import json
from functools import cache

from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from infra.render import Rendered

from .conftest import (
    BUCKET,
    BUCKET_MEMBER,
    CLUSTER,
    NODE_POOL,
    SERVICE_ACCOUNT,
    SERVICE_ACCOUNT_MEMBER,
    SQL_INSTANCE,
    namespaces,
    only,
    plain,
    render_platform,
    render_with_namespaces,
)

PLATFORM_RUNS = settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# One seed for every property: tests drawing from the same strategies get the same examples, rendered once and shared.
SHARED_EXAMPLES = 20261122
STACK_RUNS = settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow])
KEY_RESOURCE_TYPES = ("gcp:serviceaccount/key:Key", "gcp:storage/hmacKey:HmacKey", "gcp:apikeys/key:Key")
PUBLIC_MEMBERS = ("allUsers", "allAuthenticatedUsers")

cidrs = st.builds(lambda address, prefix: str(ipaddress.IPv4Network(f"{address}/{prefix}", strict=False)),
                  st.ip_addresses(v=4), st.integers(8, 32))


def platform_of(config: dict) -> Rendered:
    return _platform(json.dumps(config, sort_keys=True))


@cache
def _platform(config: str) -> Rendered:
    return render_platform("prod", **json.loads(config))


@st.composite
def gcp_configs(draw) -> dict:
    """Any valid combination of the gcp keys, on top of the prod stack file."""
    low = draw(st.integers(1, 10))
    return {
        "gcpProject": draw(st.from_regex(r"[a-z][a-z0-9-]{4,20}[a-z0-9]", fullmatch=True)),
        "gcpClusterLocation": draw(st.sampled_from(["zonal", "regional"])),
        "gcpReleaseChannel": draw(st.sampled_from(["RAPID", "REGULAR", "STABLE"])),
        "gcpMasterAuthorizedNetworks": draw(st.lists(cidrs, min_size=1, max_size=3)),
        "gcpBinaryAuthorization": draw(st.booleans()),
        "gcpDeletionProtection": draw(st.booleans()),
        "gcpMinNodes": low,
        "gcpMaxNodes": draw(st.integers(low, 20)),
        "gcpSpotNodes": draw(st.booleans()),
        "gcpGpuType": draw(st.sampled_from(["", "nvidia-l4", "nvidia-tesla-t4"])),
        "gcpSqlHighAvailability": draw(st.booleans()),
        "gcpSqlBackups": draw(st.booleans()),
        "gcpBucketVersioning": draw(st.booleans()),
    }


@seed(SHARED_EXAMPLES)
@PLATFORM_RUNS
@given(gcp_configs())
def test_nodes_are_always_private_shielded_and_use_the_gke_metadata_server(config):
    rendered = platform_of(config)
    assert only(rendered, CLUSTER)["privateClusterConfig"]["enablePrivateNodes"] is True
    pools = [plain(r) for r in rendered.of_type(NODE_POOL)]
    assert len(pools) == (2 if config["gcpGpuType"] else 1)
    for node in [only(rendered, CLUSTER)["nodeConfig"], *(pool["nodeConfig"] for pool in pools)]:
        assert node["workloadMetadataConfig"] == {"mode": "GKE_METADATA"}
        assert node["shieldedInstanceConfig"]["enableSecureBoot"] is True
    for pool in pools:
        assert pool.get("networkConfig", {}).get("enablePrivateNodes", True) is True


@seed(SHARED_EXAMPLES)
@PLATFORM_RUNS
@given(gcp_configs())
def test_the_database_never_gets_a_public_ip(config):
    ip = only(platform_of(config), SQL_INSTANCE)["settings"]["ipConfiguration"]
    assert ip["ipv4Enabled"] is False and ip["privateNetwork"]
    assert not ip.get("authorizedNetworks")


@seed(SHARED_EXAMPLES)
@PLATFORM_RUNS
@given(gcp_configs())
def test_the_artifact_bucket_is_never_public_and_only_the_stacks_identities_get_roles_on_it(config):
    rendered = platform_of(config)
    bucket = only(rendered, BUCKET)
    assert bucket["publicAccessPrevention"] == "enforced" and bucket["uniformBucketLevelAccess"] is True
    own = {f"serviceAccount:{plain(a)['accountId']}@mock-project.iam.gserviceaccount.com" for a in rendered.of_type(SERVICE_ACCOUNT)}
    members = [plain(m)["member"] for m in rendered.of_type(BUCKET_MEMBER)]
    assert members and set(members) <= own
    assert not rendered.of_type("gcp:storage/bucketIAMBinding:BucketIAMBinding")
    assert not rendered.of_type("gcp:storage/bucketIAMPolicy:BucketIAMPolicy")


@seed(SHARED_EXAMPLES)
@PLATFORM_RUNS
@given(gcp_configs())
def test_deletion_protection_covers_the_cluster_the_database_and_the_bucket_together(config):
    rendered = platform_of(config)
    protected = config["gcpDeletionProtection"]
    instance = only(rendered, SQL_INSTANCE)
    assert only(rendered, CLUSTER)["deletionProtection"] is protected
    assert instance["deletionProtection"] is protected and instance["settings"]["deletionProtectionEnabled"] is protected
    assert only(rendered, BUCKET)["forceDestroy"] is (not protected)
    for kept in (SQL_INSTANCE, BUCKET, "gcp:sql/database:Database", "gcp:kms/cryptoKey:CryptoKey"):
        (resource,) = rendered.of_type(kept)
        assert resource.protect is protected, kept


@seed(SHARED_EXAMPLES)
@PLATFORM_RUNS
@given(gcp_configs())
def test_every_gke_cluster_has_authorized_networks_kms_encrypted_secrets_and_no_project_wide_roles_for_workloads(config):
    rendered = platform_of(config)
    cluster = only(rendered, CLUSTER)
    blocks = cluster["masterAuthorizedNetworksConfig"]["cidrBlocks"]
    assert [b["cidrBlock"] for b in blocks] == config["gcpMasterAuthorizedNetworks"]
    (key,) = rendered.of_type("gcp:kms/cryptoKey:CryptoKey")
    assert cluster["databaseEncryption"] == {"state": "ENCRYPTED", "keyName": f"{key.name}-id"}
    project_roles = {plain(m)["role"] for m in rendered.of_type("gcp:projects/iAMMember:IAMMember")}
    assert project_roles == {"roles/container.defaultNodeServiceAccount"}  # the nodes' own role, nothing for pods
    policies = rendered.of_type("gcp:binaryauthorization/policy:Policy")
    assert len(policies) == (1 if config["gcpBinaryAuthorization"] else 0)


@seed(SHARED_EXAMPLES)
@PLATFORM_RUNS
@given(gcp_configs())
def test_the_cluster_and_its_pools_sit_in_the_zone_or_region_the_config_names(config):
    rendered = platform_of(config)
    location = "europe-west1" if config["gcpClusterLocation"] == "regional" else "europe-west1-b"
    assert only(rendered, CLUSTER)["location"] == location
    assert {plain(pool)["location"] for pool in rendered.of_type(NODE_POOL)} == {location}


def _assert_no_key_files(rendered: Rendered) -> None:
    assert not [r.name for t in KEY_RESOURCE_TYPES for r in rendered.of_type(t)]
    for obj in rendered.kubernetes_objects():
        text = str(obj)
        assert "GOOGLE_APPLICATION_CREDENTIALS" not in text and "private_key" not in text, obj["metadata"]["name"]


def _assert_bindings_match_service_accounts(rendered: Rendered, project: str) -> None:
    accounts = {f"{plain(a)['accountId']}@mock-project.iam.gserviceaccount.com": a.name for a in rendered.of_type(SERVICE_ACCOUNT)}
    bindings = {plain(b)["serviceAccountId"]: plain(b) for b in rendered.of_type(SERVICE_ACCOUNT_MEMBER)}
    bound = set()
    for obj in rendered.kubernetes_objects():
        email = obj["metadata"].get("annotations", {}).get("iam.gke.io/gcp-service-account") if obj["kind"] == "ServiceAccount" else None
        if email:
            binding = bindings[accounts[email]]
            assert binding["role"] == "roles/iam.workloadIdentityUser"
            assert binding["member"] == f"serviceAccount:{project}.svc.id.goog[{obj['metadata']['namespace']}/{obj['metadata']['name']}]"
            bound.add(accounts[email])
    assert bound == set(bindings) == {"mlflow"}  # the model server has no Google identity


def stack_of(config: dict, names: list[str]) -> Rendered:
    return render_with_namespaces("prod", config, names)


@seed(SHARED_EXAMPLES)
@STACK_RUNS
@given(gcp_configs(), namespaces)
def test_workload_identity_binds_each_google_account_to_exactly_the_kubernetes_account_the_pods_run_as(config, names):
    serving_namespace, tracking_namespace = names
    rendered = stack_of(config, names)
    _assert_bindings_match_service_accounts(rendered, config["gcpProject"])
    runs_as = {(o["metadata"]["namespace"], o["spec"]["template"]["spec"]["serviceAccountName"])
               for o in rendered.kubernetes_objects() if o["kind"] == "Deployment"}
    assert {(serving_namespace, "model-server"), (tracking_namespace, "mlflow")} <= runs_as


@seed(SHARED_EXAMPLES)
@STACK_RUNS
@given(gcp_configs(), namespaces)
def test_no_service_account_key_or_key_file_exists_anywhere(config, names):
    _assert_no_key_files(stack_of(config, names))
