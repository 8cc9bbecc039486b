"""Load a workflow file the way GitHub reads it, and decide whether an event triggers it.

YAML is read with YAML 1.2 booleans (only true/false), so `on:` stays the key "on" instead of becoming True, and
`yes`/`no` stay strings as they do on GitHub. Values keep their raw form: expressions are evaluated at run time.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml


class WorkflowError(ValueError):
    """A workflow or action file GitHub would reject."""


class Unsupported(WorkflowError):
    """A feature GitHub supports that this local runner does not (yet)."""


class _Loader(yaml.SafeLoader):
    pass


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def load_yaml(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise WorkflowError(f"{path}: cannot read: {exc.strerror}") from exc
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader is a SafeLoader
    except yaml.YAMLError as exc:
        raise WorkflowError(f"{path}: invalid YAML: {exc}") from exc


EVENTS = frozenset((
    "branch_protection_rule", "check_run", "check_suite", "create", "delete", "deployment", "deployment_status",
    "discussion", "discussion_comment", "fork", "gollum", "image_version", "issue_comment", "issues", "label",
    "merge_group", "milestone", "page_build", "project", "project_card", "project_column", "public", "pull_request",
    "pull_request_review", "pull_request_review_comment", "pull_request_target", "push", "registry_package",
    "release", "repository_dispatch", "schedule", "status", "watch", "workflow_call", "workflow_dispatch",
    "workflow_run",
))
_REF_FILTERS = ("branches", "branches-ignore", "tags", "tags-ignore")

PERMISSION_SCOPES = (
    "actions", "attestations", "checks", "contents", "deployments", "discussions", "id-token", "issues", "models",
    "packages", "pages", "pull-requests", "repository-projects", "security-events", "statuses",
)
# What GITHUB_TOKEN gets when no `permissions` is set and the repository uses GitHub's "restricted" default.
DEFAULT_PERMISSIONS = {"contents": "read", "packages": "read", "metadata": "read"}

_STEP_KEYS = {
    "id", "if", "name", "uses", "run", "shell", "with", "env", "continue-on-error", "timeout-minutes",
    "working-directory",
}
_JOB_KEYS = {
    "name", "permissions", "needs", "if", "runs-on", "environment", "concurrency", "outputs", "env", "defaults",
    "steps", "timeout-minutes", "continue-on-error",
}
_JOB_UNSUPPORTED = {
    "strategy": "matrix jobs", "container": "job containers", "services": "service containers",
    "uses": "reusable workflows", "with": "reusable workflows", "secrets": "reusable workflows",
    "snapshot": "custom images",
}
_WORKFLOW_KEYS = {"name", "run-name", "on", "permissions", "env", "defaults", "concurrency", "jobs"}
_ID = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
_REMOTE = re.compile(r"^(?P<owner>[A-Za-z0-9_.-]+)/(?P<repo>[A-Za-z0-9_.-]+)(?P<path>/[^@]*)?@(?P<ref>.+)$")


@dataclass(frozen=True)
class Concurrency:
    group: str  # may hold `${{ }}`
    cancel_in_progress: Any = False  # bool or an expression string


@dataclass(frozen=True)
class ActionRef:
    uses: str
    kind: str  # "local" | "remote"
    path: str = ""  # local: relative to the workspace; remote: inside the repository
    owner: str = ""
    repo: str = ""
    ref: str = ""

    @property
    def repository(self) -> str:
        return f"{self.owner}/{self.repo}" if self.kind == "remote" else ""


def parse_uses(uses: Any) -> ActionRef:
    if not isinstance(uses, str) or not uses.strip():
        raise WorkflowError(f"uses: expected an action reference, got {uses!r}")
    uses = uses.strip()
    if uses.startswith("./") or uses == ".":
        return ActionRef(uses, "local", path=uses)
    if uses.startswith("docker://"):
        raise Unsupported(f"uses: {uses}: docker actions are not supported by the local runner")
    if "${{" in uses:
        raise WorkflowError(f"uses: {uses}: expressions are not allowed in 'uses'")
    m = _REMOTE.match(uses)
    if not m:
        raise WorkflowError(f"uses: {uses!r}: expected {{owner}}/{{repo}}[/path]@{{ref}} or ./path")
    return ActionRef(uses, "remote", (m["path"] or "").lstrip("/"), m["owner"], m["repo"], m["ref"])


@dataclass(frozen=True)
class Step:
    raw: Mapping[str, Any]
    index: int

    @property
    def id(self) -> str | None:
        return self.raw.get("id")

    @property
    def uses(self) -> str | None:
        return self.raw.get("uses")

    @property
    def run(self) -> str | None:
        return self.raw.get("run")

    def get(self, key: str, default: Any = None) -> Any:
        return self.raw.get(key, default)


@dataclass(frozen=True)
class Job:
    id: str
    raw: Mapping[str, Any]
    steps: tuple[Step, ...]
    needs: tuple[str, ...]
    permissions: dict[str, str] | None
    concurrency: Concurrency | None

    def get(self, key: str, default: Any = None) -> Any:
        return self.raw.get(key, default)


@dataclass(frozen=True)
class Workflow:
    path: str  # relative to the repository, e.g. .github/workflows/deploy.yml
    raw: Mapping[str, Any]
    triggers: dict[str, dict[str, Any]]
    jobs: dict[str, Job]
    permissions: dict[str, str] | None
    concurrency: Concurrency | None
    env: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """`name:`, else the file path (what GitHub shows and puts in GITHUB_WORKFLOW)."""
        return str(self.raw.get("name") or self.path)

    def dispatch_inputs(self) -> dict[str, dict[str, Any]]:
        return dict((self.triggers.get("workflow_dispatch") or {}).get("inputs") or {})

    def triggered_by(self, event_name: str, payload: Mapping[str, Any]) -> bool:
        return triggered(self.triggers, self.path, event_name, payload)

    def job_permissions(self, job: Job) -> dict[str, str]:
        """The GITHUB_TOKEN scopes the job gets: job-level, else workflow-level, else the restricted default."""
        chosen = job.permissions if job.permissions is not None else self.permissions
        return dict(DEFAULT_PERMISSIONS) if chosen is None else {**chosen, "metadata": "read"}


def triggered(
    triggers: Mapping[str, Mapping[str, Any]], path: str, event_name: str, payload: Mapping[str, Any]
) -> bool:
    """Whether GitHub would start a run for the event (`types` honoured)."""
    if event_name not in triggers:
        return False
    spec = triggers[event_name]
    types = spec.get("types")
    if types is not None:
        wanted = [types] if isinstance(types, str) else list(types)
        if payload.get("action") not in wanted:
            return False
    paths = [k for k in ("paths", "paths-ignore") if k in spec]
    if paths:
        raise Unsupported(f"{path}: on.{event_name}.{paths[0]}: path filters are not supported here")
    if not any(k in spec for k in _REF_FILTERS):
        return True
    if event_name.startswith("pull_request"):
        ref = "refs/heads/" + str(((payload.get("pull_request") or {}).get("base") or {}).get("ref", ""))
    else:
        ref = str(payload.get("ref") or "")
    kind, name = ("tags", ref[len("refs/tags/"):]) if ref.startswith("refs/tags/") else (
        "branches", ref.removeprefix("refs/heads/"))
    if kind not in spec and f"{kind}-ignore" not in spec:
        return False  # filters only for the other kind of ref: this one does not run it
    if f"{kind}-ignore" in spec:
        return not any(_glob(p).match(name) for p in _patterns(spec[f"{kind}-ignore"]))
    matched = False
    for pattern in _patterns(spec[kind]):
        if pattern.startswith("!"):
            matched = matched and not _glob(pattern[1:]).match(name)
        elif _glob(pattern).match(name):
            matched = True
    return matched


def _patterns(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else [str(v) for v in value or []]


def _glob(pattern: str) -> re.Pattern[str]:
    """GitHub's filter patterns: `*` stays within a path segment, `**` crosses them, `?`/`+` repeat the previous
    character, `[...]` is a character class."""
    out, i = [], 0
    while i < len(pattern):
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        c = pattern[i]
        if c == "*":
            out.append("[^/]*")
        elif c in "?+":
            out.append(c)
        elif c == "[" and "]" in pattern[i:]:
            end = pattern.index("]", i)
            out.append(pattern[i:end + 1])
            i = end + 1
            continue
        else:
            out.append(re.escape(c))
        i += 1
    return re.compile("".join(out) + r"\Z")


def _mapping(value: Any, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise WorkflowError(f"{where}: expected a mapping, got {type(value).__name__}")
    return dict(value)


def parse_triggers(value: Any, where: str) -> dict[str, dict[str, Any]]:
    if isinstance(value, str):
        events: dict[str, Any] = {value: None}
    elif isinstance(value, list):
        events = dict.fromkeys(value)
    elif isinstance(value, Mapping):
        events = dict(value)
    else:
        raise WorkflowError(f"{where}: 'on' is required (an event name, a list or a mapping)")
    triggers: dict[str, dict[str, Any]] = {}
    for name, spec in events.items():
        if name not in EVENTS:
            raise WorkflowError(f"{where}: unknown event {name!r} in 'on'")
        triggers[str(name)] = _mapping(spec, f"{where}: on.{name}")
    return triggers


def parse_permissions(value: Any, where: str) -> dict[str, str] | None:
    if value is None:
        return None
    if value == "read-all":
        return dict.fromkeys(PERMISSION_SCOPES, "read")
    if value == "write-all":
        return dict.fromkeys(PERMISSION_SCOPES, "write")
    if not isinstance(value, Mapping):
        raise WorkflowError(f"{where}: permissions must be read-all, write-all or a mapping, got {value!r}")
    result = dict.fromkeys(PERMISSION_SCOPES, "none")
    for scope, level in value.items():
        if scope not in PERMISSION_SCOPES:
            raise WorkflowError(f"{where}: unknown permission scope {scope!r}")
        if level not in ("read", "write", "none"):
            raise WorkflowError(f"{where}: permission {scope} must be read, write or none, got {level!r}")
        result[scope] = level
    return result


def parse_concurrency(value: Any, where: str) -> Concurrency | None:
    if value is None:
        return None
    if isinstance(value, str):
        return Concurrency(value)
    if isinstance(value, Mapping) and isinstance(value.get("group"), str):
        unknown = set(value) - {"group", "cancel-in-progress"}
        if unknown:
            raise WorkflowError(f"{where}: unknown concurrency keys {sorted(unknown)}")
        return Concurrency(value["group"], value.get("cancel-in-progress", False))
    raise WorkflowError(f"{where}: concurrency must be a group name or {{group, cancel-in-progress}}")


def parse_steps(value: Any, where: str, allowed: set[str] = _STEP_KEYS) -> tuple[Step, ...]:
    if not isinstance(value, list) or not value:
        raise WorkflowError(f"{where}: 'steps' must be a non-empty list")
    steps: list[Step] = []
    seen: set[str] = set()
    for i, raw in enumerate(value):
        at = f"{where}.steps[{i}]"
        if not isinstance(raw, Mapping):
            raise WorkflowError(f"{at}: a step must be a mapping")
        unknown = set(raw) - allowed
        if unknown:
            raise WorkflowError(f"{at}: unexpected keys {sorted(unknown)}")
        if ("run" in raw) == ("uses" in raw):
            raise WorkflowError(f"{at}: a step needs exactly one of 'run' or 'uses'")
        step_id = raw.get("id")
        if step_id is not None:
            if not isinstance(step_id, str) or not _ID.match(step_id):
                raise WorkflowError(f"{at}: invalid step id {step_id!r}")
            if step_id.startswith("__"):
                raise WorkflowError(f"{at}: step ids starting with '__' are reserved")
            if step_id in seen:
                raise WorkflowError(f"{at}: duplicate step id {step_id!r}")
            seen.add(step_id)
        for key in ("with", "env"):
            _mapping(raw.get(key), f"{at}.{key}")
        if "uses" in raw:
            parse_uses(raw["uses"])
        steps.append(Step(raw, i))
    return tuple(steps)


def parse_job(job_id: str, raw: Any, where: str) -> Job:
    at = f"{where}: jobs.{job_id}"
    if not _ID.match(job_id):
        raise WorkflowError(f"{at}: invalid job id")
    if not isinstance(raw, Mapping):
        raise WorkflowError(f"{at}: a job must be a mapping")
    for key, what in _JOB_UNSUPPORTED.items():
        if key in raw:
            raise Unsupported(f"{at}.{key}: {what} are not supported by the local runner")
    unknown = set(raw) - _JOB_KEYS
    if unknown:
        raise WorkflowError(f"{at}: unexpected keys {sorted(unknown)}")
    if "runs-on" not in raw:
        raise WorkflowError(f"{at}: 'runs-on' is required")
    needs = raw.get("needs") or []
    needs = (needs,) if isinstance(needs, str) else tuple(needs)
    _mapping(raw.get("env"), f"{at}.env")
    return Job(
        job_id, raw, parse_steps(raw.get("steps"), at), needs,
        parse_permissions(raw.get("permissions"), f"{at}.permissions"),
        parse_concurrency(raw.get("concurrency"), f"{at}.concurrency"),
    )


def parse_workflow(raw: Any, path: str) -> Workflow:
    if not isinstance(raw, Mapping):
        raise WorkflowError(f"{path}: a workflow must be a mapping")
    unknown = set(raw) - _WORKFLOW_KEYS
    if unknown:
        raise WorkflowError(f"{path}: unexpected keys {sorted(map(str, unknown))}")
    jobs_raw = _mapping(raw.get("jobs"), f"{path}: jobs")
    if not jobs_raw:
        raise WorkflowError(f"{path}: 'jobs' must hold at least one job")
    jobs = {str(k): parse_job(str(k), v, path) for k, v in jobs_raw.items()}
    for job in jobs.values():
        for need in job.needs:
            if need not in jobs:
                raise WorkflowError(f"{path}: jobs.{job.id}.needs names unknown job {need!r}")
    return Workflow(
        path, raw, parse_triggers(raw.get("on"), path), jobs,
        parse_permissions(raw.get("permissions"), f"{path}: permissions"),
        parse_concurrency(raw.get("concurrency"), f"{path}: concurrency"),
        _mapping(raw.get("env"), f"{path}: env"),
    )


def load_workflow(repo_dir: Path, workflow_path: str) -> Workflow:
    """Read `workflow_path` (relative to `repo_dir`, e.g. `.github/workflows/deploy.yml`)."""
    return parse_workflow(load_yaml(repo_dir / workflow_path), workflow_path)


def read_triggers(repo_dir: Path, workflow_path: str) -> dict[str, dict[str, Any]] | None:
    """Only the `on:` of a workflow file (None when unreadable), so one broken or unsupported workflow does not
    stop the others from being matched, as on GitHub."""
    try:
        raw = load_yaml(repo_dir / workflow_path)
        return parse_triggers(raw.get("on") if isinstance(raw, Mapping) else None, workflow_path)
    except WorkflowError:
        return None


def find_workflows(repo_dir: Path) -> list[str]:
    """The workflow files GitHub would consider, as repository-relative paths."""
    folder = repo_dir / ".github" / "workflows"
    if not folder.is_dir():
        return []
    return sorted(str(p.relative_to(repo_dir)) for p in folder.iterdir() if p.suffix in (".yml", ".yaml"))


def job_order(workflow: Workflow) -> list[Job]:
    """Jobs in an order that respects `needs` (file order among independent jobs); a cycle is an error."""
    done: list[Job] = []
    placed: set[str] = set()
    pending = list(workflow.jobs.values())
    while pending:
        ready = [j for j in pending if all(n in placed for n in j.needs)]
        if not ready:
            raise WorkflowError(f"{workflow.path}: jobs form a cycle through 'needs': {[j.id for j in pending]}")
        done.append(ready[0])
        placed.add(ready[0].id)
        pending.remove(ready[0])
    return done
