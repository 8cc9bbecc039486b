"""The receiver's HTTP surface: accept briefs fast and strictly; report on them.

Order of checks on POST /api-endpoint, cheapest and least revealing first:
1. rate limit (before the body is read, so a flooding client cannot make us buffer anything);
2. body size (a declared Content-Length over the limit at once, otherwise counted while streaming);
3. JSON object (400 `invalid_json` / `invalid_brief`);
4. the secret, in constant time (403), *before* the field rules: a caller without the secret must not learn which
   fields are wrong or what the rules are, and must not make us decode megabytes of data: URIs;
5. every field rule and bound at once (400 `invalid_brief` with the list), via deployer.brief and the BRIEF_MAX_*
   settings;
6. the durable outbox (503 when it cannot be written; 200 only after the commit).
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from functools import partial
from typing import Any

from aiohttp import web
from aiohttp.web_urldispatcher import _default_expect_handler

from deployer import __version__
from deployer.brief import Brief, BriefError, parse_brief
from deployer.limits import BriefLimits
from receiver import events, status_api, status_page
from receiver.access import bearer as _bearer
from receiver.config import Settings
from receiver.dispatcher import Dispatcher
from receiver.intake import NotJSON, parse_json, stored_form
from receiver.outbox import Outbox, OutboxUnavailable, Streamed, TokenExpired
from receiver.payload import hash_token
from receiver.ratelimit import RateLimiter

SERVICE = "llm-pages-deployer"
OFFLOAD_BYTES = 256 * 1024  # bodies bigger than this are decoded and validated off the event loop
UNAVAILABLE_RETRY_S = "5"

OUTBOX = web.AppKey("outbox", Outbox)
SETTINGS = web.AppKey("settings", Settings)
LIMITER = web.AppKey("limiter", RateLimiter)

HTTP_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
              405: "method_not_allowed", 413: "too_large", 429: "rate_limited", 503: "unavailable"}


def error(status: int, code: str, detail: Any, headers: dict[str, str] | None = None) -> web.Response:
    """Every error has the same shape: {"error": CODE, "detail": ...}."""
    return web.json_response({"error": code, "detail": detail}, status=status, headers=headers)


@web.middleware
async def json_errors(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
                      ) -> web.StreamResponse:
    """aiohttp's own 404/405/... as JSON errors too; an unexpected exception is a logged 500, never a traceback."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        keep = {k: v for k, v in exc.headers.items() if k.lower() not in ("content-type", "content-length")}
        return error(exc.status, HTTP_CODES.get(exc.status, "http_error"), exc.reason, keep)
    except Exception:
        events.log.exception("stage=internal_error path=%s", request.path)
        return error(500, "internal", "unexpected error; it has been logged")


async def _expect(request: web.Request) -> web.Response | None:
    """Expect: 100-continue: refuse an over-limit Content-Length before the client sends the body."""
    limit = request.app[SETTINGS].max_body_bytes
    if request.content_length is not None and request.content_length > limit:
        return _too_large(request.remote or "unknown", limit)
    return await _default_expect_handler(request)


async def _read_limited(request: web.Request, limit: int) -> bytearray | None:
    """The body in one buffer, or None as soon as it passes `limit` bytes (nothing more is buffered)."""
    body = bytearray()
    while chunk := await request.content.readany():  # not iter_any(): no StopAsyncIteration raised per request
        if len(body) + len(chunk) > limit:
            return None
        body += chunk
    return body


def _validate(data: dict[str, Any], limits: BriefLimits, big: bool) -> tuple[Brief, str | Streamed]:
    brief = parse_brief(data, limits=limits)
    return brief, stored_form(brief, streamed=big)


async def _maybe_offload(big: bool, fn: Callable[..., Any], *args: Any) -> Any:
    return await asyncio.to_thread(fn, *args) if big else fn(*args)


def _secret_ok(given: object, expected: str) -> bool:
    return isinstance(given, str) and hmac.compare_digest(given.encode(), expected.encode())


async def accept(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    client = request.remote or "unknown"
    wait = request.app[LIMITER].check(client, time.monotonic())
    if wait:
        return _reject(client, 429, "rate_limited", f"too many requests from this client; retry in {wait:.0f} s",
                       {"Retry-After": f"{wait:.0f}"})
    limit = settings.max_body_bytes
    if request.content_length is not None and request.content_length > limit:
        return _too_large(client, limit)
    body = await _read_limited(request, limit)
    if body is None:
        return _too_large(client, limit)
    size = len(body)
    big = size > OFFLOAD_BYTES
    try:
        data = await _maybe_offload(big, partial(parse_json, body, ascii_over=OFFLOAD_BYTES))
    except NotJSON as exc:
        return _reject(client, 400, "invalid_json", f"the body is not valid JSON: {exc}")
    try:
        if not isinstance(data, dict):
            parse_brief(data)  # words the error for a body that is not an object
            raise AssertionError("parse_brief accepted a non-object")  # pragma: no cover
        if not _secret_ok(data.get("secret"), settings.shared_secret):
            return _reject(client, 403, "forbidden", "the secret is missing or wrong")
        brief, public_json = await _maybe_offload(big, _validate, data, settings.limits, big)
    except BriefError as exc:
        return _reject(client, 400, "invalid_brief", [e.as_dict() for e in exc.errors],
                       note=",".join(e.field for e in exc.errors))
    try:
        result = await request.app[OUTBOX].accept(brief.task, brief.round, brief.nonce, public_json)
    except OutboxUnavailable as exc:
        events.event("persist_failed", level=logging.ERROR, task=brief.task, round=brief.round, error=str(exc))
        return error(503, "unavailable", "cannot store the brief right now; retry later",
                     {"Retry-After": UNAVAILABLE_RETRY_S})
    status = "duplicate" if result.duplicate else "accepted"
    events.event(status, id=result.id, task=brief.task, round=brief.round, bytes=size)
    # {"status", "id"} written out: both are plain words of hex and letters (json_response would json.dumps them)
    return web.Response(body=f'{{"status":"{status}","id":"{result.id}"}}'.encode(), content_type="application/json",
                        charset="utf-8")


def _reject(client: str, status: int, code: str, detail: Any, headers: dict[str, str] | None = None, *,
            note: str | None = None) -> web.Response:
    """An error answer to a POST, logged with the client and (for 400s) the wrong fields' names, never values."""
    events.event("rejected", level=logging.WARNING, status=status, error=code, client=client, fields=note)
    return error(status, code, detail, headers)


def _too_large(client: str, limit: int) -> web.Response:
    return _reject(client, 413, "too_large", f"the body must be at most {limit} bytes (MAX_BODY_MB)")


def _unauthorized(detail: str) -> web.Response:
    return error(401, "unauthorized", detail, {"WWW-Authenticate": "Bearer"})


async def health(request: web.Request) -> web.Response:
    try:
        depth = await request.app[OUTBOX].depth()
    except OutboxUnavailable as exc:
        events.event("health_failed", level=logging.ERROR, error=str(exc))
        return web.json_response(
            {"error": "unavailable", "detail": "the outbox cannot be read", "status": "unhealthy",
             "service": SERVICE}, status=503)
    return web.json_response({
        "status": "healthy", "service": SERVICE, "version": __version__, "outbox": depth.as_dict(),
        "dispatch": {"repo": request.app[SETTINGS].repo, "per_minute": request.app[SETTINGS].dispatch_per_minute},
    })


def _operator(request: web.Request) -> bool:
    given = _bearer(request)
    return given is not None and hmac.compare_digest(given.encode(), request.app[SETTINGS].shared_secret.encode())


async def brief_status(request: web.Request) -> web.Response:
    if not _operator(request):
        return _unauthorized("send Authorization: Bearer <SHARED_SECRET>")
    try:
        status = await request.app[OUTBOX].status(request.match_info["id"])
    except OutboxUnavailable:
        return error(503, "unavailable", "the outbox cannot be read right now", {"Retry-After": UNAVAILABLE_RETRY_S})
    if status is None:
        return error(404, "not_found", "no brief with this id")
    return web.json_response(status.as_dict())


async def brief_retry(request: web.Request) -> web.Response:
    """Dispatch a failed brief again, once the operator fixed what made GitHub refuse it (token, repository)."""
    if not _operator(request):
        return _unauthorized("send Authorization: Bearer <SHARED_SECRET>")
    brief_id = request.match_info["id"]
    try:
        state = await request.app[OUTBOX].requeue(brief_id)
    except OutboxUnavailable:
        return error(503, "unavailable", "the outbox cannot be written right now", {"Retry-After": UNAVAILABLE_RETRY_S})
    if state is None:
        return error(404, "not_found", "no brief with this id")
    if state != "failed":
        return error(409, "not_failed", f"the brief is {state}; only a failed brief can be retried")
    events.event("requeued", id=brief_id)
    return web.json_response({"status": "pending", "id": brief_id})


async def brief_payload(request: web.Request) -> web.Response:
    """The full public brief for a dispatch that carried only a reference; the token opens this brief only."""
    brief_id = request.match_info["id"]
    token = _bearer(request)
    if token is None:
        return _unauthorized("send Authorization: Bearer <brief_token from the dispatch>")
    try:
        reader = await request.app[OUTBOX].open_payload(brief_id, hash_token(token))
    except TokenExpired:
        return _unauthorized("the brief_token has expired")
    except OutboxUnavailable:
        return error(503, "unavailable", "the outbox cannot be read right now", {"Retry-After": UNAVAILABLE_RETRY_S})
    if reader is None:
        return _unauthorized("this token does not open this brief")
    # Streamed from the outbox a piece at a time: a brief of megabytes is never held whole to be served.
    response = web.StreamResponse(headers={"Content-Type": "application/json"})
    response.content_length = reader.size
    try:
        await response.prepare(request)
        async for piece in reader.pieces():
            await response.write(piece)
        await response.write_eof()
    except OutboxUnavailable as exc:  # the answer has begun: cut it short, and the client sees it incomplete
        events.event("payload_failed", level=logging.ERROR, id=brief_id, error=str(exc))
        if request.transport is not None:
            request.transport.close()
        return response
    finally:
        await reader.close()
    events.event("payload_served", id=brief_id, bytes=reader.size)
    return response


def build_app(settings: Settings) -> web.Application:
    """The app owns its outbox and dispatcher: both start before the first request and stop after the last."""
    app = web.Application(middlewares=[json_errors], client_max_size=settings.max_body_bytes)
    app[SETTINGS] = settings
    app[OUTBOX] = Outbox(settings.data_dir, settings.outbox_sync)
    app[LIMITER] = RateLimiter(settings.rate_limit_per_minute)

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        problem = await app[OUTBOX].start()
        if problem is not None:
            events.event("outbox_unwritable", level=logging.ERROR, error=problem)
        dispatcher = Dispatcher(settings, app[OUTBOX])
        await dispatcher.start()
        yield
        await dispatcher.stop()
        await app[OUTBOX].close()

    app.cleanup_ctx.append(lifecycle)
    app.router.add_post("/api-endpoint", accept, expect_handler=_expect)
    app.router.add_get("/health", health)
    app.router.add_get("/briefs/{id}", brief_status)
    app.router.add_get("/briefs/{id}/payload", brief_payload)
    app.router.add_post("/briefs/{id}/retry", brief_retry)
    status_api.setup(app, settings, app[OUTBOX])
    status_page.setup(app)
    return app
