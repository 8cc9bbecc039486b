"""The delivery record of a round: commit statuses of context `deployer/notified` on the round's commit, and what
they mean for the run reading them. Pure: the statuses in, a verdict out (I/O: `action/notify_once.py`).

Why commit statuses: they sit on the round's commit, where any later run of the round looks anyway, and any run
with the token may append one. GitHub keeps every status and never changes one ("Statuses are returned in reverse
chronological order", repos/list-commit-statuses-for-ref), so the list is an append-only log that every run reads
in the same order. That is enough for a claim to arbitrate who notifies:

- `success`: the evaluator answered 2xx. Any success, at any point of the log, means the round is notified.
- `pending`: a claim, "claimed by run <id>/<attempt> until <UTC time>", appended before the POST. Among the claims
  after the last `failure`/`error` (which ends a claimer's turn), the oldest one still alive wins; every run reads
  the same log, so every run names the same winner. Only the winner POSTs; the others wait for its outcome.
- The run that makes the round's commit carries its claim in it (trailer `Deployer-Claim: run <id>/<attempt> until
  <UTC time>`, `carried_claim`), read as the log's first entry: no other run can see the commit, let alone claim
  it, before the branch moves to it, so that claim is first in every reading. The maker then notifies without a
  claim of its own or a read: a first notification costs one write, its outcome.
- A claim dies when its time is up (its holder promised to have written its outcome by then) or when a later
  attempt of the same workflow run appears (GitHub re-runs only a finished run, so the earlier attempt is over).
  A run waiting behind another's claim appends a later claim of its own, which extends its first one (its place
  stays where the first one was), so that it is still alive when the claims before it run out.

Descriptions carry run ids, HTTP statuses and times only: statuses of a public repository are public, so no brief
text, URL or secret goes there. GitHub refuses a description over 140 characters (422, "description is too long
(maximum is 140 characters)", zalando/zappr#378).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from action.plan import TRAILER_CLAIM, trailers

CONTEXT = "deployer/notified"
MAX_DESCRIPTION = 140  # GitHub's limit (see the module docstring)
TERMINAL = frozenset({"failure", "error"})  # a claimer's turn is over without a delivery

_RUN = re.compile(r"\brun (\S+)/(\d+)\b")
_UNTIL = re.compile(r"\buntil (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)")
_HTTP = re.compile(r"\bHTTP (\d{3})\b")


@dataclass(frozen=True)
class Runner:
    """Who is notifying: the workflow run and its attempt (GITHUB_RUN_ID, GITHUB_RUN_ATTEMPT)."""

    run_id: str
    attempt: int = 1

    @property
    def label(self) -> str:
        return f"{self.run_id}/{self.attempt}"


@dataclass(frozen=True)
class Status:
    """One status of our context, as GitHub lists it."""

    id: int
    state: str
    description: str
    target_url: str | None
    created_at: float  # epoch seconds

    @property
    def runner(self) -> Runner | None:
        found = _RUN.search(self.description)
        return Runner(found.group(1), int(found.group(2))) if found else None

    @property
    def until(self) -> float | None:
        """A claim's end: its holder has written its outcome by then, or is gone."""
        found = _UNTIL.search(self.description)
        return parse_time(found.group(1)) if found else None

    @property
    def http_status(self) -> int | None:
        found = _HTTP.search(self.description)
        return int(found.group(1)) if found else None

    def when(self) -> str:
        return stamp(self.created_at).replace("T", " ").replace("Z", " UTC")


# --- verdicts ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Notified:
    """The round was notified: `status` is the first success."""

    status: Status


@dataclass(frozen=True)
class Mine:
    """Our claim is the oldest one alive: we notify, and append the outcome well before `until` (its end)."""

    until: float


@dataclass(frozen=True)
class Taken:
    """Another run's claim is the oldest alive: it notifies; we wait for its outcome, at the latest until `until`
    (its claim's end, extensions included)."""

    holder: Status
    until: float


@dataclass(frozen=True)
class Free:
    """No claim alive (none yet, or every claimer's turn ended): a run that wants to notify claims first.
    `ended_by` is the last failure, if a claimer gave up."""

    ended_by: Status | None = None


Verdict = Notified | Mine | Taken | Free


def resolve(log: list[Status], me: Runner, now: float) -> Verdict:
    """What `me` should do, from the context's statuses oldest first."""
    delivered = [s for s in log if s.state == "success"]
    if delivered:
        return Notified(delivered[0])
    ends = [i for i, s in enumerate(log) if s.state in TERMINAL]
    turn = log[ends[-1] + 1:] if ends else log
    claims = [(runner, until, s) for s in turn
              if s.state == "pending" and (runner := s.runner) is not None and (until := s.until) is not None]
    alive_until: dict[Runner, float] = {}
    for runner, until, _ in claims:  # a run's first claim is its place in the queue; a later one only extends it
        alive_until[runner] = max(alive_until.get(runner, 0.0), until)
    latest_attempt = _latest_attempts(log, me)
    placed: set[Runner] = set()
    for runner, _, status in claims:
        if runner in placed:
            continue
        placed.add(runner)
        if alive_until[runner] <= now or runner.attempt < latest_attempt[runner.run_id]:
            continue  # its holder is gone
        return Mine(alive_until[runner]) if runner == me else Taken(status, alive_until[runner])
    return Free(log[ends[-1]] if ends else None)


def _latest_attempts(log: list[Status], me: Runner) -> dict[str, int]:
    latest = {me.run_id: me.attempt}
    for status in log:
        if (runner := status.runner) is not None:
            latest[runner.run_id] = max(latest.get(runner.run_id, 0), runner.attempt)
    return latest


# --- what we write -------------------------------------------------------------------------------------------------


def claim(me: Runner, until: float) -> str:
    return bounded(f"claimed by run {me.label} until {stamp(until)}")


def commit_claim(me: Runner, until: float) -> str:
    """The `Deployer-Claim` trailer's value for the commit `me` makes."""
    return f"run {me.label} until {stamp(until)}"


def carried_claim(message: str, committed_at: float) -> Status | None:
    """The claim a round's commit carries (see the module docstring), as a status to put first in its log."""
    value = trailers(message).get(TRAILER_CLAIM)
    if value is None or _RUN.search(value) is None or _UNTIL.search(value) is None:
        return None
    return Status(0, "pending", f"claimed by {value} (in the commit)", None, committed_at)


def delivered(me: Runner, http_status: int, attempts: int) -> str:
    return bounded(f"delivered: HTTP {http_status} after {attempts} attempt(s), run {me.label}")


def not_delivered(me: Runner, last: str, attempts: int) -> str:
    """`last` is how the evaluator last answered, in words that carry no URL ("HTTP 503", "ConnectionError")."""
    return bounded(f"not delivered: {last} after {attempts} attempt(s), run {me.label}")


def already(me: Runner, earlier: Status) -> str:
    """Written by a run that claimed after the round was notified, so that the latest state is success again."""
    code = f" (HTTP {earlier.http_status})" if earlier.http_status else ""
    return bounded(f"already notified at {stamp(earlier.created_at)}{code}; seen by run {me.label}")


def bounded(text: str) -> str:
    return text if len(text) <= MAX_DESCRIPTION else text[:MAX_DESCRIPTION - 3] + "..."


# --- reading GitHub's answer ---------------------------------------------------------------------------------------


def parse_statuses(answer: list[dict[str, Any]]) -> list[Status]:
    """Our context's statuses, oldest first, from GitHub's list (newest first; contexts are case-insensitive)."""
    ours = [s for s in answer if str(s.get("context", "")).lower() == CONTEXT]
    return [Status(int(s["id"]), str(s["state"]), str(s.get("description") or ""), s.get("target_url"),
                   parse_time(str(s["created_at"]))) for s in reversed(ours)]


def stamp(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
