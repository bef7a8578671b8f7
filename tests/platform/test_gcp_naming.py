"""Names Google Cloud makes us choose are valid and distinct for every stack name Pulumi accepts."""
import re

from hypothesis import given
from hypothesis import strategies as st

from infra.platform.gcp.naming import repository_id, service_account_id, stack_slug

SERVICE_ACCOUNT_ID = re.compile(r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$")
REPOSITORY_ID = re.compile(r"^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$")
PURPOSES = ("nodes", "mlflow", "serving")
stack_names = st.from_regex(r"[A-Za-z0-9_.-]{1,100}", fullmatch=True)


@given(stack_names, st.sampled_from(PURPOSES))
def test_service_account_ids_are_valid_for_any_stack_name(stack, purpose):
    assert SERVICE_ACCOUNT_ID.match(service_account_id(stack, purpose))


@given(stack_names, stack_names)
def test_different_stacks_get_different_service_accounts_and_repositories(first, second):
    if first != second:
        assert service_account_id(first, "mlflow") != service_account_id(second, "mlflow")
        assert repository_id(first) != repository_id(second)


@given(stack_names)
def test_repository_ids_are_valid_for_any_stack_name(stack):
    assert REPOSITORY_ID.match(repository_id(stack))


def test_a_clean_short_stack_name_is_kept_as_it_is():
    assert service_account_id("prod", "mlflow") == "mls-prod-mlflow"
    assert stack_slug("dev", 63) == "dev"
