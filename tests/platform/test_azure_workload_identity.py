"""MLflow reaches Blob Storage as its managed identity: no account key, connection string or client secret anywhere.

The rendered tracking pod is taken as AKS would run it: its own environment (Secret references resolved from the
rendered Secret), plus what the workload identity webhook adds to a pod that carries the `use` label (the client ID
from its service account's annotation, the tenant, the projected token file). MLflow's own Azure artifact repository
is then built from that environment, exactly as the server builds it for the wasbs:// destination.
"""
import json
import os

import pytest
from azure.identity import DefaultAzureCredential
from mlflow.store.artifact.azure_blob_artifact_repo import AzureBlobArtifactRepository

from infra.render import MOCK_TENANT_ID, unwrapped

from .conftest import kubernetes_object

KEY_VARIABLES = ("AZURE_STORAGE_CONNECTION_STRING", "AZURE_STORAGE_ACCESS_KEY", "AZURE_CLIENT_SECRET",
                 "AZURE_CLIENT_CERTIFICATE_PATH", "AZURE_STORAGE_SAS_TOKEN")
KEY_MARKERS = (*KEY_VARIABLES, "AccountKey=", "SharedAccessSignature", "sig=")


def _tracking_pod_environment(rendered, token_file) -> dict[str, str]:
    deployment = kubernetes_object(rendered, "Deployment", "mlflow")
    pod = deployment["spec"]["template"]
    container = pod["spec"]["containers"][0]
    secret = next(r for r in rendered.of_type("kubernetes:core/v1:Secret") if r.name == "tracking-secret")
    secret_data = unwrapped(secret.inputs["stringData"])
    environment = {}
    for variable in container["env"]:
        if "value" in variable:
            environment[variable["name"]] = variable["value"]
        else:
            environment[variable["name"]] = secret_data[variable["valueFrom"]["secretKeyRef"]["key"]]
    if pod["metadata"]["labels"].get("azure.workload.identity/use") == "true":
        account = kubernetes_object(rendered, "ServiceAccount", pod["spec"]["serviceAccountName"])
        environment.update(
            AZURE_CLIENT_ID=account["metadata"]["annotations"]["azure.workload.identity/client-id"],
            AZURE_TENANT_ID=MOCK_TENANT_ID,
            AZURE_FEDERATED_TOKEN_FILE=str(token_file),
            AZURE_AUTHORITY_HOST="https://login.microsoftonline.com/",
        )
    return environment


def _artifact_destination(rendered) -> str:
    command = kubernetes_object(rendered, "Deployment", "mlflow")["spec"]["template"]["spec"]["containers"][0]["command"]
    return command[command.index("--artifacts-destination") + 1]


@pytest.mark.parametrize("stack", ["aks-dev", "aks-prod"])
def test_mlflow_builds_its_blob_client_on_the_workload_identity_credential_of_its_managed_identity(
        request, stack, tmp_path, monkeypatch):
    rendered = request.getfixturevalue(stack.replace("-", "_"))
    token_file = tmp_path / "azure-identity-token"
    token_file.write_text("projected-service-account-token")
    for name in [n for n in os.environ if n.startswith(("AZURE_", "MLFLOW_", "MSI_", "IDENTITY_"))]:
        monkeypatch.delenv(name)
    for name, value in _tracking_pod_environment(rendered, token_file).items():
        monkeypatch.setenv(name, value)

    repository = AzureBlobArtifactRepository(_artifact_destination(rendered))

    account = next(r for r in rendered.of_type("azure-native:storage:StorageAccount")).inputs["accountName"]
    assert repository.client.account_name == account
    assert repository.client.url == f"https://{account}.blob.core.windows.net/"
    credential = repository.client.credential
    assert isinstance(credential, DefaultAzureCredential)
    environment_credential, workload_identity = credential.credentials[:2]
    assert type(environment_credential).__name__ == "EnvironmentCredential"
    assert vars(environment_credential)["_credential"] is None  # no secret or certificate in the environment
    assert type(workload_identity).__name__ == "WorkloadIdentityCredential"
    assert (workload_identity._client._client_id, workload_identity._client._tenant_id) == ("mlflow-client-id", MOCK_TENANT_ID)
    assert workload_identity._token_file_path == str(token_file)


@pytest.mark.parametrize("stack", ["aks-dev", "aks-prod"])
def test_no_storage_key_connection_string_or_client_secret_exists_in_any_object_secret_or_resource(request, stack):
    rendered = request.getfixturevalue(stack.replace("-", "_"))
    everything = json.dumps([unwrapped(r.inputs) for r in rendered.resources], default=str)
    everything += json.dumps({name: unwrapped(out.value) for name, out in rendered.outputs.items()}, default=str)
    assert not [marker for marker in KEY_MARKERS if marker in everything]
    assert not [r.type for r in rendered.resources if "listStorageAccountKeys" in r.type or "listRegistryCredentials" in r.type]
    assert next(r for r in rendered.of_type("azure-native:storage:StorageAccount")).inputs["allowSharedKeyAccess"] is False


def test_the_model_server_gets_no_azure_credential(aks_dev):
    """It reads artifacts through the tracking server's proxy: the webhook must not give its pods a token."""
    pod = kubernetes_object(aks_dev, "Deployment", "model-server")["spec"]["template"]
    assert "azure.workload.identity/use" not in pod["metadata"]["labels"]
    assert not kubernetes_object(aks_dev, "ServiceAccount", "model-server")["metadata"].get("annotations")
