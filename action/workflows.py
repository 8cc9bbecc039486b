"""Generated GitHub workflows (when the brief asks for CI) and files the brief keeps out of the repository.

- `wants_workflow(brief)`: the brief or its checks ask for a GitHub Actions workflow; only then may the model write
  `.github/workflows/*.yml` (validate's `allow_workflows`).
- `workflow_problems(files)`: our policy on each workflow, phrased for the model: it parses, it sets `permissions`
  (least privilege: never `write-all`; write access only to `pages`, `id-token`, `contents`, `checks`,
  `statuses`), it reads no secret other than `GITHUB_TOKEN`, it has no `pull_request_target` (which runs with
  secrets on outside code). `lint_problems(files)` adds actionlint and GitHub's schema (`deployer/workflow_lint.py`).
- `deploys_pages(files)`: a workflow uses `actions/deploy-pages`, so Pages must be `build_type: workflow` and the
  action waits for that workflow's run on its commit.
- `fixable_attachments(brief)`: attachments the brief asks to fix ("execute.py (with a bug): fix the bug"), which
  the model may rewrite under their own names (others are committed byte for byte).
- `excluded_files(brief)`: files the brief says must not be committed ("do not commit result.json", "result.json
  is NOT committed"); `without_excluded` drops them from a site and `assert_not_committed` proves it before a
  commit.
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
from action.verify.checks import FILE_NAME_RE
from deployer.brief import Brief

WRITE_ALLOWED = frozenset({"pages", "id-token", "contents", "checks", "statuses"})
_WANTS_RE = re.compile(r"\.github/workflows|github[ -]actions?\b|\bworkflow\b|\bci\b|continuous integration",
                       re.IGNORECASE)
_SECRET_RE = re.compile(r"\$\{\{[^}]*\bsecrets\.(?!GITHUB_TOKEN\b)([A-Za-z_][\w-]*)", re.IGNORECASE)
_NOT_COMMITTED_RE = re.compile(
    r"\b(?:do\s+not|don't|must\s+not|should\s+not|shouldn't|never|not)\s+(?:be\s+)?(?:commit(?:ted)?|check(?:ed)?\s+"
    r"in|push(?:ed)?|include[ds]?\s+in\s+(?:the\s+)?(?:repo|repository|git))\b", re.IGNORECASE)
_FIX_RE = re.compile(r"\b(?:fix(?:es|ed)?|repair|correct|debug|patch|modify|update)\b|\bwith an? (?:bug|error)|"
                     r"\bbuggy\b", re.IGNORECASE)
_AS_IS_RE = re.compile(r"\bas[- ]is\b|\bunchanged\b|\bbyte for byte\b", re.IGNORECASE)
_SENTENCE_RE = re.compile(r"(?<=[.!?;])\s+|\n+")


class WorkflowLintUnavailable(RuntimeError):
    """actionlint or the schema checker is missing here; the message says which."""


def wants_workflow(brief: Brief) -> bool:
    texts = [brief.brief, *(c for c in brief.checks if isinstance(c, str))]
    return any(_WANTS_RE.search(text) for text in texts)


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


def excluded_files(brief: Brief) -> set[str]:
    """File names that a sentence of the brief or of a check says must not be committed."""
    names: set[str] = set()
    for text in [brief.brief, *(c for c in brief.checks if isinstance(c, str))]:
        for sentence in _SENTENCE_RE.split(text):
            if _NOT_COMMITTED_RE.search(sentence):
                names.update(n.strip("`'\"") for n in FILE_NAME_RE.findall(sentence))
    attachments = {a.name for a in brief.attachments}
    return {n for n in names if n != "index.html" and n not in attachments}


def fixable_attachments(brief: Brief) -> set[str]:
    """Attachments the brief asks to fix or change ("execute.py (with a bug) ... fix the bug"): the model may write
    a new version under the same name. An attachment a sentence calls "as-is" never is."""
    names = {a.name for a in brief.attachments}
    fixable: set[str] = set()
    as_is: set[str] = set()
    for text in [brief.brief, *(c for c in brief.checks if isinstance(c, str))]:
        for sentence in _SENTENCE_RE.split(text):
            named = {n.strip("`'\"") for n in FILE_NAME_RE.findall(sentence)} & names
            if _AS_IS_RE.search(sentence):
                as_is |= named
            elif _FIX_RE.search(sentence):
                fixable |= named
    return fixable - as_is


def without_excluded(site: Mapping[str, bytes], excluded: Iterable[str]) -> dict[str, bytes]:
    names = set(excluded)
    return {p: d for p, d in site.items() if p not in names}


def assert_not_committed(site: Mapping[str, bytes], excluded: Iterable[str]) -> None:
    """The proof before a commit: none of the excluded files is in the tree."""
    present = sorted(set(excluded) & set(site))
    if present:
        raise ValueError(f"the brief says {', '.join(present)} must not be committed, but the commit would hold it")
