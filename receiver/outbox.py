"""The durable outbox: an accepted brief is a committed SQLite row before its client hears 200.

One writer, group commit: writes queue up, and a single flusher commits everything queued in one transaction, then
resolves each waiting request's future, only after COMMIT returned. Under load one commit serves many requests.
With `normal` sync the commit runs on the event loop itself: without an fsync it is a few write() calls, and keeping
it off other threads avoids GIL hand-offs, which cost milliseconds once the loop is busy. With `full` sync it runs on
one writer thread, since an fsync must not stop the loop; so does a batch holding a brief of megabytes (a 20 MB row
takes 50-100 ms to write). Either way only one commit runs at a time.

Durability (OUTBOX_SYNC): WAL journaling, and the writer never checkpoints (a checkpointer thread does, every
CHECKPOINT_S), so no accept ever waits behind a checkpoint's copy and fsyncs.
- `normal` (default): synchronous=NORMAL. A commit is in the WAL file, in the kernel, before the 200: a process crash
  (kill -9, OOM, a bug) loses nothing. A power cut or kernel crash can lose the commits since the last checkpoint's
  fsync, at most about CHECKPOINT_S of accepts. Chosen as the default because the contract's promise is "a SIGKILL
  loses nothing that was answered 200" and its latency target is p99 < 5 ms: on the 2-core VM this was built on,
  one fsync alone has p50 2 ms and p99 8 ms, so no design that fsyncs before answering can meet that target there.
- `full`: synchronous=FULL, the WAL is fsynced at every commit: a brief answered 200 survives a power cut too.
  Group commit makes that one fsync per batch rather than per brief; latency is then the disk's fsync latency.
  Use it where the disk's fsync is fast or power loss matters more than milliseconds.

Any SQLite failure (read-only directory, full disk, a database locked for longer than BUSY_TIMEOUT_S) rolls the whole
batch back and fails its futures with OutboxUnavailable: nothing half-written remains and each client gets 503 and
may retry. Waiting for a lock never blocks the loop (it retries between sleeps). The writer reopens its connection for
the next batch, so the service heals by itself once the disk is writable again.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import os
import random
import sqlite3
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

DB_NAME = "outbox.sqlite3"
MAX_BATCH = 512
SYNC_MODES = ("normal", "full")
CHECKPOINT_S = 1.0
BUSY_TIMEOUT_S = 2.0  # a lock held longer than this answers 503 rather than stalling every request
BUSY_TIMEOUT_MS = int(BUSY_TIMEOUT_S * 1000)
BUSY_RETRY_S = 0.01
BIG_WRITE_CHARS = 256 * 1024
READ_PIECE = 1 << 20  # bytes of a stored brief read at a time when it is served

SCHEMA = """
CREATE TABLE IF NOT EXISTS briefs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    task TEXT NOT NULL,
    round INTEGER NOT NULL,
    nonce TEXT NOT NULL,
    brief TEXT NOT NULL,
    accepted_at TEXT NOT NULL,
    accepted_ts REAL NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'dispatched', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    dispatched_at TEXT,
    mode TEXT,
    inflight_since REAL,
    UNIQUE (task, round, nonce)
);
CREATE INDEX IF NOT EXISTS briefs_by_state ON briefs (state, seq);
CREATE TABLE IF NOT EXISTS brief_tokens (
    brief_id TEXT NOT NULL,
    token_hash BLOB NOT NULL,
    expires_ts REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS brief_tokens_by_brief ON brief_tokens (brief_id);
CREATE INDEX IF NOT EXISTS brief_tokens_by_expiry ON brief_tokens (expires_ts);
CREATE TABLE IF NOT EXISTS big_briefs (
    seq INTEGER PRIMARY KEY,
    json BLOB NOT NULL
);
"""
# A brief written in pieces (Streamed) lives in big_briefs under its briefs.seq, and its briefs.brief is ''. Its blob
# must be the last column of its row: SQLite keeps a zeroblob lazy only at the end of a record; anywhere else it
# allocates the whole of it, then copies it into the record, before a single piece is written.
INSERT_BRIEF = ("INSERT INTO briefs (id, task, round, nonce, brief, accepted_at, accepted_ts) VALUES (?,?,?,?,?,?,?)"
                " ON CONFLICT (task, round, nonce) DO NOTHING")
# Columns added since the first release, for outboxes created before them: (column, its definition).
ADDED_COLUMNS = (("inflight_since", "REAL"),)


class OutboxUnavailable(RuntimeError):
    """The outbox cannot be written or read right now (the caller answers 503)."""


class TokenExpired(LookupError):
    pass


@dataclass(frozen=True)
class Streamed:
    """A brief's JSON too big to hold twice: its size in bytes, and a function that gives its bytes in pieces
    (called once per attempt to write it). It is written into a blob of that size, piece by piece, so neither we
    nor SQLite ever build the whole value (binding one copies it, building its record copies it again)."""

    size: int
    pieces: Callable[[], Iterable[bytes]]


@dataclass(frozen=True)
class Accepted:
    id: str
    duplicate: bool


@dataclass(frozen=True)
class Pending:
    """The oldest brief still to dispatch, with its public JSON (no secret).

    `inflight_since` (epoch s) is set when an earlier attempt began and its outcome is unknown: the process died
    between sending and recording, or GitHub's answer never came. GitHub may have accepted it.
    """

    id: str
    task: str
    round: int
    accepted_at: str
    brief_json: str | None  # None: longer than the reader asked for (it goes by reference, unread)
    inflight_since: float | None = None


@dataclass(frozen=True)
class Status:
    id: str
    task: str
    round: int
    nonce: str
    accepted_at: str
    state: str
    attempts: int
    last_error: str | None
    dispatched_at: str | None
    mode: str | None

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Depth:
    pending: int
    oldest_pending_s: float
    dispatched: int
    failed: int

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


_ids = random.Random(os.urandom(32))  # noqa: S311 - ids are not secrets (reading a brief needs a token or SHARED_SECRET)


def new_brief_id(now: float) -> str:
    """Milliseconds then 64 random bits, in hex: sorts by acceptance time, and costs no system call per brief."""
    return f"{int(now * 1000):012x}{_ids.getrandbits(64):016x}"


_second: tuple[int, str] = (-1, "")  # the last second formatted by utc_iso


def utc_iso(ts: float) -> str:
    """2026-01-01T12:00:00.123Z; the date and time formatted once a second (one accept per request calls this)."""
    global _second
    second = int(ts)
    if second != _second[0]:
        _second = (second, datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S"))
    return f"{_second[1]}.{int((ts - second) * 1000):03d}Z"


@dataclass
class _Write:
    fn: Callable[[sqlite3.Connection], Any]
    future: asyncio.Future[Any]
    big: bool = False  # carries megabytes: committed off the loop even with `normal` sync
    one_statement: bool = False  # writes with one statement, atomic by itself: no savepoint needed


class Outbox:
    def __init__(self, data_dir: Path, sync: str = "normal"):
        if sync not in SYNC_MODES:
            raise ValueError(f"sync must be one of {SYNC_MODES}, not {sync!r}")
        self.path = data_dir / DB_NAME
        self.sync = sync
        self._stopping = threading.Event()
        self._checkpointer: threading.Thread | None = None
        self._pending: list[_Write] = []
        self._flusher: asyncio.Task[None] | None = None
        self._writer: sqlite3.Connection | None = None
        self._writer_thread: ThreadPoolExecutor | None = None  # `full` only: fsyncs must not stop the loop
        if sync == "full":
            self._writer_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="outbox-write")
        self._open = False
        self._readers = ThreadPoolExecutor(max_workers=2, thread_name_prefix="outbox-read")
        self._local = threading.local()
        self._reader_conns: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self.accepted = asyncio.Event()  # set whenever a new brief commits: wakes the dispatcher

    # -- lifecycle -------------------------------------------------------------------------------------------

    async def start(self) -> str | None:
        """Start the writer; returns why the outbox is not writable yet (the service still starts, answering 503)."""
        self._open = True
        self._checkpointer = threading.Thread(target=self._checkpoint_loop, name="outbox-checkpoint", daemon=True)
        self._checkpointer.start()
        try:
            await self._write(lambda conn: None)
        except OutboxUnavailable as exc:
            return str(exc)
        return None

    async def close(self) -> None:
        """Finish every queued write, then close the connections."""
        self._open = False
        if self._flusher is not None:
            await self._flusher
        if self._writer_thread is not None:
            await asyncio.get_running_loop().run_in_executor(self._writer_thread, self._drop_writer)
            self._writer_thread.shutdown(wait=True)
        else:
            self._drop_writer()
        self._stopping.set()
        if self._checkpointer is not None:
            await asyncio.to_thread(self._checkpointer.join)
            self._checkpointer = None
        await asyncio.to_thread(self._readers.shutdown, True)
        with self._lock:
            for conn in self._reader_conns:
                conn.close()
            self._reader_conns.clear()

    # -- the writer thread -----------------------------------------------------------------------------------

    def _open_writer(self) -> sqlite3.Connection:
        if self._writer is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            try:
                # On the loop, never sleep inside SQLite: a busy database raises at once and _flush retries later.
                conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS if self._writer_thread else 0}")
                if conn.execute("PRAGMA journal_mode = WAL").fetchone()[0].lower() != "wal":
                    raise sqlite3.OperationalError("cannot switch the outbox to WAL journaling")
                conn.execute(f"PRAGMA synchronous = {self.sync.upper()}")
                conn.execute("PRAGMA wal_autocheckpoint = 0")  # the checkpointer thread does it, off the commit path
                conn.execute("PRAGMA journal_size_limit = 67108864")  # a WAL grown by big briefs shrinks back
                conn.executescript(SCHEMA)
                _add_missing_columns(conn)
            except BaseException:
                conn.close()
                raise
            self._writer = conn
        return self._writer

    def _drop_writer(self) -> None:
        if self._writer is not None:
            with contextlib.suppress(sqlite3.Error):
                self._writer.close()
            self._writer = None

    def _commit(self, batch: list[_Write]) -> tuple[list[tuple[asyncio.Future[Any], Any, BaseException | None]], bool]:
        """Run `batch` in one transaction; the outcome of each write, and whether the database was merely busy."""
        try:
            conn = self._open_writer()
            conn.execute("BEGIN IMMEDIATE")
            try:
                outcomes = [(w.future, *_apply(conn, w.fn, w.one_statement)) for w in batch]
                conn.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
                raise
            return outcomes, False
        except (sqlite3.Error, OSError) as exc:
            busy = isinstance(exc, sqlite3.OperationalError) and _is_busy(exc)
            if not busy:
                self._drop_writer()
            error: BaseException = OutboxUnavailable(f"cannot write the outbox at {self.path}: {exc}")
        except Exception as exc:  # never leave a waiter hanging, whatever went wrong
            self._drop_writer()
            error, busy = exc, False
        return [(w.future, None, error) for w in batch], busy

    async def _flush(self) -> None:
        """The single writer: commit what is queued, batch after batch, until the queue is empty."""
        loop = asyncio.get_running_loop()
        try:
            while self._pending:
                batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
                deadline = loop.time() + BUSY_TIMEOUT_S
                while True:
                    if self._writer_thread is None and not any(w.big for w in batch):
                        outcomes, busy = self._commit(batch)
                    else:  # an fsync, or a brief of megabytes (tens of ms to write): not on the loop
                        outcomes, busy = await loop.run_in_executor(self._writer_thread, self._commit, batch)
                    if not busy or loop.time() >= deadline:
                        break
                    await asyncio.sleep(BUSY_RETRY_S)
                _resolve(outcomes)
        finally:
            self._flusher = None

    def _checkpoint_loop(self) -> None:
        """Copy the WAL into the database (and fsync both) every CHECKPOINT_S, and once more at close.

        PASSIVE never blocks the writer; it also bounds the WAL's size and, with `normal`, the window a power cut
        could lose.
        """
        conn: sqlite3.Connection | None = None
        while True:
            stopping = self._stopping.wait(CHECKPOINT_S)
            try:
                if conn is None:
                    conn = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=rw", uri=True)
                    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
                conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
            except sqlite3.Error:  # no database yet, or unwritable: the writer reports that; try again later
                if conn is not None:
                    conn.close()
                conn = None
            if stopping:
                break
        if conn is not None:
            conn.close()

    async def _write(self, fn: Callable[[sqlite3.Connection], T], *, big: bool = False,
                     one_statement: bool = False) -> T:
        if not self._open:
            raise OutboxUnavailable("the outbox is closed")
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._pending.append(_Write(fn, future, big, one_statement))
        if self._flusher is None:  # everything queued before the flusher runs shares its commit
            self._flusher = asyncio.create_task(self._flush())
        return await future

    # -- readers ---------------------------------------------------------------------------------------------

    def _reader(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            # mode=rw: a reader must never create an empty database where the writer could not.
            conn = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=rw", uri=True, check_same_thread=False)
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            self._local.conn = conn
            with self._lock:
                self._reader_conns.append(conn)
        return conn

    async def _read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        def run() -> T:
            try:
                return fn(self._reader())
            except (sqlite3.Error, OSError) as exc:
                raise OutboxUnavailable(f"cannot read the outbox at {self.path}: {exc}") from None

        return await asyncio.get_running_loop().run_in_executor(self._readers, run)

    # -- operations ------------------------------------------------------------------------------------------

    async def accept(self, task: str, round_: int, nonce: str, brief_json: str | Streamed) -> Accepted:
        """Store a brief unless (task, round, nonce) is already there; durable when this returns.

        A Streamed brief is stored apart, in big_briefs (see SCHEMA).
        """
        new_id = new_brief_id(time.time())
        now = time.time()
        streamed = isinstance(brief_json, Streamed)

        def op(conn: sqlite3.Connection) -> Accepted:
            text = "" if isinstance(brief_json, Streamed) else brief_json
            inserted = conn.execute(INSERT_BRIEF, (new_id, task, round_, nonce, text, utc_iso(now), now))
            if inserted.rowcount == 0:  # (task, round, nonce) is there already: a statement that changed nothing
                row = conn.execute("SELECT id FROM briefs WHERE task = ? AND round = ? AND nonce = ?",
                                   (task, round_, nonce)).fetchone()
                return Accepted(row[0], duplicate=True)
            if isinstance(brief_json, Streamed):
                conn.execute("INSERT INTO big_briefs (seq, json) VALUES (?, zeroblob(?))",
                             (inserted.lastrowid, brief_json.size))
                _write_blob(conn, inserted.lastrowid, brief_json)
            return Accepted(new_id, duplicate=False)

        result = await self._write(op, big=streamed or len(brief_json) > BIG_WRITE_CHARS, one_statement=not streamed)
        if not result.duplicate:
            self.accepted.set()
        return result

    async def next_pending(self, max_bytes: int | None = None) -> Pending | None:
        """The oldest pending brief (first in, first out), with its JSON when it is under `max_bytes` and was not
        stored in pieces: a brief of megabytes, which can only go by reference, is not read to be dispatched."""

        def op(conn: sqlite3.Connection) -> Pending | None:
            row = conn.execute(
                "SELECT id, task, round, accepted_at,"
                " CASE WHEN brief != '' AND (? IS NULL OR length(brief) < ?) THEN brief END, inflight_since"
                " FROM briefs WHERE state = 'pending' ORDER BY seq LIMIT 1", (max_bytes, max_bytes),
            ).fetchone()
            return Pending(*row) if row else None

        return await self._read(op)

    async def begin_attempt(self, brief_id: str, mode: str) -> None:
        """Count a dispatch attempt and mark it in flight, durably, before it is sent: if we die before recording
        its outcome, the next attempt knows GitHub may have it already."""
        now = time.time()

        def op(conn: sqlite3.Connection) -> None:
            conn.execute("UPDATE briefs SET attempts = attempts + 1, inflight_since = ?, mode = ? WHERE id = ?",
                         (now, mode, brief_id))

        await self._write(op)

    async def record_attempt(self, brief_id: str, *, error: str | None, state: str = "pending",
                             in_doubt: bool = False) -> None:
        """The outcome of the attempt in flight: `state` dispatched sets dispatched_at, failed keeps `error` as the
        reason; `in_doubt` (no answer came) keeps it marked in flight."""
        now = utc_iso(time.time())

        def op(conn: sqlite3.Connection) -> None:
            conn.execute(
                "UPDATE briefs SET state = ?, last_error = COALESCE(?, last_error),"
                " dispatched_at = CASE WHEN ? = 'dispatched' THEN ? ELSE dispatched_at END,"
                " inflight_since = CASE WHEN ? THEN inflight_since ELSE NULL END WHERE id = ?",
                (state, error, state, now, in_doubt, brief_id),
            )

        await self._write(op)

    async def requeue(self, brief_id: str) -> str | None:
        """Put a failed brief back in the queue (after its cause, say a bad token, was fixed); returns its old state.

        It keeps its place by acceptance order, so it goes out before anything accepted after it.
        """

        def op(conn: sqlite3.Connection) -> str | None:
            row = conn.execute("SELECT state FROM briefs WHERE id = ?", (brief_id,)).fetchone()
            if row is not None and row[0] == "failed":
                conn.execute("UPDATE briefs SET state = 'pending' WHERE id = ?", (brief_id,))
            return row[0] if row else None

        state = await self._write(op)
        if state == "failed":
            self.accepted.set()
        return state

    async def add_token(self, brief_id: str, token_hash: bytes, ttl_s: float) -> None:
        """Keep the hash of a new payload token (every token minted for a brief stays valid until it expires)."""
        now = time.time()

        def op(conn: sqlite3.Connection) -> None:
            conn.execute("DELETE FROM brief_tokens WHERE expires_ts < ?", (now,))
            conn.execute(
                "INSERT INTO brief_tokens (brief_id, token_hash, expires_ts) VALUES (?, ?, ?)",
                (brief_id, token_hash, now + ttl_s),
            )

        await self._write(op)

    async def open_payload(self, brief_id: str, token_hash: bytes) -> BriefReader | None:
        """The brief's public JSON, to read in pieces, if `token_hash` is one of its live tokens; None if no token
        of it matches.

        Raises TokenExpired when the token matched but is past its expiry. Hashes are compared in constant time.
        """
        now = time.time()

        def op(conn: sqlite3.Connection) -> tuple[int, bool] | None:
            rows = conn.execute(
                "SELECT token_hash, expires_ts FROM brief_tokens WHERE brief_id = ?", (brief_id,),
            ).fetchall()
            match = [exp for stored, exp in rows if hmac.compare_digest(bytes(stored), token_hash)]
            if not match:
                return None
            if max(match) < now:
                raise TokenExpired(brief_id)
            row = conn.execute("SELECT briefs.seq, big_briefs.seq IS NOT NULL FROM briefs"
                               " LEFT JOIN big_briefs USING (seq) WHERE id = ?", (brief_id,)).fetchone()
            return (row[0], bool(row[1])) if row else None

        found = await self._read(op)
        if found is None:
            return None
        seq, big = found
        reader = BriefReader(self, ("big_briefs", "json") if big else ("briefs", "brief"), seq)
        await reader.open()
        return reader

    async def status(self, brief_id: str) -> Status | None:
        def op(conn: sqlite3.Connection) -> Status | None:
            row = conn.execute(
                "SELECT id, task, round, nonce, accepted_at, state, attempts, last_error, dispatched_at, mode"
                " FROM briefs WHERE id = ?", (brief_id,),
            ).fetchone()
            return Status(*row) if row else None

        return await self._read(op)

    async def recent(self, limit: int, task: str | None = None) -> list[Status]:
        """The `limit` briefs accepted last (of `task` when given), newest first; a read for the status page."""

        def op(conn: sqlite3.Connection) -> list[Status]:
            rows = conn.execute(
                "SELECT id, task, round, nonce, accepted_at, state, attempts, last_error, dispatched_at, mode"
                " FROM briefs WHERE ? IS NULL OR task = ? ORDER BY seq DESC LIMIT ?", (task, task, limit),
            ).fetchall()
            return [Status(*row) for row in rows]

        return await self._read(op)

    async def depth(self) -> Depth:
        now = time.time()

        def op(conn: sqlite3.Connection) -> Depth:
            counts = dict(conn.execute("SELECT state, COUNT(*) FROM briefs GROUP BY state").fetchall())
            oldest = conn.execute("SELECT MIN(accepted_ts) FROM briefs WHERE state = 'pending'").fetchone()[0]
            return Depth(
                pending=counts.get("pending", 0),
                oldest_pending_s=round(max(0.0, now - oldest), 3) if oldest is not None else 0.0,
                dispatched=counts.get("dispatched", 0),
                failed=counts.get("failed", 0),
            )

        return await self._read(op)


class BriefReader:
    """One stored brief's JSON, read a piece at a time on the outbox's reader threads, so serving a brief of
    megabytes holds one piece of it. It has a connection of its own (used by one thread at a time), so every piece
    comes from the same snapshot and the blob is opened once (each open walks the row's overflow pages)."""

    def __init__(self, outbox: Outbox, column: tuple[str, str], rowid: int):
        self._outbox = outbox
        self._column = column
        self._rowid = rowid
        self._conn: sqlite3.Connection | None = None
        self._blob: sqlite3.Blob | None = None
        self.size = 0

    async def open(self) -> None:
        def run() -> None:
            self._conn = sqlite3.connect(f"{self._outbox.path.resolve().as_uri()}?mode=ro", uri=True,
                                         check_same_thread=False)
            self._conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            self._conn.execute("BEGIN")  # one read transaction: the row cannot change between pieces
            self._blob = self._conn.blobopen(*self._column, self._rowid, readonly=True)
            self.size = len(self._blob)

        try:
            await self._outbox._read(lambda _: run())
        except OutboxUnavailable:
            await self.close()
            raise

    async def pieces(self, piece: int = READ_PIECE) -> AsyncIterator[bytes]:
        """The JSON's bytes, in order; closes the reader once they are all read."""
        try:
            while self._blob is not None:
                data = await self._outbox._read(lambda _: self._blob.read(piece) if self._blob else b"")
                if not data:
                    break
                yield data
        finally:
            await self.close()

    async def close(self) -> None:
        def run() -> None:
            blob, conn, self._blob, self._conn = self._blob, self._conn, None, None
            if blob is not None:
                blob.close()
            if conn is not None:
                conn.close()

        if self._conn is not None:
            await asyncio.get_running_loop().run_in_executor(self._outbox._readers, run)


def _write_blob(conn: sqlite3.Connection, seq: int | None, brief: Streamed) -> None:
    """Fill the zero blob just inserted for `brief`, piece by piece; a size that does not match fails the write."""
    assert seq is not None
    with conn.blobopen("big_briefs", "json", seq) as blob:
        for piece in brief.pieces():
            if blob.tell() + len(piece) > brief.size:
                raise ValueError(f"the brief's pieces are longer than its size, {brief.size} bytes")
            blob.write(piece)
        if blob.tell() != brief.size:
            raise ValueError(f"the brief's pieces are {blob.tell()} bytes, not its size, {brief.size}")


def _apply(conn: sqlite3.Connection, fn: Callable[[sqlite3.Connection], Any],
           one_statement: bool = False) -> tuple[Any, BaseException | None]:
    """Run one write inside a savepoint: a write that fails by itself (bad value, constraint) fails alone. A write
    of one statement needs no savepoint: SQLite undoes a failed statement, and nothing else.

    Failures of the database as a whole (full disk, I/O error, lock) propagate and fail the batch.
    """
    if not one_statement:
        conn.execute("SAVEPOINT one_write")
    try:
        result = fn(conn)
    except Exception as exc:
        if isinstance(exc, sqlite3.OperationalError) or type(exc) is sqlite3.DatabaseError:
            raise
        if not one_statement:
            conn.execute("ROLLBACK TO one_write")
            conn.execute("RELEASE one_write")
        return None, exc
    if not one_statement:
        conn.execute("RELEASE one_write")
    return result, None


def _add_missing_columns(conn: sqlite3.Connection) -> None:
    have = {row[1] for row in conn.execute("PRAGMA table_info(briefs)")}
    for column, definition in ADDED_COLUMNS:
        if column not in have:
            conn.execute(f"ALTER TABLE briefs ADD COLUMN {column} {definition}")


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
    return "locked" in str(exc) or "busy" in str(exc)


def _resolve(outcomes: list[tuple[asyncio.Future[Any], Any, BaseException | None]]) -> None:
    for future, result, error in outcomes:
        if future.done():  # the request was cancelled (client went away); its write stands regardless
            continue
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)
