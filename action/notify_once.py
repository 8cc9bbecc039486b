"""Notify a round once, however many runs of it reach the notify stage: re-runs from the Actions tab, a dispatch
delivered twice, runs racing on one commit. The record and its rules are `action/delivery_record.py`; this module
reads and appends the statuses and runs the claim:

    append `pending` (the claim) -> read the log -> the oldest live claim notifies, the others wait for its outcome
    -> the winner POSTs (`notify.notify`) and appends `success` or `failure`

GitHub calls: a first notification by the run that made the round's commit costs 1 write, its outcome (its claim
travels in the commit); by another run, 2 writes (claim, outcome) and 1 read; a re-run of a notified round 1 read
(`earlier_delivery`, before the Pages stage) and nothing else; a run that waits reads every few seconds (reads do
not count against GitHub's 80 content-creating requests a minute). A claim appended just after someone else's
success is followed by a copy of that success, so the commit's latest state for the context stays `success`.

When the record cannot be used (the token may not read or write statuses, GitHub keeps failing), the notification
still goes out, once from this run, and the summary says a duplicate is then possible: losing a round is worse.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests
from github import Github, GithubException
from github.Repository import Repository

from action import delivery_record as record
from action.delivery_record import Mine, Notified, Runner, Status, Taken, Verdict
from action.notify import Delivery, NotifyError
from deployer.retry import backoff

# A claim made after the deadline (a re-run of a failed notification) still gets this long to deliver.
FIRST_ATTEMPT_S = 30.0
# After its own deadline a claim holder has this long to append its outcome; until then the others wait for it.
GRACE_S = 60.0
# Reads of the log that may miss our own claim (a lagging replica) before the record is called unusable.
READS_UNTIL_CONSISTENT = 5
# Claims one run makes at most (a new claim follows only another run's failure).
MAX_TURNS = 5
# A run waits for another's claim at most this long after the deadline, whatever that claim says.
MAX_WAIT_S = 5 * 60.0


class RecordUnavailable(RuntimeError):
    """The delivery record cannot be read or written; the message says GitHub's answer and the fix."""


@dataclass(frozen=True)
class Outcome:
    """`delivery` when this run delivered; `earlier` when another run (or an earlier attempt) had; `unguarded`
    says why the record could not be used, when it could not."""

    delivery: Delivery | None = None
    earlier: Status | None = None
    unguarded: str | None = None


class StatusLog:
    """The statuses of the round's commit through GitHub's REST API (repos/create-commit-status,
    repos/list-commit-statuses-for-ref), after `first`: the claim the commit itself carries."""

    def __init__(self, gh: Github, repo: Repository, sha: str, first: Status | None = None):
        self.gh, self.repo, self.sha, self.first = gh, repo, sha, first

    def read(self) -> list[Status]:
        """Our context's statuses, oldest first (GitHub's first page: the newest 100 of every context)."""
        answer: Any = self._call("GET", f"{self.repo.url}/commits/{self.sha}/statuses", parameters={"per_page": 100})
        statuses = record.parse_statuses(answer if isinstance(answer, list) else [])
        return [self.first, *statuses] if self.first else statuses

    def append(self, state: str, description: str, target_url: str | None = None) -> int:
        body = {"state": state, "context": record.CONTEXT, "description": description,
                **({"target_url": target_url} if target_url else {})}
        answer: Any = self._call("POST", f"{self.repo.url}/statuses/{self.sha}", input=body)
        return int(answer["id"])

    def _call(self, method: str, url: str, **kwargs: Any) -> Any:
        try:
            _, answer = self.gh.requester.requestJsonAndCheck(method, url, **kwargs)
        except GithubException as exc:
            message = exc.data.get("message") if isinstance(exc.data, dict) else exc.data
            fix = (": the token needs commit statuses (classic: `repo` or `public_repo`; fine-grained: Commit "
                   "statuses, read and write)") if exc.status in (403, 404) else ""
            raise RecordUnavailable(f"{method} commit statuses: GitHub answered HTTP {exc.status}: {message}{fix}"
                                    ) from exc
        except requests.RequestException as exc:
            raise RecordUnavailable(f"{method} commit statuses: {type(exc).__name__}") from exc
        return answer


def earlier_delivery(log: StatusLog, me: Runner, *, say: Callable[[str], None],
                     clock: Callable[[], float] = time.time) -> Status | None:
    """The first success of the round's record, if the round was notified; one read."""
    try:
        verdict = record.resolve(log.read(), me, clock())
    except RecordUnavailable as exc:
        say(f"cannot read the delivery record: {exc}")
        return None
    return verdict.status if isinstance(verdict, Notified) else None


def notify_once(log: StatusLog, me: Runner, deliver: Callable[[float], Delivery], *, deadline: float,
                target_url: str, say: Callable[[str], None], clock: Callable[[], float] = time.time,
                sleep: Callable[[float], None] = time.sleep) -> Outcome:
    """Notify unless the record shows the round notified; `deliver(deadline)` POSTs to the evaluator (and raises
    NotifyError when the deadline passes). Raise NotifyError when neither we nor the run that held the claim
    delivered."""
    if log.first is not None and isinstance(carried := record.resolve([log.first], me, clock()), Mine):
        return _deliver(log, me, deliver, carried.until - GRACE_S, target_url)  # our commit holds our claim
    try:
        return _claimed(log, me, deliver, deadline, target_url, say, clock, sleep)
    except RecordUnavailable as exc:
        say(f"delivery record unavailable ({exc}): notifying without it, so another run of this round may "
            "notify too")
        return Outcome(deliver(_window(deadline, clock())), unguarded=str(exc))


def _claimed(log: StatusLog, me: Runner, deliver: Callable[[float], Delivery], deadline: float, target_url: str,
             say: Callable[[str], None], clock: Callable[[], float], sleep: Callable[[float], None]) -> Outcome:
    for _ in range(MAX_TURNS):
        end = _window(deadline, clock()) + GRACE_S
        mine = log.append("pending", record.claim(me, end))
        verdict, statuses = _settled(log, me, mine, end, deadline, say, clock, sleep)
        if isinstance(verdict, Notified):
            if statuses[-1].state != "success":  # our claim came after it: the latest state is success again
                _finish(log, "success", record.already(me, verdict.status), verdict.status.target_url or target_url)
            return Outcome(earlier=verdict.status)
        if isinstance(verdict, Mine):
            return _deliver(log, me, deliver, verdict.until - GRACE_S, target_url)
        ended = verdict.ended_by
        why = ended.description if ended else "its claim ran out"
        if clock() >= deadline:
            raise NotifyError(f"the run that held the claim did not deliver before the deadline: {why}")
        say(f"the run that held the claim gave up ({why}): claiming again")
    raise NotifyError(f"no run delivered after {MAX_TURNS} claims")


def commit_claim(me: Runner, deadline: float) -> str:
    """The claim the commit `me` makes carries (`Deployer-Claim`): it holds until the deadline and the grace that
    follows it, as a claim appended before the deadline would."""
    return record.commit_claim(me, deadline + GRACE_S)


def _window(deadline: float, now: float) -> float:
    """Until when this run may try to deliver: the deadline, or one short window for a run that starts after it
    (a re-run of a failed notification)."""
    return deadline if now < deadline else now + FIRST_ATTEMPT_S


def _settled(log: StatusLog, me: Runner, mine: int, end: float, deadline: float, say: Callable[[str], None],
             clock: Callable[[], float], sleep: Callable[[float], None]) -> tuple[Verdict, list[Status]]:
    """Read the log until our claim shows in it and no other run's claim is alive before ours. While waiting, our
    claim is extended past the holder's, so that we are alive to take over if the holder never answers."""
    statuses = log.read()
    for _ in range(READS_UNTIL_CONSISTENT):
        if any(s.id == mine for s in statuses):
            break
        sleep(1.0)
        statuses = log.read()
    else:
        raise RecordUnavailable("our claim does not show in GitHub's list of the commit's statuses")
    give_up = max(deadline, clock()) + MAX_WAIT_S  # even when a holder's clock is far off
    waits = backoff(1.0, 5.0)
    told: int | None = None
    while isinstance(verdict := record.resolve(statuses, me, clock()), Taken):
        holder = verdict.holder
        if told != holder.id:
            say(f"run {holder.runner.label if holder.runner else '?'} claimed the notification at {holder.when()}: "
                f"waiting for its outcome (at the latest until {record.stamp(verdict.until)})")
            told = holder.id
            if end < verdict.until + FIRST_ATTEMPT_S + GRACE_S:
                end = verdict.until + FIRST_ATTEMPT_S + GRACE_S
                log.append("pending", record.claim(me, end))
        if clock() > give_up:
            raise NotifyError(f"run {holder.runner.label if holder.runner else '?'} still holds the claim at "
                              f"{record.stamp(clock())} without an outcome")
        sleep(next(waits))
        statuses = log.read()
    return verdict, statuses


def _deliver(log: StatusLog, me: Runner, deliver: Callable[[float], Delivery], until: float,
             target_url: str) -> Outcome:
    try:
        delivery = deliver(until)
    except NotifyError as exc:
        _finish(log, "failure", record.not_delivered(me, exc.last or "no answer", exc.attempts), target_url)
        raise
    unguarded = _finish(log, "success", record.delivered(me, delivery.status, delivery.attempts), target_url)
    return Outcome(delivery=delivery, unguarded=unguarded)


def _finish(log: StatusLog, state: str, description: str, target_url: str | None) -> str | None:
    """Append an outcome; a failure to do so is returned (the delivery itself stands), not raised."""
    try:
        log.append(state, description, target_url)
    except RecordUnavailable as exc:
        return f"could not record the outcome ({exc}): a re-run of this round would notify again"
    return None
