"""Notifying once (action/notify_once.py) against the GitHub emulator's commit statuses and the sandbox evaluator,
through real sockets: first runs, re-runs, runs racing, runs killed after claiming, tokens that may not write
statuses. A run killed after its claim is played by appending the claim it would have left."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests
from github.Repository import Repository

from action import delivery_record as rec
from action.delivery_record import Runner
from action.github_client import open_github
from action.notify import Delivery, NotifyError, notify
from action.notify_once import Outcome, StatusLog, earlier_delivery, notify_once
from action.publish import create_repo, settled
from tests.conftest import Evaluator, GitHub

FIELDS = {"email": "a@example.com", "task": "once", "round": 1, "nonce": "n-1",
          "repo_url": "http://127.0.0.1:9/sandbox/once", "commit_sha": "0" * 40, "pages_url": "http://127.0.0.1:9/"}
PAGE = "http://127.0.0.1:9/sandbox/once/"


def round_commit(github: GitHub, name: str, token: str | None = None) -> tuple[Repository, str, StatusLog]:
    """A repository with GitHub's initial commit, standing for a round's commit, and its record as `token` sees it."""
    owner_gh = open_github(github.token, github.url)
    repo, _ = create_repo(owner_gh, github.user, github.user, name, "Once.")
    head = f"{repo.url}/commits/{repo.default_branch}"  # read through GitHub's creation lag, as the action does
    sha = settled(lambda: owner_gh.requester.requestJsonAndCheck("GET", head)[1]["sha"], name)
    gh = open_github(token or github.token, github.url)
    return repo, sha, StatusLog(gh, gh.get_repo(repo.full_name), sha)


def deliverer(evaluator: Evaluator) -> Callable[[float], Delivery]:
    return lambda until: notify(evaluator.notify_url, FIELDS, deadline=until, first_delay=0.05, cap=0.5)


def statuses(log: StatusLog) -> list[tuple[str, str]]:
    return [(s.state, s.description) for s in log.read()]


def status_calls(github: GitHub) -> list[str]:
    return [c["route"] for c in github.sandbox("GET", "requests").json() if "statuses" in (c["route"] or "")]


def fail_evaluator(evaluator: Evaluator, count: int) -> None:
    requests.post(f"{evaluator.url}/_sandbox/fail", json={"count": count, "status": 500}, timeout=5).raise_for_status()


def test_a_first_run_claims_delivers_and_records_and_a_rerun_reads_once(github: GitHub, evaluator: Evaluator) -> None:
    _, _, log = round_commit(github, "first")
    me = Runner("4242", 1)
    github.sandbox("DELETE", "requests")
    said: list[str] = []
    outcome = notify_once(log, me, deliverer(evaluator), deadline=time.time() + 30, target_url=PAGE, say=said.append)
    assert outcome.delivery == Delivery(1, 200) and outcome.earlier is None and outcome.unguarded is None
    assert status_calls(github) == ["POST /repos/{owner}/{repo}/statuses/{sha}",
                                    "GET /repos/{owner}/{repo}/commits/{ref}/statuses",
                                    "POST /repos/{owner}/{repo}/statuses/{sha}"]
    record = log.read()
    assert [(s.state, s.runner) for s in record] == [("pending", me), ("success", me)]
    assert record[1].description == "delivered: HTTP 200 after 1 attempt(s), run 4242/1"
    assert record[1].target_url == PAGE
    assert len(evaluator.notifications()) == 1

    github.sandbox("DELETE", "requests")
    rerun = Runner("4242", 2)
    assert earlier_delivery(log, rerun, say=said.append) == record[1]
    assert status_calls(github) == ["GET /repos/{owner}/{repo}/commits/{ref}/statuses"]
    again = notify_once(log, rerun, deliverer(evaluator), deadline=time.time() + 30, target_url=PAGE,
                        say=said.append)
    assert again == Outcome(earlier=record[1])
    assert len(evaluator.notifications()) == 1
    # Its claim came after the success, so a copy of the success follows it: the latest state stays success.
    assert [s.state for s in log.read()] == ["pending", "success", "pending", "success"]
    assert log.read()[-1].description.startswith(f"already notified at {rec.stamp(record[1].created_at)} (HTTP 200)")


@pytest.mark.parametrize("runs", [2, 4])
def test_runs_racing_on_one_commit_notify_once(github: GitHub, evaluator: Evaluator, runs: int) -> None:
    _, _, log = round_commit(github, f"race-{runs}")
    start = threading.Barrier(runs)

    def one(n: int) -> Outcome:
        start.wait()
        return notify_once(log, Runner(f"{n}00", 1), deliverer(evaluator), deadline=time.time() + 60,
                           target_url=PAGE, say=lambda _: None)

    with ThreadPoolExecutor(runs) as pool:
        outcomes = list(pool.map(one, range(1, runs + 1)))
    assert len(evaluator.notifications()) == 1
    delivered = [o for o in outcomes if o.delivery is not None]
    assert len(delivered) == 1
    first_success = next(s for s in log.read() if s.state == "success")
    assert all(o.earlier == first_success for o in outcomes if o.delivery is None)
    assert log.read()[-1].state == "success"


def test_a_claim_left_by_a_killed_run_is_waited_out_then_taken_over(github: GitHub, evaluator: Evaluator) -> None:
    _, _, log = round_commit(github, "killed")
    dead = Runner("111", 1)
    log.append("pending", rec.claim(dead, time.time() + 3))
    said: list[str] = []
    began = time.time()
    outcome = notify_once(log, Runner("222", 1), deliverer(evaluator), deadline=time.time() + 60, target_url=PAGE,
                          say=said.append)
    assert outcome.delivery is not None and time.time() - began >= 2
    assert any("run 111/1 claimed the notification" in line for line in said), said
    assert len(evaluator.notifications()) == 1
    # Our claim outlives the dead one's (it ends a grace period after our deadline): no extension was needed.
    assert [(s.state, s.runner) for s in log.read()] == [
        ("pending", dead), ("pending", Runner("222", 1)), ("success", Runner("222", 1))]


def test_a_rerun_of_a_run_killed_after_its_claim_takes_over_at_once(github: GitHub, evaluator: Evaluator) -> None:
    """The Actions tab re-runs only a finished run: attempt 1's claim is over, whatever its end says."""
    _, _, log = round_commit(github, "rerun-killed")
    log.append("pending", rec.claim(Runner("333", 1), time.time() + 600))
    began = time.time()
    outcome = notify_once(log, Runner("333", 2), deliverer(evaluator), deadline=time.time() + 60, target_url=PAGE,
                          say=lambda _: None)
    assert outcome.delivery is not None and time.time() - began < 10
    assert len(evaluator.notifications()) == 1


def test_a_waiting_run_takes_the_outcome_of_the_run_that_holds_the_claim(github: GitHub,
                                                                          evaluator: Evaluator) -> None:
    _, _, log = round_commit(github, "holder-succeeds")
    holder = Runner("444", 1)
    log.append("pending", rec.claim(holder, time.time() + 120))
    later = threading.Timer(2.0, log.append, args=("success", rec.delivered(holder, 200, 1), PAGE))
    later.start()
    try:
        outcome = notify_once(log, Runner("555", 1), deliverer(evaluator), deadline=time.time() + 60,
                              target_url=PAGE, say=lambda _: None)
    finally:
        later.join()
    assert outcome.delivery is None and outcome.earlier is not None and outcome.earlier.runner == holder
    assert evaluator.notifications() == []  # the holder's POST is not played here: only that we sent none


def test_a_holder_that_gives_up_before_the_deadline_is_followed_by_a_new_claim(github: GitHub,
                                                                               evaluator: Evaluator) -> None:
    _, _, log = round_commit(github, "holder-fails")
    holder = Runner("666", 1)
    log.append("pending", rec.claim(holder, time.time() + 120))
    said: list[str] = []

    def give_up() -> None:
        """The holder fails once the waiter has queued (its claim) and extended past the holder (a second)."""
        until = time.time() + 30
        while sum(s.state == "pending" for s in log.read()) < 3 and time.time() < until:
            time.sleep(0.2)
        log.append("failure", rec.not_delivered(holder, "HTTP 500", 3), PAGE)

    later = threading.Thread(target=give_up)
    later.start()
    try:
        outcome = notify_once(log, Runner("777", 1), deliverer(evaluator), deadline=time.time() + 60,
                              target_url=PAGE, say=said.append)
    finally:
        later.join()
    assert outcome.delivery is not None and len(evaluator.notifications()) == 1
    assert any("claiming again" in line for line in said), said
    assert [s.state for s in log.read()][-3:] == ["failure", "pending", "success"]


def test_a_failed_notification_is_recorded_and_a_rerun_notifies(github: GitHub, evaluator: Evaluator) -> None:
    _, _, log = round_commit(github, "failed-then-rerun")
    fail_evaluator(evaluator, 1000)
    with pytest.raises(NotifyError, match="HTTP 500"):
        notify_once(log, Runner("888", 1), deliverer(evaluator), deadline=time.time() + 2, target_url=PAGE,
                    say=lambda _: None)
    state, description = statuses(log)[-1]
    assert state == "failure" and description.startswith("not delivered: HTTP 500 after ")
    assert description.endswith("attempt(s), run 888/1")
    fail_evaluator(evaluator, 0)
    # The re-run comes after the deadline: it still gets one window to deliver.
    outcome = notify_once(log, Runner("888", 2), deliverer(evaluator), deadline=time.time() - 60, target_url=PAGE,
                          say=lambda _: None)
    assert outcome.delivery is not None and len(evaluator.notifications()) == 1
    assert [s.state for s in log.read()] == ["pending", "failure", "pending", "success"]


def test_a_token_that_may_not_write_statuses_still_notifies_and_says_why(github: GitHub,
                                                                         evaluator: Evaluator) -> None:
    """Another user's token sees the public repository but may not write to it (GitHub: 404)."""
    _, _, log = round_commit(github, "no-status-scope", token=github.other_token)
    said: list[str] = []
    outcome = notify_once(log, Runner("999", 1), deliverer(evaluator), deadline=time.time() + 30, target_url=PAGE,
                          say=said.append)
    assert outcome.delivery is not None and len(evaluator.notifications()) == 1
    assert outcome.unguarded is not None and "HTTP 404" in outcome.unguarded
    assert "Commit statuses" in outcome.unguarded and "another run of this round may notify too" in said[-1]
    assert log.read() == []


def test_nothing_of_the_brief_or_the_evaluator_url_reaches_the_public_record(github: GitHub,
                                                                            evaluator: Evaluator) -> None:
    _, _, log = round_commit(github, "public-record")
    fail_evaluator(evaluator, 2)
    notify_once(log, Runner("1", 1), deliverer(evaluator), deadline=time.time() + 30, target_url=PAGE,
                say=lambda _: None)
    written: list[Any] = [(s.description, s.target_url) for s in log.read()]
    descriptions = " ".join(d for d, _ in written)
    assert evaluator.url not in descriptions and "/notify" not in descriptions
    assert all(str(FIELDS[k]) not in descriptions for k in ("email", "task", "nonce", "repo_url"))
    assert {url for _, url in written} == {None, PAGE}  # the page, public anyway, and nothing else
    assert written[-1] == ("delivered: HTTP 200 after 3 attempt(s), run 1/1", PAGE)


def test_the_run_that_made_the_commit_notifies_with_one_write_and_others_wait_for_it(
        github: GitHub, evaluator: Evaluator) -> None:
    _, sha, log = round_commit(github, "carried")
    maker, other = Runner("5151", 1), Runner("6161", 1)
    carried = rec.carried_claim(f"Deploy\n\nDeployer-Claim: {rec.commit_claim(maker, time.time() + 30)}\n", 0.0)
    made = StatusLog(log.gh, log.repo, sha, carried)
    github.sandbox("DELETE", "requests")
    outcome = notify_once(made, maker, deliverer(evaluator), deadline=time.time() + 30, target_url=PAGE,
                          say=lambda _: None)
    assert outcome.delivery == Delivery(1, 200)
    assert status_calls(github) == ["POST /repos/{owner}/{repo}/statuses/{sha}"]  # no claim, no read: its outcome
    found = StatusLog(log.gh, log.repo, sha, carried)  # another run that found the commit reads the same log
    again = notify_once(found, other, deliverer(evaluator), deadline=time.time() + 30, target_url=PAGE,
                        say=lambda _: None)
    assert again.earlier is not None and again.earlier.runner == maker
    assert len(evaluator.notifications()) == 1


def test_a_run_finding_a_commit_whose_maker_is_still_at_work_waits_for_its_outcome(
        github: GitHub, evaluator: Evaluator) -> None:
    _, sha, log = round_commit(github, "carried-wait")
    maker = Runner("7171", 1)
    carried = rec.carried_claim(f"Deploy\n\nDeployer-Claim: {rec.commit_claim(maker, time.time() + 30)}\n", 0.0)
    said: list[str] = []
    with ThreadPoolExecutor(1) as pool:
        waiting = pool.submit(notify_once, StatusLog(log.gh, log.repo, sha, carried), Runner("8181", 1),
                              deliverer(evaluator), deadline=time.time() + 30, target_url=PAGE, say=said.append)
        time.sleep(2)
        assert not waiting.done() and any("run 7171/1 claimed the notification" in s for s in said), said
        mine = notify_once(StatusLog(log.gh, log.repo, sha, carried), maker, deliverer(evaluator),
                           deadline=time.time() + 30, target_url=PAGE, say=lambda _: None)
        assert mine.delivery is not None
        assert waiting.result(timeout=30).earlier is not None
    assert len(evaluator.notifications()) == 1
