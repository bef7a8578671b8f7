"""The stack program, `infra.stack.build_stack(load_config())`, run inline through Pulumi's Automation API.

pulumi-language-python cannot be built here (docs/engine.md); an inline program's language runtime is the
Python SDK's own, so this is the same engine, the same providers and the same state as `pulumi up`.
The engine tier (tests/engine) and tools/up-local.sh (where the language host is missing) both use it.

Plugins: the kubernetes provider built by build.sh is installed into the run's plugin cache under its own
release; the random stand-in (tests/engine/random_standin) is a project plugin. The program asks for those
versions (a stack transformation), since the SDKs name releases that cannot be built here.

    python -m tools.engine.inline_stack up|preview|destroy|outputs STACK [key=value ...]
"""
import argparse
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pulumi
import yaml
from pulumi import automation as auto

from infra.config import load_config
from infra.stack import build_stack

REPO = Path(__file__).resolve().parents[2]
ENGINE_TOOLS = REPO / "tools" / "engine"
RANDOM_STANDIN = REPO / "tests" / "engine" / "random_standin"
PROJECT = "mlstack"
CONFIG_NAMESPACE = "mlstack"


def engine_paths() -> dict[str, str]:
    """The binary directories paths.sh defines and every pin in versions.env, as the shell scripts see them."""
    pins = [line.split("=", 1)[0] for line in (ENGINE_TOOLS / "versions.env").read_text().splitlines()
            if "=" in line and not line.startswith("#")]
    names = ["ENGINE_CACHE", "KUBERNETES_DIR", "ETCD_DIR", "KWOK_DIR", "PULUMI_DIR", "KUBERNETES_PROVIDER_DIR", *pins]
    script = f"source {ENGINE_TOOLS / 'paths.sh'}; for n in {' '.join(names)}; do echo \"$n=${{!n}}\"; done"
    out = subprocess.run(["bash", "-c", script], capture_output=True, text=True, check=True).stdout
    return dict(line.split("=", 1) for line in out.splitlines())


@dataclass(frozen=True)
class Plugins:
    """The provider plugins this machine has, by package: the binary's directory and the version it reports."""
    kubernetes_dir: Path
    kubernetes_version: str
    random_dir: Path
    random_version: str

    @classmethod
    def built(cls, paths: dict[str, str]) -> "Plugins":
        return cls(Path(paths["KUBERNETES_PROVIDER_DIR"]) / "bin", paths["PULUMI_KUBERNETES_PROVIDER_VERSION"].lstrip("v"),
                   RANDOM_STANDIN, paths["PULUMI_RANDOM_STANDIN_VERSION"].lstrip("v"))

    @property
    def versions(self) -> dict[str, str]:
        return {"kubernetes": self.kubernetes_version, "random": self.random_version}


def package_of(type_token: str) -> str:
    """`pulumi:providers:kubernetes` -> kubernetes; `random:index/randomPassword:RandomPassword` -> random."""
    parts = type_token.split(":")
    return parts[2] if parts[:2] == ["pulumi", "providers"] else parts[0]


def ask_for_versions(versions: dict[str, str]) -> None:
    """Make every resource (and provider) of these packages ask the engine for the given plugin version."""
    def transformation(args: pulumi.ResourceTransformationArgs):
        version = versions.get(package_of(args.type_))
        if version is None:
            return None
        return pulumi.ResourceTransformationResult(
            args.props, pulumi.ResourceOptions.merge(args.opts, pulumi.ResourceOptions(version=version)))

    pulumi.runtime.register_stack_transformation(transformation)


def stack_program(plugins: Plugins):
    def program() -> None:
        ask_for_versions(plugins.versions)
        for name, value in build_stack(load_config()).items():
            pulumi.export(name, value)
    return program


@dataclass(frozen=True)
class EngineRun:
    """Where one engine run keeps its project copy, state, plugin cache and secrets passphrase."""
    work_dir: Path
    backend_url: str
    pulumi_home: Path
    secrets_env: dict[str, str]  # PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE
    pulumi_dir: Path
    plugins: Plugins

    @property
    def env(self) -> dict[str, str]:
        return {
            **self.secrets_env,
            "PULUMI_BACKEND_URL": self.backend_url,
            "PULUMI_HOME": str(self.pulumi_home),
            "PULUMI_SKIP_UPDATE_CHECK": "true",
            # Nothing may be fetched: a missing plugin must fail here, not reach for the internet.
            "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
        }

    def pulumi(self, *args: str) -> subprocess.CompletedProcess:
        """The built CLI, outside the Automation API (plugin install and ls)."""
        return subprocess.run([str(self.pulumi_dir / "bin" / "pulumi"), *args], cwd=self.work_dir,
                              env={**os.environ, **self.env}, capture_output=True, text=True, check=True)


def write_project(run: EngineRun, stack_name: str) -> None:
    """The repo's Pulumi.yaml plus the stand-in as a project plugin; the repo's stack config, keeping the
    run's own encryption salt (the passphrase provider's) from an earlier run."""
    project = yaml.safe_load((REPO / "Pulumi.yaml").read_text())
    project["plugins"] = {"providers": [
        {"name": "random", "path": str(run.plugins.random_dir), "version": run.plugins.random_version}]}
    run.work_dir.mkdir(parents=True, exist_ok=True)
    (run.work_dir / "Pulumi.yaml").write_text(yaml.safe_dump(project, sort_keys=False))
    stack_file = run.work_dir / f"Pulumi.{stack_name}.yaml"
    settings = yaml.safe_load((REPO / f"Pulumi.{stack_name}.yaml").read_text())
    if stack_file.exists():
        salt = (yaml.safe_load(stack_file.read_text()) or {}).get("encryptionsalt")
        if salt:
            settings["encryptionsalt"] = salt
    stack_file.write_text(yaml.safe_dump(settings, sort_keys=False))


def install_kubernetes_provider(run: EngineRun) -> None:
    binary = run.plugins.kubernetes_dir / "pulumi-resource-kubernetes"
    run.pulumi("plugin", "install", "resource", "kubernetes", f"v{run.plugins.kubernetes_version}",
               "--file", str(binary), "--reinstall")


def open_stack(run: EngineRun, stack_name: str, config: dict[str, str]) -> auto.Stack:
    """Selects (or creates) the stack on the run's backend with the repo's config plus CONFIG (mlstack keys)."""
    write_project(run, stack_name)
    install_kubernetes_provider(run)
    options = auto.LocalWorkspaceOptions(
        work_dir=str(run.work_dir), pulumi_home=str(run.pulumi_home), env_vars=run.env,
        pulumi_command=auto.PulumiCommand(root=str(run.pulumi_dir)))
    stack = auto.create_or_select_stack(stack_name, project_name=PROJECT, program=stack_program(run.plugins),
                                        opts=options)
    stack.set_all_config({f"{CONFIG_NAMESPACE}:{key}": auto.ConfigValue(value) for key, value in config.items()})
    return stack


def print_outputs(stack: auto.Stack, show_secrets: bool) -> None:
    for name, output in sorted(stack.outputs().items()):
        shown = output.value if show_secrets or not output.secret else "[secret]"
        print(f"  {name}: {shown}")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=("preview", "up", "destroy", "outputs"))
    parser.add_argument("stack")
    parser.add_argument("config", nargs="*", metavar="key=value", help="mlstack config for this run")
    parser.add_argument("--show-secrets", action="store_true", help="outputs: print secret values too")
    args = parser.parse_args(argv)
    paths = engine_paths()
    # The same defaults as tools/up-local.sh: state and passphrase under MLSTACK_HOME.
    home = Path(os.environ.get("MLSTACK_HOME", Path.home() / ".mlstack"))
    secrets_env = {k: v for k, v in os.environ.items() if k.startswith("PULUMI_CONFIG_PASSPHRASE")}
    run = EngineRun(
        work_dir=home / "engine-run", backend_url=os.environ.get("PULUMI_BACKEND_URL", f"file://{home / 'state'}"),
        pulumi_home=home / "pulumi-home",
        secrets_env=secrets_env or {"PULUMI_CONFIG_PASSPHRASE_FILE": str(home / "passphrase")},
        pulumi_dir=Path(paths["PULUMI_DIR"]), plugins=Plugins.built(paths))
    stack = open_stack(run, args.stack, dict(item.split("=", 1) for item in args.config))
    if args.action != "outputs":
        try:
            getattr(stack, args.action)(on_output=print)
        except auto.CommandError as failed:
            print(failed, file=sys.stderr)
            return 1
    if args.action in ("up", "outputs"):
        print("Outputs:")
        print_outputs(stack, args.show_secrets)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
