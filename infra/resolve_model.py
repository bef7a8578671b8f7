"""Pin what the model alias points to now, so that `pulumi preview` shows it when the alias moves.

    python -m infra.resolve_model --stack prod [--tracking-uri http://127.0.0.1:5000]

asks the MLflow registry (MLflow's client, with MLFLOW_TRACKING_URI and its credential variables unless
--tracking-uri is given) which version the alias of the stack's `mlstack:modelUri` names, and writes it to
`mlstack:modelVersion` in Pulumi.<stack>.yaml; the program then serves models:/<name>/<version>. Run it before
`pulumi preview` (in CI, say): a moved alias becomes a one-line config diff and a rolling update of the pods.
"""
import argparse
import re
import sys
from pathlib import Path

from .config.errors import ConfigError
from .config.keys import NAMESPACE
from .config.model import parse_model_uri
from .render import PROJECT_DIR, stack_config

VERSION_KEY = "modelVersion"


def resolve_alias(name: str, alias: str, tracking_uri: str | None) -> int:
    from mlflow.tracking import MlflowClient

    return int(MlflowClient(tracking_uri=tracking_uri).get_model_version_by_alias(name, alias).version)


def pin(stack: str, tracking_uri: str | None, project_dir: Path = PROJECT_DIR) -> tuple[int, int]:
    """Writes the version the alias names now into the stack file; returns (previous pin or 0, new pin)."""
    values = stack_config(stack, project_dir=project_dir)
    uri = values.get("modelUri", "")
    model = parse_model_uri("modelUri", uri) if uri else None
    if model is None or not model.version.startswith("@"):
        raise ConfigError("modelUri", uri, "models:/<name>@<alias> in the stack file, for an alias to pin")
    version = resolve_alias(model.name, model.version[1:], tracking_uri)
    stack_file = project_dir / f"Pulumi.{stack}.yaml"
    stack_file.write_text(with_key(stack_file.read_text(), VERSION_KEY, str(version)))
    return int(values.get(VERSION_KEY, "0")), version


def with_key(text: str, key: str, value: str) -> str:
    """The stack file with one key set, every other line (comments too) as it was."""
    line = f"  {NAMESPACE}:{key}: {value}"
    existing = re.compile(rf"^\s*{NAMESPACE}:{key}:.*$", re.MULTILINE)
    if existing.search(text):
        return existing.sub(line, text, count=1)
    if re.search(r"^config:\s*$", text, re.MULTILINE):
        return re.sub(r"^config:\s*$", "config:\n" + line, text, count=1, flags=re.MULTILINE)
    return text.rstrip("\n") + ("\n" if text.strip() else "") + "config:\n" + line + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.resolve_model", description=__doc__.splitlines()[0])
    parser.add_argument("--stack", required=True, help="stack name: reads and writes Pulumi.<stack>.yaml")
    parser.add_argument("--tracking-uri", help="MLflow tracking URI; default MLFLOW_TRACKING_URI")
    parser.add_argument("--project-dir", type=Path, default=PROJECT_DIR, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    try:
        before, after = pin(args.stack, args.tracking_uri, args.project_dir)
    except ConfigError as error:
        print(error, file=sys.stderr)
        return 2
    except Exception as error:  # the registry's answer (no such alias, unreachable), in one line
        print(f"cannot resolve the alias: {str(error).splitlines()[0] if str(error) else type(error).__name__}", file=sys.stderr)
        return 1
    change = "unchanged" if before == after else f"was {before or 'unpinned'}"
    print(f"{NAMESPACE}:{VERSION_KEY}: {after} ({change}) in Pulumi.{args.stack}.yaml")
    return 0


if __name__ == "__main__":
    sys.exit(main())
