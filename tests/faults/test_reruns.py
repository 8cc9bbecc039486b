"""Re-runs of a round, as the Actions tab makes them: the same event, the same GITHUB_RUN_ID, the next
GITHUB_RUN_ATTEMPT. After a success the re-run commits nothing and notifies nobody, and its job summary says why;
after a notification that failed (the evaluator down until the deadline) the re-run notifies. What each run did is
read from outside: the evaluator's notifications, the emulator's requests and the commit's statuses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests

from tests.e2e.conftest import ActionRun, Deployer
from tests.faults.conftest import FAST, Ledger, Outcome, World, dispatch_event, fresh, notifications, observe
from tests.faults.test_llm_and_notify_faults import SALES, restart_evaluator

RUN_ID = "7001"


def rerun(d: Deployer, event: dict[str, Any], attempt: int, timeout: float = 180, **env: str) -> ActionRun:
    """`deployer run` as attempt `attempt` of one workflow run (GitHub sets both variables on every attempt)."""
    return d.run("repository_dispatch", event, timeout=timeout,
                 extra_env={**FAST, "GITHUB_RUN_ID": RUN_ID, "GITHUB_RUN_ATTEMPT": str(attempt), **env})


def record(d: Deployer, task: str, sha: str) -> list[dict[str, Any]]:
    """The `deployer/notified` statuses of the round's commit, oldest first, as GitHub lists them to anyone."""
    answer = requests.get(f"{d.github.url}/repos/{d.github.user}/{task}/commits/{sha}/statuses",
                          headers={"Authorization": f"token {d.github.token}"}, timeout=10)
    answer.raise_for_status()
    return [s for s in reversed(answer.json()) if s["context"] == "deployer/notified"]


def test_a_rerun_after_success_commits_nothing_notifies_nobody_and_says_why(deployer: Deployer,
                                                                             ledger: Ledger) -> None:
    brief = fresh(SALES, deployer)
    event = dispatch_event(brief)
    first = rerun(deployer, event, 1)
    assert first.returncode == 0, first.stdout + first.stderr
    sha, page = first.outputs["commit-sha"], first.outputs["pages-url"]
    delivered = record(deployer, brief["task"], sha)[-1]
    assert (delivered["state"], delivered["target_url"]) == ("success", page)
    assert delivered["description"] == f"delivered: HTTP 200 after 1 attempt(s), run {RUN_ID}/1"

    deployer.github.sandbox("DELETE", "requests")
    again = rerun(deployer, event, 2)
    calls = deployer.github.sandbox("GET", "requests").json()
    seen = observe(deployer, brief)
    ledger("re-run of a notified round (Actions tab)",
           "no commit, no notification, summary says why" if again.returncode == 0 and seen.notified == 1 else
           f"exit {again.returncode}, notified {seen.notified}, commits {seen.commits}",
           accepted=1, notified=seen.notified, lost=seen.lost, duplicated=seen.duplicated)
    assert again.returncode == 0, again.stdout + again.stderr
    assert seen == Outcome(notified=1, commits=1, live=True), seen
    assert again.outputs == first.outputs
    assert [c for c in calls if c["method"] != "GET"] == []  # no commit, no status, no Pages call
    assert [c["route"] for c in calls].count("GET /repos/{owner}/{repo}/commits/{ref}/statuses") == 1
    when = datetime.strptime(delivered["created_at"], "%Y-%m-%dT%H:%M:%SZ").strftime("%Y-%m-%d %H:%M:%S UTC")
    assert f"already notified at {when} (HTTP 200)" in again.summary, again.summary
    assert f"**commit**: {sha}" in again.summary and f"**page**: {page}" in again.summary
    print(again.summary)


def test_a_rerun_after_the_evaluator_was_down_until_the_deadline_notifies(deployer: Deployer, world: World,
                                                                           ledger: Ledger, tmp_path: Path) -> None:
    brief = fresh(SALES, deployer)
    # Accepted long enough ago that 20 s are left: the first attempt retries until then and gives up.
    accepted = datetime.now(UTC) - timedelta(minutes=10) + timedelta(seconds=20)
    event = dispatch_event(brief, accepted_at=accepted.isoformat().replace("+00:00", "Z"))
    assert world.evaluator.service.stop() == 0
    try:
        first = rerun(deployer, event, 1)
    finally:
        restart_evaluator(world)
    assert first.returncode == 1 and "notify stage failed" in first.errors[0], first.stdout
    assert notifications(deployer, brief) == []
    sha = first.stdout.split("commit ", 1)[1].split()[0]
    failed = record(deployer, brief["task"], sha)[-1]
    assert failed["state"] == "failure"
    assert failed["description"].startswith("not delivered: ConnectionError after ")

    again = rerun(deployer, event, 2)  # past the deadline now: one short window to deliver
    seen = observe(deployer, brief)
    ledger("re-run after the evaluator was down until the deadline",
           "notified once by the re-run" if again.returncode == 0 and seen.notified == 1 else
           f"exit {again.returncode}, notified {seen.notified}", accepted=1, notified=seen.notified,
           lost=seen.lost, duplicated=seen.duplicated)
    assert again.returncode == 0, again.stdout + again.stderr
    assert seen == Outcome(notified=1, commits=1, live=True), seen
    # The first run's claim travelled in its commit; the re-run, another attempt, claims after its failure.
    assert [s["state"] for s in record(deployer, brief["task"], sha)] == ["failure", "pending", "success"]
    assert "already commit" in again.summary and "after 1 attempt(s), HTTP 200" in again.summary
