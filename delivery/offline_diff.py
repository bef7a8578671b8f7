"""Offline per-object diff: render stacks at two commits with the offline render (no CLI, no cloud credentials)
and print what changed, object by object, as Markdown for a pull-request comment.

    python -m delivery.offline_diff --base origin/main --stack dev --stack prod        head: HEAD
    python -m delivery.offline_diff --base 555cb44^ --head 555cb44 --stack local --out diff.md
    python -m delivery.offline_diff --base-dir build/a --head-dir build/b              two renders already made

Each commit is checked out in turn at the same temporary path (a git worktree), so the absolute paths the program
declares (the image build context) and the mock digests derived from them are equal on both sides; both are
rendered by this interpreter, so a base whose dependencies differ renders with the head's venv. Uncommitted
changes are not seen: commit first.
"""
import argparse
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from . import markdown
from .objects import Render, diff, load

PROJECT_DIR = Path(__file__).resolve().parent.parent


class RenderFailed(Exception):
    pass


@contextmanager
def checkout(ref: str, tree: Path) -> Iterator[Path]:
    """The tree at a commit, as a temporary git worktree at the given path."""
    _git("worktree", "add", "--detach", "--quiet", str(tree), ref)
    try:
        yield tree
    finally:
        _git("worktree", "remove", "--force", str(tree))


def _git(*args: str) -> str:
    completed = subprocess.run(["git", *args], cwd=PROJECT_DIR, capture_output=True, text=True, timeout=120)
    if completed.returncode != 0:
        raise RenderFailed(f"git {' '.join(args)}: {completed.stderr.strip()}")
    return completed.stdout.strip()


def render(tree: Path, stack: str, out: Path) -> Render:
    """The stack rendered from a tree; a stack file absent there is an empty render (everything added)."""
    if not (tree / f"Pulumi.{stack}.yaml").exists():
        return Render(stack, {})
    completed = subprocess.run([sys.executable, "-m", "infra.render", "--stack", stack, "--out", str(out)],
                               cwd=tree, capture_output=True, text=True, timeout=600)
    if completed.returncode != 0:
        lines = completed.stderr.strip().splitlines() or ["no output"]
        raise RenderFailed(lines[-1])
    return load(out)


def stack_sections(base_ref: str, head_ref: str, stacks: list[str], scratch: Path) -> list[str]:
    renders: dict[str, dict[str, Render | str]] = {"base": {}, "head": {}}
    for side, ref in (("base", base_ref), ("head", head_ref)):
        try:
            with checkout(ref, scratch / "tree") as tree:
                for stack in stacks:
                    try:
                        renders[side][stack] = render(tree, stack, scratch / side / stack)
                    except RenderFailed as error:
                        renders[side][stack] = str(error)
        except RenderFailed as error:
            renders[side] = {stack: str(error) for stack in stacks}
    return [section(stack, renders["base"][stack], renders["head"][stack]) for stack in stacks]


def section(stack: str, base: Render | str, head: Render | str) -> str:
    for side, render_or_error in (("base", base), ("head", head)):
        if isinstance(render_or_error, str):
            return f"### Stack `{stack}`\nthe {side} could not be rendered: `{render_or_error}`\n"
    changes = diff(base, head)
    unchanged = sum(label in base.objects for label in head.objects) - sum(c.status == "changed" for c in changes)
    return markdown.stack_section(stack, changes, unchanged)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", help="commit to compare from (any git revision)")
    parser.add_argument("--head", default="HEAD", help="commit to compare to (default: HEAD)")
    parser.add_argument("--stack", action="append", help="stack to render (repeatable); default: every Pulumi.<stack>.yaml")
    parser.add_argument("--base-dir", type=Path, help="an existing render to compare from (instead of --base)")
    parser.add_argument("--head-dir", type=Path, help="an existing render to compare to (with --base-dir)")
    parser.add_argument("--out", type=Path, help="write the Markdown here instead of stdout")
    args = parser.parse_args(argv)
    if args.base_dir and args.head_dir:
        base, head = load(args.base_dir), load(args.head_dir)
        sections, title = [section(head.stack, base, head)], "Offline diff"
    elif args.base:
        stacks = args.stack or sorted(p.name[len("Pulumi."):-len(".yaml")] for p in PROJECT_DIR.glob("Pulumi.*.yaml"))
        with tempfile.TemporaryDirectory(prefix="mlstack-renders-") as scratch:
            sections = stack_sections(args.base, args.head, stacks, Path(scratch))
        title = f"Offline diff: `{args.base}` → `{args.head}`"
    else:
        parser.error("give --base (and optionally --head), or --base-dir and --head-dir")
    text = markdown.comment(title, sections)
    if args.out:
        args.out.write_text(text)
    else:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
