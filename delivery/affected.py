"""Which stacks a change can alter, for the pull-request previews: a stack file changes its own stack; the program,
its dependencies, the images it builds and the policy pack change every stack; docs and tests change none.
Only stacks on a cloud are listed: `local` needs a cluster from a kubeconfig, which CI has not (the offline diff
and the engine tier cover it).

    python -m delivery.affected --base <sha> --head <sha>     prints a JSON list, e.g. ["dev", "prod"]
"""
import argparse
import json
import subprocess
import sys
from pathlib import Path

import yaml

PROJECT_DIR = Path(__file__).resolve().parent.parent
# Paths whose change can alter what every stack declares: the program, its locked dependencies, the two images the
# stack builds (serving/, tracking/) and the policy pack the preview enforces.
EVERY_STACK = ("__main__.py", "Pulumi.yaml", "requirements.txt", "constraints.txt", "infra/", "serving/", "tracking/", "policy/")
CLOUDS = ("gcp", "azure")


def stack_of_file(path: str) -> str | None:
    name = Path(path).name
    if "/" not in path and name.startswith("Pulumi.") and name.endswith(".yaml") and name != "Pulumi.yaml":
        return name[len("Pulumi."):-len(".yaml")]
    return None


def cloud_stacks(project_dir: Path = PROJECT_DIR) -> list[str]:
    """Stacks whose file deploys to a cloud (mlstack:cloud gcp or azure)."""
    stacks = []
    for path in sorted(project_dir.glob("Pulumi.*.yaml")):
        config = (yaml.safe_load(path.read_text()) or {}).get("config") or {}
        if config.get("mlstack:cloud") in CLOUDS:
            stacks.append(stack_of_file(path.name))
    return stacks


def affected(changed: list[str], stacks: list[str]) -> list[str]:
    if any(path == prefix or (prefix.endswith("/") and path.startswith(prefix)) for path in changed for prefix in EVERY_STACK):
        return list(stacks)
    touched = {stack_of_file(path) for path in changed}
    return [stack for stack in stacks if stack in touched]


def changed_files(base: str, head: str) -> list[str]:
    completed = subprocess.run(["git", "diff", "--name-only", f"{base}...{head}"], cwd=PROJECT_DIR,
                               capture_output=True, text=True, timeout=60, check=True)
    return completed.stdout.split()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True)
    parser.add_argument("--head", required=True)
    args = parser.parse_args(argv)
    print(json.dumps(affected(changed_files(args.base, args.head), cloud_stacks())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
