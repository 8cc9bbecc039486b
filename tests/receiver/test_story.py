"""A brief's story (receiver.story) from its outbox row, its run's reports and GitHub's run facts: pure."""

from __future__ import annotations

from dataclasses import replace

from deployer.progress import RUN_STAGE, Event, RunRef
from receiver.outbox import Status
from receiver.runfacts import RunFacts
from receiver.story import NO_REPORT, STEPS, Reported, compose, latest_run

ROW = Status("b1", "sum-of-sales", 1, "n", "2026-01-01T10:00:00.000Z", "dispatched", 1, None,
             "2026-01-01T10:00:01.000Z", "inline")
RUN = RunRef(7, 1, "https://github.com/me/deploys/actions/runs/7")
SHA = "a" * 40
REPO = "https://github.com/me/sum-of-sales"
PAGE = "https://me.github.io/sum-of-sales/"


def ev(name: str, status: str, second: int, run: RunRef | None = RUN, **facts: str) -> Reported:
    return Reported(f"2026-01-01T10:00:{second:02d}.000Z", Event(name, status, facts, run))


def states(story: object) -> dict[str, str]:
    return {s.name: s.state for s in story.steps}  # type: ignore[attr-defined]


def whole_run() -> list[Reported]:
    return [
        ev(RUN_STAGE, "started", 5), ev("brief", "started", 5), ev("brief", "succeeded", 5),
        ev("generate", "started", 6), ev("generate", "succeeded", 9), ev("publish", "started", 9),
        ev("publish", "succeeded", 10), ev("pages", "started", 10, repo_url=REPO, commit_sha=SHA),
        ev("pages", "succeeded", 12, pages_url=PAGE), ev("notify", "started", 12),
        ev("notify", "succeeded", 13, notification="after 1 attempt(s), HTTP 200"), ev(RUN_STAGE, "succeeded", 14),
    ]


def test_a_queued_brief_is_accepted_and_waiting_for_its_dispatch() -> None:
    story = compose(replace(ROW, state="pending", attempts=0, dispatched_at=None), [], None)
    assert [s.name for s in story.steps] == list(STEPS)
    assert states(story) == {"accepted": "done", "dispatched": "active", "run": "waiting", "published": "waiting",
                             "live": "waiting", "notified": "waiting"}
    assert story.state == "in_flight" and story.in_flight and story.links == {}


def test_a_dispatch_retrying_shows_its_last_error_and_a_failed_one_ends_the_story() -> None:
    retrying = compose(replace(ROW, state="pending", attempts=2, last_error="HTTP 502"), [], None)
    assert states(retrying)["dispatched"] == "active" and "HTTP 502" in retrying.steps[1].detail
    failed = compose(replace(ROW, state="failed", attempts=1, last_error="HTTP 404 Not Found"), [], None)
    assert failed.state == "failed" and states(failed)["dispatched"] == "failed"
    assert failed.error is not None and "HTTP 404 Not Found" in failed.error
    assert any(e.level == "error" and "HTTP 404" in e.text for e in failed.timeline)


def test_each_step_becomes_active_then_done_as_the_run_reports_its_stages() -> None:
    events = whole_run()
    seen = [states(compose(ROW, events[:n], None)) for n in (2, 6, 8, 10)]
    assert seen[0]["run"] == "active" and seen[0]["published"] == "waiting"
    assert seen[1]["run"] == "done" and seen[1]["published"] == "active"
    assert seen[2]["published"] == "done" and seen[2]["live"] == "active"
    assert seen[3]["live"] == "done" and seen[3]["notified"] == "active"
    story = compose(ROW, events, None)
    assert story.state == "succeeded" and set(states(story).values()) == {"done"}
    assert story.links == {"run": RUN.url, "repository": REPO, "commit": f"{REPO}/commit/{SHA}", "page": PAGE}
    assert story.notification == "after 1 attempt(s), HTTP 200"
    assert story.steps[3].detail == f"commit {SHA[:12]}" and story.steps[4].detail == PAGE
    times = [e.at for e in story.timeline]
    assert times == sorted(times) and story.timeline[0].text.startswith("accepted")


def test_a_failed_stage_fails_its_step_with_the_error_line() -> None:
    events = [*whole_run()[:9], ev("notify", "started", 12), ev("notify", "failed", 40),
              ev(RUN_STAGE, "failed", 40, stage="notify", error="notify stage failed: the evaluator answered 500")]
    story = compose(ROW, events, None)
    assert story.state == "failed" and story.error == "notify stage failed: the evaluator answered 500"
    assert states(story) == {"accepted": "done", "dispatched": "done", "run": "done", "published": "done",
                             "live": "done", "notified": "failed"}
    assert story.links["page"] == PAGE


def test_a_failure_before_publishing_leaves_later_steps_waiting() -> None:
    events = [ev(RUN_STAGE, "started", 5), ev("generate", "started", 6), ev("generate", "failed", 9),
              ev(RUN_STAGE, "failed", 9, stage="generate", error="generate stage failed: every model failed")]
    story = compose(ROW, events, None)
    assert states(story)["run"] == "failed" and states(story)["published"] == "waiting"
    assert story.error == "generate stage failed: every model failed" and "repository" not in story.links


def test_a_run_that_never_reported_is_told_by_githubs_facts() -> None:
    waiting = compose(ROW, [], None)  # dispatched; GitHub shows no run yet
    assert states(waiting)["run"] == "active" and waiting.steps[2].detail == "waiting for GitHub to start the run"
    running = RunFacts(7, RUN.url, "in_progress", None, "2026-01-01T10:00:03Z")
    assert states(compose(ROW, [], running))["run"] == "active"
    failed = replace(running, status="completed", conclusion="cancelled", updated_at="2026-01-01T10:05:00Z",
                     error_checked=True)
    story = compose(ROW, [], failed)
    assert story.state == "failed" and states(story)["run"] == "failed"
    assert story.error == f"the run ended: cancelled ({NO_REPORT})" and story.links == {"run": RUN.url}
    with_line = replace(failed, conclusion="failure", error="install stage failed: uv: not found")
    assert compose(ROW, [], with_line).error == "install stage failed: uv: not found"
    succeeded = replace(running, status="completed", conclusion="success")
    done = compose(ROW, [], succeeded)
    assert done.state == "succeeded" and all(s.state == "done" for s in done.steps)
    assert done.steps[-1].detail == NO_REPORT


def test_a_run_that_crashed_mid_way_fails_at_the_step_it_was_in() -> None:
    events = whole_run()[:8]  # pages started, then nothing: the runner died
    crashed = RunFacts(7, RUN.url, "completed", "failure", error="The runner has received a shutdown signal.",
                       error_checked=True)
    story = compose(ROW, events, crashed)
    assert states(story)["live"] == "failed" and story.error == "The runner has received a shutdown signal."


def test_a_re_run_replaces_the_failed_attempts_story() -> None:
    first = [ev(RUN_STAGE, "started", 5), ev("generate", "started", 6),
             ev(RUN_STAGE, "failed", 9, stage="generate", error="generate stage failed: 429")]
    again = [ev(e.event.stage, e.event.status, 20 + i, RunRef(7, 2, RUN.url), **e.event.facts)
             for i, e in enumerate(whole_run()[:4])]
    assert len(latest_run(first + again)) == 4
    story = compose(ROW, first + again, None)
    assert story.state == "in_flight" and story.error is None and states(story)["run"] == "active"


def test_githubs_facts_about_another_run_of_the_brief_are_not_this_storys() -> None:
    other = RunFacts(3, "https://github.com/me/deploys/actions/runs/3", "completed", "failure", error_checked=True)
    story = compose(ROW, whole_run()[:4], other)
    assert story.state == "in_flight" and story.links["run"] == RUN.url


def test_the_timeline_keeps_causes_before_effects_within_one_second() -> None:
    """GitHub's times have whole seconds: a run created at :01 still follows the dispatch at :01.250."""
    row = replace(ROW, dispatched_at="2026-01-01T10:00:01.250Z")
    run = RunFacts(7, RUN.url, "completed", "failure", "2026-01-01T10:00:01Z", "2026-01-01T10:00:09Z",
                   error="generate stage failed: 429", error_checked=True)
    texts = [e.text for e in compose(row, [], run).timeline]
    assert texts[1].startswith("dispatched") and texts[2] == "GitHub run 7 created"
    assert texts[-1] == "GitHub run 7 completed: failure: generate stage failed: 429"
    failed = compose(row, [ev(RUN_STAGE, "failed", 9, stage="generate", error="generate stage failed: 429")], None)
    assert failed.timeline[-1].text == "run failed: generate stage failed: 429" and failed.timeline[-1].level == "error"


def test_a_dispatch_that_never_started_a_run_fails_after_a_day() -> None:
    sent = 1_767_261_601.0  # ROW.dispatched_at, 2026-01-01T10:00:01Z
    assert compose(ROW, [], None, now=sent + 3600).state == "in_flight"
    late = compose(ROW, [], None, now=sent + 25 * 3600)
    assert late.state == "failed" and states(late)["run"] == "failed" and "no run of this brief" in str(late.error)
    assert compose(ROW, whole_run()[:3], None, now=sent + 25 * 3600).state == "in_flight"  # it reported: it ran
