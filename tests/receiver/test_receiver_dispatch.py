"""The receiver's dispatches, against the GitHub emulator: once, without the secret, through faults and a crash."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import sqlite3
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import aiohttp
import pytest
import requests
from receiver_support import SECRET, make_brief, post, receiver_env, rows, status_of, wait_for

from deployer.brief import parse_brief
from deployer.dispatch_payload import MAX_REQUEST_BYTES
from receiver.payload import build_inline, encode, report_link
from sandbox.runner.event import Repository, event_from_dispatch
from sandbox.runner.run import run_title
from sandbox.runner.workflow import load_workflow
from tests.conftest import IDEAL_UNTIL_ACTION_SURVIVES
from tests.faults.table import Ledger

DISPATCH_ROUTE = "POST /repos/{owner}/{repo}/dispatches"
REPO = "sandbox/deploy-target"


def create_repo(github: Any, name: str = "deploy-target") -> None:
    r = requests.post(f"{github.url}/user/repos", json={"name": name, "auto_init": True}, timeout=10,
                      headers={"Authorization": f"Bearer {github.token}"})
    assert r.status_code == 201, r.text


def dispatches(github: Any) -> list[dict[str, Any]]:
    return [d for d in github.sandbox("GET", "dispatches").json() if d["kind"] == "repository_dispatch"]


def dispatch_calls(github: Any) -> list[int]:
    """The status of every dispatch call the emulator answered, in order."""
    return [c["status"] for c in github.sandbox("GET", "requests").json() if c["route"] == DISPATCH_ROUTE]


def arm(github: Any, status: int, count: int = 1, headers: dict[str, str] | None = None) -> None:
    r = github.sandbox("POST", "faults", json={"route": DISPATCH_ROUTE, "status": status, "count": count,
                                               "headers": headers or {}})
    assert r.status_code < 300, r.text


def settled(url: str, brief_id: str) -> dict[str, Any] | None:
    status = status_of(url, brief_id)
    return status if status["state"] != "pending" else None


@pytest.fixture
def target(github: Any) -> Any:
    create_repo(github)
    return github


def start(services: Any, data: Path, github: Any, name: str = "receiver", **extra: str) -> Any:
    return services.start(name, "serve", env=receiver_env(data, github.url, DEPLOYER_REPO=REPO, **extra))


def test_dispatch_reaches_github_once_without_the_secret(services: Any, target: Any, tmp_path: Path) -> None:
    svc = start(services, tmp_path / "data", target)
    brief = make_brief(task="dispatch-task", extra_field={"kept": [1, 2]})
    brief_id = post(svc.url, brief).json()["id"]
    done = wait_for(lambda: settled(svc.url, brief_id), what="the dispatch")
    assert done["state"] == "dispatched" and done["attempts"] == 1 and done["dispatched_at"]
    assert done["mode"] == "inline"

    [sent] = dispatches(target)
    assert (sent["owner"], sent["repo"], sent["event_type"]) == ("sandbox", "deploy-target", "deploy-brief")
    payload = sent["client_payload"]
    assert set(payload) == {"id", "accepted_at", "report_url", "report_token", "brief"}
    assert payload["report_url"] == f"{svc.url}/briefs/{brief_id}/events" and list(payload)[-1] == "brief"
    assert payload["id"] == brief_id and payload["accepted_at"].endswith("Z")
    assert payload["brief"] == {k: v for k, v in brief.items() if k != "secret"}
    assert "secret" not in json.dumps(sent) and SECRET not in json.dumps(sent)

    # The same brief again is a duplicate; a later brief is dispatched after it would have been (first in, first
    # out), so once the later one arrived, a second dispatch of the first can no longer be on its way.
    assert post(svc.url, brief).json() == {"status": "duplicate", "id": brief_id}
    later = post(svc.url, make_brief(task="dispatch-task", round=2)).json()["id"]
    wait_for(lambda: settled(svc.url, later), what="the later dispatch")
    assert [d["client_payload"]["id"] for d in dispatches(target)] == [brief_id, later]
    log = svc.log()
    assert SECRET not in log and target.token not in log
    assert f"stage=dispatched id={brief_id} task=dispatch-task round=1" in log


def test_dispatch_waits_out_500_then_429_and_arrives_once(services: Any, target: Any, tmp_path: Path) -> None:
    arm(target, 500)
    arm(target, 429, headers={"Retry-After": "1"})
    svc = start(services, tmp_path / "data", target)
    brief_id = post(svc.url, make_brief(task="fault-task")).json()["id"]
    done = wait_for(lambda: settled(svc.url, brief_id), what="the dispatch")
    assert done["state"] == "dispatched" and done["attempts"] == 3
    assert "429" in done["last_error"]  # the last failure stays visible after the success
    assert dispatch_calls(target) == [500, 429, 204]
    assert [d["client_payload"]["id"] for d in dispatches(target)] == [brief_id]
    assert "stage=retry" in svc.log() and "wait_s=1" in svc.log()


def test_secondary_rate_limit_403_is_retried(services: Any, target: Any, tmp_path: Path) -> None:
    arm(target, 403, headers={"Retry-After": "1"})
    svc = start(services, tmp_path / "data", target)
    brief_id = post(svc.url, make_brief(task="secondary-task")).json()["id"]
    done = wait_for(lambda: settled(svc.url, brief_id), what="the dispatch")
    assert done["state"] == "dispatched" and done["attempts"] == 2
    assert dispatch_calls(target) == [403, 204]


@pytest.mark.parametrize("status", [401, 404, 422])
def test_permanent_errors_mark_the_brief_failed_with_the_reason(services: Any, target: Any, tmp_path: Path,
                                                                status: int) -> None:
    arm(target, status)
    svc = start(services, tmp_path / "data", target)
    failed_id = post(svc.url, make_brief(task="failing-task")).json()["id"]
    next_id = post(svc.url, make_brief(task="next-task")).json()["id"]
    failed = wait_for(lambda: settled(svc.url, failed_id), what="the failure")
    assert failed["state"] == "failed" and failed["attempts"] == 1 and failed["dispatched_at"] is None
    assert failed["last_error"].startswith(f"GitHub answered {status}")
    assert wait_for(lambda: settled(svc.url, next_id))["state"] == "dispatched"  # the queue moves on
    assert [d["client_payload"]["id"] for d in dispatches(target)] == [next_id]
    health = requests.get(f"{svc.url}/health", timeout=10).json()["outbox"]
    assert (health["failed"], health["dispatched"], health["pending"]) == (1, 1, 0)


def test_unknown_repository_fails_for_real(services: Any, github: Any, tmp_path: Path) -> None:
    """No fault injected: the emulator itself answers 404 for a repository that does not exist."""
    svc = start(services, tmp_path / "data", github)  # REPO was never created here
    brief_id = post(svc.url, make_brief()).json()["id"]
    failed = wait_for(lambda: settled(svc.url, brief_id))
    assert failed["state"] == "failed" and failed["last_error"].startswith("GitHub answered 404")


def test_crash_with_dispatch_failing_loses_nothing_and_sends_each_once(services: Any, target: Any,
                                                                       tmp_path: Path, ledger: Ledger) -> None:
    data = tmp_path / "data"
    arm(target, 500, count=100_000)
    fast = {"DISPATCH_PER_MINUTE": "6000"}  # this test is about the crash, not the pacing
    first = start(services, data, target, name="receiver-1", **fast)
    ids = [post(first.url, make_brief(task=f"crash-{i}")).json()["id"] for i in range(20)]
    assert len(set(ids)) == 20
    wait_for(lambda: any(r["attempts"] for r in rows(data)), what="a failed dispatch attempt")
    first.kill()  # SIGKILL: no chance to flush anything
    assert first.proc.returncode == -9
    assert [r["id"] for r in rows(data) if r["state"] == "pending"] == ids

    second = start(services, data, target, name="receiver-2", **fast)
    assert target.sandbox("DELETE", "faults").status_code < 300  # heal GitHub
    wait_for(lambda: all(r["state"] == "dispatched" for r in rows(data)), what="all 20 dispatched")
    sent = [d["client_payload"]["id"] for d in dispatches(target)]
    lost, duplicated = len(set(ids) - set(sent)), len(sent) - len(set(sent))
    ledger("receiver SIGKILL with GitHub failing, then healed", f"{len(set(sent))} of 20 dispatched, "
           f"{'in order' if sent == ids else 'out of order'}", accepted=20, notified=len(set(sent)), lost=lost,
           duplicated=duplicated)
    assert sent == ids  # each exactly once, first in first out
    assert requests.get(f"{second.url}/health", timeout=10).json()["outbox"]["dispatched"] == 20


def just_past_64kb() -> dict[str, str]:
    return {"name": "data.bin", "url": "data:application/octet-stream;base64," + base64.b64encode(
        b"\x00" * 50_000).decode()}


def _image(size: int, seed: int) -> bytes:
    return (bytes([seed]) + os.urandom(size - 1)) if size else b""


def test_oversize_brief_round_trips_through_the_reference(services: Any, target: Any, tmp_path: Path) -> None:
    svc = start(services, tmp_path / "data", target)
    images = {f"photo-{i}.png": _image(5 * 1024 * 1024, i) for i in range(3)}  # ~20 MB as base64
    big = make_brief(task="oversize-task", attachments=[
        {"name": name, "url": "data:image/png;base64," + base64.b64encode(raw).decode()} for name, raw in images.items()
    ])
    small_but_over = make_brief(task="oversize-task-2", attachments=[just_past_64kb()])
    big_id = post(svc.url, big).json()["id"]
    other_id = post(svc.url, small_but_over).json()["id"]
    for brief_id in (big_id, other_id):
        done = wait_for(lambda b=brief_id: settled(svc.url, b))
        assert done["state"] == "dispatched" and done["mode"] == "reference"

    sent = {d["client_payload"]["id"]: d["client_payload"] for d in dispatches(target)}
    ref = sent[big_id]
    assert set(ref) == {"id", "accepted_at", "brief_url", "brief_token", "task", "round", "report_url", "report_token"}
    assert ref["brief_url"] == f"{svc.url}/briefs/{big_id}/payload"
    assert ref["report_url"] == f"{svc.url}/briefs/{big_id}/events" and ref["report_token"] != ref["brief_token"]
    opened = requests.get(ref["brief_url"], headers={"Authorization": f"Bearer {ref['report_token']}"}, timeout=60)
    assert opened.status_code == 401  # the report token reports; it opens no brief
    assert SECRET not in json.dumps(sent)

    got = requests.get(ref["brief_url"], headers={"Authorization": f"Bearer {ref['brief_token']}"}, timeout=60)
    assert got.status_code == 200 and got.headers["Content-Type"].startswith("application/json")
    brief = got.json()
    assert brief == {k: v for k, v in big.items() if k != "secret"}
    for attachment in brief["attachments"]:
        assert base64.b64decode(attachment["url"].split(",", 1)[1]) == images[attachment["name"]]

    other_token = sent[other_id]["brief_token"]
    for token in (other_token, "wrong-token", ref["brief_token"] + "x"):
        r = requests.get(ref["brief_url"], headers={"Authorization": f"Bearer {token}"}, timeout=10)
        assert r.status_code == 401 and r.json()["error"] == "unauthorized"
    # and the token opens only its own brief
    r = requests.get(f"{svc.url}/briefs/{other_id}/payload", headers={"Authorization": f"Bearer {other_token}"},
                     timeout=10)
    assert r.status_code == 200 and r.json()["task"] == "oversize-task-2"
    on_disk = b"".join(p.read_bytes() for p in (tmp_path / "data").iterdir() if p.is_file())
    assert ref["brief_token"].encode() not in on_disk and other_token.encode() not in on_disk


async def _post_all(url: str, briefs: list[dict[str, Any]]) -> list[tuple[int, dict[str, Any]]]:
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        async def one(brief: dict[str, Any]) -> tuple[int, dict[str, Any]]:
            async with session.post(f"{url}/api-endpoint", json=brief) as resp:
                return resp.status, await resp.json()

        return await asyncio.gather(*(one(b) for b in briefs))


def test_200_concurrent_briefs_are_all_stored_and_dispatched(services: Any, tmp_path: Path) -> None:
    # An emulator of its own: GitHub's 80 content-creating requests a minute would make this test wait minutes.
    gh = services.start("github-burst", "sandbox", "github", "--port", "0", "--pages-port", "0", "--user", "sandbox",
                        "--token", "sandbox-token", "--data", str(tmp_path / "github"), "--content-limit", "1000",
                        *IDEAL_UNTIL_ACTION_SURVIVES)
    github = SimpleNamespace(url=gh.url, token="sandbox-token",
                             sandbox=lambda method, route, **kw: requests.request(
                                 method, f"{gh.url}/_sandbox/{route}", timeout=10, **kw))
    create_repo(github)
    data = tmp_path / "data"
    svc = start(services, data, github, DISPATCH_PER_MINUTE="100000")
    briefs = [make_brief(task=f"burst-{i}") for i in range(200)]
    answers = asyncio.run(_post_all(svc.url, briefs))
    assert [status for status, _ in answers] == [200] * 200
    ids = {body["id"] for _, body in answers}
    assert len(ids) == 200 and all(body["status"] == "accepted" for _, body in answers)
    assert {r["id"] for r in rows(data)} == ids
    wait_for(lambda: len(dispatches(github)) >= 200 and all(r["state"] == "dispatched" for r in rows(data)),
             timeout=120, what="200 dispatches")
    sent = [d["client_payload"]["id"] for d in dispatches(github)]
    assert sorted(sent) == sorted(ids)
    assert [r["id"] for r in rows(data)] == sent  # dispatched in the order they were stored


def test_a_failed_brief_can_be_retried_by_the_operator(services: Any, target: Any, tmp_path: Path) -> None:
    arm(target, 401)  # say the token was wrong, and then fixed
    svc = start(services, tmp_path / "data", target)
    brief_id = post(svc.url, make_brief(task="retry-task")).json()["id"]
    assert wait_for(lambda: settled(svc.url, brief_id))["state"] == "failed"

    def retry(token: str, which: str = brief_id) -> requests.Response:
        return requests.post(f"{svc.url}/briefs/{which}/retry", headers={"Authorization": f"Bearer {token}"},
                             timeout=10)

    assert retry("wrong").status_code == 401
    assert retry(SECRET, "unknown-id").status_code == 404
    r = retry(SECRET)
    assert r.status_code == 200 and r.json() == {"status": "pending", "id": brief_id}
    done = wait_for(lambda: settled(svc.url, brief_id))
    assert done["state"] == "dispatched" and done["attempts"] == 2
    assert [d["client_payload"]["id"] for d in dispatches(target)] == [brief_id]
    again = retry(SECRET)
    assert again.status_code == 409 and again.json()["error"] == "not_failed"


def _largest_inline_text(base: dict[str, Any], receiver_url: str) -> int:
    """The longest `brief` text for which the dispatch still carries the brief inline (ids are 28 characters, a
    report token is a 10-digit expiry, a dot and 43 characters)."""
    report = report_link(receiver_url, "0" * 28, "1" * 10 + "." + "x" * 43)

    def fits(n: int) -> bool:
        public = encode(parse_brief({**base, "brief": "x" * n}, limits=None).public_dict()).decode()
        return build_inline("0" * 28, "2026-01-01T00:00:00.000Z", public, report) is not None

    low, high = 1, MAX_REQUEST_BYTES
    while low < high:
        mid = (low + high + 1) // 2
        low, high = (mid, high) if fits(mid) else (low, mid - 1)
    return low


def test_the_inline_limit_is_one_github_accepts(services: Any, target: Any, tmp_path: Path) -> None:
    svc = start(services, tmp_path / "data", target, BRIEF_MAX_CHARS="100000")  # a text brief past 64 KB
    base = make_brief(task="edge-task")
    n = _largest_inline_text(base, svc.url)
    at_limit = post(svc.url, {**base, "brief": "x" * n}).json()["id"]
    other_nonce = base["nonce"][::-1]  # same length, so only the text decides
    over = post(svc.url, {**base, "nonce": other_nonce, "brief": "x" * (n + 1)}).json()["id"]
    first, second = wait_for(lambda: settled(svc.url, at_limit)), wait_for(lambda: settled(svc.url, over))
    assert (first["state"], first["mode"]) == ("dispatched", "inline")
    assert (second["state"], second["mode"]) == ("dispatched", "reference")
    sent = {d["client_payload"]["id"]: d["client_payload"] for d in dispatches(target)}
    assert sent[at_limit]["brief"]["brief"] == "x" * n and "brief" not in sent[over]


def test_brief_token_expires(services: Any, target: Any, tmp_path: Path) -> None:
    svc = start(services, tmp_path / "data", target, BRIEF_TOKEN_TTL_HOURS="0.001")  # 3.6 seconds
    brief_id = post(svc.url, make_brief(task="expiry-task", attachments=[just_past_64kb()])).json()["id"]
    wait_for(lambda: settled(svc.url, brief_id))
    [payload] = [d["client_payload"] for d in dispatches(target)]

    def fetch() -> requests.Response:
        return requests.get(payload["brief_url"], headers={"Authorization": f"Bearer {payload['brief_token']}"},
                            timeout=10)

    first = fetch()
    expired = wait_for(lambda: [r for r in [fetch()] if r.status_code == 401], what="the token to expire")[0]
    assert first.status_code == 200 or first.json()["detail"] == "the brief_token has expired"
    assert expired.json() == {"error": "unauthorized", "detail": "the brief_token has expired"}


# --- a dispatch whose outcome is unknown: look for its run before sending it again -----------------------------

RUNS_ROUTE = "GET /repos/{owner}/{repo}/actions/runs"
DEPLOY = load_workflow(Path(__file__).resolve().parents[2], ".github/workflows/deploy.yml")


def register_run(github: Any, record: dict[str, Any]) -> int:
    """What GitHub Actions does with a dispatch: a run of deploy.yml, titled by its run-name (as the sandbox's
    Actions service titles it)."""
    repo = Repository(f"{record['owner']}/{record['repo']}", "main", github.url, github.url)
    title = run_title(DEPLOY, *event_from_dispatch(record, repo, DEPLOY))
    r = github.sandbox("POST", "runs", json={"owner": record["owner"], "repo": record["repo"], "status": "queued",
                                             "event": "repository_dispatch", "display_title": title,
                                             "path": DEPLOY.path, "name": DEPLOY.name})
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def slow_github(github: Any, seconds: float) -> None:
    """GitHub takes `seconds` to answer the next dispatch."""
    r = github.sandbox("POST", "faults", json={"route": DISPATCH_ROUTE, "delay": seconds, "count": 1})
    assert r.status_code < 300, r.text


def killed_after_github_took_it(services: Any, github: Any, data: Path, task: str) -> str:
    """A receiver SIGKILLed after GitHub accepted its dispatch and before the outbox recorded that: GitHub answers
    slowly, and meanwhile we hold the outbox's write lock so that its answer cannot be recorded."""
    slow_github(github, 2)
    first = start(services, data, github, name="receiver-1")
    brief_id = str(post(first.url, make_brief(task=task)).json()["id"])
    wait_for(lambda: [r for r in rows(data) if r["inflight_since"]], what="the attempt in flight")
    lock = sqlite3.connect(data / "outbox.sqlite3", isolation_level=None)
    try:
        lock.execute("BEGIN EXCLUSIVE")
        assert [(r["state"], bool(r["inflight_since"])) for r in rows(data)] == [("pending", True)]
        wait_for(lambda: dispatch_calls(github) == [204], what="GitHub to accept the dispatch")
        first.kill()
    finally:
        lock.execute("ROLLBACK")
        lock.close()
    return brief_id


def calls(github: Any) -> list[str]:
    return [c["route"] for c in github.sandbox("GET", "requests").json()]


def test_a_dispatch_whose_answer_was_lost_is_found_as_its_run_and_not_sent_again(services: Any, target: Any,
                                                                                   tmp_path: Path) -> None:
    data = tmp_path / "data"
    brief_id = killed_after_github_took_it(services, target, data, "lost-answer")
    [record] = dispatches(target)
    run_id = register_run(target, record)
    target.sandbox("DELETE", "requests")
    second = start(services, data, target, name="receiver-2", DISPATCH_LOOKUP_SECONDS="30")
    done = wait_for(lambda: settled(second.url, brief_id), what="the brief settled")
    assert (done["state"], done["attempts"]) == ("dispatched", 1)
    assert [d["client_payload"]["id"] for d in dispatches(target)] == [brief_id]
    assert RUNS_ROUTE in calls(target) and DISPATCH_ROUTE not in calls(target)
    assert f"stage=dispatched id={brief_id} task=lost-answer round=1 found_run={run_id}" in second.log()
    assert not rows(data)[0]["inflight_since"]


def test_a_dispatch_in_doubt_without_a_run_is_sent_again_after_the_lookup(services: Any, target: Any,
                                                                          tmp_path: Path) -> None:
    """GitHub took the dispatch but no run came of it within DISPATCH_LOOKUP_SECONDS: at least once, not never."""
    data = tmp_path / "data"
    brief_id = killed_after_github_took_it(services, target, data, "no-run")
    target.sandbox("DELETE", "requests")
    second = start(services, data, target, name="receiver-2", DISPATCH_LOOKUP_SECONDS="2")
    done = wait_for(lambda: settled(second.url, brief_id), what="the brief settled")
    assert (done["state"], done["attempts"]) == ("dispatched", 2)
    assert [d["client_payload"]["id"] for d in dispatches(target)] == [brief_id, brief_id]
    routes = calls(target)
    assert routes.index(RUNS_ROUTE) < routes.index(DISPATCH_ROUTE)  # looked before sending again
    assert f"stage=not_found id={brief_id}" in second.log()


def test_a_dispatch_without_an_answer_is_looked_up_before_it_is_sent_again(services: Any, target: Any,
                                                                              tmp_path: Path) -> None:
    """No answer within DISPATCH_TIMEOUT_SECONDS: GitHub may have it, so the run is looked for first. (The emulator
    drops a request whose caller has gone, so here no run appears and the brief is sent again.)"""
    slow_github(target, 3)
    svc = start(services, tmp_path / "data", target, DISPATCH_TIMEOUT_SECONDS="1", DISPATCH_LOOKUP_SECONDS="2")
    brief_id = post(svc.url, make_brief(task="timed-out")).json()["id"]
    done = wait_for(lambda: settled(svc.url, brief_id), what="the brief settled")
    assert (done["state"], done["attempts"]) == ("dispatched", 2)
    assert "TimeoutError" in done["last_error"]
    routes = calls(target)
    resent = max(i for i, route in enumerate(routes) if route == DISPATCH_ROUTE)
    assert RUNS_ROUTE in routes[:resent]  # looked before sending again
    assert [d["client_payload"]["id"] for d in dispatches(target)] == [brief_id]
    log = svc.log()
    assert "in_doubt=True" in log and log.index("in_doubt=True") < log.index(f"stage=not_found id={brief_id}")


def test_a_token_that_may_not_list_runs_sends_again_at_once(services: Any, target: Any, tmp_path: Path) -> None:
    data = tmp_path / "data"
    brief_id = killed_after_github_took_it(services, target, data, "no-actions-read")
    refused = {"message": "Resource not accessible by personal access token"}  # a token without actions: read
    r = target.sandbox("POST", "faults", json={"route": RUNS_ROUTE, "status": 403, "count": 1, "body": refused})
    assert r.status_code < 300, r.text
    second = start(services, data, target, name="receiver-2", DISPATCH_LOOKUP_SECONDS="600")
    done = wait_for(lambda: settled(second.url, brief_id), what="the brief settled")
    assert (done["state"], done["attempts"]) == ("dispatched", 2)
    assert len(dispatches(target)) == 2
    assert f"stage=lookup_refused id={brief_id}" in second.log() and "status=403" in second.log()
