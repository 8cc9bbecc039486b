"""The receiver broken on purpose: SIGKILL at random moments of a burst, and a disk that fills up.

The kills land anywhere: while briefs are being accepted, committed, or dispatched. The client behaves as a grader
should (retry until a 200, the same brief each time), so every brief ends up accepted; after the last restart each
must reach GitHub. The full disk is a file-size limit (RLIMIT_FSIZE) on the receiver process: writes past it fail
with EFBIG just as on a full filesystem, without root, mounts or filling the real disk; raising the limit is the
space coming back.
"""

from __future__ import annotations

import os
import random
import resource
import socket
import sqlite3
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import requests

from sandbox.procs import Service, start_service
from tests.conftest import Services, start_github
from tests.faults.conftest import Ledger
from tests.receiver.receiver_support import make_brief, receiver_env, rows, wait_for

REPO = "sandbox/deploy-target"
BURST = 50
KILLS = 3


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def post_until_stored(url: str, brief: dict[str, Any], stop: threading.Event) -> dict[str, Any]:
    """What a careful client does: retry the same brief until the receiver answers 200 (accepted or duplicate)."""
    while not stop.is_set():
        try:
            r = requests.post(f"{url}/api-endpoint", json=brief, timeout=10)
        except requests.RequestException:
            time.sleep(0.05)
            continue
        if r.status_code == 200:
            return dict(r.json())
        assert r.status_code == 503, r.text  # the only other answer a valid brief may get while we kill
        time.sleep(0.05)
    raise AssertionError("gave up posting")


def test_sigkill_at_random_points_of_a_burst_loses_nothing(services: Services, tmp_path: Path,
                                                            ledger: Ledger) -> None:
    seed = int(os.environ.get("DEPLOYER_FAULT_SEED", str(time.time_ns() % 100_000)))
    rng = random.Random(seed)
    print(f"DEPLOYER_FAULT_SEED={seed}")
    github = start_github(services, tmp_path / "github", "--content-limit", "100000")
    auth = {"Authorization": f"token {github.token}"}
    assert requests.post(f"{github.url}/user/repos", json={"name": "deploy-target", "auto_init": True},
                         headers=auth, timeout=10).status_code == 201
    data, port = tmp_path / "data", free_port()
    env = receiver_env(data, github.url, DEPLOYER_REPO=REPO, PORT=str(port), DISPATCH_PER_MINUTE="1500")
    url = f"http://127.0.0.1:{port}"

    def start(n: int) -> Service:
        service = services.start(f"receiver-{n}", "serve", env=env)
        assert service.url == url
        return service

    receiver = start(0)
    briefs = [make_brief(task=f"kill-{i}") for i in range(BURST)]
    answers: dict[int, dict[str, Any]] = {}
    stop = threading.Event()

    pauses = [rng.uniform(0, 0.02) for _ in briefs]  # a burst that lasts long enough to be killed in

    def client() -> None:
        for i, brief in enumerate(briefs):
            answers[i] = post_until_stored(url, brief, stop)
            time.sleep(pauses[i])

    sender = threading.Thread(target=client)
    sender.start()
    moments: list[str] = []  # stored/dispatched when each kill came
    try:
        for n in range(1, KILLS + 1):
            time.sleep(rng.uniform(0.01, 0.8))  # after each (re)start: while accepting, dispatching, or both
            stored = rows(data)
            moments.append(f"{len(stored)}/{sum(r['state'] == 'dispatched' for r in stored)}")
            receiver.kill()  # SIGKILL
            assert receiver.proc.returncode == -9
            receiver = start(n)
        sender.join(120)
    finally:
        stop.set()
    assert not sender.is_alive() and len(answers) == BURST
    ids = [answers[i]["id"] for i in range(BURST)]
    assert len(set(ids)) == BURST  # a retried brief is the same brief: the same id, never a second one

    wait_for(lambda: len(rows(data)) == BURST and all(r["state"] == "dispatched" for r in rows(data)),
             timeout=120, what="every brief dispatched")
    sent = Counter(d["client_payload"]["id"] for d in github.sandbox("GET", "dispatches").json())
    lost = [i for i in ids if sent[i] == 0]
    duplicated = sum(n - 1 for n in sent.values() if n > 1)
    outcome = f"all dispatched, {duplicated} twice" if not lost else f"{len(lost)} not dispatched"
    ledger(f"receiver SIGKILL x{KILLS} in a burst of {BURST}",
           f"{outcome}; killed at stored/dispatched {', '.join(moments)} (seed {seed})", accepted=BURST,
           notified=BURST - len(lost), lost=len(lost), duplicated=duplicated)
    assert lost == [] and set(sent) == set(ids)
    # At-least-once by design (receiver/dispatcher.py): only a kill after GitHub's 2xx and before the outbox
    # recorded it can send a brief twice, so at most one brief per kill.
    assert duplicated <= KILLS, sent
    outbox = requests.get(f"{url}/health", timeout=10).json()["outbox"]
    assert (outbox["pending"], outbox["dispatched"], outbox["failed"]) == (0, BURST, 0)


LIMITED = ("import os, resource, sys; "
           "resource.setrlimit(resource.RLIMIT_FSIZE, (int(sys.argv[1]), resource.RLIM_INFINITY)); "
           "os.execv(sys.executable, [sys.executable, '-m', 'deployer', 'serve'])")


def integrity(data: Path) -> str:
    with sqlite3.connect(f"file:{data / 'outbox.sqlite3'}?mode=ro", uri=True) as conn:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])


def test_a_full_disk_answers_503_keeps_what_it_stored_and_recovers(tmp_path: Path, ledger: Ledger) -> None:
    """Briefs of 200 KB until the outbox cannot grow past 1 MiB: each refused brief is a 503 with Retry-After and
    leaves nothing; what was answered 200 is intact. Space back (the limit raised): the refused briefs, sent
    again, are accepted."""
    data = tmp_path / "data"
    env = receiver_env(data, "http://127.0.0.1:9", RATE_LIMIT_PER_MINUTE="0", BRIEF_MAX_CHARS="300000")
    receiver = start_service("receiver-full", [sys.executable, "-c", LIMITED, str(1024 * 1024)],
                             log_dir=tmp_path / "logs", env=env)
    try:
        briefs = [make_brief(task=f"full-{i}", brief="x" * 200_000) for i in range(12)]
        answers = [requests.post(f"{receiver.url}/api-endpoint", json=b, timeout=30) for b in briefs]
        statuses = [a.status_code for a in answers]
        assert set(statuses) == {200, 503}, statuses
        refused = [b for b, a in zip(briefs, answers, strict=True) if a.status_code == 503]
        for answer in answers:
            if answer.status_code == 503:
                assert answer.json()["error"] == "unavailable" and answer.headers["Retry-After"]
        stored = [b["nonce"] for b, a in zip(briefs, answers, strict=True) if a.status_code == 200]
        assert [r["nonce"] for r in rows(data)] == stored
        assert integrity(data) == "ok"

        resource.prlimit(receiver.proc.pid, resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
        again = [requests.post(f"{receiver.url}/api-endpoint", json=b, timeout=30) for b in refused]
        assert [a.status_code for a in again] == [200] * len(refused)
        assert all(a.json()["status"] == "accepted" for a in again)
        assert sorted(r["nonce"] for r in rows(data)) == sorted(b["nonce"] for b in briefs)
        assert integrity(data) == "ok"
        assert requests.get(f"{receiver.url}/health", timeout=10).json()["status"] == "healthy"
        ledger("receiver disk full -> 503, then space back", f"{len(refused)} refused with 503, all stored after",
               accepted=len(briefs), notified=len(rows(data)), lost=len(briefs) - len(rows(data)), duplicated=0)
    finally:
        assert receiver.stop() == 0, receiver.log()
