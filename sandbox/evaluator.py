"""`deployer sandbox evaluator`: an evaluation_url that checks and records notifications, and fails on demand.

`POST` on any path is a notification attempt. Armed failures (`--fail-first N`, `POST /_sandbox/fail`) answer
before validation, like a grader that is down; otherwise a payload with wrong fields gets a 400 naming them.
Checks registered with `POST /_sandbox/checks` are run on each notified live page (sandbox/grading.py).
"""

from __future__ import annotations

import argparse
import json
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from deployer.brief import EMAIL_RE, TASK_RULE, FieldError, repo_name
from deployer.serving import base_url, bind_socket, run_servers
from sandbox.grading import Grader

SHA_RE = re.compile(r"[0-9a-f]{40}")
FIELDS = ("email", "task", "round", "nonce", "repo_url", "commit_sha", "pages_url")


def check_notification(payload: object) -> list[FieldError]:
    """Every wrong field of a notification `{email, task, round, nonce, repo_url, commit_sha, pages_url}`."""
    if not isinstance(payload, dict):
        return [FieldError("(body)", "must be a JSON object")]
    errors: list[FieldError] = []
    for name in FIELDS:
        value = payload.get(name)
        if value is None:
            errors.append(FieldError(name, "is required"))
        elif name == "round":
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                errors.append(FieldError(name, "must be an integer >= 1 (not a string)"))
        elif not isinstance(value, str):
            errors.append(FieldError(name, "must be a string"))
        elif (why := _string_problem(name, value)) is not None:
            errors.append(FieldError(name, why))
    return errors


def _string_problem(name: str, value: str) -> str | None:
    if name == "email" and not EMAIL_RE.fullmatch(value):
        return "must look like an e-mail address"
    if name == "task":
        try:
            repo_name(value)
        except ValueError:
            return TASK_RULE
    if name == "nonce" and not value.strip():
        return "must not be empty"
    if name == "commit_sha" and not SHA_RE.fullmatch(value):
        return "must be a full commit SHA: 40 lowercase hex digits"
    if name in ("repo_url", "pages_url"):
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            return "must be an http or https URL with a host"
    return None


@dataclass
class State:
    fail_count: int = 0
    fail_status: int = 500
    fail_headers: dict[str, str] = field(default_factory=dict)
    notifications: list[dict[str, Any]] = field(default_factory=list)  # {"body": payload, "path", "received_at", ...}
    attempts: list[dict[str, Any]] = field(default_factory=list)
    grader: Grader = field(default_factory=Grader)  # the checks sent with each brief, run on notified pages


STATE: web.AppKey[State] = web.AppKey("state", State)


def make_app(state: State) -> web.Application:
    app = web.Application(client_max_size=4 * 1024 * 1024)
    app[STATE] = state
    app.router.add_get("/notifications", list_notifications)
    app.router.add_get("/_sandbox/attempts", list_attempts)
    app.router.add_delete("/_sandbox/attempts", clear)
    app.router.add_post("/_sandbox/fail", arm_failures)
    app.router.add_post("/_sandbox/checks", register_checks)
    app.router.add_get("/_sandbox/checks", list_checks)
    app.router.add_delete("/_sandbox/checks", clear_checks)
    app.on_cleanup.append(lambda app: app[STATE].grader.stop())
    app.router.add_route("*", "/_sandbox/{tail:.*}", lambda _: _not_found())
    app.router.add_post("/{tail:.*}", notify)
    return app


async def _not_found() -> web.Response:
    return web.json_response({"error": "no such test route"}, status=404)


async def notify(request: web.Request) -> web.Response:
    state = request.app[STATE]
    raw = await request.read()
    now = time.time()
    attempt: dict[str, Any] = {
        "path": request.path,
        "received_at": datetime.fromtimestamp(now, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "received_ts": now,
        "content_type": request.content_type,
    }
    try:
        payload: Any = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        payload = None
        attempt["body"] = raw.decode("utf-8", "replace")
    else:
        attempt["body"] = payload
    state.attempts.append(attempt)
    if state.fail_count > 0:
        state.fail_count -= 1
        attempt.update(status=state.fail_status, errors=[{"field": "(armed)", "message": "failure on purpose"}])
        return web.json_response({"error": "failing on purpose (sandbox)"}, status=state.fail_status,
                                 headers=state.fail_headers)
    errors = [FieldError("(body)", "must be JSON")] if payload is None else check_notification(payload)
    if errors:
        detail = [e.as_dict() for e in errors]
        attempt.update(status=400, errors=detail)
        return web.json_response({"error": "invalid notification", "fields": detail}, status=400)
    entry = {k: attempt[k] for k in ("path", "received_at", "received_ts")} | {"body": payload}
    state.notifications.append(entry)
    state.grader.start(entry)
    attempt.update(status=200, errors=[])
    return web.json_response({"status": "received", "count": len(state.notifications)})


async def list_notifications(request: web.Request) -> web.Response:
    return web.json_response(request.app[STATE].notifications)


async def list_attempts(request: web.Request) -> web.Response:
    return web.json_response(request.app[STATE].attempts)


async def clear(request: web.Request) -> web.Response:
    state = request.app[STATE]
    state.attempts.clear()
    state.notifications.clear()
    return web.json_response({"cleared": True})


async def register_checks(request: web.Request) -> web.Response:
    """`{"task", "round", "checks", "attachments"?}`: what the grader sent; run on each notification of that round."""
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        body = None
    problem = request.app[STATE].grader.register(body)
    if problem is not None:
        return web.json_response({"error": problem}, status=400)
    return web.json_response({"registered": len(request.app[STATE].grader.registered)})


async def list_checks(request: web.Request) -> web.Response:
    return web.json_response(list(request.app[STATE].grader.registered.values()))


async def clear_checks(request: web.Request) -> web.Response:
    request.app[STATE].grader.registered.clear()
    return web.json_response({"cleared": True})


async def arm_failures(request: web.Request) -> web.Response:
    """`{"count": N, "status": 500, "headers": {...}}`: the next N attempts get that answer."""
    state = request.app[STATE]
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        body = None
    count = body.get("count") if isinstance(body, dict) else None
    status = body.get("status", 500) if isinstance(body, dict) else None
    headers = body.get("headers") or {} if isinstance(body, dict) else None
    if (
        isinstance(count, bool) or not isinstance(count, int) or count < 0
        or isinstance(status, bool) or not isinstance(status, int) or not 400 <= status <= 599
        or not isinstance(headers, dict)
    ):
        return web.json_response(
            {"error": 'body must be {"count": N >= 0, "status": 400-599 (default 500), "headers": {...}}'}, status=400,
        )
    state.fail_count, state.fail_status = count, status
    state.fail_headers = {str(k): str(v) for k, v in headers.items()}
    return web.json_response({"armed": count, "status": status})


def main(args: argparse.Namespace) -> int:
    state = State(fail_count=max(0, args.fail_first))

    async def make() -> tuple[list[tuple[web.Application, Any]], str]:
        sock = bind_socket(args.host, args.port)
        return [(make_app(state), sock)], base_url(sock)

    return run_servers(make)
