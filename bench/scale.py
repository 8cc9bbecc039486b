"""Benchmark 5, scale: `uv run python -m bench.scale [--size smoke|full] [--briefs N] [--minutes M]`.

The whole sandbox (sandbox/world.py) first takes one brief alone (the serial baseline: its POST-to-notification
time gives the briefs per minute of one-at-a-time processing), then N briefs of N different tasks POSTed at once.
The receiver accepts them all and drains its outbox at its dispatch pace (DISPATCH_PER_MINUTE, default 60, under
GitHub's content-creation limit); the sandbox's Actions service runs the workflows with bounded concurrency (its
--max-parallel, 4 in the world); every run generates, verifies in a browser, publishes, waits for Pages and
notifies. Reported: accepted and dispatched counts, the outbox drain time (against the pace's own (N-1) x 60/pace),
briefs notified per minute (against the serial baseline), within a bounded time (the rest is counted, not waited
for). Target: every brief accepted and dispatched.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from bench.common import SAMPLES, CannotMeasure, Target, fmt, load_average, main_guard, parser, ratio, table, verdict
from sandbox.world import World, WorldError, start_world

BRIEFS = {"smoke": 2, "full": 100}
MINUTES = {"smoke": 2.0, "full": 10.0}
DISPATCH_PER_MINUTE = 60.0  # the receiver's default, stated here so the expected drain time is known
MAX_PARALLEL = 4  # the Actions service's default in the world
SOLO_LIMIT_S = 240.0
MAX_BRIEFS, MAX_MINUTES = 200, 15.0  # the load stays bounded whatever the options say
POLL_S = 0.5
# GitHub as it is, but for its 500 content-creating requests an hour per user: a round makes about 8 (dispatch,
# repository, tree, commit, ref, Pages, two delivery statuses), so one token publishes some 60 rounds an hour, and
# 100 briefs would measure GitHub's quota, not us. The 80-a-minute limit, pacing and the rest stay on.
SCALE_GITHUB = ("--content-hour-limit", "100000")


def brief(world: World, n: int, run_id: str) -> dict[str, Any]:
    data = json.loads((SAMPLES / "sum-of-sales.r1.json").read_text())
    data.update(task=f"scale-{run_id}-{n:03d}", nonce=f"scale-{run_id}-{n:03d}", secret=world.shared_secret,
                evaluation_url=f"{world.evaluator_url}/notify")
    return data


def post(world: World, data: dict[str, Any]) -> int:
    return requests.post(f"{world.receiver_url}/api-endpoint", json=data, timeout=60).status_code


@dataclass
class Batch:
    accepted: int
    dispatched: int
    drain_s: float | None
    notified: int
    elapsed_s: float
    failed_runs: int
    causes: Counter[str]

    @property
    def per_minute(self) -> float:
        return self.notified / self.elapsed_s * 60 if self.elapsed_s else 0.0


def notified_nonces(world: World) -> dict[str, float]:
    """nonce -> when the evaluator received its notification (epoch s)."""
    notes = requests.get(f"{world.evaluator_url}/notifications", timeout=30).json()
    return {n["body"].get("nonce"): n["received_ts"] for n in notes}


def solo(world: World, run_id: str) -> float:
    """One brief alone, POST to notification, in seconds."""
    data = brief(world, 0, f"{run_id}solo")
    began = time.monotonic()
    if post(world, data) != 200:
        raise CannotMeasure("the receiver did not accept the serial baseline's brief")
    while data["nonce"] not in notified_nonces(world):
        if time.monotonic() - began > SOLO_LIMIT_S:
            raise CannotMeasure(f"the serial baseline's brief was not notified within {SOLO_LIMIT_S:.0f} s")
        time.sleep(POLL_S)
    return time.monotonic() - began


def batch(world: World, count: int, minutes: float, run_id: str) -> Batch:
    briefs = [brief(world, n, run_id) for n in range(1, count + 1)]
    nonces = {b["nonce"] for b in briefs}
    auth = {"Authorization": f"Bearer {world.shared_secret}"}
    before = requests.get(f"{world.receiver_url}/health", timeout=30).json()["outbox"]["dispatched"]
    runs_before = len(requests.get(f"{world.actions_url}/runs", timeout=30).json())
    began, began_epoch = time.monotonic(), time.time()
    with ThreadPoolExecutor(max_workers=min(count, 32)) as pool:
        statuses = list(pool.map(lambda b: post(world, b), briefs))
    accepted = statuses.count(200)
    deadline = began + minutes * 60
    drain_s = None
    dispatched = 0
    notified: dict[str, float] = {}
    runs: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        outbox = requests.get(f"{world.receiver_url}/health", headers=auth, timeout=30).json()["outbox"]
        dispatched = outbox["dispatched"] - before
        if drain_s is None and outbox["pending"] == 0 and dispatched >= accepted:
            drain_s = time.monotonic() - began
        notified = {k: v for k, v in notified_nonces(world).items() if k in nonces}
        runs = requests.get(f"{world.actions_url}/runs", timeout=30).json()[runs_before:]
        if len(notified) == accepted or sum(r["status"] == "completed" for r in runs) >= accepted:
            break
        time.sleep(POLL_S)
    failed = [r for r in runs if r["status"] == "completed" and r["conclusion"] != "success"]
    # Briefs per minute over the time it took to notify them: POST until the last notification.
    span = max(notified.values()) - began_epoch if notified else time.monotonic() - began
    return Batch(accepted, dispatched, drain_s, len(notified), span, len(failed), failure_causes(world, failed))


def failure_causes(world: World, failed: list[dict[str, Any]]) -> Counter[str]:
    """Why runs failed: the first `::error` line of each run's log, its variable parts (URLs, names) cut off."""
    causes: Counter[str] = Counter()
    for run in failed:
        lines = requests.get(f"{world.actions_url}/runs/{run['number']}/log", timeout=30).json()["lines"]
        first = next((line for line in lines if line.startswith("##[error]")), run.get("error") or "no error line")
        causes[re.sub(r"HTTPConnectionPool\([^)]*\): |https?://\S+|scale-\w+-\d+", "…",
                      first.removeprefix("##[error]"))[:200]] += 1
    return causes


def run(args: argparse.Namespace) -> None:
    count = min(args.briefs or BRIEFS[args.size], MAX_BRIEFS)
    minutes = min(args.minutes or MINUTES[args.size], MAX_MINUTES)
    run_id = secrets.token_hex(3)
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        try:
            world = start_world(Path(args.keep or tmp), env={**os.environ,
                                                              "DISPATCH_PER_MINUTE": f"{DISPATCH_PER_MINUTE:g}"},
                                github_args=SCALE_GITHUB, openrouter_args=("--credits", "1000"))
        except WorldError as exc:
            raise CannotMeasure(str(exc)) from None
        try:
            solo_s = solo(world, run_id) if args.size == "full" else None
            result = batch(world, count, minutes, run_id)
        finally:
            world.stop()
    serial = 60 / solo_s if solo_s else None
    expected_drain = max(0, result.accepted - 1) * 60 / DISPATCH_PER_MINUTE  # the first is sent at once
    print(f"scale: {count} briefs of {count} tasks POSTed at once; dispatch pace {DISPATCH_PER_MINUTE:g}/min; "
          f"{MAX_PARALLEL} runs at once; at most {minutes:g} min; {load_average()}")
    print(table(["figure", "value", "baseline", "ratio"], [
        ["accepted", f"{result.accepted}/{count}", "", ""],
        ["dispatched", f"{result.dispatched}/{result.accepted}", "", ""],
        ["outbox drain time (s)", fmt(result.drain_s), f"{expected_drain:.1f} ((N-1) x 60/pace)",
         ratio(result.drain_s, expected_drain)],
        ["notified within the limit", f"{result.notified}/{result.accepted}", "", ""],
        ["failed runs", str(result.failed_runs), "", ""],
        ["POST until the last notification (s)", fmt(result.elapsed_s), "", ""],
        ["briefs notified per minute", fmt(result.per_minute, digits=2),
         f"{fmt(serial, digits=2)} (one brief alone: {fmt(solo_s, ' s')})", ratio(result.per_minute, serial)],
    ]))
    for cause, n in result.causes.most_common():
        print(f"failed runs: {n} x {cause}")
    print(verdict("scale", [
        Target("dispatched", result.accepted == count and result.dispatched == count,
               f"{result.dispatched}/{count} accepted and dispatched"),
    ]), flush=True)


def main(argv: list[str] | None = None) -> int:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--briefs", type=int, help=f"how many briefs (default: 2 smoke, 100 full; at most {MAX_BRIEFS})")
    p.add_argument("--minutes", type=float,
                   help=f"time limit for the batch (default: 2 smoke, 10 full; at most {MAX_MINUTES:g})")
    return main_guard(run, p.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
