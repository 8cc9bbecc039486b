"""The background worker that turns outbox rows into repository_dispatch calls.

One request at a time, oldest first: GitHub asks integrators to make content-creating requests serially, and strict
first-in-first-out keeps round 1 of a task ahead of its round 2. A brief stays `pending` until GitHub answered 2xx
and that fact is committed, so a crash in between re-sends it after the restart (at-least-once; the action is
idempotent on its commit trailers). What each answer means lives in policy.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time

import aiohttp

from deployer import __version__
from receiver import events
from receiver.config import Settings
from receiver.outbox import Outbox, OutboxUnavailable, Pending
from receiver.payload import build_inline, build_reference, mint_token
from receiver.policy import Outcome, classify, pace_s

REQUEST_TIMEOUT_S = 30.0
OUTBOX_RETRY_S = 2.0
IDLE_POLL_S = 30.0  # safety net: the accept event normally wakes the worker at once


class Dispatcher:
    def __init__(self, settings: Settings, outbox: Outbox):
        self.settings = settings
        self.outbox = outbox
        self.url = f"{settings.github_api_url}/repos/{settings.repo}/dispatches"
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._session: aiohttp.ClientSession | None = None
        self._streak: tuple[str, int] = ("", 0)  # (brief id, transient failures in a row) for the queue's head

    async def start(self) -> None:
        self._session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S),
            headers={
                "Authorization": f"Bearer {self.settings.github_token}",
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": "2022-11-28",
                "User-Agent": f"llm-pages-deployer/{__version__}",
            },
        )
        self._task = asyncio.create_task(self._run(), name="dispatcher")

    async def stop(self, grace_s: float = 5.0) -> None:
        """Let an in-flight dispatch finish (up to `grace_s`) and record its answer, then stop."""
        self._stop.set()
        if self._task is not None:
            done, _ = await asyncio.wait({self._task}, timeout=grace_s)
            if not done:
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task
        if self._session is not None:
            await self._session.close()

    async def _pause(self, seconds: float) -> None:
        """Sleep, but wake at once on stop."""
        if seconds > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), seconds)

    async def _run(self) -> None:
        next_at = 0.0
        while not self._stop.is_set():
            try:
                self.outbox.accepted.clear()  # before the query: an accept after it sets the event again
                item = await self.outbox.next_pending()
                if item is None:
                    await self._wait_for_work()
                    continue
                await self._pause(next_at - time.monotonic())
                if self._stop.is_set():
                    break
                outcome, pace = await self._attempt(item)
                next_at = time.monotonic() + max(outcome.wait_s, pace)
            except OutboxUnavailable as exc:
                events.event("outbox_error", level=logging.ERROR, error=str(exc))
                await self._pause(OUTBOX_RETRY_S)
            except Exception:  # a bug must not silently end dispatching while the receiver keeps accepting
                events.log.exception("stage=dispatcher_error")
                await self._pause(OUTBOX_RETRY_S)

    async def _wait_for_work(self) -> None:
        waiters = {asyncio.ensure_future(self.outbox.accepted.wait()), asyncio.ensure_future(self._stop.wait())}
        _, pending = await asyncio.wait(waiters, timeout=IDLE_POLL_S, return_when=asyncio.FIRST_COMPLETED)
        for waiter in pending:
            waiter.cancel()

    async def _attempt(self, item: Pending) -> tuple[Outcome, float]:
        """Send `item` once and record the answer; returns the outcome and the pacing gap GitHub's headers ask."""
        body = build_inline(item.id, item.accepted_at, item.brief_json)
        mode = "inline"
        if body is None:
            token, token_hash = mint_token()
            await self.outbox.add_token(item.id, token_hash, self.settings.token_ttl_s)
            assert self.settings.public_url is not None
            body = build_reference(item.id, item.accepted_at, self.settings.public_url, token, item.task, item.round)
            mode = "reference"
        status, headers, message = await self._post(body)
        streak = self._streak[1] + 1 if self._streak[0] == item.id else 1
        outcome = classify(status, headers, message, transient_attempts=streak, now=time.time())
        # Rate-limit waits say nothing about the brief, so they neither count nor reset its run of failures.
        if outcome.kind != "retry":
            streak = 0
        elif not outcome.counts_towards_giving_up:
            streak -= 1
        self._streak = (item.id, streak)
        fields = {"id": item.id, "task": item.task, "round": item.round, "mode": mode, "status": status}
        if outcome.kind == "dispatched":
            await self._record(item, error=None, state="dispatched", mode=mode)
            events.event("dispatched", **fields)
        elif outcome.kind == "failed":
            await self._record(item, error=outcome.reason, state="failed", mode=mode)
            events.event("failed", level=logging.ERROR, **fields, reason=outcome.reason)
        else:
            await self._record(item, error=outcome.reason, state="pending", mode=None)
            events.event("retry", level=logging.WARNING, **fields, wait_s=round(outcome.wait_s, 3),
                         reason=outcome.reason)
        return outcome, pace_s(self.settings.dispatch_per_minute, headers, time.time())

    async def _record(self, item: Pending, *, error: str | None, state: str, mode: str | None) -> None:
        """Commit the attempt's result, retrying while the outbox is unwritable.

        Moving on without it would leave a dispatched brief `pending`, and it would be sent again.
        """
        while True:
            try:
                await self.outbox.record_attempt(item.id, error=error, state=state, mode=mode)
                return
            except OutboxUnavailable as exc:
                events.event("outbox_error", level=logging.ERROR, id=item.id, task=item.task, round=item.round,
                             error=str(exc))
                if self._stop.is_set():
                    return
                await self._pause(OUTBOX_RETRY_S)

    async def _post(self, body: bytes) -> tuple[int | None, dict[str, str], str]:
        assert self._session is not None
        try:
            async with self._session.post(self.url, data=body, headers={"Content-Type": "application/json"}) as resp:
                text = await resp.text(errors="replace")
                return resp.status, dict(resp.headers), _message(text)
        except (aiohttp.ClientError, TimeoutError) as exc:
            return None, {}, f"{type(exc).__name__}: {exc}"[:300]


def _message(text: str) -> str:
    """GitHub's error `message` (plus its validation `errors`), or the start of a non-JSON body."""
    try:
        data = json.loads(text)
    except ValueError:
        return text.strip()[:300]
    if not isinstance(data, dict):
        return text.strip()[:300]
    message = str(data.get("message", ""))
    if data.get("errors"):
        message += f" {json.dumps(data['errors'])[:200]}"
    return message[:300]
