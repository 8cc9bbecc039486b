"""`run_workflow`: one workflow run for one event, as GitHub would start and execute it on a runner.

A dispatcher (later) turns an emulator dispatch record into `(event_name, payload)` with `event.event_from_dispatch`,
picks the workflows with `workflows_for_event`, and calls `run_workflow` with the run's secrets, a machine env whose
GITHUB_API_URL / GITHUB_SERVER_URL point at the emulator, and a shared `ConcurrencyRegistry`.
"""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from sandbox.runner.actions import ActionResolver
from sandbox.runner.commands import Annotation, Masker
from sandbox.runner.concurrency import ConcurrencyRegistry, RunHandle
from sandbox.runner.event import Repository, event_from_dispatch, event_ref, inputs_context, repository_dispatch
from sandbox.runner.event import push as push_event
from sandbox.runner.execute import JobRunner, RunState
from sandbox.runner.expressions import Evaluator, ExpressionError, truthy
from sandbox.runner.results import JobResult, RunResult
from sandbox.runner.workflow import (
    Concurrency,
    Workflow,
    WorkflowError,
    find_workflows,
    job_order,
    load_workflow,
    read_triggers,
    triggered,
)

# What a step inherits from this process when no `env` is given: enough to find tools, never our own secrets.
INHERITED_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "USER", "LOGNAME", "SHELL", "TMPDIR",
                 "PYENV_ROOT", "PYENV_VERSION", "UV_CACHE_DIR", "UV_PYTHON", "XDG_CACHE_HOME", "SSL_CERT_FILE")
_URL_KEYS = {"GITHUB_API_URL": "api_url", "GITHUB_SERVER_URL": "server_url", "GITHUB_GRAPHQL_URL": "graphql_url"}
_run_numbers = itertools.count(1)


class NotTriggered(WorkflowError):
    """The event does not start this workflow (GitHub would create no run)."""


@dataclass
class RunOptions:
    secrets: Mapping[str, str] = field(default_factory=dict)
    vars: Mapping[str, str] = field(default_factory=dict)
    # The runner machine's environment. GITHUB_API_URL / GITHUB_SERVER_URL / GITHUB_GRAPHQL_URL here set the
    # `github` context's URLs (as on a GitHub Enterprise runner); other GITHUB_* / RUNNER_* are the runner's own.
    # None: PATH, HOME and the locale of this process (INHERITED_ENV).
    env: Mapping[str, str] | None = None
    # GITHUB_WORKSPACE; None: a fresh empty directory that `actions/checkout` fills from `repo_dir`.
    workspace: Path | None = None
    token: str | None = None  # secrets.GITHUB_TOKEN / github.token; default: secrets["GITHUB_TOKEN"] if given
    actor: str | None = None  # default: the event's sender
    run_id: int | None = None
    run_number: int | None = None
    # RUNNER_TEMP, tool cache and the default workspace; one per concurrent run. None: a fresh temporary directory.
    runner_root: Path | None = None
    resolver: ActionResolver = field(default_factory=ActionResolver)
    # The Actions cache service's store, shared by the runs that should see each other's caches (one repository's
    # runs on GitHub). None: a store inside `runner_root`, for this run's jobs only.
    cache_dir: Path | None = None
    concurrency: ConcurrencyRegistry | None = None
    handle: RunHandle | None = None  # to cancel the run from another thread
    timeout: float | None = None  # seconds for the whole run (each job also has its timeout-minutes)
    debug: bool = False  # RUNNER_DEBUG / ::debug:: lines
    kill_grace: float = 2.0  # seconds between SIGTERM and SIGKILL for a timed-out step's process group
    on_log: Callable[[str], None] | None = None  # every masked log line, as it happens


def workflows_for_event(repo_dir: Path, event_name: str, payload: Mapping[str, Any]) -> list[str]:
    """The workflow files of `repo_dir` that this event starts, as GitHub picks them (by their `on:` alone)."""
    found = []
    for path in find_workflows(repo_dir):
        triggers = read_triggers(repo_dir, path)
        if triggers is not None and triggered(triggers, path, event_name, payload):
            found.append(path)
    return found


def run_dispatch(
    repo_dir: Path, record: Mapping[str, Any], options: RunOptions | None = None, default_branch: str = "main",
) -> list[RunResult]:
    """Run what a dispatch recorded by the emulator (`GET /_sandbox/dispatches`) starts in `repo_dir`.

    repository_dispatch: every workflow whose `on` matches (GitHub may start several); workflow_dispatch: the
    workflow named by `workflow_id` (its file name or path; a numeric id is for the caller to map to a path). A
    `run_id` the emulator already assigned becomes GITHUB_RUN_ID unless `options.run_id` is set.
    """
    opts = replace(options) if options is not None else RunOptions()
    if opts.run_id is None and isinstance(record.get("run_id"), int):
        opts.run_id = record["run_id"]
    repo = _dispatch_repository(record, opts, default_branch)
    results = []
    for path in _dispatched_workflows(repo_dir, record, repo):
        event_name, payload = event_from_dispatch(record, repo, load_workflow(repo_dir, path))
        results.append(run_workflow(repo_dir, path, event_name, payload, options=replace(opts)))
    return results


def dispatch_titles(
    repo_dir: Path, record: Mapping[str, Any], options: RunOptions | None = None, default_branch: str = "main",
) -> list[tuple[str, str]]:
    """(workflow path, display_title) of each run a dispatch starts, titled as GitHub titles a run when it creates it.

    Raises WorkflowError for a `run-name` that cannot be evaluated (what GitHub then shows is not documented).
    """
    opts = options or RunOptions()
    repo = _dispatch_repository(record, opts, default_branch)
    titles = []
    for path in _dispatched_workflows(repo_dir, record, repo):
        workflow = load_workflow(repo_dir, path)
        event_name, payload = event_from_dispatch(record, repo, workflow)
        titles.append((path, run_title(workflow, event_name, payload, opts)))
    return titles


def run_title(workflow: Workflow, event_name: str, payload: Mapping[str, Any], options: RunOptions | None = None,
              ) -> str:
    """`run-name` evaluated with the only contexts it may use, `github` and `inputs` (workflow syntax docs,
    "run-name"); without one, the workflow's name. The sha and the token are not known yet when a run is created."""
    raw = workflow.raw.get("run-name")
    if not isinstance(raw, str) or not raw.strip():
        return workflow.name
    try:
        title = Evaluator(creation_contexts(workflow, event_name, payload, options)).interpolate_str(raw, "run-name")
    except ExpressionError as exc:
        raise WorkflowError(f"{workflow.path}: run-name: {exc}") from exc
    return title.strip() or workflow.name


def creation_contexts(workflow: Workflow, event_name: str, payload: Mapping[str, Any],
                      options: RunOptions | None = None) -> dict[str, Any]:
    """The `github` and `inputs` contexts as they are when GitHub creates a run (no sha, token or run id yet)."""
    opts = options or RunOptions()
    _, urls = _machine_env(opts)
    github = _github_context(workflow, event_name, payload, "", urls, opts, 0, "", Path())
    return {"github": github, "inputs": inputs_context(workflow, event_name, payload)}


def _dispatch_repository(record: Mapping[str, Any], options: RunOptions, default_branch: str) -> Repository:
    _, urls = _machine_env(options)
    return Repository(f"{record['owner']}/{record['repo']}", default_branch, urls["api_url"], urls["server_url"])


def _dispatched_workflows(repo_dir: Path, record: Mapping[str, Any], repo: Repository) -> list[str]:
    """repository_dispatch: every workflow whose `on` matches; workflow_dispatch: the one named by `workflow_id`."""
    if record.get("kind") == "workflow_dispatch":
        wanted = str(record.get("workflow_id") or "")
        paths = [p for p in find_workflows(repo_dir) if wanted in (p, Path(p).name)]
        if not paths:
            raise WorkflowError(f"workflow_dispatch: no workflow {wanted!r} in {repo_dir}/.github/workflows")
        return paths
    probe = repository_dispatch(repo, str(record.get("event_type") or ""), record.get("client_payload"), "probe")
    return workflows_for_event(repo_dir, "repository_dispatch", probe)


def push_payload(repo_dir: Path, record: Mapping[str, Any], api_url: str, server_url: str,
                 default_branch: str = "main") -> dict[str, Any]:
    """The `push` payload of an emulator push record, to choose workflows before a run is registered."""
    repo = Repository(f"{record['owner']}/{record['repo']}", default_branch, api_url, server_url)
    return push_event(repo, str(record["ref"]), str(record.get("before") or "0" * 40), str(record["after"]),
                      str(record.get("sender") or repo.owner))


def _git_sha(repo_dir: Path, ref: str) -> str:
    if not (repo_dir / ".git").exists():
        return "0" * 40
    for candidate in (ref, "HEAD"):
        done = subprocess.run(["git", "rev-parse", "--verify", "--quiet", f"{candidate}^{{commit}}"], cwd=repo_dir,
                              capture_output=True, text=True, check=False, timeout=30)
        if done.returncode == 0:
            return done.stdout.strip()
    return "0" * 40


def _github_context(
    workflow: Workflow, event_name: str, payload: Mapping[str, Any], sha: str, urls: Mapping[str, str],
    options: RunOptions, run_id: int, token: str, workspace: Path,
) -> dict[str, Any]:
    repo = payload["repository"]
    owner = dict(repo.get("owner") or {})
    ref = event_ref(event_name, payload)
    ref_type = "tag" if ref.startswith("refs/tags/") else "branch"
    sender = dict(payload.get("sender") or {})
    actor = options.actor or sender.get("login") or repo["full_name"].split("/")[0]
    return {
        "token": token, "event": dict(payload), "event_name": event_name, "ref": ref, "sha": sha,
        "ref_name": ref.split("/", 2)[-1], "ref_type": ref_type, "ref_protected": False, "base_ref": "",
        "head_ref": "", "repository": repo["full_name"], "repository_id": str(repo.get("id", "")),
        "repository_owner": repo["full_name"].split("/")[0], "repository_owner_id": str(owner.get("id", "")),
        "repositoryUrl": f"git://{urls['server_url'].split('://', 1)[-1]}/{repo['full_name']}.git",
        "actor": actor, "actor_id": str(sender.get("id", "")), "triggering_actor": actor,
        "workflow": workflow.name, "workflow_ref": f"{repo['full_name']}/{workflow.path}@{ref}",
        "workflow_sha": sha, "run_id": str(run_id), "run_number": str(options.run_number or next(_run_numbers)),
        "run_attempt": "1", "retention_days": "90", "secret_source": "Actions", "workspace": str(workspace),
        **urls,
    }


def _machine_env(options: RunOptions) -> tuple[dict[str, str], dict[str, str]]:
    env = dict(options.env) if options.env is not None else {k: os.environ[k] for k in INHERITED_ENV if k in os.environ}
    urls = {"api_url": "https://api.github.com", "server_url": "https://github.com"}
    for key, name in _URL_KEYS.items():
        if key in env:
            urls[name] = env[key].rstrip("/")
    urls.setdefault("graphql_url", f"{urls['api_url']}/graphql")
    return env, urls


def _concurrency(spec: Concurrency | None, ev: Evaluator, where: str) -> tuple[str, bool] | None:
    if spec is None:
        return None
    group = ev.interpolate_str(spec.group, f"{where}.group")
    cancel = spec.cancel_in_progress
    cancel_value = ev.interpolate(cancel) if isinstance(cancel, str) else cancel
    return group, truthy(cancel_value) if not isinstance(cancel_value, str) else cancel_value.lower() == "true"


def run_workflow(
    repo_dir: Path,
    workflow_path: str,
    event_name: str,
    event_payload: Mapping[str, Any],
    *,
    secrets: Mapping[str, str] | None = None,
    env: Mapping[str, str] | None = None,
    workspace: Path | None = None,
    options: RunOptions | None = None,
) -> RunResult:
    """Run `workflow_path` of `repo_dir` for the event; raises NotTriggered / WorkflowError before any step runs.

    `secrets`, `env`, `workspace` are shortcuts for the same fields of `options`.
    """
    opts = replace(options) if options is not None else RunOptions()
    if secrets is not None:
        opts.secrets = secrets
    if env is not None:
        opts.env = env
    if workspace is not None:
        opts.workspace = workspace
    repo_dir = Path(repo_dir).resolve()
    workflow = load_workflow(repo_dir, workflow_path)
    payload = dict(event_payload)
    if not isinstance(payload.get("repository"), Mapping) or "full_name" not in payload["repository"]:
        raise WorkflowError("the event payload needs a 'repository' object with 'full_name'")
    if not workflow.triggered_by(event_name, payload):
        detail = f" type {payload.get('action')!r}" if "action" in payload else ""
        raise NotTriggered(f"{workflow_path} is not triggered by {event_name}{detail}")

    handle = opts.handle or RunHandle(opts.run_id)
    run_id = opts.run_id or handle.run_id
    owned_root = opts.runner_root is None
    root = Path(tempfile.mkdtemp(prefix="runner-")) if owned_root else Path(opts.runner_root or "")
    try:
        return _execute(repo_dir, workflow, event_name, payload, opts, handle, run_id, root)
    finally:
        if owned_root:
            shutil.rmtree(root, ignore_errors=True)


def _execute(
    repo_dir: Path, workflow: Workflow, event_name: str, payload: dict[str, Any], opts: RunOptions,
    handle: RunHandle, run_id: int, root: Path,
) -> RunResult:
    machine_env, urls = _machine_env(opts)
    repo_name = payload["repository"]["full_name"].split("/")[-1]
    workspace = Path(opts.workspace).resolve() if opts.workspace else root / "work" / repo_name / repo_name
    secrets = dict(opts.secrets)
    token = opts.token if opts.token is not None else secrets.get("GITHUB_TOKEN", "")
    if token:
        secrets["GITHUB_TOKEN"] = token
    masker = Masker()
    for value in secrets.values():
        masker.add(value)
    after = payload.get("after") if event_name == "push" else None
    sha = after if isinstance(after, str) and len(after) == 40 else _git_sha(repo_dir, event_ref(event_name, payload))
    github = _github_context(workflow, event_name, payload, sha, urls, opts, run_id, token, workspace)
    inputs = inputs_context(workflow, event_name, payload)
    state = RunState(
        workflow=workflow, payload=payload, github=github, secrets=secrets,
        vars=dict(opts.vars), inputs=inputs, machine_env=machine_env, masker=masker, source=repo_dir,
        workspace=workspace, temp=root / "temp", tool_cache=root / "tool_cache", resolver=opts.resolver,
        caches=Path(opts.cache_dir) if opts.cache_dir else root / "caches",
        handle=handle, debug=opts.debug, kill_grace=opts.kill_grace, on_log=opts.on_log,
    )
    state.tool_cache.mkdir(parents=True, exist_ok=True)
    result = RunResult(run_id, workflow.path, event_name, "success")
    try:
        group = _concurrency(workflow.concurrency, Evaluator({"github": github, "inputs": inputs, "vars": state.vars}),
                             "concurrency")
    except ExpressionError as exc:
        raise WorkflowError(f"{workflow.path}: concurrency: {exc}") from exc
    registry = opts.concurrency or ConcurrencyRegistry()
    if group is None:
        _run_jobs(state, result, registry, opts.timeout, None)
    else:
        with registry.hold(group[0], handle, group[1]) as acquired:
            if acquired:
                _run_jobs(state, result, registry, opts.timeout, group[0])
            else:
                result.conclusion = "cancelled"
                return result
    conclusions = {job.conclusion for job in result.jobs.values() if not job.continue_on_error}
    result.conclusion = "cancelled" if handle.cancelled or "cancelled" in conclusions else (
        "failure" if "failure" in conclusions else "success")
    return result


def _run_jobs(
    state: RunState, result: RunResult, registry: ConcurrencyRegistry, timeout: float | None, run_group: str | None,
) -> None:
    state.deadline = time.monotonic() + timeout if timeout else None  # time queued for concurrency does not count
    for job in job_order(state.workflow):
        needs = {
            n: {"result": result.jobs[n].conclusion, "outputs": result.jobs[n].outputs} for n in job.needs
        }
        results = [n["result"] for n in needs.values()]
        status = ("cancelled" if state.handle.cancelled else "failure" if "failure" in results
                  else "success" if all(r == "success" for r in results) else "skipped")
        ev = Evaluator({"github": state.github, "needs": needs, "vars": state.vars, "inputs": state.inputs,
                        "strategy": {}, "matrix": {}}, status)
        done = JobResult(job.id, str(job.get("name") or job.id), "skipped",
                         permissions=state.workflow.job_permissions(job))
        result.jobs[job.id] = done
        try:
            if not ev.condition(job.get("if")):
                continue
            group = _concurrency(job.concurrency, ev, f"jobs.{job.id}.concurrency")
            raw_coe = job.get("continue-on-error", False)
            done.continue_on_error = truthy(ev.interpolate(raw_coe) if isinstance(raw_coe, str) else raw_coe)
        except ExpressionError as exc:
            done.conclusion = "failure"
            done.annotations.append(Annotation("error", str(exc)))
            done.log.append(f"##[error]{exc}")
            continue
        runner = JobRunner(state, job, needs, done)
        if group is not None and run_group is not None and group[0].lower() == run_group.lower():
            message = (f"Canceling since a deadlock for concurrency group '{group[0]}' was detected between "
                       f"'top level workflow' and '{job.id}'")
            done.conclusion = "cancelled"
            done.annotations.append(Annotation("error", message))
            done.log.append(f"##[error]{message}")
            continue
        if group is None:
            runner.run()
            continue
        with registry.hold(group[0], state.handle, group[1]) as acquired:
            if acquired:
                runner.run()
            else:
                done.conclusion = "cancelled"
