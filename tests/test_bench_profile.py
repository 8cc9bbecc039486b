"""bench/profile_accept.py's reading of py-spy's collapsed stacks: each sample in exactly one step, the innermost
named step winning over the handler and aiohttp frames around it."""

from __future__ import annotations

from bench.profile_accept import STEPS, shares

LOOP = "run_forever (asyncio/base_events.py:607);_run (asyncio/events.py:80)"
HANDLER = (f"{LOOP};_handle_request (aiohttp/web_protocol.py:577);json_errors (receiver/app.py:61);"
           "accept (receiver/app.py:120)")
RAW = "\n".join([
    f"{HANDLER};parse_brief (deployer/brief.py:350);_a2b (deployer/brief.py:139) 7",
    f"{HANDLER};Outbox.accept (receiver/outbox.py:395) 2",
    f"{LOOP};Outbox._flush (receiver/outbox.py:312);Outbox._commit (receiver/outbox.py:281) 5",
    f"{HANDLER} 3",
    f"{LOOP};data_received (aiohttp/web_protocol.py:472) 4",
    f"{LOOP} 1",
    "_base64_pieces (deployer/brief.py:134);_a2b (deployer/brief.py:139) 2",  # a stack py-spy cut short
    "not a sample line",
])


def test_each_sample_counts_once_in_its_innermost_step() -> None:
    total, counts = shares(RAW)
    assert total == 24
    assert sum(counts.values()) == total
    assert counts["validation (deployer.brief.parse_brief)"] == 9
    assert counts["outbox: queueing, futures, the flusher task"] == 2
    assert counts["outbox: SQLite insert + commit"] == 5
    assert counts["rest of our handler and middleware"] == 3
    assert counts["aiohttp: HTTP parsing, routing, response"] == 4
    assert counts["asyncio: event loop, sockets, callbacks"] == 1
    assert set(counts) <= {name for name, _ in STEPS}
