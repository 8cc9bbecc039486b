"""Commit statuses: create one for a commit, list a ref's statuses (newest first), and the combined status.

GitHub's rules (the description of repos/create-commit-status and repos/get-combined-status-for-ref): `state`
is error, failure, pending or success; `context` defaults to "default"; at most 1000 statuses per commit and
context; a description of at most 140 characters (GitHub's 422 otherwise, as reported in zalando/zappr#378); the
combined state is failure if any context's latest status is error or failure, pending if there are
none or one is pending, success otherwise.
"""

from __future__ import annotations

import itertools

from aiohttp import web

from sandbox.github import shapes
from sandbox.github.api import caller, ctx, read_json, repository, respond, typed
from sandbox.github.errors import ApiError, invalid, not_found
from sandbox.github.routes_actions import paginate
from sandbox.github.routes_contents import resolve_commit
from sandbox.github.state import CommitStatus, Repository

STATES = ("error", "failure", "pending", "success")
MAX_PER_CONTEXT = 1000
MAX_DESCRIPTION = 140
_ids = itertools.count(50_000)


def combined_state(latest: list[CommitStatus]) -> str:
    states = {s.state for s in latest}
    if states & {"error", "failure"}:
        return "failure"
    if not latest or "pending" in states:
        return "pending"
    return "success"


def latest_per_context(statuses: list[CommitStatus]) -> list[CommitStatus]:
    """Each context's newest status, newest first."""
    seen: dict[str, CommitStatus] = {}
    for st in reversed(statuses):
        seen.setdefault(st.context.lower(), st)
    return list(seen.values())


def _for_ref(request: web.Request, repo: Repository) -> tuple[str, list[CommitStatus]]:
    ref = request.match_info["ref"]
    sha = resolve_commit(repo, ref) if not repo.git.is_empty() else None
    if sha is None:
        raise not_found()
    return sha, [s for s in repo.statuses if s.sha == sha]


async def create_status(request: web.Request) -> web.Response:
    c = ctx(request)
    user = caller(request)
    repo = repository(request, "write")
    body = await read_json(request)
    state = typed(body, "state", str, required=True)
    if state not in STATES:
        raise invalid("Status", "state")
    context = typed(body, "context", str) or "default"
    sha = request.match_info["sha"]
    if repo.git.get_commit(sha) is None:
        raise ApiError(422, f"No commit found for SHA: {sha}")
    description = typed(body, "description", str, nullable=True)
    if description is not None and len(description) > MAX_DESCRIPTION:  # zalando/zappr#378, moby/datakit#273
        raise ApiError(422, "Validation Failed", errors=[{
            "resource": "Status", "code": "custom", "field": "description",
            "message": f"description is too long (maximum is {MAX_DESCRIPTION} characters)"}])
    same = [s for s in repo.statuses if s.sha == sha and s.context.lower() == context.lower()]
    if len(same) >= MAX_PER_CONTEXT:
        raise ApiError(422, "Validation Failed", errors=[{
            "resource": "Status", "code": "custom",
            "message": f"This SHA and context has reached the maximum number of statuses ({MAX_PER_CONTEXT})."}])
    status = CommitStatus(next(_ids), sha, state, context, description, typed(body, "target_url", str, nullable=True),
                          user)
    repo.statuses.append(status)
    return respond(shapes.status(repo, status, c.state.urls), 201,
                   {"Location": f"{c.state.urls.api}/repos/{repo.full_name}/statuses/{sha}"})


async def list_statuses(request: web.Request) -> web.Response:
    c = ctx(request)
    repo = repository(request)
    _, statuses = _for_ref(request, repo)
    newest_first = list(reversed(statuses))
    chunk, links = paginate(request, newest_first)
    return respond([shapes.status(repo, s, c.state.urls) for s in chunk], headers=links)


async def combined_status(request: web.Request) -> web.Response:
    c = ctx(request)
    repo = repository(request)
    sha, statuses = _for_ref(request, repo)
    latest = latest_per_context(statuses)
    api = f"{c.state.urls.api}/repos/{repo.full_name}"
    return respond({
        "state": combined_state(latest), "statuses": [shapes.simple_status(repo, s, c.state.urls) for s in latest],
        "sha": sha, "total_count": len(latest), "repository": shapes.minimal_repository(repo, c.state.urls),
        "commit_url": f"{api}/commits/{sha}", "url": f"{api}/commits/{sha}/status",
    })


ROUTES = [
    ("POST", "/repos/{owner}/{repo}/statuses/{sha}", create_status),
    ("GET", "/repos/{owner}/{repo}/commits/{ref}/statuses", list_statuses),
    ("GET", "/repos/{owner}/{repo}/commits/{ref}/status", combined_status),
]
