"""`deployer sandbox openrouter`: OpenRouter's /api/v1 on 127.0.0.1, with a script queue for tests.

Order of a chat request, as OpenRouter: authenticate, parse, validate every model id, then try `model` and
each of `models` in turn: routing (retired slug, required parameters, credits: routing.py), then a scripted
answer or the built-in model (writer.py); a failed attempt (status >= 400) falls through to the next model, and
the last attempt's error is what the client gets. Surfaces: sandbox/openrouter/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import hmac
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from deployer.serving import base_url, bind_socket, run_servers
from sandbox.openrouter import planning, routing, writer
from sandbox.openrouter.billing import Account
from sandbox.openrouter.caching import PromptCache
from sandbox.openrouter.completion import DONE, KEEPALIVE, Answer
from sandbox.openrouter.errors import ApiError, default_headers, error_body
from sandbox.openrouter.limits import FreeLimits
from sandbox.openrouter.models import Catalogue, Model
from sandbox.openrouter.script import Fault, ScriptError, ScriptQueue, Success, load_dir, parse_responses
from sandbox.openrouter.validate import ChatRequest, parse_chat_request
from sandbox.openrouter.writer import STYLES, Style

MAX_BODY = 64 * 1024 * 1024  # briefs carry images as data URIs; OpenRouter answers 413 past its own limit
KEEPALIVE_EVERY = 0.5
HIDDEN_HEADERS = ("authorization",)


@dataclass
class State:
    catalogue: Catalogue
    queue: ScriptQueue
    key: str | None = None
    free_limits: FreeLimits | None = None
    log: list[dict[str, Any]] = field(default_factory=list)
    account: Account = field(default_factory=Account)
    style: Style = field(default_factory=Style)
    cache: PromptCache = field(default_factory=PromptCache)


STATE: web.AppKey[State] = web.AppKey("state", State)


def make_app(state: State) -> web.Application:
    app = web.Application(client_max_size=MAX_BODY, middlewares=[_errors])
    app[STATE] = state
    app.router.add_post("/api/v1/chat/completions", chat_completions)
    app.router.add_get("/api/v1/models", list_models)
    app.router.add_get("/api/v1/key", key_info)
    app.router.add_get("/api/v1/auth/key", key_info)
    app.router.add_get("/api/v1/credits", credits_info)
    app.router.add_post("/_sandbox/script", script_add)
    app.router.add_get("/_sandbox/script", script_count)
    app.router.add_delete("/_sandbox/script", script_clear)
    app.router.add_get("/_sandbox/requests", requests_list)
    app.router.add_delete("/_sandbox/requests", requests_clear)
    app.router.add_get("/_sandbox/style", style_get)
    app.router.add_post("/_sandbox/style", style_set)
    app.router.add_post("/_sandbox/credits", credits_set)
    return app


@web.middleware
async def _errors(request: web.Request, handler: Any) -> web.StreamResponse:
    """Every error, including aiohttp's own 404/405/413, in OpenRouter's `{"error": {...}}` body."""
    try:
        return await handler(request)
    except ApiError as exc:
        return web.json_response(exc.body(), status=exc.status)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return web.json_response(error_body(exc.status, exc.reason), status=exc.status)


def _authenticate(request: web.Request, state: State) -> str:
    scheme, _, key = request.headers.get("Authorization", "").partition(" ")
    key = key.strip()
    if scheme.lower() != "bearer" or not key:
        raise ApiError(401, "Missing Authentication header")
    if state.key is not None and not hmac.compare_digest(key.encode(), state.key.encode()):
        raise ApiError(401, "Invalid credentials: no API key matches the one given")
    return key


async def chat_completions(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE]
    raw = await request.read()
    try:
        body: Any = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        body = None
    entry: dict[str, Any] = {
        "headers": {k: v for k, v in request.headers.items() if k.lower() not in HIDDEN_HEADERS},
        "body": body if body is not None else raw.decode("utf-8", "replace"),
        "received_at": time.time(),
        "attempts": [],
        "status": None,
    }
    state.log.append(entry)
    try:
        _authenticate(request, state)
        if body is None:
            raise ApiError(400, "Request body must be valid JSON")
        chat = parse_chat_request(body, state.catalogue)
        response = await _answer(request, state, chat, entry)
    except ApiError as exc:
        entry["status"] = exc.status
        raise
    entry["status"] = response.status
    return response


async def _answer(request: web.Request, state: State, chat: ChatRequest, entry: dict[str, Any]) -> (
    web.StreamResponse
):
    last: web.StreamResponse | None = None
    for candidate in chat.models:
        try:
            model = routing.admit(candidate, chat, state.account)
        except ApiError as exc:
            entry["attempts"].append({"model": candidate.id, "status": exc.status})
            last = web.json_response(exc.body(), status=exc.status)
            continue
        scripted = state.queue.take(model.id, plan=bool(chat.user_texts) and planning.is_planning_request(
            chat.user_texts[-1]))
        if scripted is None and state.free_limits is not None and model.free:
            scripted = state.free_limits.check()
        if isinstance(scripted, Fault):
            await asyncio.sleep(scripted.delay)
            entry["attempts"].append({"model": model.id, "status": scripted.status})
            last = _fault_response(scripted)
            if scripted.status >= 400:
                continue
            return last
        entry["attempts"].append({"model": model.id, "status": 200})
        return await _success(request, state, chat, model, scripted, entry)
    assert last is not None
    return last


def _fault_response(fault: Fault) -> web.Response:
    headers = default_headers(fault.status) if fault.body is None else {}
    headers.update(fault.headers or {})
    if fault.body is None:
        return web.json_response(error_body(fault.status, fault.message, fault.metadata), status=fault.status,
                                 headers=headers)
    if isinstance(fault.body, str):
        kind = "text/html" if fault.body.lstrip().startswith("<") else "text/plain"
        headers.setdefault("Content-Type", kind)
        return web.Response(text=fault.body, status=fault.status, headers=headers)
    return web.json_response(fault.body, status=fault.status, headers=headers)


async def _success(
    request: web.Request, state: State, chat: ChatRequest, model: Model, scripted: Success | None,
    entry: dict[str, Any],
) -> web.StreamResponse:
    script = scripted or Success()
    finish, native = script.finish_reason, script.native_finish_reason
    content = script.content
    if content is None:
        said = writer.say(chat, model, state.style, routing.honoured_format(model, chat))
        entry["answer"] = {"style": state.style.name, "seed": state.style.seed, **said.log()}
        content, finish = said.content, "length" if said.cut else finish
        native = native or (model.finish.length if said.cut else model.finish.stop)
    use = state.cache.use(model, chat)
    answer = Answer(
        model=model, content=content, prompt_tokens=chat.prompt_tokens, finish_reason=finish,
        native_finish_reason=native, error=script.error, usage_override=script.usage,
        cached_tokens=use.cached, cache_write_tokens=use.written,
    )
    state.account.charge(float(answer.usage()["cost"]))
    if not chat.stream:
        await asyncio.sleep(script.delay)
        return web.json_response(answer.body())
    response = web.StreamResponse(headers={
        "Content-Type": "text/event-stream", "Cache-Control": "no-cache", "X-Accel-Buffering": "no",
    })
    await response.prepare(request)
    try:
        await response.write(KEEPALIVE)
        deadline = time.monotonic() + script.delay
        while (left := deadline - time.monotonic()) > 0:
            await asyncio.sleep(min(left, KEEPALIVE_EVERY))
            await response.write(KEEPALIVE)
        for event in answer.chunks():
            await response.write(b"data: " + json.dumps(event).encode() + b"\n\n")
        if answer.error is None:
            await response.write(DONE)
        await response.write_eof()
    except ConnectionError:
        pass  # the client aborted the stream: OpenRouter's documented way to cancel
    return response


async def list_models(request: web.Request) -> web.Response:
    return web.json_response(request.app[STATE].catalogue.listing())


async def key_info(request: web.Request) -> web.Response:
    """The current key: its limit is the account's credit (`--credits`), less what this server has billed."""
    state = request.app[STATE]
    key = _authenticate(request, state)
    account = state.account
    usage = round(account.usage, 10)
    return web.json_response({"data": {
        "label": f"{key[:11]}...{key[-3:]}" if len(key) > 16 else "sandbox-key",
        "limit": account.credits, "limit_reset": None, "limit_remaining": round(account.remaining, 10),
        "include_byok_in_limit": False,
        "usage": usage, "usage_daily": usage, "usage_weekly": usage, "usage_monthly": usage,
        "byok_usage": 0, "byok_usage_daily": 0, "byok_usage_weekly": 0, "byok_usage_monthly": 0,
        "is_free_tier": account.credits <= 0 or (state.free_limits is not None and state.free_limits.per_day < 1000),
        "is_provisioning_key": False,
        "rate_limit": {"requests": -1, "interval": "10s", "note": "This field is deprecated and safe to ignore."},
    }})


async def credits_info(request: web.Request) -> web.Response:
    """`GET /credits`: credits bought and used (OpenRouter asks a management key; any key works here)."""
    state = request.app[STATE]
    _authenticate(request, state)
    return web.json_response({"data": {"total_credits": state.account.credits,
                                       "total_usage": round(state.account.usage, 10)}})


async def credits_set(request: web.Request) -> web.Response:
    """`POST /_sandbox/credits {"credits": USD}`: a fresh balance (usage back to 0), as if the account were new."""
    state = request.app[STATE]
    body = await _json_object(request)
    credits = body.get("credits") if body is not None else None
    if isinstance(credits, bool) or not isinstance(credits, (int, float)):
        return web.json_response({"error": 'body must be {"credits": a number of USD}'}, status=400)
    state.account = Account(float(credits))
    return web.json_response({"credits": state.account.credits, "usage": 0.0})


async def _json_object(request: web.Request) -> dict[str, Any] | None:
    """A test-only route's body when it is a JSON object, else None."""
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    return body if isinstance(body, dict) else None


async def style_get(request: web.Request) -> web.Response:
    style = request.app[STATE].style
    return web.json_response({"style": style.name, "seed": style.seed})


async def style_set(request: web.Request) -> web.Response:
    """`POST /_sandbox/style {"style": "clean" | "varied", "seed"?: N}`: how the built-in model writes from now on."""
    state = request.app[STATE]
    body = await _json_object(request)
    name = body.get("style", state.style.name) if body is not None else None
    seed = body.get("seed", state.style.seed) if body is not None else None
    if name not in STYLES or isinstance(seed, bool) or not isinstance(seed, int):
        return web.json_response({"error": 'body must be {"style": "clean" or "varied", "seed": an integer}'},
                                 status=400)
    state.style = Style(name, seed)
    return await style_get(request)


async def script_add(request: web.Request) -> web.Response:
    state = request.app[STATE]
    try:
        responses = parse_responses(await request.json())
    except (json.JSONDecodeError, UnicodeDecodeError):
        return web.json_response({"error": 'body must be JSON: {"responses": [R, ...]}'}, status=400)
    except ScriptError as exc:
        return web.json_response({"error": str(exc)}, status=400)
    state.queue.extend(responses)
    return web.json_response({"queued": len(state.queue)})


async def script_count(request: web.Request) -> web.Response:
    return web.json_response({"queued": len(request.app[STATE].queue)})


async def script_clear(request: web.Request) -> web.Response:
    request.app[STATE].queue.clear()
    return web.json_response({"queued": 0})


async def requests_list(request: web.Request) -> web.Response:
    return web.json_response(request.app[STATE].log)


async def requests_clear(request: web.Request) -> web.Response:
    request.app[STATE].log.clear()
    return web.json_response({"cleared": True})


def main(args: argparse.Namespace) -> int:
    try:
        queue = ScriptQueue(load_dir(Path(args.script)) if args.script else ())
        free_limits = FreeLimits.parse(args.free_limits) if args.free_limits else None
    except (ScriptError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    extra = [m.strip() for m in (args.models or "").split(",") if m.strip()]
    state = State(Catalogue(extra), queue, key=args.key, free_limits=free_limits,
                  account=Account() if args.credits is None else Account(args.credits),
                  style=Style(args.style, args.seed))

    async def make() -> tuple[list[tuple[web.Application, Any]], str]:
        sock = bind_socket(args.host, args.port)
        return [(make_app(state), sock)], base_url(sock)

    return run_servers(make)
