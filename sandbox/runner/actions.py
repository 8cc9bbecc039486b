"""`uses:` references and action metadata (`action.yml`), and the resolver that turns one into the other.

`ActionResolver.fetch` is the seam for actions from other repositories: here it refuses clearly;
`remote.RemoteActionResolver` fetches `owner/repo` at `ref` from the emulated GitHub instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sandbox.runner.builtins import BUILTINS, Builtin
from sandbox.runner.workflow import ActionRef, Step, Unsupported, WorkflowError, load_yaml, parse_steps

_COMPOSITE_RUN_KEYS = {"name", "id", "if", "run", "shell", "env", "continue-on-error", "working-directory"}
_COMPOSITE_USES_KEYS = {"name", "id", "if", "uses", "with", "env", "continue-on-error"}


@dataclass(frozen=True)
class ActionDefinition:
    """A parsed `action.yml`; only composite actions can be run here."""

    directory: Path
    inputs: dict[str, dict[str, Any]]
    outputs: dict[str, dict[str, Any]]
    steps: tuple[Step, ...]


def load_action(directory: Path, uses: str) -> ActionDefinition:
    meta = next((directory / n for n in ("action.yml", "action.yaml") if (directory / n).is_file()), None)
    if meta is None:
        if (directory / "Dockerfile").is_file():
            raise Unsupported(f"uses: {uses}: Dockerfile actions are not supported by the local runner")
        if not uses.startswith("."):  # GitHub's words for a fetched action
            raise WorkflowError(f"Can't find 'action.yml', 'action.yaml' or 'Dockerfile' for action '{uses}'.")
        raise WorkflowError(
            f"uses: {uses}: can't find 'action.yml', 'action.yaml' or 'Dockerfile' under '{directory}'. "
            "Did you forget to run actions/checkout before running your local action?"
        )
    raw = load_yaml(meta)
    if not isinstance(raw, Mapping):
        raise WorkflowError(f"{meta}: an action must be a mapping")
    runs = raw.get("runs")
    if not isinstance(runs, Mapping) or not isinstance(runs.get("using"), str):
        raise WorkflowError(f"{meta}: 'runs.using' is required")
    using = runs["using"]
    if using != "composite":
        raise Unsupported(f"uses: {uses}: '{using}' actions are not supported by the local runner (composite only)")
    steps = parse_steps(runs.get("steps"), f"{meta}: runs", _COMPOSITE_RUN_KEYS | _COMPOSITE_USES_KEYS)
    for step in steps:
        keys = set(step.raw)
        allowed = _COMPOSITE_RUN_KEYS if step.run is not None else _COMPOSITE_USES_KEYS
        if keys - allowed:
            raise WorkflowError(f"{meta}: runs.steps[{step.index}]: unexpected keys {sorted(keys - allowed)}")
        if step.run is not None and "shell" not in keys:
            raise WorkflowError(f"{meta}: runs.steps[{step.index}]: 'shell' is required for a run step")
    inputs = {str(k): dict(v or {}) for k, v in dict(raw.get("inputs") or {}).items()}
    outputs = {str(k): dict(v or {}) for k, v in dict(raw.get("outputs") or {}).items()}
    for name, spec in outputs.items():
        if "value" not in spec:
            raise WorkflowError(f"{meta}: outputs.{name}.value is required in a composite action")
    return ActionDefinition(directory, inputs, outputs, steps)


class ActionResolver:
    """`uses:` -> what to run: a built-in stand-in for a marketplace action, or a composite action's definition."""

    def resolve(self, ref: ActionRef, workspace: Path) -> ActionDefinition | Builtin:
        if ref.kind == "local":
            target = (workspace / ref.path).resolve()
            return load_action(target, ref.uses)
        builtin = BUILTINS.get("/".join(filter(None, (ref.repository, ref.path.strip("/")))).lower())
        if builtin is not None:
            return builtin
        root = self.fetch(ref)
        target = (root / ref.path).resolve()
        if not target.is_relative_to(root.resolve()):
            raise WorkflowError(f"uses: {ref.uses}: the path leaves the repository")
        return load_action(target, ref.uses)

    def fetch(self, ref: ActionRef) -> Path:
        """The directory holding `ref.owner/ref.repo` at `ref.ref` (see `remote.RemoteActionResolver`)."""
        raise Unsupported(
            f"uses: {ref.uses}: actions from other repositories are not supported yet "
            "(the local runner will fetch them from the emulated GitHub)"
        )
