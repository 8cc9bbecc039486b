"""Asking GitHub's Actions API about the runs of dispatched briefs: lazily, cached, within GitHub's limits.

Nothing polls GitHub in the background: a lookup happens when someone looks (the status page, `deployer status`),
and then at most once per STATUS_LOOKUP_SECONDS for all the briefs on screen together: one listing of the
repository_dispatch runs created since the oldest of them (newest first, paged while some are still missing),
matched by the `[brief <id>]` in each run's title. The listing is a conditional request: GitHub answers 304 when
nothing changed, and "making a conditional request does not count against your primary rate limit if a 304 response
is returned" (docs.github.com, "Best practices for using the REST API"). A rate-limit answer (403/429) pauses lookups
until Retry-After or x-ratelimit-reset. What a completed run will never change (its conclusion, its error line) is
kept in the journal and never asked for again; briefs whose run already reported its end, or that show no run a day
after their dispatch (receiver.story.RUN_HORIZON_S), are not looked up at all.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import aiohttp

from deployer.isotime import parse
from receiver import events, github
from receiver.config import Settings
from receiver.journal import Journal
from receiver.lookup import MAX_PAGES, PER_PAGE, search_params
from receiver.outbox import Status
from receiver.runfacts import RunFacts, error_line, failed_check_runs, runs_by_brief
from receiver.story import never_ran

TIMEOUT_S = 10.0
MAX_CACHED = 64  # conditional-request validators kept (the oldest go first)
RATE_LIMITED_PAUSE_S = 60.0  # when GitHub says "rate limited" without saying until when

Got = tuple[int | None, Any]  # status (None: no answer) and the JSON body


class RunWatcher:
    def __init__(self, settings: Settings, journal: Journal):
        self.settings = settings
        self.journal = journal
        self.runs_url = f"{settings.github_api_url}/repos/{settings.repo}/actions/runs"
        self._session: aiohttp.ClientSession | None = None
        self._lock = asyncio.Lock()
        self._next_at = 0.0  # monotonic time of the next lookup allowed
        self._etags: dict[str, tuple[str, Any]] = {}  # URL with query -> (ETag, body)
        self.requests = 0  # GitHub requests made, for the log and tests
        self.not_modified = 0

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def facts_for(self, rows: Sequence[Status], finished: set[str]) -> dict[str, RunFacts]:
        """GitHub's facts about the runs of `rows`, from the journal, refreshed when due for the dispatched briefs
        that are neither `finished` (their run reported its end) nor settled (completed and fully read)."""
        known = await self.journal.runs_of(row.id for row in rows)
        now = time.time()
        wanted = [row for row in rows if row.state == "dispatched" and row.id not in finished
                  and not (row.id in known and known[row.id].settled)
                  and not (row.id not in known and never_ran(row, now))]
        if not wanted:
            return known
        async with self._lock:  # page loads at the same moment share one lookup
            if time.monotonic() < self._next_at:
                return {**known, **await self.journal.runs_of(row.id for row in wanted)}
            self._next_at = time.monotonic() + self.settings.status_lookup_s
            found = await self._look_up(wanted, known)
        await self.journal.save_runs(found)
        return {**known, **found}

    async def _look_up(self, wanted: Sequence[Status], known: Mapping[str, RunFacts]) -> dict[str, RunFacts]:
        ids = {row.id for row in wanted}
        since = min(_epoch(row.dispatched_at or row.accepted_at) for row in wanted)
        found: dict[str, RunFacts] = {}
        for page in range(1, MAX_PAGES + 1):
            status, body = await self._get(self.runs_url, search_params(since, page))
            if status != 200 or not isinstance(body, dict):
                break
            found.update(runs_by_brief(body, ids - found.keys()))
            runs = body.get("workflow_runs")
            if found.keys() >= ids or not isinstance(runs, list) or len(runs) < PER_PAGE:
                break
        for brief_id, facts in list(found.items()):
            earlier = known.get(brief_id)
            if earlier is not None and earlier.id == facts.id and earlier.error_checked:
                found[brief_id] = replace(facts, error=earlier.error, error_checked=True)
            elif facts.completed and facts.conclusion != "success":
                found[brief_id] = await self._with_error(facts)
        return found

    async def _with_error(self, facts: RunFacts) -> RunFacts:
        """The failed run's error line from its failed jobs' annotations; checked for good once GitHub answered."""
        status, jobs = await self._get(f"{self.runs_url}/{facts.id}/jobs", {"filter": "latest"})
        if status is None or status >= 500 or status in (403, 429):
            return facts  # try again at a later lookup
        lines = []
        for url in failed_check_runs(jobs) if status == 200 and isinstance(jobs, dict) else []:
            if not url.startswith(f"{self.settings.github_api_url}/"):
                continue  # our token goes to GitHub's API only
            got, annotations = await self._get(f"{url}/annotations", {"per_page": "50"})
            if got == 200 and isinstance(annotations, list) and (line := error_line(annotations)):
                lines.append(line)
        return replace(facts, error=lines[0] if lines else None, error_checked=True)

    async def _get(self, url: str, params: dict[str, str]) -> Got:
        """One GET, conditional when we saw this URL before; a 304 gives back the body we kept."""
        if self._session is None:
            self._session = github.session(self.settings.github_token, TIMEOUT_S)
        key = url + "?" + "&".join(f"{k}={v}" for k, v in sorted(params.items()))
        cached = self._etags.get(key)
        headers = {"If-None-Match": cached[0]} if cached else {}
        self.requests += 1
        try:
            async with self._session.get(url, params=params, headers=headers) as resp:
                if resp.status == 304 and cached:
                    self.not_modified += 1
                    return 200, cached[1]
                text = await resp.text(errors="replace")
                if resp.status in (403, 429):
                    self._pause(resp.headers)
                if resp.status != 200:
                    events.event("lookup_answer", level=logging.WARNING, url=url, status=resp.status)
                    return resp.status, None
                body = json.loads(text)
                if etag := resp.headers.get("ETag"):
                    self._etags.pop(key, None)
                    self._etags[key] = (etag, body)
                    while len(self._etags) > MAX_CACHED:
                        del self._etags[next(iter(self._etags))]
                return 200, body
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            events.event("lookup_failed", level=logging.WARNING, url=url, error=f"{type(exc).__name__}: {exc}"[:200])
            return None, None

    def _pause(self, headers: Mapping[str, str]) -> None:
        """No lookup until GitHub's limit resets (Retry-After, else x-ratelimit-reset when none remain)."""
        wait = RATE_LIMITED_PAUSE_S
        with contextlib.suppress(ValueError):
            if "Retry-After" in headers:
                wait = float(headers["Retry-After"])
            elif headers.get("x-ratelimit-remaining") == "0" and "x-ratelimit-reset" in headers:
                wait = float(headers["x-ratelimit-reset"]) - time.time()
        self._next_at = max(self._next_at, time.monotonic() + max(1.0, wait))


def _epoch(iso: str) -> float:
    stamp = parse(iso)
    return stamp.timestamp() if stamp else time.time() - 86400.0
