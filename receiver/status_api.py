"""The story of each brief over HTTP: what runs report (`POST /briefs/{id}/events`) and what the operator reads
(`GET /briefs`, `GET /briefs/{id}/story`, the JSON behind the status page and `deployer status`).

Why a callback: only the run knows its repository, commit, page and the evaluator's answer as they happen, and the
Actions API shows none of them (outputs and job summaries cannot be read back through the REST API). So each dispatch
carries a report link (deployer.dispatch_payload) and the action posts its stages to it (action/progress.py). The
Actions API (receiver.watcher) completes the story for runs that never call back.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

from deployer.limits import TASK_CHARS
from deployer.progress import MAX_BODY_BYTES, Event, EventError, parse_event
from receiver import events
from receiver.access import Access, bearer
from receiver.board import Board
from receiver.config import Settings
from receiver.journal import Journal, JournalUnavailable
from receiver.outbox import Outbox, OutboxUnavailable
from receiver.payload import ReportTokens
from receiver.story import STATES, Story
from receiver.watcher import RunWatcher

BOARD = web.AppKey("board", Board)
ACCESS = web.AppKey("access", Access)
REPORT_TOKENS = web.AppKey("report_tokens", ReportTokens)
REDACT = web.AppKey("redact", tuple)

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
TASK_RE = re.compile(rf"[A-Za-z0-9._-]{{1,{TASK_CHARS}}}")
RETRY_S = "5"


class QueryError(ValueError):
    pass


def _error(status: int, code: str, detail: Any, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response({"error": code, "detail": detail}, status=status, headers=headers)


def _unavailable() -> web.Response:
    return _error(503, "unavailable", "the receiver's storage cannot be read right now", {"Retry-After": RETRY_S})


def filters(query: Any) -> tuple[int, str | None, str | None]:
    """`limit`, `task` and `state` from a query string; QueryError naming the parameter otherwise."""
    raw_limit = query.get("limit", str(DEFAULT_LIMIT))
    if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= MAX_LIMIT:
        raise QueryError(f"limit must be a whole number from 1 to {MAX_LIMIT}")
    task = query.get("task") or None
    if task is not None and TASK_RE.fullmatch(task) is None:
        raise QueryError(f"task must be 1-{TASK_CHARS} characters of A-Z a-z 0-9 . _ -")
    state = query.get("state") or None
    if state is not None and state not in STATES:
        raise QueryError(f"state must be one of {', '.join(STATES)}")
    return int(raw_limit), task, state


def version(data: object) -> str:
    """A short fingerprint of what a page shows, so its script reloads only when something changed."""
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


def listing(stories: list[Story]) -> dict[str, Any]:
    briefs = [s.summary() for s in stories]
    return {"briefs": briefs, "in_flight": any(s.in_flight for s in stories), "version": version(briefs)}


def story_body(story: Story) -> dict[str, Any]:
    body = story.as_dict()
    return {**body, "in_flight": story.in_flight, "version": version(body)}


async def list_briefs(request: web.Request) -> web.Response:
    if not request.app[ACCESS].allowed(request):
        return _error(401, "unauthorized", "send Authorization: Bearer <SHARED_SECRET>", {"WWW-Authenticate": "Bearer"})
    try:
        limit, task, state = filters(request.query)
    except QueryError as exc:
        return _error(400, "bad_request", str(exc))
    try:
        stories = await request.app[BOARD].stories(limit, task, state)
    except (OutboxUnavailable, JournalUnavailable):
        return _unavailable()
    return web.json_response(listing(stories), headers={"Cache-Control": "no-store"})


async def brief_story(request: web.Request) -> web.Response:
    if not request.app[ACCESS].allowed(request):
        return _error(401, "unauthorized", "send Authorization: Bearer <SHARED_SECRET>", {"WWW-Authenticate": "Bearer"})
    try:
        story = await request.app[BOARD].story(request.match_info["id"])
    except (OutboxUnavailable, JournalUnavailable):
        return _unavailable()
    if story is None:
        return _error(404, "not_found", "no brief with this id")
    return web.json_response(story_body(story), headers={"Cache-Control": "no-store"})


def redact(event: Event, secrets: tuple[str, ...]) -> Event:
    """The receiver's own secrets out of every fact, whatever the sender did (the action redacts its own)."""
    facts = dict(event.facts)
    for key, value in facts.items():
        for secret in secrets:
            value = value.replace(secret, "***")
        facts[key] = value
    return Event(event.stage, event.status, facts, event.run)


async def report_event(request: web.Request) -> web.Response:
    """A run's progress: the report token opens this brief only; bad bodies are 400 naming each problem."""
    brief_id = request.match_info["id"]
    token = bearer(request)
    if token is None:
        return _error(401, "unauthorized", "send Authorization: Bearer <report_token from the dispatch>",
                      {"WWW-Authenticate": "Bearer"})
    problem = request.app[REPORT_TOKENS].check(brief_id, token, time.time())
    if problem is not None:
        detail = "the report_token has expired" if problem == "expired" else "this token does not report on this brief"
        return _error(401, "unauthorized", detail, {"WWW-Authenticate": "Bearer"})
    body = await request.content.read(MAX_BODY_BYTES + 1)
    if len(body) > MAX_BODY_BYTES:
        return _error(413, "too_large", f"an event must be at most {MAX_BODY_BYTES} bytes")
    try:
        event = parse_event(json.loads(body))
    except EventError as exc:
        return _error(400, "invalid_event", exc.as_list())
    except (ValueError, RecursionError):
        return _error(400, "invalid_json", "the body is not valid JSON")
    board = request.app[BOARD]
    try:
        if await board.outbox.status(brief_id) is None:
            return _error(404, "not_found", "no brief with this id")
        kept = await board.journal.add_event(brief_id, redact(event, request.app[REDACT]), time.time())
    except (OutboxUnavailable, JournalUnavailable):
        return _unavailable()
    if not kept:
        return _error(409, "too_many_events", "this brief has all the events it may keep")
    events.event("reported", id=brief_id, step=event.stage, status=event.status,
                 run=event.run.id if event.run else None, level=logging.INFO)
    return web.json_response({"status": "recorded"})


def setup(app: web.Application, settings: Settings, outbox: Outbox) -> None:
    """The JSON API's routes, and the board they read (also the status page's), closed with the app."""
    journal = Journal(settings.data_dir)
    watcher = RunWatcher(settings, journal)
    app[BOARD] = Board(outbox, journal, watcher)
    app[ACCESS] = Access(settings.shared_secret, secure_cookies=(settings.public_url or "").startswith("https://"))
    app[REPORT_TOKENS] = ReportTokens(settings.shared_secret, settings.token_ttl_s)
    app[REDACT] = tuple(s for s in (settings.shared_secret, settings.github_token) if s)

    async def lifecycle(_: web.Application) -> AsyncIterator[None]:
        yield
        await watcher.close()
        await journal.close()

    app.cleanup_ctx.append(lifecycle)
    app.router.add_get("/briefs", list_briefs)
    app.router.add_get("/briefs/{id}/story", brief_story)
    app.router.add_post("/briefs/{id}/events", report_event)
