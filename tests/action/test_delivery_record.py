"""The delivery record's rules (action/delivery_record.py): which run notifies, read from a log of commit statuses."""

from __future__ import annotations

import itertools

import pytest

from action import delivery_record as rec
from action.delivery_record import Free, Mine, Notified, Runner, Status, Taken, resolve

NOW = 1_700_000_000.0
ME = Runner("900", 1)
OTHER = Runner("800", 1)
_ids = itertools.count(1)


def claim(runner: Runner, until: float, at: float = NOW - 5) -> Status:
    return Status(next(_ids), "pending", rec.claim(runner, until), None, at)


def outcome(state: str, runner: Runner, at: float = NOW - 1) -> Status:
    text = rec.delivered(runner, 200, 1) if state == "success" else rec.not_delivered(runner, "HTTP 503", 4)
    return Status(next(_ids), state, text, "https://sandbox.github.io/t/", at)


def test_nothing_recorded_is_free() -> None:
    assert resolve([], ME, NOW) == Free()


def test_any_success_means_notified_and_the_first_one_is_named() -> None:
    first = outcome("success", OTHER, at=NOW - 100)
    log = [claim(OTHER, NOW + 60, at=NOW - 101), first, claim(ME, NOW + 60), outcome("success", ME)]
    assert resolve(log, ME, NOW) == Notified(first)


def test_the_oldest_live_claim_wins_and_everyone_reading_the_log_agrees() -> None:
    log = [claim(OTHER, NOW + 60), claim(ME, NOW + 60)]
    assert resolve(log, ME, NOW) == Taken(log[0], rec.parse_time(rec.stamp(NOW + 60)))
    assert isinstance(resolve(log, OTHER, NOW), Mine)


def test_an_expired_claim_is_passed_over() -> None:
    log = [claim(OTHER, NOW - 1), claim(ME, NOW + 60)]
    assert isinstance(resolve(log, ME, NOW), Mine)
    assert isinstance(resolve(log, OTHER, NOW), Taken)  # the late holder itself must not notify any more


def test_an_extension_keeps_the_first_claims_place() -> None:
    """A waiting run appends a later claim: it stays behind the holder, and outlives the holder's claim."""
    holder, mine, extension = claim(OTHER, NOW + 10), claim(ME, NOW + 10), claim(ME, NOW + 100)
    log = [holder, mine, extension]
    assert isinstance(resolve(log, ME, NOW), Taken)
    later = resolve(log, ME, NOW + 20)
    assert isinstance(later, Mine) and later.until == rec.parse_time(rec.stamp(NOW + 100))


def test_a_failure_ends_the_claims_before_it() -> None:
    failed = outcome("failure", OTHER)
    log = [claim(OTHER, NOW + 60, at=NOW - 10), claim(ME, NOW + 60, at=NOW - 9), failed]
    assert resolve(log, ME, NOW) == Free(failed)
    log.append(claim(ME, NOW + 60))
    assert isinstance(resolve(log, ME, NOW), Mine)


def test_a_later_attempt_of_the_same_run_supersedes_its_earlier_claim() -> None:
    """GitHub re-runs only a finished run: attempt 1's claim, never followed by an outcome, is over."""
    killed = claim(Runner("900", 1), NOW + 600)
    rerun = Runner("900", 2)
    assert isinstance(resolve([killed], rerun, NOW), Free)
    assert isinstance(resolve([killed, claim(rerun, NOW + 60)], rerun, NOW), Mine)
    assert isinstance(resolve([killed, claim(rerun, NOW + 60)], OTHER, NOW), Taken)


def test_statuses_of_other_contexts_and_unreadable_claims_are_ignored() -> None:
    answer = [
        {"id": 3, "state": "pending", "context": "ci/build", "target_url": None, "created_at": "2023-11-14T22:13:00Z",
         "description": "claimed by run 1/1 until 2099-01-01T00:00:00Z"},
        {"id": 2, "state": "pending", "context": "Deployer/Notified", "description": "somebody's note",
         "target_url": None, "created_at": "2023-11-14T22:12:00Z"},
        {"id": 1, "state": "pending", "context": "deployer/notified", "description": None, "target_url": None,
         "created_at": "2023-11-14T22:11:00Z"},
    ]
    log = rec.parse_statuses(answer)
    assert [s.id for s in log] == [1, 2]  # oldest first, contexts case-insensitive
    assert resolve(log, ME, NOW) == Free()


def test_descriptions_fit_githubs_limit_and_read_back() -> None:
    long = Runner("x" * 200, 3)
    for text in (rec.claim(long, NOW), rec.delivered(long, 200, 12), rec.not_delivered(long, "ConnectionError", 9)):
        assert len(text) <= rec.MAX_DESCRIPTION
    written = Status(1, "success", rec.delivered(ME, 202, 3), None, NOW)
    assert (written.runner, written.http_status) == (ME, 202)
    assert written.when() == "2023-11-14 22:13:20 UTC"
    copy = rec.already(OTHER, written)
    assert copy.startswith("already notified at 2023-11-14T22:13:20Z (HTTP 202)") and "800/1" in copy


@pytest.mark.parametrize("text", ["claimed by run 5/1", "claimed by run 5 until 2099-01-01T00:00:00Z"])
def test_a_claim_without_a_run_or_an_end_is_no_claim(text: str) -> None:
    assert resolve([Status(1, "pending", text, None, NOW)], ME, NOW) == Free()


def test_the_claim_a_commit_carries_comes_first_and_is_its_makers() -> None:
    from action.plan import commit_message
    from deployer.brief import parse_brief

    brief = parse_brief({"email": "a@example.com", "task": "t", "round": 1, "nonce": "n", "brief": "B.",
                         "evaluation_url": "http://127.0.0.1:9/"}, require_secret=False)
    carried = rec.carried_claim(commit_message(brief, rec.commit_claim(OTHER, NOW + 60)), NOW - 30)
    assert carried is not None and carried.runner == OTHER and carried.until == rec.parse_time(rec.stamp(NOW + 60))
    assert rec.carried_claim(commit_message(brief), NOW) is None  # a commit made before claims travelled in it
    later = claim(ME, NOW + 600, at=NOW - 1)
    assert resolve([carried, later], OTHER, NOW) == Mine(carried.until)
    assert resolve([carried, later], ME, NOW) == Taken(carried, carried.until)  # though ME's claim outlives it
    assert resolve([carried, later], ME, NOW + 61) == Mine(later.until)  # the maker never answered: taken over
    assert resolve([carried, later], Runner(OTHER.run_id, 2), NOW) == Taken(later, later.until)  # a re-run attempt
