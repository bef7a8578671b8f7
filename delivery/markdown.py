"""The per-object diff as Markdown for a pull-request comment: a summary line per stack, then one diff block per
changed object; added and removed objects are listed with their fields folded away."""
import json
from typing import Any

from .objects import Masked, ObjectChange

MAX_VALUE = 160
# GitHub refuses comments over 65,536 characters; the rest is cut with a note pointing at the full artifact.
MAX_COMMENT = 60_000
MARKER = "<!-- mlstack-offline-diff -->"  # lets the workflow find and update its own comment
_SIGN = {"added": "+", "removed": "-", "changed": "~"}


def value_text(value: Any) -> str:
    if isinstance(value, Masked):
        return str(value)
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return text if len(text) <= MAX_VALUE else text[:MAX_VALUE] + f"… ({len(text)} chars)"


def field_lines(change: ObjectChange) -> list[str]:
    lines = []
    for field in change.fields:
        if field.status != "added":
            lines.append(f"- {field.path}: {value_text(field.old)}")
        if field.status != "removed":
            suffix = " (secret changed)" if isinstance(field.new, Masked) and field.status == "changed" else ""
            lines.append(f"+ {field.path}: {value_text(field.new)}{suffix}")
    return lines


def stack_section(stack: str, changes: list[ObjectChange], unchanged: int, title_suffix: str = "") -> str:
    counts = {status: sum(c.status == status for c in changes) for status in ("added", "removed", "changed")}
    summary = ", ".join(f"{n} {status}" for status, n in counts.items() if n) or "no changes"
    parts = [f"### Stack `{stack}`{title_suffix}", f"{summary}; {unchanged} unchanged", ""]
    for change in changes:
        body = "\n".join(field_lines(change))
        heading = f"**{_SIGN[change.status]} {change.status}** `{change.label}`"
        if change.status == "changed":
            parts += [heading, "```diff", body, "```", ""]
        else:
            parts += [f"<details><summary>{heading} ({len(change.fields)} fields)</summary>", "", "```diff", body, "```",
                      "</details>", ""]
    return "\n".join(parts)


def comment(title: str, sections: list[str]) -> str:
    text = "\n".join([MARKER, f"## {title}", "", "Rendered offline under mocks (no cloud credentials); secret values "
                      "show as `[secret]`, and a change of a Pulumi secret's value alone does not show.", "", *sections])
    if len(text) > MAX_COMMENT:
        text = text[:MAX_COMMENT] + ("\n```" if text[:MAX_COMMENT].count("```") % 2 else "")
        text += "\n\n… cut here: the full diff is in the workflow run's `offline-diff` artifact.\n"
    return text
