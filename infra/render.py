"""Offline render: run the stack program under Pulumi mocks, with no CLI and no cloud, and write what it declares.

    python -m infra.render --stack dev --out build/manifests

writes one YAML file per Kubernetes object and resources.json (every resource: type, name, parent, inputs), with
every secret value masked, so a reviewer can diff a change without credentials.
"""
import argparse
import base64
import contextvars
import hashlib
import json
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import yaml
from pulumi.runtime import mocks, rpc
from pulumi.runtime.config import set_all_config
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _ensure_event_loop, _sync_await

from .config.keys import NAMESPACE

PROJECT_DIR = Path(__file__).resolve().parent.parent
MASK = "[secret]"
HELM_RELEASE = "kubernetes:helm.sh/v3:Release"
_SIG = rpc._special_sig_key
_SECRET = rpc._special_secret_sig


@dataclass
class Declared:
    urn: str
    type: str
    name: str
    parent: str
    custom: bool
    inputs: dict[str, Any]  # secrets still wrapped: see is_secret / masked
    dependencies: list[str] = field(default_factory=list)  # URNs it waits for (depends_on and inputs' resources)
    protect: bool = False  # `pulumi destroy` and replacements refuse to delete it
    outputs: dict[str, Any] = field(default_factory=dict)  # what the mocks computed for it, as a provider would


@dataclass(frozen=True)
class Exported:
    value: Any
    secret: bool


@dataclass
class Rendered:
    stack: str
    resources: list[Declared] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)  # name -> Exported

    def of_type(self, type_token: str) -> list[Declared]:
        return [r for r in self.resources if r.type == type_token]

    def kubernetes_objects(self) -> list[dict[str, Any]]:
        return [manifest(r) for r in self.resources if is_kubernetes_object(r)]

    def helm_releases(self) -> list[Declared]:
        return [r for r in self.resources if r.type == HELM_RELEASE]


def is_kubernetes_object(resource: Declared) -> bool:
    """A resource that is one object in the API server; a Helm release is a bundle of them, rendered apart."""
    return resource.custom and resource.type.startswith("kubernetes:") and resource.type != HELM_RELEASE


def is_secret(value: Any) -> bool:
    return isinstance(value, dict) and value.get(_SIG) == _SECRET


def masked(value: Any) -> Any:
    """Every secret leaf replaced by a marker; the shape stays, so a masked object is still a valid object."""
    if is_secret(value):
        return _all_leaves_masked(value["value"])
    if isinstance(value, float) and value.is_integer():
        return int(value)  # protobuf carries every number as a double
    if isinstance(value, dict):
        return {k: masked(v) for k, v in value.items()}
    if isinstance(value, list):
        return [masked(v) for v in value]
    return value


def _all_leaves_masked(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _all_leaves_masked(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_all_leaves_masked(v) for v in value]
    return MASK


def unwrapped(value: Any) -> Any:
    """The plain values, for tests that must look inside a secret."""
    if is_secret(value):
        return unwrapped(value["value"])
    if isinstance(value, dict):
        return {k: unwrapped(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unwrapped(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def manifest(resource: Declared) -> dict[str, Any]:
    """The Kubernetes object a resource declares: apiVersion and kind come from its type token."""
    _, group_version, kind = resource.type.split(":")
    group, version = group_version.split("/")
    api_version = version if group == "core" else f"{group}/{version}"
    body = {k: v for k, v in masked(resource.inputs).items() if k not in ("apiVersion", "kind")}
    return {"apiVersion": api_version, "kind": kind, **body}


class _StackMocks(mocks.Mocks):
    """Outputs a provider would compute, made deterministic so renders diff cleanly."""

    def new_resource(self, args: mocks.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        state = dict(args.inputs)
        if args.typ == "random:index/randomPassword:RandomPassword":
            state["result"] = "mock-" + hashlib.sha256(args.name.encode()).hexdigest()[:24]
        if args.typ == "docker-build:index:Image":
            repo = str(unwrapped(args.inputs.get("tags", ["mock"])[0])).rsplit(":", 1)[0]
            inputs = json.dumps(unwrapped(args.inputs), sort_keys=True, default=str)
            state["ref"] = f"{repo}@sha256:{hashlib.sha256(inputs.encode()).hexdigest()}"
            state["digest"] = state["ref"].split("@", 1)[1]
        if args.typ.startswith("gcp:"):
            state.setdefault("name", args.name)  # the engine auto-names; mocks bypass the engine
            state.update(_GCP_COMPUTED.get(args.typ, _nothing_computed)(args.inputs))
        if args.typ.startswith("azure-native:"):
            state["name"] = args.inputs.get(_AZURE_NAME_INPUTS.get(args.typ, ""), args.name)
            state.update(_AZURE_COMPUTED.get(args.typ, _nothing_computed)(state))
        return f"{args.name}-id", state

    def call(self, args: mocks.MockCallArgs) -> Any:
        if args.token == "gcp:organizations/getClientConfig:getClientConfig":
            return {"accessToken": "mock-access-token"}
        if args.token == "azure-native:containerservice:listManagedClusterUserCredentials":
            return {"kubeconfigs": [{"name": "clusterUser", "value": _aks_user_kubeconfig(str(args.args["resourceName"]))}]}
        if args.token == "gcp:organizations/getProject:getProject":
            return {"number": "123456789012", "projectId": args.args.get("projectId")}
        return _AZURE_CALLS.get(args.token, {})


def _nothing_computed(inputs: dict[str, Any]) -> dict[str, Any]:
    return {}


_GCP_COMPUTED: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "gcp:serviceaccount/account:Account": lambda inputs: {"email": f"{inputs['accountId']}@mock-project.iam.gserviceaccount.com"},
    "gcp:container/cluster:Cluster": lambda _: {"endpoint": "203.0.113.10", "masterAuth": {"clusterCaCertificate": "bW9jay1jYQ=="}},
    "gcp:sql/databaseInstance:DatabaseInstance": lambda _: {
        "privateIpAddress": "10.16.0.3",
        "serverCaCerts": [{"cert": "-----BEGIN CERTIFICATE-----\nbW9jay1jYQ==\n-----END CERTIFICATE-----\n"}]},
}

# The input that names an Azure resource when the program chooses the name (else the engine auto-names it).
_AZURE_NAME_INPUTS = {
    "azure-native:resources:ResourceGroup": "resourceGroupName",
    "azure-native:containerregistry:Registry": "registryName",
    "azure-native:storage:StorageAccount": "accountName",
    "azure-native:storage:BlobContainer": "containerName",
    "azure-native:dbforpostgresql:Database": "databaseName",
    "azure-native:privatedns:PrivateZone": "privateZoneName",
    "azure-native:containerservice:AgentPool": "agentPoolName",
}
MOCK_TENANT_ID = "11111111-1111-1111-1111-111111111111"
_AZURE_COMPUTED: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "azure-native:containerservice:ManagedCluster": lambda state: {
        "fqdn": f"{state['name']}.hcp.westeurope.azmk8s.io",
        "identityProfile": {"kubeletidentity": {"objectId": "kubelet-object-id", "clientId": "kubelet-client-id"}},
        "oidcIssuerProfile": {"enabled": True, "issuerURL": f"https://westeurope.oic.prod-aks.azure.com/{MOCK_TENANT_ID}/mock/"},
    },
    "azure-native:containerregistry:Registry": lambda state: {"loginServer": f"{state['name']}.azurecr.io"},
    "azure-native:managedidentity:UserAssignedIdentity": lambda state: {
        "clientId": f"{state['name']}-client-id", "principalId": f"{state['name']}-principal-id", "tenantId": MOCK_TENANT_ID},
    "azure-native:dbforpostgresql:Server": lambda state: {"fullyQualifiedDomainName": f"{state['name']}.postgres.database.azure.com"},
}
_AZURE_CALLS: dict[str, dict[str, Any]] = {
    "azure-native:authorization:getClientConfig": {
        "clientId": "deployer-client-id", "objectId": "deployer-object-id", "tenantId": MOCK_TENANT_ID,
        "subscriptionId": "00000000-0000-0000-0000-000000000000"},
    "azure-native:authorization:getClientToken": {"token": "mock-entra-token"},
}


def _aks_user_kubeconfig(cluster: str) -> str:
    """What AKS returns for an Entra ID cluster in the exec format: kubelogin, interactive device-code login."""
    args = ["get-token", "--environment", "AzurePublicCloud", "--server-id", "6dae42f8-4368-4678-94ff-3960e28e3630",
            "--client-id", "80faf920-1908-4b52-b5ef-a8e7bedfc67a", "--tenant-id", MOCK_TENANT_ID, "--login", "devicecode"]
    config = {
        "apiVersion": "v1", "kind": "Config", "current-context": cluster,
        "clusters": [{"name": cluster, "cluster": {"server": f"https://{cluster}.hcp.westeurope.azmk8s.io:443",
                                                   "certificate-authority-data": "bW9jay1jYQ=="}}],
        "contexts": [{"name": cluster, "context": {"cluster": cluster, "user": f"clusterUser_{cluster}"}}],
        "users": [{"name": f"clusterUser_{cluster}", "user": {"exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1", "command": "kubelogin", "args": args}}}],
    }
    return base64.b64encode(yaml.safe_dump(config).encode()).decode()


class _RecordingMonitor(mocks.MockMonitor):
    def __init__(self, rendered: Rendered):
        super().__init__(_StackMocks())
        self.rendered = rendered

    def RegisterResource(self, request: Any) -> Any:
        response = super().RegisterResource(request)  # type: ignore[no-untyped-call]  # pulumi's mock monitor is untyped
        if request.type != "pulumi:pulumi:Stack":
            self.rendered.resources.append(Declared(
                urn=response.urn, type=request.type, name=request.name, parent=request.parent,
                custom=bool(request.custom), inputs=rpc.deserialize_properties(request.object),
                dependencies=list(request.dependencies), protect=bool(request.protect),
                outputs=dict(self.resources[response.urn].state) if response.urn in self.resources else {},
            ))
        return response


def stack_config(stack: str, overrides: Mapping[str, Any] | None = None,
                 project_dir: Path = PROJECT_DIR) -> dict[str, str]:
    """The stack file's values in the project namespace, then the overrides, as strings the way the Pulumi CLI
    passes them."""
    document = yaml.safe_load((project_dir / f"Pulumi.{stack}.yaml").read_text()) or {}
    prefix = NAMESPACE + ":"
    values = {key[len(prefix):]: value for key, value in (document.get("config") or {}).items() if key.startswith(prefix)}
    return {key: _as_cli_string(value) for key, value in {**values, **(overrides or {})}.items()}


def _as_cli_string(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, dict)):
        return json.dumps(value)
    return str(value)


def run_program(stack: str, values: dict[str, str], program: Callable[[], dict[str, Any]] | None = None,
                preview: bool = True) -> Rendered:
    """Runs a program (by default the project's own) under mocks with the given config, as `pulumi preview` runs it
    unless preview is False (then as `pulumi up` does).

    The program returns its outputs; the result holds every declared resource and each output resolved.
    """
    rendered = Rendered(stack)

    def run_and_resolve() -> None:
        for name, value in (program or _project_program)().items():
            output = pulumi.Output.from_input(value)
            rendered.outputs[name] = Exported(_sync_await(output.future()), bool(_sync_await(output.is_secret())))

    def run() -> None:
        # The mocks make futures on the thread's current event loop, which an asyncio.run() earlier in the same
        # process (a test's, say) leaves unset.
        _ensure_event_loop()  # type: ignore[no-untyped-call]  # pulumi leaves it unannotated
        mocks.set_mocks(_StackMocks(), project="mlstack", stack=stack, preview=preview, monitor=_RecordingMonitor(rendered))
        set_all_config({f"{NAMESPACE}:{k}": v for k, v in values.items()})
        _sync_await(run_pulumi_func(run_and_resolve))

    # A fresh context isolates Pulumi's per-run state (root stack, config), so several stacks render in one process.
    contextvars.Context().run(run)
    return rendered


def _project_program() -> dict[str, Any]:
    from .config import load_config
    from .stack import build_stack

    return build_stack(load_config())


def write(rendered: Rendered, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for obj in rendered.kubernetes_objects():
        meta = obj.get("metadata", {})
        filename = f"{obj['kind'].lower()}-{meta.get('namespace', 'cluster')}-{meta.get('name')}.yaml"
        (out / filename).write_text(yaml.safe_dump(obj, sort_keys=False))
    for release in rendered.helm_releases():
        (out / f"helm-release-{release.name}.values.yaml").write_text(yaml.safe_dump(masked(release.inputs), sort_keys=False))
    inventory = {
        "stack": rendered.stack,
        "resources": [{"type": r.type, "name": r.name, "parent": r.parent, "inputs": masked(r.inputs),
                       **({"protect": True} if r.protect else {})} for r in rendered.resources],
        "outputs": {name: MASK if out.secret else out.value for name, out in rendered.outputs.items()},
    }
    (out / "resources.json").write_text(json.dumps(inventory, indent=2, sort_keys=True, default=str))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stack", required=True, help="stack name: reads Pulumi.<stack>.yaml")
    parser.add_argument("--out", type=Path, required=True, help="directory for the manifests and resources.json")
    args = parser.parse_args(argv)
    from .config import ConfigError

    try:
        rendered = run_program(args.stack, stack_config(args.stack))
    except ConfigError as error:
        print(error, file=sys.stderr)
        return 2
    write(rendered, args.out)
    print(f"{len(rendered.kubernetes_objects())} Kubernetes objects, {len(rendered.resources)} resources -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
