"""Test-only routes for what GitHub Actions does inside GitHub (not part of the REST API): the local runner and the
sandbox's Actions service register runs with their jobs and annotations, upload artifacts, and get each run its
GITHUB_TOKEN.

- `POST /_sandbox/runs` `{owner, repo, event, status, conclusion, head_sha, head_branch, name, path,
  display_title, jobs}` -> the `workflow-run` shape; `PATCH /_sandbox/runs/{id}` with any of those; `GET` lists.
  `jobs`: `[{name, status?, conclusion, steps: [{name, conclusion}], annotations: [{level, message, title?, file?,
  line?, end_line?, col?, end_column?}]}]`, shown at `actions/runs/{id}/jobs` and `check-runs/{job id}/annotations`.
- `POST /_sandbox/artifacts` `{owner, repo, name, data (base64), run_id?}` -> `{id, name, size_in_bytes}`: what
  `actions/upload-pages-artifact` uploads; `POST /pages/deployments` takes its `id`.
- `POST /_sandbox/job-tokens` `{owner, repo}` -> `{token}`: a run's GITHUB_TOKEN (github-actions[bot], writing only
  that repository); `DELETE /_sandbox/job-tokens` `{token}` revokes it when the job ends, as GitHub does.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import secrets
from typing import Any

from aiohttp import web

from sandbox.github import shapes
from sandbox.github.api import ctx
from sandbox.github.routes_actions import add_run, update_run
from sandbox.github.routes_sandbox import bad, body_of, ok
from sandbox.github.state import Artifact, Repository, next_id

_RUN_FIELDS: dict[str, type | tuple[type, ...]] = {
    "name": str, "event": str, "status": str, "conclusion": (str, type(None)), "head_sha": str,
    "head_branch": (str, type(None)), "path": str, "display_title": str, "workflow_id": int, "run_number": int,
    "jobs": list,
}


def _jobs_problem(jobs: list[Any]) -> str | None:
    for job in jobs:
        if not isinstance(job, dict) or not isinstance(job.get("name"), str):
            return "each job must be an object with a name"
        steps, notes = job.get("steps") or [], job.get("annotations") or []
        if not isinstance(steps, list) or not all(isinstance(s, dict) and isinstance(s.get("name"), str)
                                                    for s in steps):
            return "steps must be a list of objects with a name"
        if not isinstance(notes, list) or not all(isinstance(a, dict) and isinstance(a.get("message"), str)
                                                    for a in notes):
            return "annotations must be a list of objects with a message"
    return None


def _run_data(body: dict[str, Any]) -> dict[str, Any] | str:
    data = {}
    for key, kind in _RUN_FIELDS.items():
        if key in body:
            if not isinstance(body[key], kind):
                return f"{key} has the wrong type"
            data[key] = body[key]
    problem = _jobs_problem(data.get("jobs") or [])
    return problem if problem is not None else data


async def _named(request: web.Request) -> tuple[dict[str, Any], Repository | None]:
    """The JSON body and the repository its `owner`/`repo` name (None when there is no such repository)."""
    body = await body_of(request)
    if not isinstance(body, dict):
        return {}, None
    return body, ctx(request).state.repo(str(body.get("owner", "")), str(body.get("repo", "")))


async def create_run(request: web.Request) -> web.Response:
    c = ctx(request)
    body, repo = await _named(request)
    if repo is None:
        return bad("body must name an existing repository: {owner, repo, ...}", 404)
    data = _run_data(body)
    if isinstance(data, str):
        return bad(data)
    run = add_run(c.state, repo, data)
    return ok(shapes.workflow_run(run, c.state.urls), 201)


async def patch_run(request: web.Request) -> web.Response:
    c = ctx(request)
    try:
        run = c.state.runs[int(request.match_info["id"])]
    except (KeyError, ValueError):
        return bad("no such run", 404)
    body = await body_of(request)
    data = _run_data(body) if isinstance(body, dict) else "body must be a JSON object"
    if isinstance(data, str):
        return bad(data)
    update_run(run, data)
    return ok(shapes.workflow_run(run, c.state.urls))


async def list_runs(request: web.Request) -> web.Response:
    c = ctx(request)
    return ok([shapes.workflow_run(r, c.state.urls) for r in c.state.runs.values()])


async def upload_artifact(request: web.Request) -> web.Response:
    c = ctx(request)
    body, repo = await _named(request)
    if repo is None:
        return bad("body must name an existing repository: {owner, repo, name, data}", 404)
    name, run_id = body.get("name") or "artifact", body.get("run_id")
    try:
        data = base64.b64decode(str(body.get("data") or ""), validate=True)
    except (binascii.Error, ValueError):
        return bad("data must be the artifact's bytes in base64")
    if not isinstance(name, str) or (run_id is not None and not isinstance(run_id, int)):
        return bad("name must be a string and run_id an integer")
    artifact = Artifact(next_id(), repo, name, data, run_id)
    c.state.artifacts[str(artifact.id)] = artifact
    return ok({"id": artifact.id, "name": name, "size_in_bytes": len(data)}, 201)


async def mint_job_token(request: web.Request) -> web.Response:
    c = ctx(request)
    _, repo = await _named(request)
    if repo is None:
        return bad("body must name an existing repository: {owner, repo}", 404)
    token = "ghs_" + secrets.token_urlsafe(27)  # the prefix of GitHub's installation (job) tokens
    c.state.add_job_token(repo, token)
    return ok({"token": token}, 201)


async def revoke_job_token(request: web.Request) -> web.Response:
    tokens = ctx(request).state.tokens
    body = await body_of(request)
    given = body.get("token") if isinstance(body, dict) else None
    found = next((t for t, account in tokens.items() if account.type == "Bot" and isinstance(given, str)
                  and hmac.compare_digest(t.encode(), given.encode())), None)
    if found is None:
        return bad("no such job token", 404)
    del tokens[found]
    return web.Response(status=204)


ROUTES = [
    ("POST", "/_sandbox/runs", create_run),
    ("GET", "/_sandbox/runs", list_runs),
    ("PATCH", "/_sandbox/runs/{id}", patch_run),
    ("POST", "/_sandbox/artifacts", upload_artifact),
    ("POST", "/_sandbox/job-tokens", mint_job_token),
    ("DELETE", "/_sandbox/job-tokens", revoke_job_token),
]
