"""The stories of briefs, gathered from the outbox, the journal and GitHub (receiver.story composes them)."""

from __future__ import annotations

import time
from collections.abc import Sequence

from deployer.progress import RUN_STAGE
from receiver.journal import Journal
from receiver.outbox import Outbox
from receiver.story import Reported, Story, compose, latest_run
from receiver.watcher import RunWatcher

MAX_SCAN = 1000  # with a state filter, how many recent briefs are looked through to fill a page


class Board:
    def __init__(self, outbox: Outbox, journal: Journal, watcher: RunWatcher):
        self.outbox = outbox
        self.journal = journal
        self.watcher = watcher

    async def stories(self, limit: int, task: str | None = None, state: str | None = None) -> list[Story]:
        """The `limit` most recent briefs (of `task`, in `state`), newest first."""
        rows = await self.outbox.recent(min(limit * 5, MAX_SCAN) if state else limit, task)
        reported = await self.journal.events_of(row.id for row in rows)
        finished = {brief_id for brief_id, events in reported.items() if ended(events)}
        runs = await self.watcher.facts_for(rows, finished)
        now = time.time()
        stories = [compose(row, reported[row.id], runs.get(row.id), now) for row in rows]
        return [s for s in stories if state is None or s.state == state][:limit]

    async def story(self, brief_id: str) -> Story | None:
        row = await self.outbox.status(brief_id)
        if row is None:
            return None
        reported = (await self.journal.events_of([brief_id]))[brief_id]
        runs = await self.watcher.facts_for([row], {brief_id} if ended(reported) else set())
        return compose(row, reported, runs.get(brief_id), time.time())


def ended(events: Sequence[Reported]) -> bool:
    """The run reported its own end: GitHub has nothing to add."""
    return any(r.event.stage == RUN_STAGE and r.event.status != "started" for r in latest_run(events))
