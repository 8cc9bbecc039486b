"""What the receiver learned about each brief after dispatching it: the runs' own reports and GitHub's run facts.

A SQLite file of its own (`$DEPLOYER_DATA_DIR/story.sqlite3`), apart from the outbox: the accept path never waits on
it, and its writes (a few per run) never share a transaction with accepts. One thread owns the connection, so reads
and writes are serialized without locks. Nothing secret is stored here: report tokens are checked and dropped,
events hold public facts and a redacted error line.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from deployer.progress import Event, RunRef
from receiver.outbox import utc_iso
from receiver.runfacts import RunFacts
from receiver.story import Reported

T = TypeVar("T")

DB_NAME = "story.sqlite3"
MAX_EVENTS_PER_BRIEF = 200  # a run reports about 25; a re-run or two more; past this a sender is misbehaving
SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    brief_id TEXT NOT NULL,
    received_at TEXT NOT NULL,
    stage TEXT NOT NULL,
    status TEXT NOT NULL,
    facts TEXT NOT NULL,
    run_id INTEGER,
    run_attempt INTEGER,
    run_url TEXT
);
CREATE INDEX IF NOT EXISTS events_by_brief ON events (brief_id, seq);
CREATE TABLE IF NOT EXISTS runs (
    brief_id TEXT PRIMARY KEY,
    facts TEXT NOT NULL
);
"""


class JournalUnavailable(RuntimeError):
    """The journal cannot be read or written right now."""


class Journal:
    def __init__(self, data_dir: Path):
        self.path = data_dir / DB_NAME
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="journal")
        self._conn: sqlite3.Connection | None = None

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, isolation_level=None)
            conn.execute("PRAGMA busy_timeout = 2000")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.executescript(SCHEMA)
            self._conn = conn
        return self._conn

    async def _run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        def call() -> T:
            try:
                return fn(self._connection())
            except (sqlite3.Error, OSError) as exc:
                if self._conn is not None:
                    with contextlib.suppress(sqlite3.Error):
                        self._conn.close()
                self._conn = None  # reopened by the next call, so the journal heals with the disk
                raise JournalUnavailable(f"cannot use the journal at {self.path}: {exc}") from None

        return await asyncio.get_running_loop().run_in_executor(self._thread, call)

    async def close(self) -> None:
        def shut() -> None:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

        await asyncio.get_running_loop().run_in_executor(self._thread, shut)
        self._thread.shutdown(wait=True)

    async def add_event(self, brief_id: str, event: Event, now: float) -> bool:
        """Keep `event`; False (nothing kept) when the brief already has MAX_EVENTS_PER_BRIEF."""

        def op(conn: sqlite3.Connection) -> bool:
            count = conn.execute("SELECT COUNT(*) FROM events WHERE brief_id = ?", (brief_id,)).fetchone()[0]
            if count >= MAX_EVENTS_PER_BRIEF:
                return False
            run = event.run
            conn.execute(
                "INSERT INTO events (brief_id, received_at, stage, status, facts, run_id, run_attempt, run_url)"
                " VALUES (?,?,?,?,?,?,?,?)",
                (brief_id, utc_iso(now), event.stage, event.status, json.dumps(event.facts),
                 run.id if run else None, run.attempt if run else None, run.url if run else None),
            )
            return True

        return await self._run(op)

    async def events_of(self, brief_ids: Iterable[str]) -> dict[str, list[Reported]]:
        ids = list(brief_ids)

        def op(conn: sqlite3.Connection) -> dict[str, list[Reported]]:
            out: dict[str, list[Reported]] = {brief_id: [] for brief_id in ids}
            rows = conn.execute(
                "SELECT brief_id, received_at, stage, status, facts, run_id, run_attempt, run_url FROM events"
                " WHERE brief_id IN (SELECT value FROM json_each(?)) ORDER BY seq", (json.dumps(ids),),
            ).fetchall()
            for brief_id, at, stage, status, facts, run_id, attempt, url in rows:
                run = RunRef(run_id, attempt or 1, url) if run_id is not None else None
                out[brief_id].append(Reported(at, Event(stage, status, json.loads(facts), run)))
            return out

        return await self._run(op)

    async def save_runs(self, runs: dict[str, RunFacts]) -> None:
        def op(conn: sqlite3.Connection) -> None:
            conn.executemany("INSERT OR REPLACE INTO runs (brief_id, facts) VALUES (?, ?)",
                             [(brief_id, json.dumps(facts.as_dict())) for brief_id, facts in runs.items()])

        if runs:
            await self._run(op)

    async def runs_of(self, brief_ids: Iterable[str]) -> dict[str, RunFacts]:
        ids = list(brief_ids)

        def op(conn: sqlite3.Connection) -> dict[str, RunFacts]:
            rows = conn.execute(
                "SELECT brief_id, facts FROM runs WHERE brief_id IN (SELECT value FROM json_each(?))",
                (json.dumps(ids),),
            ).fetchall()
            return {brief_id: RunFacts(**json.loads(facts)) for brief_id, facts in rows}

        return await self._run(op)
