"""The outbox on a real SQLite file: group commit, idempotency, states, payload tokens, failures as 503s."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest

from receiver.outbox import (
    BIG_WRITE_CHARS,
    CHECKPOINT_S,
    SCHEMA,
    Outbox,
    OutboxUnavailable,
    Streamed,
    TokenExpired,
)
from receiver.payload import hash_token

T = TypeVar("T")


def run(data: Path, body: Callable[[Outbox], Awaitable[T]], sync: str = "normal") -> T:
    async def main() -> T:
        outbox = Outbox(data, sync)
        assert await outbox.start() is None
        try:
            return await body(outbox)
        finally:
            await outbox.close()

    return asyncio.run(main())


@pytest.mark.parametrize("sync", ["normal", "full"])
def test_many_concurrent_accepts_commit_and_survive_a_reopen(tmp_path: Path, sync: str) -> None:
    async def body(outbox: Outbox) -> list[Any]:
        return await asyncio.gather(*(outbox.accept(f"t{i}", 1, "n", f'{{"i":{i}}}') for i in range(300)))

    results = run(tmp_path, body, sync)
    assert len({r.id for r in results}) == 300 and not any(r.duplicate for r in results)
    with sqlite3.connect(tmp_path / "outbox.sqlite3") as conn:
        assert conn.execute("SELECT COUNT(*) FROM briefs WHERE state = 'pending'").fetchone()[0] == 300
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"

    async def again(outbox: Outbox) -> Any:
        return await outbox.depth(), await outbox.next_pending()

    depth, head = run(tmp_path, again)
    assert depth.pending == 300 and head.task == "t0" and head.brief_json == '{"i":0}'


def test_duplicates_get_the_first_id_even_within_one_batch(tmp_path: Path) -> None:
    async def body(outbox: Outbox) -> list[Any]:
        return await asyncio.gather(*(outbox.accept("t", 1, "same", "{}") for _ in range(5)))

    results = run(tmp_path, body)
    assert len({r.id for r in results}) == 1
    assert [r.duplicate for r in results].count(False) == 1


def test_attempts_states_and_depth(tmp_path: Path) -> None:
    async def body(outbox: Outbox) -> Any:
        a = (await outbox.accept("a", 1, "n", "{}")).id
        b = (await outbox.accept("b", 1, "n", "{}")).id
        c = (await outbox.accept("c", 1, "n", "{}")).id
        for brief_id, error, state in ((a, "GitHub answered 500: boom", "pending"), (a, None, "dispatched"),
                                       (b, "GitHub answered 404: Not Found", "failed")):
            await outbox.begin_attempt(brief_id, "inline")
            await outbox.record_attempt(brief_id, error=error, state=state)
        return [await outbox.status(x) for x in (a, b, c)], await outbox.depth(), await outbox.next_pending()

    (a, b, c), depth, head = run(tmp_path, body)
    assert (a.state, a.attempts, a.last_error, a.mode) == ("dispatched", 2, "GitHub answered 500: boom", "inline")
    assert a.dispatched_at and a.dispatched_at.endswith("Z")
    assert (b.state, b.attempts, b.last_error, b.dispatched_at) == ("failed", 1, "GitHub answered 404: Not Found",
                                                                   None)
    assert (c.state, c.attempts) == ("pending", 0)
    assert (depth.pending, depth.dispatched, depth.failed) == (1, 1, 1) and depth.oldest_pending_s >= 0
    assert head.id == c.id


def test_an_attempt_is_in_flight_from_before_it_is_sent_until_its_answer(tmp_path: Path) -> None:
    """What a restart sees: an attempt begun and never answered (killed, or no answer came) is in doubt."""

    async def begin(outbox: Outbox) -> Any:
        a = (await outbox.accept("a", 1, "n", "{}")).id
        await outbox.begin_attempt(a, "reference")
        return a, await outbox.next_pending()

    a, head = run(tmp_path, begin)  # then the process ends without recording anything
    assert head.id == a and head.inflight_since is not None

    async def answers(outbox: Outbox) -> Any:
        seen = [(await outbox.next_pending()).inflight_since]
        await outbox.record_attempt(a, error="TimeoutError", in_doubt=True)  # no answer came: still in doubt
        seen.append((await outbox.next_pending()).inflight_since)
        await outbox.record_attempt(a, error="GitHub answered 502", state="pending")  # a real answer: settled
        seen.append((await outbox.next_pending()).inflight_since)
        return seen, await outbox.status(a)

    seen, status = run(tmp_path, answers)
    assert seen[0] == seen[1] == head.inflight_since and seen[2] is None
    assert (status.attempts, status.mode, status.state) == (1, "reference", "pending")


def test_an_outbox_from_before_in_flight_attempts_gains_the_column(tmp_path: Path) -> None:
    with sqlite3.connect(tmp_path / "outbox.sqlite3") as conn:
        conn.executescript(SCHEMA.replace("    inflight_since REAL,\n", ""))
        conn.execute("INSERT INTO briefs (id, task, round, nonce, brief, accepted_at, accepted_ts)"
                     " VALUES ('old', 't', 1, 'n', '{}', 'then', 0)")

    head = run(tmp_path, lambda outbox: outbox.next_pending())
    assert (head.id, head.inflight_since) == ("old", None)


async def _payload(outbox: Outbox, brief_id: str, token: str) -> str | None:
    """The brief's JSON as served (read in pieces), or None when the token does not open it."""
    reader = await outbox.open_payload(brief_id, hash_token(token))
    return None if reader is None else b"".join([piece async for piece in reader.pieces()]).decode()


def test_payload_tokens_open_only_their_brief_until_they_expire(tmp_path: Path) -> None:
    async def body(outbox: Outbox) -> Any:
        a = (await outbox.accept("a", 1, "n", '{"a":1}')).id
        b = (await outbox.accept("b", 1, "n", '{"b":1}')).id
        await outbox.add_token(a, hash_token("token-a1"), 3600)
        await outbox.add_token(a, hash_token("token-a2"), 3600)  # a re-sent dispatch: both stay valid
        await outbox.add_token(b, hash_token("token-b"), -1)  # already expired
        out = [await _payload(outbox, a, t) for t in ("token-a1", "token-a2", "token-b", "nope")]
        with pytest.raises(TokenExpired):
            await outbox.open_payload(b, hash_token("token-b"))
        out.append(await _payload(outbox, "unknown", "token-a1"))
        return out

    assert run(tmp_path, body) == ['{"a":1}', '{"a":1}', None, None, None]
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir())
    assert b"token-a1" not in raw and hash_token("token-a1") in raw


def test_unwritable_location_fails_every_waiter_then_heals(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the data directory should be")

    async def main() -> Any:
        outbox = Outbox(blocker / "data")
        problem = await outbox.start()
        results = await asyncio.gather(*(outbox.accept(f"t{i}", 1, "n", "{}") for i in range(3)),
                                       return_exceptions=True)
        with pytest.raises(OutboxUnavailable):
            await outbox.depth()
        blocker.unlink()
        healed = await outbox.accept("t", 1, "n", "{}")
        await outbox.close()
        return problem, results, healed

    problem, results, healed = asyncio.run(main())
    assert problem and "cannot write the outbox" in problem
    assert all(isinstance(r, OutboxUnavailable) for r in results)
    assert not healed.duplicate


def test_the_checkpointer_moves_commits_into_the_database_file(tmp_path: Path) -> None:
    db = tmp_path / "outbox.sqlite3"

    async def body(outbox: Outbox) -> tuple[bool, bool]:
        await outbox.accept("t", 1, "n", "x" * 50_000)
        before = b"x" * 1000 in db.read_bytes()  # the writer never checkpoints: only the WAL has it
        await asyncio.sleep(CHECKPOINT_S * 2.5)  # the checkpointer thread runs every CHECKPOINT_S
        return before, b"x" * 1000 in db.read_bytes()

    assert run(tmp_path, body) == (False, True)


def test_unknown_sync_mode_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="sync"):
        Outbox(tmp_path, "off")


def test_a_closed_outbox_refuses_writes(tmp_path: Path) -> None:
    async def main() -> None:
        outbox = Outbox(tmp_path)
        await outbox.start()
        await outbox.close()
        with pytest.raises(OutboxUnavailable):
            await outbox.accept("t", 1, "n", "{}")

    asyncio.run(main())


def test_a_write_that_fails_by_itself_does_not_fail_its_batch(tmp_path: Path) -> None:
    async def body(outbox: Outbox) -> list[Any]:
        return await asyncio.gather(outbox.accept("a", 1, "n", "{}"), outbox.accept("b", 2**70, "n", "{}"),
                                    outbox.accept("c", 1, "n", "{}"), return_exceptions=True)

    a, bad, c = run(tmp_path, body)
    assert isinstance(bad, OverflowError)
    assert not a.duplicate and not c.duplicate
    with sqlite3.connect(tmp_path / "outbox.sqlite3") as conn:
        assert [r[0] for r in conn.execute("SELECT task FROM briefs ORDER BY seq")] == ["a", "c"]


@pytest.mark.parametrize("sync, big, on_loop", [("normal", False, True), ("normal", True, False),
                                                ("full", False, False)])
def test_where_commits_run(tmp_path: Path, sync: str, big: bool, on_loop: bool) -> None:
    """`normal` commits small batches on the loop (no thread hand-off); fsyncs and megabyte rows go to a thread."""

    async def body(outbox: Outbox) -> bool:
        assert not (await outbox.accept("t", 1, "n", "x" * (BIG_WRITE_CHARS + 1 if big else 10))).duplicate
        ran_in = await outbox._write(lambda conn: threading.current_thread(), big=big)
        return ran_in is threading.current_thread()

    assert run(tmp_path, body, sync) is on_loop


def _streamed(data: bytes, piece: int, size: int | None = None) -> Streamed:
    return Streamed(len(data) if size is None else size,
                    lambda: (data[i:i + piece] for i in range(0, len(data), piece)))


def test_a_streamed_brief_is_stored_apart_and_read_back_in_pieces(tmp_path: Path) -> None:
    """A brief of megabytes: written piece by piece into its own blob, never read to be dispatched (it goes by
    reference), served back piece by piece, byte for byte."""
    big = b'{"brief":"' + b"x" * (3 * 1024 * 1024 + 7) + b'"}'

    async def body(outbox: Outbox) -> tuple[Any, ...]:
        brief_id = (await outbox.accept("big", 1, "n", _streamed(big, 100_000))).id
        small_id = (await outbox.accept("small", 1, "n", '{"s":1}')).id
        await outbox.add_token(brief_id, hash_token("t"), 60)
        await outbox.add_token(small_id, hash_token("s"), 60)
        head = await outbox.next_pending(64_000)
        reader = await outbox.open_payload(brief_id, hash_token("t"))
        assert reader is not None
        pieces = [piece async for piece in reader.pieces(piece=1 << 20)]
        return head, reader.size, pieces, await _payload(outbox, small_id, "s"), await outbox.next_pending(4)

    head, size, pieces, small, none_fits = run(tmp_path, body)
    assert (head.task, head.brief_json) == ("big", None)
    assert size == len(big) and b"".join(pieces) == big and max(map(len, pieces)) == 1 << 20
    assert small == '{"s":1}' and none_fits.brief_json is None
    with sqlite3.connect(tmp_path / "outbox.sqlite3") as conn:
        assert conn.execute("SELECT brief FROM briefs WHERE task = 'big'").fetchone() == ("",)


@pytest.mark.parametrize("size", [10, 12])
def test_a_streamed_brief_whose_size_is_wrong_fails_alone_and_leaves_nothing(tmp_path: Path, size: int) -> None:
    async def body(outbox: Outbox) -> list[Any]:
        return await asyncio.gather(outbox.accept("a", 1, "n", "{}"),
                                    outbox.accept("b", 1, "n", _streamed(b'{"b":"01"}x', 3, size)),
                                    outbox.accept("c", 1, "n", "{}"), return_exceptions=True)

    a, bad, c = run(tmp_path, body)
    assert isinstance(bad, ValueError) and "size" in str(bad)
    assert not a.duplicate and not c.duplicate
    with sqlite3.connect(tmp_path / "outbox.sqlite3") as conn:
        assert [r[0] for r in conn.execute("SELECT task FROM briefs ORDER BY seq")] == ["a", "c"]
        assert conn.execute("SELECT COUNT(*) FROM big_briefs").fetchone() == (0,)
