"""The background worker that turns outbox rows into repository_dispatch calls.

One request at a time, oldest first: GitHub asks integrators to make content-creating requests serially, and strict
first-in-first-out keeps round 1 of a task ahead of its round 2. A brief stays `pending` until GitHub answered 2xx
and that fact is committed. Each attempt is marked in flight, durably, before it is sent; an attempt whose outcome
is unknown (we died before recording GitHub's answer, or no answer came) is not simply sent again: first we look for
the run it started (lookup.py), and a brief whose run exists is marked dispatched. Only a brief with no run after
DISPATCH_LOOKUP_SECONDS is sent again. What each answer means lives in policy.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time

import aiohttp

from deployer.dispatch_payload import MAX_REQUEST_BYTES
from receiver import events, github
from receiver.config import Settings
from receiver.lookup import MAX_PAGES, find_run, poll_interval_s, search_params
from receiver.outbox import Outbox, OutboxUnavailable, Pending
from receiver.payload import ReportTokens, build_inline, build_reference, mint_token, report_link
from receiver.policy import Outcome, classify, pace_s

Answer = tuple[int | None, dict[str, str], str]  # status (None: no answer), headers, GitHub's message

OUTBOX_RETRY_S = 2.0
IDLE_POLL_S = 30.0  # safety net: the accept event normally wakes the worker at once


class Dispatcher:
    def __init__(self, settings: Settings, outbox: Outbox):
        self.settings = settings
        self.outbox = outbox
        self.url = f"{settings.github_api_url}/repos/{settings.repo}/dispatches"
        self.runs_url = f"{settings.github_api_url}/repos/{settings.repo}/actions/runs"
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._session: aiohttp.ClientSession | None = None
        self._streak: tuple[str, int] = ("", 0)  # (brief id, transient failures in a row) for the queue's head
        self.report_tokens = ReportTokens(settings.shared_secret, settings.token_ttl_s)

    async def start(self) -> None:
        self._session = github.session(self.settings.github_token, self.settings.dispatch_timeout_s)
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
                item = await self.outbox.next_pending(MAX_REQUEST_BYTES)
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
        """Send `item` once and record the answer; returns the outcome and the pacing gap GitHub's headers ask.

        An earlier attempt in doubt is settled first: found as a run, it is not sent again.
        """
        fields = {"id": item.id, "task": item.task, "round": item.round}
        if item.inflight_since is not None:
            settled = await self._settle_in_doubt(item, fields)
            if settled is not None or self._stop.is_set():
                return settled or Outcome("retry"), 0.0
        public_url = self.settings.public_url
        report = report_link(public_url, item.id, self.report_tokens.mint(item.id, time.time())) if public_url else None
        body = build_inline(item.id, item.accepted_at, item.brief_json, report)
        mode = "inline"
        if body is None:
            assert public_url is not None
            token, token_hash = mint_token()
            await self.outbox.add_token(item.id, token_hash, self.settings.token_ttl_s)
            body = build_reference(item.id, item.accepted_at, public_url, token, item.task, item.round, report)
            mode = "reference"
        await self.outbox.begin_attempt(item.id, mode)
        (status, headers, message), in_doubt = await self._post(body)
        outcome = self._classify(item, status, headers, message)
        fields.update(mode=mode, status=status)
        if outcome.kind == "dispatched":
            await self._record(item, error=None, state="dispatched")
            events.event("dispatched", **fields)
        elif outcome.kind == "failed":  # still in doubt if no answer came: an operator's retry looks first
            await self._record(item, error=outcome.reason, state="failed", in_doubt=in_doubt)
            events.event("failed", level=logging.ERROR, **fields, reason=outcome.reason)
        else:
            await self._record(item, error=outcome.reason, state="pending", in_doubt=in_doubt)
            events.event("retry", level=logging.WARNING, **fields, wait_s=round(outcome.wait_s, 3),
                         reason=outcome.reason, in_doubt=in_doubt or None)
        return outcome, pace_s(self.settings.dispatch_per_minute, headers, time.time())

    def _classify(self, item: Pending, status: int | None, headers: dict[str, str], message: str) -> Outcome:
        """What GitHub's answer means for `item`, counting its transient failures in a row."""
        streak = self._streak[1] + 1 if self._streak[0] == item.id else 1
        outcome = classify(status, headers, message, transient_attempts=streak, now=time.time())
        # Rate-limit waits say nothing about the brief, so they neither count nor reset its run of failures.
        if outcome.kind != "retry":
            streak = 0
        elif not outcome.counts_towards_giving_up:
            streak -= 1
        self._streak = (item.id, streak)
        return outcome

    async def _settle_in_doubt(self, item: Pending, fields: dict[str, object]) -> Outcome | None:
        """Mark `item` dispatched if its attempt in doubt started a run; None when it is to be sent again."""
        assert item.inflight_since is not None
        deadline = item.inflight_since + self.settings.dispatch_lookup_s
        while True:
            run_id, (status, headers, message) = await self._search(item.id, item.inflight_since)
            if run_id is not None:
                await self._record(item, error=None, state="dispatched")
                events.event("dispatched", **fields, found_run=run_id)
                return Outcome("dispatched")
            if status != 200:
                return await self._lookup_failed(item, fields, status, headers, message)
            if time.time() >= deadline or self._stop.is_set():
                if not self._stop.is_set():
                    events.event("not_found", level=logging.WARNING, **fields,
                                 waited_s=round(time.time() - item.inflight_since, 3))
                return None
            await self._pause(min(poll_interval_s(self.settings.dispatch_lookup_s), deadline - time.time()))

    async def _lookup_failed(self, item: Pending, fields: dict[str, object], status: int | None,
                             headers: dict[str, str], message: str) -> Outcome | None:
        """GitHub would not list the runs: wait when that is transient; send again when the token may not list them
        (at least once rather than never)."""
        outcome = self._classify(item, status, headers, f"cannot list workflow runs: {message}")
        if outcome.kind == "failed" and status is not None and status < 500:
            events.event("lookup_refused", level=logging.WARNING, **fields, status=status, reason=outcome.reason)
            return None
        if outcome.kind == "failed":
            await self._record(item, error=outcome.reason, state="failed", in_doubt=True)
            events.event("failed", level=logging.ERROR, **fields, reason=outcome.reason)
        else:
            await self._record(item, error=outcome.reason, state="pending", in_doubt=True)
            events.event("retry", level=logging.WARNING, **fields, status=status, wait_s=round(outcome.wait_s, 3),
                         reason=outcome.reason, in_doubt=True)
        return outcome

    async def _search(self, brief_id: str, since: float) -> tuple[int | None, Answer]:
        """The run that names `brief_id` among the repository_dispatch runs created since `since`, page by page."""
        answer: Answer = (200, {}, "")
        for page in range(1, MAX_PAGES + 1):
            answer, data = await self._get(self.runs_url, search_params(since, page))
            if answer[0] != 200:
                return None, answer
            run_id, more = find_run(data, brief_id, since)
            if run_id is not None or not more:
                return run_id, answer
        return None, answer

    async def _record(self, item: Pending, *, error: str | None, state: str, in_doubt: bool = False) -> None:
        """Commit the attempt's result, retrying while the outbox is unwritable.

        Moving on without it would leave a dispatched brief `pending`, and it would be sent again.
        """
        while True:
            try:
                await self.outbox.record_attempt(item.id, error=error, state=state, in_doubt=in_doubt)
                return
            except OutboxUnavailable as exc:
                events.event("outbox_error", level=logging.ERROR, id=item.id, task=item.task, round=item.round,
                             error=str(exc))
                if self._stop.is_set():
                    return
                await self._pause(OUTBOX_RETRY_S)

    async def _post(self, body: bytes) -> tuple[Answer, bool]:
        """GitHub's answer, and whether GitHub may have accepted the dispatch though no answer came."""
        assert self._session is not None
        try:
            async with self._session.post(self.url, data=body, headers={"Content-Type": "application/json"}) as resp:
                text = await resp.text(errors="replace")
                return (resp.status, dict(resp.headers), _message(text)), False
        except (aiohttp.ClientError, TimeoutError) as exc:
            # Refused or timed out while connecting: nothing was sent. Anything later: it may have arrived.
            sent = not isinstance(exc, aiohttp.ClientConnectorError | aiohttp.ConnectionTimeoutError)
            return (None, {}, f"{type(exc).__name__}: {exc}"[:300]), sent

    async def _get(self, url: str, params: dict[str, str]) -> tuple[Answer, dict[str, object]]:
        assert self._session is not None
        try:
            async with self._session.get(url, params=params) as resp:
                text = await resp.text(errors="replace")
                if resp.status != 200:
                    return (resp.status, dict(resp.headers), _message(text)), {}
                data = json.loads(text)
                return (200, dict(resp.headers), ""), data if isinstance(data, dict) else {}
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            return (None, {}, f"{type(exc).__name__}: {exc}"[:300]), {}


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
