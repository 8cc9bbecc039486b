"""`deployer sandbox github`: the GitHub REST emulator (plus smart-HTTP git and the web URLs) and one Pages host per
owner (README.md says what each address serves and which GitHub behaviours are switched how).

One middleware does, for every call to a GitHub path, what api.github.com does around its handlers: injected
faults first, then authentication (`token X`, `Bearer X` or Basic with the token as password), then the primary
and secondary rate limits, then the handler; errors become GitHub's JSON, an unexpected exception is logged and
answered 500. Every answer carries the rate-limit headers, is recorded for `/_sandbox/requests`, and is checked
against the OpenAPI description (mismatches listed at `/_sandbox/spec-violations`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import shutil
import sys
import tempfile
import uuid
from collections.abc import Awaitable, Callable
from contextlib import suppress
from pathlib import Path
from typing import Any

from aiohttp import web

from deployer.serving import base_url, bind_socket, run_servers
from sandbox.github import (
    githttp,
    pages_host,
    routes_actions,
    routes_contents,
    routes_git,
    routes_pages,
    routes_repos,
    routes_sandbox,
    routes_sandbox_actions,
    routes_statuses,
)
from sandbox.github.api import CTX, JSON_TYPE, Context, authenticate, log
from sandbox.github.errors import ApiError, default_error_body
from sandbox.github.faults import Faults
from sandbox.github.ratelimit import RateLimits
from sandbox.github.settings import from_arguments
from sandbox.github.spec import BackgroundChecker, Operation, Spec
from sandbox.github.state import Account, State, Urls

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
# Statuses before contents: `/commits/{ref}/status` must not be read as a commit named `x/status`.
REST_ROUTES: list[tuple[str, str, Handler]] = [
    *routes_repos.ROUTES, *routes_actions.ROUTES, *routes_git.ROUTES, *routes_statuses.ROUTES,
    *routes_contents.ROUTES, *routes_pages.ROUTES,
]
# Path parameters that may contain '/' (`x-multi-segment` in the description, or a file path).
_MULTI_SEGMENT = {"{ref}": "{ref:.+}", "{path}": "{path:.*}"}
WEB_KEY = web.AppKey("web_resources", set)
# First path segments of GitHub's REST API (names github.com reserves), never an owner of web URLs.
API_ROOTS = frozenset({"user", "users", "orgs", "repos", "rate_limit", "search", "gists", "notifications", "app",
                       "applications", "installation", "meta", "emojis", "events", "feeds", "licenses", "markdown",
                       "organizations", "teams", "zen", "octocat", "enterprises", "marketplace_listing", "gitignore",
                       "codes_of_conduct", "issues", "versions"})


def aiohttp_path(template: str) -> str:
    for plain, pattern in _MULTI_SEGMENT.items():
        template = template.replace(plain, pattern)
    return template


def _error_response(exc: ApiError, docs: str | None) -> web.Response:
    return web.Response(body=json.dumps(exc.body(docs or "https://docs.github.com/rest")).encode(),
                        status=exc.status, headers={"Content-Type": JSON_TYPE, **exc.headers})


def _fault_response(status: int, headers: dict[str, str], body: Any, request_id: str) -> web.Response:
    if body is None:
        body = default_error_body(status, request_id)
    if isinstance(body, str):
        return web.Response(text=body, status=status, headers={"Content-Type": "text/plain", **headers})
    return web.Response(body=json.dumps(body).encode(), status=status, headers={"Content-Type": JSON_TYPE, **headers})


@web.middleware
async def github_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    resource = request.match_info.route.resource
    if request.path.startswith("/_sandbox/"):
        return await handler(request)
    if resource is not None and resource in request.app[WEB_KEY]:
        if request.match_info.get("owner") not in API_ROOTS:
            return await handler(request)
        resource = None  # e.g. GET /user/repos: a REST path this emulator lacks, answered as GitHub's JSON 404
    c = request.app[CTX]
    template = resource.canonical if resource is not None else None
    op = c.spec.operation(request.method, template)
    request_id = uuid.uuid4().hex[:20].upper()
    fault = c.faults.take(request.method, template, request.path)
    if fault is not None and fault.delay:
        await asyncio.sleep(fault.delay)
    user: Account | None = None
    if fault is not None and fault.status is not None:
        with suppress(ApiError):
            user = authenticate(request.headers.get("Authorization"), c.state)
        headers = {**c.limits.headers(user.login if user else None), **fault.headers}
        response: web.StreamResponse = _fault_response(fault.status, headers, fault.body, request_id)
    else:
        response = await _answer(request, handler, c, op, request_id)
        user = request.get("user")
        for key, value in c.limits.headers(user.login if user else None).items():
            response.headers.setdefault(key, value)
    injected = fault is not None and fault.status is not None
    if user is not None:
        # A classic token's scopes, which clients (e.g. `deployer doctor`) read from every answer.
        response.headers.setdefault("X-OAuth-Scopes", c.state.scopes)
    response.headers.setdefault("X-GitHub-Request-Id", request_id)
    response.headers.setdefault("X-GitHub-Api-Version-Selected", "2022-11-28")
    response.headers.setdefault("X-GitHub-Media-Type", "github.v3; format=json")
    route = f"{request.method} {template}" if op is not None else None
    c.requests.append({"method": request.method, "path": request.path, "route": route, "status": response.status,
                       "user": user.login if user else None, "operation": op.operation_id if op else None,
                       "injected": injected})
    if op is not None and not injected and isinstance(response, web.Response):
        body = response.body if isinstance(response.body, bytes) else b""
        c.checker.submit(op, response.status, dict(response.headers), body, request.path)
    return response


async def _answer(request: web.Request, handler: Handler, c: Context, op: Operation | None,
                  request_id: str) -> web.StreamResponse:
    """Authentication, rate limits, the handler; every failure as GitHub's JSON error (500 only for our bugs)."""
    try:
        user = authenticate(request.headers.get("Authorization"), c.state)
        request["user"] = user
        free = op is not None and op.operation_id == "rate-limit/get"  # "does not count against your limit"
        if user is None and not free:
            raise ApiError(401, "Requires authentication")
        if op is None:
            raise ApiError(404, "Not Found")
        if not free:
            c.limits.charge(user.login if user else None, user.id if user else None, request.method, request.path,
                            request_id, c.state.settings)
        return await handler(request)
    except ApiError as exc:
        return _error_response(exc, op.docs_url if op else None)
    except web.HTTPException as exc:
        if exc.status not in (404, 405):
            raise
        return _error_response(ApiError(404, "Not Found"), None)
    except Exception:
        log.exception("bug answering %s %s", request.method, request.path)
        return _error_response(ApiError(500, "Server Error"), None)


def build_app(context: Context) -> web.Application:
    app = web.Application(middlewares=[github_middleware], client_max_size=200 * 1024 * 1024)
    app[CTX] = context
    app[WEB_KEY] = set()
    for method, path, test_only in [*routes_sandbox.ROUTES, *routes_sandbox_actions.ROUTES]:
        app.router.add_route(method, path, test_only)
    for method, template, rest in REST_ROUTES:
        app.router.add_route(method, aiohttp_path(template), rest)
    for method, path, web_side in githttp.ROUTES:
        app[WEB_KEY].add(app.router.add_route(method, path, web_side).resource)
    return app


class BadAccounts(ValueError):
    pass


def parse_accounts(users: list[str], tokens: list[str], orgs: list[str]) -> tuple[list[tuple[str, str]],
                                                                                  list[tuple[str, list[str]]]]:
    """(login, token) pairs and (org, members) from the command line; BadAccounts says what is wrong."""
    users = users or ["sandbox"]
    tokens = tokens or (["sandbox-token"] if users == ["sandbox"] else [])
    if len(users) != len(tokens):
        raise BadAccounts("give one --token for each --user, in the same order")
    if len(set(tokens)) != len(tokens) or not all(tokens) or not all(users):
        raise BadAccounts("logins and tokens must be non-empty, tokens distinct")
    known = {u.lower() for u in users}
    parsed_orgs = []
    for spec in orgs:
        org, _, members = spec.partition("=")
        names = [m for m in members.split(",") if m]
        if not org or not names or any(m.lower() not in known for m in names) or org.lower() in known:
            raise BadAccounts(f"--org {spec!r}: expected ORG=USER[,USER] naming users given with --user")
        parsed_orgs.append((org, names))
    return list(zip(users, tokens, strict=True)), parsed_orgs


def main(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s %(message)s")
    try:
        users, orgs = parse_accounts(list(args.user), list(args.token), list(args.org))
        settings = from_arguments(args)
    except (BadAccounts, argparse.ArgumentTypeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    data_dir = Path(args.data) if args.data else Path(tempfile.mkdtemp(prefix="sandbox-github-"))
    data_dir.mkdir(parents=True, exist_ok=True)

    async def make() -> tuple[list[tuple[web.Application, Any]], str]:
        api_sock = bind_socket(args.host, args.port)
        # One Pages host per owner, as <owner>.github.io: a port each, so any client reaches it by URL alone.
        owners = [login for login, _ in users] + [org for org, _ in orgs]
        pages_socks = {owner.lower(): bind_socket(args.host, args.pages_port + i if args.pages_port else 0)
                       for i, owner in enumerate(owners)}
        api = base_url(api_sock)
        urls = Urls(api, api, {owner: base_url(sock) for owner, sock in pages_socks.items()})
        state = State(urls, data_dir, args.build_delay, settings=settings,
                      scopes=", ".join(s.strip() for s in args.scopes.split(",") if s.strip()))
        for login, token in users:
            state.add_user(login, token)
        for org, members in orgs:
            state.add_org(org, members)
        adopted = state.adopt_existing()
        if adopted:
            log.info("adopted %d existing repositories under %s", adopted, data_dir)
        spec = Spec()
        context = Context(state, spec, Faults(), RateLimits(args.rate_limit), BackgroundChecker(spec))
        hosts = [(pages_host.build_host(context, owner), sock) for owner, sock in pages_socks.items()]
        return [(build_app(context), api_sock), *hosts], api

    try:
        return run_servers(make)
    finally:
        if not args.data:
            shutil.rmtree(data_dir, ignore_errors=True)
