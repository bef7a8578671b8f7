"""The GKE platform under Pulumi mocks: the dev and prod stack files, and variations of them."""
import json
from functools import cache
from typing import Any

import pytest
from hypothesis import strategies as st

from infra.config import load_config
from infra.platform import build_platform
from infra.render import Declared, Rendered, run_program, stack_config, unwrapped
from infra.stack import workload_accounts

CLUSTER = "gcp:container/cluster:Cluster"
NODE_POOL = "gcp:container/nodePool:NodePool"
SQL_INSTANCE = "gcp:sql/databaseInstance:DatabaseInstance"
BUCKET = "gcp:storage/bucket:Bucket"
BUCKET_MEMBER = "gcp:storage/bucketIAMMember:BucketIAMMember"
PROJECT_MEMBER = "gcp:projects/iAMMember:IAMMember"
SERVICE_ACCOUNT = "gcp:serviceaccount/account:Account"
SERVICE_ACCOUNT_MEMBER = "gcp:serviceaccount/iAMMember:IAMMember"


@pytest.fixture(scope="session")
def dev() -> Rendered:
    return run_program("dev", stack_config("dev"))


@pytest.fixture(scope="session")
def prod() -> Rendered:
    return run_program("prod", stack_config("prod"))


def render(stack: str, **overrides) -> Rendered:
    """The whole program with a stack file's config and the given keys overridden."""
    return run_program(stack, stack_config(stack, overrides))


def render_platform(stack: str, **overrides) -> Rendered:
    """Only the cloud platform, for properties that the Kubernetes layer cannot affect (four times faster)."""
    def program() -> dict:
        config = load_config()
        build_platform(config, workload_accounts(config))
        return {}

    return run_program(stack, stack_config(stack, overrides), program)


def plain(resource: Declared) -> dict[str, Any]:
    return unwrapped(resource.inputs)


def only(rendered: Rendered, type_token: str) -> dict[str, Any]:
    matches = rendered.of_type(type_token)
    assert len(matches) == 1, f"expected one {type_token}, found {[r.name for r in matches]}"
    return plain(matches[0])


def named(rendered: Rendered, type_token: str, name: str) -> dict[str, Any]:
    matches = [r for r in rendered.of_type(type_token) if r.name == name]
    assert len(matches) == 1, f"expected one {type_token} named {name}, found {len(matches)}"
    return plain(matches[0])


def kubernetes_object(rendered: Rendered, kind: str, name: str) -> dict:
    matches = [o for o in rendered.kubernetes_objects() if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(matches) == 1, f"expected one {kind} named {name}, found {len(matches)}"
    return matches[0]


@pytest.fixture(scope="session")
def aks_dev() -> Rendered:
    return run_program("aks-dev", stack_config("aks-dev"))


@pytest.fixture(scope="session")
def aks_prod() -> Rendered:
    return run_program("aks-prod", stack_config("aks-prod"))


# Two distinct namespace names for the model service and MLflow, never the monitoring namespace.
namespaces = st.lists(st.from_regex(r"[a-z][a-z0-9-]{0,20}[a-z0-9]", fullmatch=True), min_size=2, max_size=2, unique=True).filter(
    lambda names: "monitoring" not in names)


def render_with_namespaces(stack: str, config: dict, names: list[str]) -> Rendered:
    """The whole stack with `config` and the model service and MLflow in `names`, rendered once per distinct input."""
    return _cached_render(stack, json.dumps({**config, "namespace": names[0], "trackingNamespace": names[1]}, sort_keys=True))


@cache
def _cached_render(stack: str, config: str) -> Rendered:
    return render(stack, **json.loads(config))
