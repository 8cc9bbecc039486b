"""repository_dispatch, workflow_dispatch, workflow runs (list, one run, its jobs) and check-run annotations,
validated as api.github.com does. Runs, their jobs and annotations are registered by the local runner through
`/_sandbox/runs` (GitHub's Actions service is not part of the REST API)."""

from __future__ import annotations

import json
import time
import zlib
from typing import Any, TypeVar

from aiohttp import web

from sandbox.github import shapes
from sandbox.github.api import caller, ctx, no_content, read_json, repository, respond, typed
from sandbox.github.errors import ApiError, invalid, not_found
from sandbox.github.routes_git import WORKFLOWS_DIR
from sandbox.github.state import Repository, State, WorkflowRun, now_iso

MAX_PAYLOAD_PROPERTIES = 10
MAX_PAYLOAD_BYTES = 64 * 1024
MAX_INPUTS = 25
T = TypeVar("T")


def workflow_id_of(path: str) -> int:
    """A stable numeric id for a workflow file (GitHub's ids are opaque integers)."""
    return zlib.crc32(path.encode()) & 0x7FFFFFFF


def check_client_payload(payload: Any) -> None:
    """GitHub: "The maximum number of top-level properties is 10. The total size of the JSON payload must be
    less than 64KB." The size is that of the payload's compact JSON."""
    if payload is None:
        return
    if len(payload) > MAX_PAYLOAD_PROPERTIES:
        raise ApiError(422, f"Invalid request.\n\nNo more than {MAX_PAYLOAD_PROPERTIES} properties are allowed; "
                            f"{len(payload)} were supplied.")
    size = len(json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode())
    if size >= MAX_PAYLOAD_BYTES:
        raise ApiError(422, "client_payload is too large.")  # GitHub's words (clients report them verbatim)


async def repository_dispatch(request: web.Request) -> web.Response:
    c = ctx(request)
    user = caller(request)
    repo = repository(request, "write")
    body = await read_json(request)
    event_type = typed(body, "event_type", str, required=True)
    if not 1 <= len(event_type) <= 100:
        raise invalid("Repository", "event_type", "invalid", "event_type must be 1 to 100 characters")
    payload = typed(body, "client_payload", dict, nullable=True)
    check_client_payload(payload)
    c.state.dispatches.append({
        "kind": "repository_dispatch", "owner": repo.owner.login, "repo": repo.name, "event_type": event_type,
        "client_payload": payload if payload is not None else {}, "workflow_id": None, "ref": None, "inputs": None,
        "sender": user.login, "received_at": now_iso(), "run_id": None,
    })
    return no_content()


def _resolve_ref(repo: Repository, ref: str) -> str | None:
    for name in (ref, f"refs/heads/{ref}", f"refs/tags/{ref}"):
        if name.startswith("refs/") and (sha := repo.git.ref(name)):
            return sha
    return ref if repo.git.get_commit(ref) is not None else None


def _find_workflow(repo: Repository, commit_sha: str, workflow_id: str) -> tuple[str, bytes] | None:
    """The workflow file named by file name or numeric id at `commit_sha`: (path, content)."""
    commit = repo.git.get_commit(commit_sha)
    assert commit is not None
    found = repo.git.lookup(commit.tree.decode(), WORKFLOWS_DIR)
    if found is None or repo.git.get_tree(found[1]) is None:
        return None
    for path, _mode, sha in repo.git.entries(found[1]):
        full = f"{WORKFLOWS_DIR}/{path}"
        if workflow_id in (path, full) or workflow_id == str(workflow_id_of(full)):
            blob = repo.git.get_blob(sha)
            return (full, blob.as_raw_string()) if blob is not None else None
    return None


def add_run(state: State, repo: Repository, data: dict[str, Any]) -> WorkflowRun:
    run = WorkflowRun(next(state.run_ids), repo, data)
    state.runs[run.id] = run
    return run


async def workflow_dispatch(request: web.Request) -> web.Response:
    c = ctx(request)
    user = caller(request)
    repo = repository(request, "write")
    body = await read_json(request)
    ref = typed(body, "ref", str, required=True)
    inputs = typed(body, "inputs", dict, nullable=True)
    details = typed(body, "return_run_details", bool) or False
    if inputs is not None and len(inputs) > MAX_INPUTS:
        raise ApiError(422, f"Invalid request.\n\nNo more than {MAX_INPUTS} properties are allowed; "
                            f"{len(inputs)} were supplied.")
    sha = _resolve_ref(repo, ref)
    if sha is None:
        raise ApiError(422, f"No ref found for: {ref}")
    workflow = _find_workflow(repo, sha, request.match_info["workflow_id"])
    if workflow is None:
        raise not_found()
    path, content = workflow
    if b"workflow_dispatch" not in content:
        raise ApiError(422, "Workflow does not have 'workflow_dispatch' trigger")
    branch = ref.removeprefix("refs/heads/")
    record: dict[str, Any] = {
        "kind": "workflow_dispatch", "owner": repo.owner.login, "repo": repo.name, "event_type": None,
        "client_payload": None, "workflow_id": request.match_info["workflow_id"], "ref": ref,
        "inputs": inputs or {}, "sender": user.login, "received_at": now_iso(), "run_id": None,
    }
    c.state.dispatches.append(record)
    if not details:
        return no_content()
    run = add_run(c.state, repo, {"event": "workflow_dispatch", "status": "queued", "head_sha": sha,
                                  "head_branch": branch, "path": path, "workflow_id": workflow_id_of(path)})
    record["run_id"] = run.id
    out = shapes.workflow_run(run, c.state.urls)
    return respond({"workflow_run_id": run.id, "run_url": out["url"], "html_url": out["html_url"]})


def page_params(request: web.Request) -> tuple[int, int]:
    """`per_page` (default 30, at most 100) and `page` (from 1), as GitHub reads them."""
    def number(name: str, default: int) -> int:
        try:
            return max(1, int(request.query.get(name, default)))
        except ValueError:
            return default
    return min(number("per_page", 30), 100), number("page", 1)


def link_header(request: web.Request, page: int, last: int) -> dict[str, str]:
    if last <= 1:
        return {}
    base = request.url.with_scheme(request.url.scheme)
    links = []
    for rel, number in (("prev", page - 1), ("next", page + 1), ("first", 1), ("last", last)):
        if 1 <= number <= last and not (rel == "prev" and page == 1) and not (rel == "next" and page == last):
            links.append(f'<{base.update_query(page=str(number))}>; rel="{rel}"')
    return {"Link": ", ".join(links)}


def paginate(request: web.Request, items: list[T]) -> tuple[list[T], dict[str, str]]:
    """The page of `items` the query asks for, and its `Link` header."""
    per_page, page = page_params(request)
    last = max(1, -(-len(items) // per_page))
    return items[(page - 1) * per_page: page * per_page], link_header(request, page, last)


async def list_runs(request: web.Request) -> web.Response:
    c = ctx(request)
    repo = repository(request)
    runs = [r for r in c.state.runs.values() if r.repo is repo]
    q = request.query
    for key, field_name in (("event", "event"), ("branch", "head_branch"), ("head_sha", "head_sha")):
        if key in q:
            runs = [r for r in runs if r.data.get(field_name) == q[key]]
    if "status" in q:
        runs = [r for r in runs if q["status"] in (r.data.get("status"), r.data.get("conclusion"))]
    runs.sort(key=lambda r: r.id, reverse=True)
    chunk, links = paginate(request, runs)
    return respond({"total_count": len(runs), "workflow_runs": [shapes.workflow_run(r, c.state.urls) for r in chunk]},
                   headers=links)


def update_run(run: WorkflowRun, data: dict[str, Any]) -> None:
    run.data.update(data)
    run.updated = time.time()


def _run(request: web.Request, repo: Repository, run_id: str) -> WorkflowRun:
    run = ctx(request).state.runs.get(int(run_id)) if run_id.isdigit() else None
    if run is None or run.repo is not repo:
        raise not_found()
    return run


async def get_run(request: web.Request) -> web.Response:
    repo = repository(request)
    run = _run(request, repo, request.match_info["run_id"])
    return respond(shapes.workflow_run(run, ctx(request).state.urls))


async def list_jobs(request: web.Request) -> web.Response:
    repo = repository(request)
    run = _run(request, repo, request.match_info["run_id"])
    jobs = run.data.get("jobs") or []
    chunk, links = paginate(request, list(enumerate(jobs)))
    urls = ctx(request).state.urls
    return respond({"total_count": len(jobs), "jobs": [shapes.job(run, i, job, urls) for i, job in chunk]},
                   headers=links)


async def list_annotations(request: web.Request) -> web.Response:
    """A check run is a job here (their ids are the same, as on GitHub)."""
    repo = repository(request)
    check_id = request.match_info["check_run_id"]
    run_id, index = shapes.job_of_check_run(int(check_id)) if check_id.isdigit() else (0, -1)
    run = ctx(request).state.runs.get(run_id)
    jobs = run.data.get("jobs") or [] if run is not None and run.repo is repo else []
    if not 0 <= index < len(jobs):
        raise not_found()
    assert run is not None
    annotations = jobs[index].get("annotations") or []
    chunk, links = paginate(request, annotations)
    sha = run.data.get("head_sha") or ""
    urls = ctx(request).state.urls
    return respond([shapes.annotation(repo, sha, a, urls) for a in chunk], headers=links)


ROUTES = [
    ("POST", "/repos/{owner}/{repo}/dispatches", repository_dispatch),
    ("POST", "/repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches", workflow_dispatch),
    ("GET", "/repos/{owner}/{repo}/actions/runs", list_runs),
    ("GET", "/repos/{owner}/{repo}/actions/runs/{run_id}", get_run),
    ("GET", "/repos/{owner}/{repo}/actions/runs/{run_id}/jobs", list_jobs),
    ("GET", "/repos/{owner}/{repo}/check-runs/{check_run_id}/annotations", list_annotations),
]
