"""The receiver broken on purpose: SIGKILL at random moments of a burst, and a disk that fills up.

The kills land anywhere: while briefs are being accepted, committed, or dispatched. The client behaves as a grader
should (retry until a 200, the same brief each time), so every brief ends up accepted; after the last restart each
must reach GitHub, once. GitHub's Actions is played by the sandbox's Actions service, running a deploy workflow with
this project's `run-name` and a job that does nothing: each dispatch becomes a run titled with its brief, so a brief
whose dispatch was in flight at a kill is found as a run rather than sent twice. `DEPLOYER_FULL_FAULTS=1` runs 20
seeds (the kill matrix: 60 kills), `DEPLOYER_FAULT_SEED` replays one.
The full disk is a file-size limit (RLIMIT_FSIZE) on the receiver process: writes past it fail with EFBIG just as on
a full filesystem, without root, mounts or filling the real disk; raising the limit is the space coming back.
"""

from __future__ import annotations

import base64
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

import pytest
import requests

from deployer.dispatch_payload import names_brief
from sandbox.procs import Service, start_service
from tests.conftest import GitHub, Services, start_github
from tests.faults.conftest import FULL, Ledger
from tests.receiver.receiver_support import make_brief, receiver_env, rows, wait_for

REPO = "sandbox/deploy-target"
BURST = 50
KILLS = 3
ROOT = Path(__file__).resolve().parents[2]
_REPLAY = os.environ.get("DEPLOYER_FAULT_SEED", "").strip()
_BASE = int(_REPLAY) if _REPLAY else time.time_ns() % 100_000
SEEDS = [_BASE] if _REPLAY else [_BASE + n for n in range(20 if FULL else 1)]
# What an in-doubt brief may wait for its run before it is sent again: far above the Actions service's lag.
LOOKUP_S = "20"


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


def deploy_target_with_actions(services: Services, github: GitHub, data: Path) -> Service:
    """The deployer repository with this project's deploy.yml (its triggers, run-name and concurrency) running a job
    that does nothing, and the sandbox's Actions service creating a run for each dispatch."""
    auth = {"Authorization": f"token {github.token}"}
    assert requests.post(f"{github.url}/user/repos", json={"name": "deploy-target", "auto_init": True},
                         headers=auth, timeout=10).status_code == 201
    ours = (ROOT / ".github" / "workflows" / "deploy.yml").read_text()
    workflow = ours[: ours.index("\njobs:")] + "\njobs:\n  deploy:\n    runs-on: ubuntu-latest\n    steps:\n" \
        "      - run: \"true\"\n"
    put = requests.put(f"{github.url}/repos/{REPO}/contents/.github/workflows/deploy.yml", headers=auth, timeout=10,
                       json={"message": "deploy workflow", "content": base64.b64encode(workflow.encode()).decode()})
    assert put.status_code == 201, put.text
    return services.start("actions", "sandbox", "actions", "--github", github.url, "--data", str(data),
                          "--max-parallel", "1", env={**os.environ, "GITHUB_TOKEN": github.token})


@pytest.mark.parametrize("seed", SEEDS, ids=[f"seed-{n}" for n in range(len(SEEDS))])
def test_sigkill_at_random_points_of_a_burst_loses_nothing_and_sends_nothing_twice(
        services: Services, tmp_path: Path, ledger: Ledger, seed: int) -> None:
    rng = random.Random(seed)
    print(f"DEPLOYER_FAULT_SEED={seed}")
    github = start_github(services, tmp_path / "github", "--content-limit", "100000")
    deploy_target_with_actions(services, github, tmp_path / "actions")
    data, port = tmp_path / "data", free_port()
    env = receiver_env(data, github.url, DEPLOYER_REPO=REPO, PORT=str(port), DISPATCH_PER_MINUTE="1500",
                       DISPATCH_LOOKUP_SECONDS=LOOKUP_S)
    url = f"http://127.0.0.1:{port}"
    receivers: list[Service] = []

    def start(n: int) -> Service:
        service = services.start(f"receiver-{n}", "serve", env=env)
        assert service.url == url
        receivers.append(service)
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
             timeout=240, what="every brief dispatched")
    dispatched = github.sandbox("GET", "dispatches").json()
    wait_for(lambda: len(github.sandbox("GET", "runs").json()) >= len(dispatched), what="a run for each dispatch")
    sent = Counter(d["client_payload"]["id"] for d in dispatched)
    titles = [run["display_title"] for run in github.sandbox("GET", "runs").json()]
    ran = Counter(i for title in titles for i in ids if names_brief(title, i))
    lost = [i for i in ids if sent[i] == 0]
    duplicated = sum(n - 1 for n in sent.values() if n > 1)
    ran_twice = sum(n - 1 for n in ran.values() if n > 1)
    logs = "".join(r.log() for r in receivers)
    found, resent = logs.count("found_run="), logs.count("stage=not_found")
    outcome = (f"{BURST - len(lost)} dispatched, {duplicated} sent twice ({ran_twice} ran twice); in doubt after a "
               f"kill: {found} found as runs, {resent} without a run sent again; killed at stored/dispatched "
               f"{', '.join(moments)}")
    ledger(f"receiver SIGKILL x{KILLS} in a burst of {BURST}, seed {seed}", outcome, accepted=BURST,
           notified=BURST - len(lost), lost=len(lost), duplicated=duplicated)
    assert lost == [] and set(sent) == set(ids)
    # Each dispatch is marked in flight before it is sent; a brief in flight at a kill is looked up as a run
    # before it is sent again, and every dispatch here starts a run: nothing is sent twice.
    assert duplicated == 0, sent
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
