"""A brief's whole story, from what the receiver knows: pure functions, no I/O.

Three sources, each trusted for what it saw: the outbox (accepted, dispatch attempts), the run's own reports
(deployer.progress: stage by stage, with the repository, commit, page and the notification's answer), and GitHub's
Actions API (receiver.runfacts: the run's status and conclusion, and a failed run's error line from its annotations),
which is all there is when a run never reported (it crashed first, was cancelled, or cannot reach PUBLIC_URL).

The story is a row of steps, accepted -> dispatched -> run -> published -> live -> notified, each `done`, `active`,
`failed` or `waiting`, and a timeline of everything seen, oldest first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from deployer.isotime import parse
from deployer.progress import RUN_STAGE, Event, RunRef, is_http_url
from receiver.outbox import Status
from receiver.runfacts import RunFacts

STEPS = ("accepted", "dispatched", "run", "published", "live", "notified")
STATES = ("in_flight", "succeeded", "failed")
# The stages of `deployer run` (action/main.py) that make up each later step; any other stage is part of `run`.
STEP_OF_STAGE = {"publish": "published", "workflows": "live", "pages": "live", "notify": "notified"}
# The stage whose success completes a step (`run` completes when a later step begins).
COMPLETES = {"published": "publish", "live": "pages", "notified": "notify"}
NO_REPORT = "the run sent no report here (can GitHub's runners reach PUBLIC_URL?)"
# GitHub lists a dispatch's run seconds after it (receiver/lookup.py), queued or not; one that shows no run and no
# report a day later never started one (no workflow of DEPLOYER_REPO matched it), and is no longer looked for.
RUN_HORIZON_S = 24 * 3600.0


@dataclass(frozen=True)
class Reported:
    """One event a run reported, with the time the receiver received it."""

    at: str
    event: Event


@dataclass
class Step:
    name: str
    state: str = "waiting"  # done | active | failed | waiting
    detail: str = ""

    def as_dict(self) -> dict[str, str]:
        return {"name": self.name, "state": self.state, "detail": self.detail}


@dataclass(frozen=True)
class Entry:
    at: str
    text: str
    level: str = "info"  # info | error

    def as_dict(self) -> dict[str, str]:
        return {"at": self.at, "text": self.text, "level": self.level}


@dataclass
class Story:
    id: str
    task: str
    round: int
    accepted_at: str
    state: str
    steps: list[Step]
    links: dict[str, str] = field(default_factory=dict)  # run, repository, commit, page
    error: str | None = None
    notification: str | None = None
    timeline: list[Entry] = field(default_factory=list)

    @property
    def in_flight(self) -> bool:
        return self.state == "in_flight"

    def summary(self) -> dict[str, Any]:
        """What a list shows: everything but the timeline."""
        return {"id": self.id, "task": self.task, "round": self.round, "accepted_at": self.accepted_at,
                "state": self.state, "steps": [s.as_dict() for s in self.steps], "links": dict(self.links),
                "error": self.error, "notification": self.notification}

    def as_dict(self) -> dict[str, Any]:
        return {**self.summary(), "timeline": [e.as_dict() for e in self.timeline]}


def compose(row: Status, reported: Sequence[Reported], run: RunFacts | None, now: float | None = None) -> Story:
    """The story of one brief from its outbox row, the events its run reported and GitHub's facts about that run
    (`now`, epoch s, ends the wait for a run that never came, after RUN_HORIZON_S)."""
    events = latest_run(reported)
    run_ref = next((r.event.run for r in reversed(events) if r.event.run is not None), None)
    if run is not None and run_ref is not None and run.id != run_ref.id:
        run = None  # GitHub's facts are about another run of this brief (an earlier dispatch): not this story's
    steps = {name: Step(name) for name in STEPS}
    steps["accepted"] = Step("accepted", "done", f"round {row.round}")
    _dispatch(row, steps["dispatched"])
    facts: dict[str, str] = {}
    for r in events:
        facts.update(r.event.facts)
    _progress(events, run, steps)
    story = Story(row.id, row.task, row.round, row.accepted_at, "in_flight", list(steps.values()))
    story.links = _links(facts, run_ref, run)
    story.notification = facts.get("notification")
    _outcome(story, steps, events, run, facts)
    if story.in_flight and not events and run is None and now is not None and never_ran(row, now):
        _fail(story, steps, "run", f"GitHub shows no run of this brief {RUN_HORIZON_S / 3600:.0f} hours after its "
                                   "dispatch (is the deploy workflow in DEPLOYER_REPO, on repository_dispatch?)")
    story.timeline = _timeline(row, events, run)
    return story


def never_ran(row: Status, now: float) -> bool:
    """Dispatched longer than RUN_HORIZON_S ago: a run of it would show by now."""
    sent = parse(row.dispatched_at) if row.state == "dispatched" else None
    return sent is not None and now - sent.timestamp() > RUN_HORIZON_S


def latest_run(reported: Sequence[Reported]) -> list[Reported]:
    """The events of the run (and attempt) that reported last: a re-run's story replaces the failed one's."""
    refs = [(r.event.run.id, r.event.run.attempt) if r.event.run else None for r in reported]
    last = refs[-1] if refs else None
    return [r for r, ref in zip(reported, refs, strict=True) if ref == last]


def _dispatch(row: Status, step: Step) -> None:
    tries = f"{row.attempts} attempt{'s' if row.attempts != 1 else ''}"
    if row.state == "dispatched":
        step.state, step.detail = "done", f"{tries}, {row.mode or 'inline'}"
    elif row.state == "failed":
        step.state, step.detail = "failed", f"gave up after {tries}: {row.last_error or 'no reason recorded'}"
    elif row.attempts:
        step.state, step.detail = "active", f"retrying after {tries}: {row.last_error or 'no answer'}"
    else:
        step.state, step.detail = "active", "queued"


def _progress(events: Sequence[Reported], run: RunFacts | None, steps: dict[str, Step]) -> None:
    """Mark the run's steps from its stages: started -> active, the completing stage's success -> done."""
    started: dict[str, str] = {}  # step -> its latest stage that started
    facts: dict[str, str] = {}
    for r in events:
        e = r.event
        facts.update(e.facts)
        if e.stage == RUN_STAGE:
            continue
        step = STEP_OF_STAGE.get(e.stage, "run")
        if e.status == "started":
            started[step] = e.stage
        elif e.status == "succeeded" and COMPLETES.get(step) == e.stage:
            steps[step].state = "done"
    for step in COMPLETES:
        if steps[step].state == "done":
            steps[step].detail = _done_detail(step, facts)  # with every fact known by now
    if events or run is not None:
        steps["run"].state = "active"
        steps["run"].detail = f"run {run.status}" if run is not None and run.status else "running"
    elif steps["dispatched"].state == "done":
        steps["run"].state, steps["run"].detail = "active", "waiting for GitHub to start the run"
    for step, stage in started.items():
        if steps[step].state != "done":
            steps[step].state, steps[step].detail = "active", stage
    _monotonic(steps)


def _done_detail(step: str, facts: dict[str, str]) -> str:
    if step == "published":
        return f"commit {facts['commit_sha'][:12]}" if "commit_sha" in facts else "committed"
    if step == "live":
        return facts.get("pages_url", "the page answers 200")
    return facts.get("notification", "delivered")


def _monotonic(steps: dict[str, Step]) -> None:
    """A step that began means every step before it ended (the run reports only what it did)."""
    names = list(STEPS)
    reached = max((i for i, n in enumerate(names) if steps[n].state in ("active", "done")), default=0)
    for name in names[2:reached]:  # accepted/dispatched come from the outbox, which knows better
        if steps[name].state != "done":
            steps[name].state = "done"
            steps[name].detail = steps[name].detail if name != "run" else "generated"


def _outcome(story: Story, steps: dict[str, Step], events: Sequence[Reported], run: RunFacts | None,
             facts: dict[str, str]) -> None:
    final = next((r.event for r in reversed(events) if r.event.stage == RUN_STAGE and r.event.status != "started"),
                 None)
    if steps["dispatched"].state == "failed":
        story.state, story.error = "failed", steps["dispatched"].detail
        return
    if (final is not None and final.status == "succeeded") or steps["notified"].state == "done" or (
            final is None and run is not None and run.completed and run.conclusion == "success"):
        story.state = "succeeded"
        for step in story.steps:
            if step.state != "done":
                step.state, step.detail = "done", NO_REPORT if not events else step.detail or "done"
        return
    if final is not None and final.status == "failed":
        error = final.facts.get("error") or (run.error if run else None) or "the run failed"
        failed_step = STEP_OF_STAGE.get(final.facts.get("stage", ""), "run")
        _fail(story, steps, failed_step, error)
    elif run is not None and run.completed:
        error = run.error or f"the run ended: {run.conclusion or 'unknown conclusion'}"
        if not events:
            error = f"{error} ({NO_REPORT})" if run.error is None else error
        first_open = next((s.name for s in story.steps if s.state != "done"), "notified")
        _fail(story, steps, first_open, error)


def _fail(story: Story, steps: dict[str, Step], step: str, error: str) -> None:
    story.state, story.error = "failed", error
    steps[step].state, steps[step].detail = "failed", error
    after = STEPS[STEPS.index(step) + 1:]
    for name in after:
        if steps[name].state == "active":
            steps[name].state, steps[name].detail = "waiting", ""


def _links(facts: dict[str, str], run_ref: RunRef | None, run: RunFacts | None) -> dict[str, str]:
    links: dict[str, str] = {}
    run_url = (run_ref.url if run_ref else None) or (run.url if run else None)
    if is_http_url(run_url):
        assert run_url is not None
        links["run"] = run_url
    if is_http_url(facts.get("repo_url")):
        links["repository"] = facts["repo_url"]
        if "commit_sha" in facts:
            links["commit"] = f"{facts['repo_url'].rstrip('/')}/commit/{facts['commit_sha']}"
    if is_http_url(facts.get("pages_url")):
        links["page"] = facts["pages_url"]
    return links


def _timeline(row: Status, events: Sequence[Reported], run: RunFacts | None) -> list[Entry]:
    entries = [Entry(row.accepted_at, f"accepted: {row.task}, round {row.round}")]
    if row.state == "dispatched" and row.dispatched_at:
        entries.append(Entry(row.dispatched_at, f"dispatched to GitHub ({row.attempts} attempt(s), "
                                                f"{row.mode or 'inline'})"))
    elif row.last_error:
        level = "error" if row.state == "failed" else "info"
        entries.append(Entry(row.accepted_at, f"dispatch attempt {row.attempts}: {row.last_error}", level))
    if run is not None and run.created_at:
        entries.append(Entry(run.created_at, f"GitHub run {run.id} created"))
    for r in events:
        e = r.event
        text = f"{'run' if e.stage == RUN_STAGE else e.stage} {e.status}"
        if "error" in e.facts:
            text += f": {e.facts['error']}"
        elif e.facts:
            text += ": " + ", ".join(f"{k} {v}" for k, v in e.facts.items())
        entries.append(Entry(r.at, text, "error" if e.status == "failed" else "info"))
    if run is not None and run.completed and run.updated_at:
        text = f"GitHub run {run.id} completed: {run.conclusion}"
        failed = run.conclusion != "success"
        entries.append(Entry(run.updated_at, text + (f": {run.error}" if run.error else ""),
                             "error" if failed else "info"))
    # By the second, then in the order above: GitHub's times have no fraction of a second, so within one second
    # a run "created" at :15 may follow a dispatch at :15.3.
    return sorted(entries, key=lambda e: int(_instant(e.at).timestamp()))


def _instant(iso: str) -> datetime:
    return parse(iso) or datetime.max.replace(tzinfo=UTC)  # unreadable: last


def overall(stories: Sequence[Story]) -> dict[str, int]:
    """How many stories are in each state."""
    return {state: sum(1 for s in stories if s.state == state) for state in STATES}
