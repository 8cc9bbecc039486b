"""What every REST handler shares: the per-process context, JSON in and out, and repository access checks.

Access follows api.github.com: a repository the caller cannot see is a 404, never a 403, "since we don't want
to provide any information about private repositories" (docs.github.com, "Troubleshooting the REST API",
"404 error for an existing repository"). Writes by someone without push access to a public repository get the
same 404 (a classic token sees the repository but may not touch it). Only PATCH/DELETE of a visible repository
answer 403 "Must have admin rights to Repository.", the message GitHub gives (the description's 403 for
`repos/delete`).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import json
import logging
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Literal

from aiohttp import web

from sandbox.github.consistency import lag_error
from sandbox.github.errors import ApiError, not_found
from sandbox.github.faults import Faults
from sandbox.github.ratelimit import RateLimits
from sandbox.github.spec import BackgroundChecker, Spec
from sandbox.github.state import Account, Repository, State

log = logging.getLogger("sandbox.github")


@dataclass
class Context:
    state: State
    spec: Spec
    faults: Faults
    limits: RateLimits
    checker: BackgroundChecker
    # The call log of /_sandbox/requests, bounded so a long `--serve` session does not grow without end.
    requests: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=100_000))
    background: set[asyncio.Task[None]] = field(default_factory=set)  # Pages builds in flight


CTX = web.AppKey("ctx", Context)
JSON_TYPE = "application/json; charset=utf-8"


def ctx(request: web.Request) -> Context:
    return request.app[CTX]


def caller(request: web.Request) -> Account:
    user = request.get("user")
    if user is None:
        raise ApiError(401, "Requires authentication")
    return user


def respond(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(body=json.dumps(data).encode(), status=status, headers={"Content-Type": JSON_TYPE,
                                                                              **(headers or {})})


def no_content() -> web.Response:
    return web.Response(status=204)


async def read_json(request: web.Request) -> dict[str, Any]:
    """The request body as an object; `{}` when empty. Malformed JSON is GitHub's 400 'Problems parsing JSON'."""
    raw = await request.read()
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "Problems parsing JSON") from None
    if not isinstance(data, dict):
        raise ApiError(400, "Problems parsing JSON")
    return data


_TYPE_NAMES = {str: "a string", bool: "a boolean", int: "an integer", float: "a number", dict: "an object",
               list: "an array"}


def typed(body: dict[str, Any], name: str, kind: type, *, required: bool = False, nullable: bool = False) -> Any:
    """One body field of the given JSON type (`float`: any JSON number), or GitHub's 422 'Invalid request'
    naming the field."""
    if name not in body:
        if required:
            raise ApiError(422, f'Invalid request.\n\n"{name}" wasn\'t supplied.')
        return None
    value = body[name]
    if value is None and nullable:
        return None
    accepted = (int, float) if kind is float else kind
    if not isinstance(value, accepted) or (kind in (int, float) and isinstance(value, bool)):
        raise ApiError(422, f"Invalid request.\n\nFor 'properties/{name}', {json.dumps(value)[:80]} is not "
                            f"{_TYPE_NAMES.get(kind, kind.__name__)}.")
    return value


def repository(request: web.Request, need: Literal["read", "write", "admin"] = "read") -> Repository:
    """The repository in the path, if the caller may `need` it; see the module docstring for the answers."""
    c = ctx(request)
    repo = c.state.repo(request.match_info["owner"], request.match_info["repo"])
    if repo is None:
        raise not_found()
    permission = c.state.permission(request.get("user"), repo)
    if permission is None:
        raise not_found()
    if need == "admin" and permission != "admin":
        raise ApiError(403, "Must have admin rights to Repository.")
    if need == "write" and permission == "read":
        raise not_found()
    lagging(request, repo)
    return repo


def lagging(request: web.Request, repo: Repository) -> None:
    """Raise what GitHub answers while a new repository is still settling (`consistency.py`)."""
    if time.monotonic() >= repo.ready_at:
        return
    resource = request.match_info.route.resource
    error = lag_error(request.method, resource.canonical if resource else None, request.match_info.get("ref"))
    if error is not None:
        raise error


def authenticate(header: str | None, state: State) -> Account | None:
    """The account of the presented token (`token X`, `Bearer X`, or Basic with the token as password);
    None without credentials; 401 'Bad credentials' for anything else. Tokens compare in constant time."""
    if not header:
        return None
    scheme, _, value = header.strip().partition(" ")
    token = value.strip()
    if scheme.lower() == "basic":
        try:
            token = base64.b64decode(token, validate=True).decode().partition(":")[2]
        except (binascii.Error, UnicodeDecodeError):
            token = ""
    elif scheme.lower() not in ("token", "bearer"):
        token = ""
    for known, account in state.tokens.items():
        if token and hmac.compare_digest(known.encode(), token.encode()):
            return account
    raise ApiError(401, "Bad credentials")
