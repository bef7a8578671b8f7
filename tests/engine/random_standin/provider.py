"""A stand-in `pulumi-resource-random` for the engine run: serves RandomPassword (password.py) over the provider
gRPC protocol, because the module proxy refuses pulumi-random's provider. Test-only; docs/engine.md says why.

Started by the engine as `pulumi-resource-random ENGINE_ADDRESS`; prints its port and serves until killed.
"""
import argparse
import contextlib
import importlib
import importlib.util
import sys
import types
import warnings
from concurrent import futures
from pathlib import Path

import grpc
from google.protobuf import empty_pb2, json_format, struct_pb2


def sdk_stubs(*names: str) -> list[types.ModuleType]:
    """The Python SDK's generated gRPC stubs, loaded from its `pulumi/runtime/proto` directory as a package of
    their own: importing them through `pulumi` runs the whole SDK's import first (about a second), and the
    engine waits for this plugin's port before the program's first password can be registered."""
    sdk = importlib.util.find_spec("pulumi")
    assert sdk is not None and sdk.submodule_search_locations, "the pulumi SDK is not installed"
    package = types.ModuleType("pulumi_sdk_stubs")
    package.__path__ = [str(Path(sdk.submodule_search_locations[0]) / "runtime" / "proto")]
    sys.modules[package.__name__] = package
    return [importlib.import_module(f"{package.__name__}.{name}") for name in names]


plugin_pb2, provider_pb2, provider_pb2_grpc = sdk_stubs("plugin_pb2", "provider_pb2", "provider_pb2_grpc")

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)  # the crypt module, see password.bcrypt_hash
    import password

RANDOM_PASSWORD = "random:index/randomPassword:RandomPassword"


def to_dict(properties: struct_pb2.Struct) -> dict:
    return json_format.MessageToDict(properties)


def to_struct(values: dict) -> struct_pb2.Struct:
    return json_format.ParseDict(values, struct_pb2.Struct())


class RandomStandIn(provider_pb2_grpc.ResourceProviderServicer):
    def __init__(self, version: str):
        self.version = version

    def GetPluginInfo(self, request, context):
        return plugin_pb2.PluginInfo(version=self.version)

    def GetSchema(self, request, context):
        return provider_pb2.GetSchemaResponse(schema='{"name": "random"}')

    def CheckConfig(self, request, context):
        return provider_pb2.CheckResponse(inputs=request.news)

    def DiffConfig(self, request, context):
        return provider_pb2.DiffResponse(changes=provider_pb2.DiffResponse.DIFF_NONE)

    def Configure(self, request, context):
        return provider_pb2.ConfigureResponse(acceptSecrets=False, supportsPreview=True)

    def Check(self, request, context):
        self._require_password_type(request.urn, context)
        inputs, failures = password.with_defaults(to_dict(request.news))
        return provider_pb2.CheckResponse(
            inputs=to_struct(inputs),
            failures=[provider_pb2.CheckFailure(property=key, reason=reason) for key, reason in failures])

    def Diff(self, request, context):
        replaces = password.replacing_keys(to_dict(request.olds), to_dict(request.news))
        changes = provider_pb2.DiffResponse.DIFF_SOME if replaces else provider_pb2.DiffResponse.DIFF_NONE
        return provider_pb2.DiffResponse(changes=changes, replaces=replaces, diffs=replaces)

    def Create(self, request, context):
        self._require_password_type(request.urn, context)
        inputs, _ = password.with_defaults(to_dict(request.properties))  # the wire has only floats
        properties = inputs if request.preview else password.outputs(inputs)
        return provider_pb2.CreateResponse(id=password.RESOURCE_ID, properties=to_struct(properties))

    def Read(self, request, context):
        # Nothing exists outside the state: the stored password is the live one.
        return provider_pb2.ReadResponse(id=request.id, properties=request.properties, inputs=request.inputs)

    def Update(self, request, context):
        # Every input change is a replacement (Diff), so an update only ever carries the old outputs over.
        return provider_pb2.UpdateResponse(properties=request.olds)

    def Delete(self, request, context):
        return empty_pb2.Empty()

    def Cancel(self, request, context):
        return empty_pb2.Empty()

    @staticmethod
    def _require_password_type(urn: str, context) -> None:
        if not urn.split("::")[-2].endswith(RANDOM_PASSWORD):
            context.abort(grpc.StatusCode.UNIMPLEMENTED, f"the stand-in serves only {RANDOM_PASSWORD}, not {urn}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--version", required=True, help="the version GetPluginInfo reports")
    parser.add_argument("engine", nargs="?", help="the engine's address (unused: the stand-in logs nothing to it)")
    args, _ = parser.parse_known_args()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    provider_pb2_grpc.add_ResourceProviderServicer_to_server(RandomStandIn(args.version), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    print(port, flush=True)
    # The engine interrupts its plugins when it is done with them: a normal end, not an error to print.
    with contextlib.suppress(KeyboardInterrupt):
        server.wait_for_termination()


if __name__ == "__main__":
    sys.exit(main())
