"""README's inputs/outputs tables, generated from action.yml so the two cannot disagree.

`python -m deployer.action_docs` rewrites the part of README.md between the markers; a test fails when README
and action.yml differ.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
START = "<!-- action-io:start (generated from action.yml by `python -m deployer.action_docs`) -->"
END = "<!-- action-io:end -->"


def _cell(text: Any) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def _default(spec: Mapping[str, Any]) -> str:
    if "default" not in spec:
        return ""
    value = spec["default"]
    return "`\"\"`" if value == "" else f"`{_cell(value)}`"


def tables(meta: Mapping[str, Any]) -> str:
    """Markdown tables of an action's inputs and outputs, in action.yml's order."""
    lines = ["| input | required | default | description |", "|---|---|---|---|"]
    for name, spec in dict(meta.get("inputs") or {}).items():
        spec = dict(spec or {})
        required = "yes" if spec.get("required") is True else "no"
        lines.append(f"| `{name}` | {required} | {_default(spec)} | {_cell(spec.get('description', ''))} |")
    lines += ["", "| output | description |", "|---|---|"]
    for name, spec in dict(meta.get("outputs") or {}).items():
        lines.append(f"| `{name}` | {_cell(dict(spec or {}).get('description', ''))} |")
    return "\n".join(lines)


def replace_generated(document: str, generated: str) -> str:
    """`document` with the text between the markers replaced; ValueError when the markers are missing."""
    start, end = document.find(START), document.find(END)
    if start < 0 or end < start:
        raise ValueError(f"markers not found: {START} ... {END}")
    return document[: start + len(START)] + "\n" + generated + "\n" + document[end:]


def generated_section(document: str) -> str:
    start, end = document.find(START), document.find(END)
    if start < 0 or end < start:
        raise ValueError(f"markers not found: {START} ... {END}")
    return document[start + len(START):end].strip("\n")


def main() -> int:
    readme = ROOT / "README.md"
    meta = yaml.safe_load((ROOT / "action.yml").read_text())
    try:
        updated = replace_generated(readme.read_text(), tables(meta))
    except ValueError as exc:
        print(f"error: README.md: {exc}", file=sys.stderr)
        return 1
    readme.write_text(updated)
    print("README.md: inputs/outputs tables regenerated from action.yml")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
