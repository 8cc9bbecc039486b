"""Test-only routes under /_sandbox/ (no auth): what tests and tools inspect or arm. See ARCHITECTURE.md."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import tarfile
import time
from typing import Any

from aiohttp import web

from sandbox.github import pages, shapes
from sandbox.github.api import ctx
from sandbox.github.faults import FaultError, parse_fault
from sandbox.github.routes_actions import add_run, update_run
from sandbox.github.store import MODE_FILE, Identity

MAX_ARTIFACT_BYTES = 100 * 1024 * 1024


def _ok(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status)


def _bad(message: str, status: int = 400) -> web.Response:
    return web.json_response({"error": message}, status=status)


async def _body(request: web.Request) -> Any:
    try:
        return json.loads(await request.read() or b"{}")
    except ValueError:
        return None


async def info(request: web.Request) -> web.Response:
    s = ctx(request).state
    users = [{"login": a.login, "token": a.token} for a in s.accounts.values() if a.type == "User"]
    orgs = [{"login": a.login, "members": sorted(a.members)} for a in s.accounts.values() if a.type != "User"]
    return _ok({"api_url": s.urls.api, "server_url": s.urls.server, "pages_url": s.urls.pages,
                "data_dir": str(s.data_dir), "users": users, "orgs": orgs, "build_delay": s.build_delay})


async def dispatches(request: web.Request) -> web.Response:
    return _ok(ctx(request).state.dispatches)


async def clear_dispatches(request: web.Request) -> web.Response:
    ctx(request).state.dispatches.clear()
    return web.Response(status=204)


async def arm_fault(request: web.Request) -> web.Response:
    try:
        fault = parse_fault(await _body(request))
    except FaultError as exc:
        return _bad(str(exc))
    ctx(request).faults.arm(fault)
    return _ok(fault.describe(), 201)


async def list_faults(request: web.Request) -> web.Response:
    return _ok([f.describe() for f in ctx(request).faults.armed])


async def clear_faults(request: web.Request) -> web.Response:
    ctx(request).faults.clear()
    return web.Response(status=204)


async def list_requests(request: web.Request) -> web.Response:
    return _ok(list(ctx(request).requests))


async def clear_requests(request: web.Request) -> web.Response:
    ctx(request).requests.clear()
    return web.Response(status=204)


async def spec_violations(request: web.Request) -> web.Response:
    checker = ctx(request).checker
    await asyncio.to_thread(checker.drain)
    return _ok(checker.violations)


async def clear_spec_violations(request: web.Request) -> web.Response:
    checker = ctx(request).checker
    await asyncio.to_thread(checker.drain)
    checker.violations.clear()
    return web.Response(status=204)


async def pages_faults(request: web.Request) -> web.Response:
    body = await _body(request)
    if not isinstance(body, dict):
        return _bad("body must be a JSON object {owner, repo, count}")
    repo = ctx(request).state.repo(str(body.get("owner", "")), str(body.get("repo", "")))
    count = body.get("count", 1)
    if repo is None or repo.pages is None:
        return _bad("no such repository with Pages enabled", 404)
    if not isinstance(count, int) or isinstance(count, bool) or count < 0:
        return _bad("count must be a non-negative integer")
    repo.pages.fail_next = count
    return _ok({"owner": repo.owner.login, "repo": repo.name, "count": count}, 201)


async def pages_deploy(request: web.Request) -> web.Response:
    """Publish a commit as a Pages build, whatever the site's build type: what a `build_type: workflow` site's
    own deploy job does on GitHub (`actions/deploy-pages`). `{owner, repo, sha?, artifact?}`; `sha` defaults to
    the head of the site's branch. `artifact` (base64 of the tar, gzipped or not, that `upload-pages-artifact`
    makes) is what the host then serves instead of the commit's tree (stored as an unreferenced commit, never on a
    branch); `sha` stays the build's commit (`pages_build_version`). Answers the `page-build` shape; the build
    settles like any other."""
    c = ctx(request)
    body = await _body(request)
    if not isinstance(body, dict):
        return _bad("body must be a JSON object {owner, repo, sha}")
    repo = c.state.repo(str(body.get("owner", "")), str(body.get("repo", "")))
    if repo is None or repo.pages is None:
        return _bad("no such repository with Pages enabled", 404)
    sha = body.get("sha") or repo.git.ref(f"refs/heads/{repo.pages.branch}")
    if not isinstance(sha, str) or repo.git.get_commit(sha) is None:
        return _bad("sha must name a commit of the repository")
    served = None
    if body.get("artifact") is not None:
        try:
            files = artifact_files(base64.b64decode(str(body["artifact"]), validate=True))
        except (ValueError, tarfile.TarError) as exc:
            return _bad(f"artifact: {exc}")
        tree = repo.git.build_tree(None, [(path, (MODE_FILE, repo.git.add_blob(data))) for path, data in files.items()])
        bot = Identity("github-pages[bot]", "github-pages[bot]@users.noreply.github.com", int(time.time()))
        served = repo.git.add_commit(tree, [], f"Pages artifact of {sha}\n", bot, bot)
    build = pages.start_build(c, repo, sha, None, served=served)
    return _ok(shapes.page_build(repo, build, c.state.urls), 201)


def artifact_files(data: bytes) -> dict[str, bytes]:
    """The files of a Pages artifact tar, as GitHub accepts it: regular files and directories only, no links,
    paths inside the archive, at most MAX_ARTIFACT_BYTES unpacked."""
    files: dict[str, bytes] = {}
    total = 0
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as archive:
        for member in archive:
            name = member.name.removeprefix("./").strip("/")
            if member.isdir() or not name:
                continue
            if not member.isfile():
                raise ValueError(f"{name} is a link or special file; the artifact must hold regular files only")
            if name.startswith("/") or ".." in name.split("/"):
                raise ValueError(f"{name} is outside the archive")
            total += member.size
            if total > MAX_ARTIFACT_BYTES:
                raise ValueError(f"the artifact is over {MAX_ARTIFACT_BYTES} bytes unpacked")
            extracted = archive.extractfile(member)
            files[name] = extracted.read() if extracted is not None else b""
    return files


async def pushes(request: web.Request) -> web.Response:
    return _ok(ctx(request).state.pushes)


async def clear_pushes(request: web.Request) -> web.Response:
    ctx(request).state.pushes.clear()
    return web.Response(status=204)


_RUN_FIELDS: dict[str, type | tuple[type, ...]] = {
    "name": str, "event": str, "status": str, "conclusion": (str, type(None)), "head_sha": str,
    "head_branch": (str, type(None)), "path": str, "display_title": str, "workflow_id": int, "run_number": int,
}


def _run_data(body: dict[str, Any]) -> dict[str, Any] | str:
    data = {}
    for key, kind in _RUN_FIELDS.items():
        if key in body:
            if not isinstance(body[key], kind):
                return f"{key} has the wrong type"
            data[key] = body[key]
    return data


async def create_run(request: web.Request) -> web.Response:
    """Register a workflow run (the local runner does, when it starts a job): `{owner, repo, event, status,
    conclusion, head_sha, head_branch, name, path, display_title}`; answers the `workflow-run` shape."""
    c = ctx(request)
    body = await _body(request)
    if not isinstance(body, dict):
        return _bad("body must be a JSON object")
    repo = c.state.repo(str(body.get("owner", "")), str(body.get("repo", "")))
    if repo is None:
        return _bad("no such repository", 404)
    data = _run_data(body)
    if isinstance(data, str):
        return _bad(data)
    run = add_run(c.state, repo, data)
    return _ok(shapes.workflow_run(run, c.state.urls), 201)


async def patch_run(request: web.Request) -> web.Response:
    c = ctx(request)
    try:
        run = c.state.runs[int(request.match_info["id"])]
    except (KeyError, ValueError):
        return _bad("no such run", 404)
    body = await _body(request)
    data = _run_data(body) if isinstance(body, dict) else "body must be a JSON object"
    if isinstance(data, str):
        return _bad(data)
    update_run(run, data)
    return _ok(shapes.workflow_run(run, c.state.urls))


async def list_runs(request: web.Request) -> web.Response:
    c = ctx(request)
    return _ok([shapes.workflow_run(r, c.state.urls) for r in c.state.runs.values()])


ROUTES = [
    ("GET", "/_sandbox/info", info),
    ("GET", "/_sandbox/dispatches", dispatches),
    ("DELETE", "/_sandbox/dispatches", clear_dispatches),
    ("POST", "/_sandbox/faults", arm_fault),
    ("GET", "/_sandbox/faults", list_faults),
    ("DELETE", "/_sandbox/faults", clear_faults),
    ("GET", "/_sandbox/requests", list_requests),
    ("DELETE", "/_sandbox/requests", clear_requests),
    ("GET", "/_sandbox/spec-violations", spec_violations),
    ("DELETE", "/_sandbox/spec-violations", clear_spec_violations),
    ("POST", "/_sandbox/pages/faults", pages_faults),
    ("POST", "/_sandbox/pages/deploy", pages_deploy),
    ("GET", "/_sandbox/pushes", pushes),
    ("DELETE", "/_sandbox/pushes", clear_pushes),
    ("POST", "/_sandbox/runs", create_run),
    ("GET", "/_sandbox/runs", list_runs),
    ("PATCH", "/_sandbox/runs/{id}", patch_run),
]
