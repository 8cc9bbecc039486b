"""Test-only routes under /_sandbox/ (no auth): what tests and tools inspect, arm or switch. See README.md;
what the Actions service and the runner use (runs, artifacts, job tokens) is in routes_sandbox_actions.py."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp import web

from sandbox.github.api import ctx
from sandbox.github.faults import FaultError, parse_fault
from sandbox.github.settings import BadSetting, updated


def ok(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status)


def bad(message: str, status: int = 400) -> web.Response:
    return web.json_response({"error": message}, status=status)


async def body_of(request: web.Request) -> Any:
    try:
        return json.loads(await request.read() or b"{}")
    except ValueError:
        return None


async def info(request: web.Request) -> web.Response:
    s = ctx(request).state
    users = [{"login": a.login, "token": a.token} for a in s.accounts.values() if a.type == "User"]
    orgs = [{"login": a.login, "members": sorted(a.members)} for a in s.accounts.values() if a.type != "User"]
    return ok({"api_url": s.urls.api, "server_url": s.urls.server, "pages_hosts": s.urls.pages,
                "data_dir": str(s.data_dir), "users": users, "orgs": orgs, "build_delay": s.build_delay})


async def dispatches(request: web.Request) -> web.Response:
    return ok(ctx(request).state.dispatches)


async def clear_dispatches(request: web.Request) -> web.Response:
    ctx(request).state.dispatches.clear()
    return web.Response(status=204)


async def arm_fault(request: web.Request) -> web.Response:
    try:
        fault = parse_fault(await body_of(request))
    except FaultError as exc:
        return bad(str(exc))
    ctx(request).faults.arm(fault)
    return ok(fault.describe(), 201)


async def list_faults(request: web.Request) -> web.Response:
    return ok([f.describe() for f in ctx(request).faults.armed])


async def clear_faults(request: web.Request) -> web.Response:
    ctx(request).faults.clear()
    return web.Response(status=204)


async def list_requests(request: web.Request) -> web.Response:
    return ok(list(ctx(request).requests))


async def clear_requests(request: web.Request) -> web.Response:
    ctx(request).requests.clear()
    return web.Response(status=204)


async def spec_violations(request: web.Request) -> web.Response:
    checker = ctx(request).checker
    await asyncio.to_thread(checker.drain)
    return ok(checker.violations)


async def clear_spec_violations(request: web.Request) -> web.Response:
    checker = ctx(request).checker
    await asyncio.to_thread(checker.drain)
    checker.violations.clear()
    return web.Response(status=204)


async def pages_faults(request: web.Request) -> web.Response:
    body = await body_of(request)
    if not isinstance(body, dict):
        return bad("body must be a JSON object {owner, repo, count}")
    repo = ctx(request).state.repo(str(body.get("owner", "")), str(body.get("repo", "")))
    count = body.get("count", 1)
    if repo is None or repo.pages is None:
        return bad("no such repository with Pages enabled", 404)
    if not isinstance(count, int) or isinstance(count, bool) or count < 0:
        return bad("count must be a non-negative integer")
    repo.pages.fail_next = count
    return ok({"owner": repo.owner.login, "repo": repo.name, "count": count}, 201)


async def pushes(request: web.Request) -> web.Response:
    return ok(ctx(request).state.pushes)


async def clear_pushes(request: web.Request) -> web.Response:
    ctx(request).state.pushes.clear()
    return web.Response(status=204)


async def get_settings(request: web.Request) -> web.Response:
    return ok(ctx(request).state.settings.as_dict())


async def patch_settings(request: web.Request) -> web.Response:
    """Turn behaviours on or off at run time: `{"jekyll": false, "cdn_max_age": 2}` (see settings.py)."""
    state = ctx(request).state
    try:
        state.settings = updated(state.settings, await body_of(request))
    except BadSetting as exc:
        return bad(str(exc))
    return ok(state.settings.as_dict())


async def pacing(request: web.Request) -> web.Response:
    return ok(list(ctx(request).limits.pacing))


async def clear_pacing(request: web.Request) -> web.Response:
    ctx(request).limits.pacing.clear()
    return web.Response(status=204)


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
    ("GET", "/_sandbox/pushes", pushes),
    ("DELETE", "/_sandbox/pushes", clear_pushes),
    ("GET", "/_sandbox/settings", get_settings),
    ("PATCH", "/_sandbox/settings", patch_settings),
    ("GET", "/_sandbox/pacing", pacing),
    ("DELETE", "/_sandbox/pacing", clear_pacing),
]
