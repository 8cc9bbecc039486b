"""The fault suite's shared parts: `deployer run` against a broken world, and what "delivered" means, recorded as
each test's row of the table with the `ledger` fixture of tests/faults/table.py. `DEPLOYER_FULL_FAULTS=1` also runs
the long cases (minutes of waiting on real timers) and the receiver's kill matrix over 20 seeds.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from action.plan import trailers
from tests.conftest import Evaluator, OpenRouter, Services, start_github
from tests.e2e.conftest import ActionRun, Deployer, sample
from tests.e2e.test_action_run import dispatch_event as dispatch_event
from tests.faults.table import Ledger as Ledger  # the fixture `ledger` is the table plugin's

FULL = os.environ.get("DEPLOYER_FULL_FAULTS", "").strip().lower() in ("1", "true", "yes")
full_only = pytest.mark.skipif(not FULL, reason="long case: set DEPLOYER_FULL_FAULTS=1 to run it")
# Fault runs are about delivery, not the generated app's checks: no browser, so the suite stays short.
FAST = {"DEPLOYER_VERIFY": "false"}


# --- one world per module: starting three servers per test would cost more than the faults themselves --------


@dataclass
class World:
    services: Services
    github: Any
    openrouter: OpenRouter
    evaluator: Evaluator


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("faults")
    services = Services(root / "logs")
    try:
        # GitHub's 80 writes a minute would throttle a module's worth of runs: this is about faults, not pacing.
        github = start_github(services, root / "github", "--content-limit", "10000")
        # Each scenario counts the requests its fault causes: the model answers as asked (`clean`), so a
        # truncation or a typed-in figure of the varied style adds none. The e2e suite runs varied.
        openrouter = services.start("openrouter", "sandbox", "openrouter", "--port", "0", "--style", "clean")
        evaluator = services.start("evaluator", "sandbox", "evaluator", "--port", "0")
        yield World(services, github, OpenRouter(openrouter, openrouter.url), Evaluator(evaluator, evaluator.url))
        violations = github.sandbox("GET", "spec-violations").json()
        assert not violations, f"GitHub emulator answers that differ from GitHub's description: {violations}"
    finally:
        statuses = services.stop_all()
    assert set(statuses.values()) <= {0, -9}, statuses


@pytest.fixture
def deployer(world: World, tmp_path: Path) -> Iterator[Deployer]:
    """`deployer run` against the module's world, with nothing armed and the request logs empty."""
    yield Deployer(world.github, world.openrouter, world.evaluator, tmp_path / "runner")
    world.github.sandbox("DELETE", "faults")
    world.github.sandbox("DELETE", "requests")
    requests.delete(f"{world.openrouter.url}/_sandbox/script", timeout=10)
    requests.post(f"{world.evaluator.url}/_sandbox/fail", json={"count": 0}, timeout=10)


def fresh(name: str, d: Deployer) -> dict[str, Any]:
    """A sample brief with a task and nonce of its own, so tests sharing a world never see each other's rounds."""
    brief = sample(name, d.evaluator.notify_url)
    brief.update(task=f"{brief['task']}-{uuid.uuid4().hex[:8]}", nonce=str(uuid.uuid4()))
    return brief


def notifications(d: Deployer, brief: dict[str, Any]) -> list[dict[str, Any]]:
    return [n["body"] for n in d.evaluator.notifications() if n["body"].get("nonce") == brief["nonce"]]


# --- what "notified once, page live, nothing lost" means, checked from outside ---------------------------------


def repository(d: Deployer, task: str) -> Path:
    """The emulator's bare git repository of a task (it may not exist yet)."""
    return Path(d.github.sandbox("GET", "info").json()["data_dir"]) / d.github.user / f"{task}.git"


def git_log(bare: Path) -> list[tuple[str, dict[str, str]]]:
    """(sha, trailers) of every commit on the default branch of an emulated repository, newest first."""
    out = subprocess.run(["git", "--git-dir", str(bare), "log", "--format=%H%x00%B%x01", "HEAD"],
                         capture_output=True, text=True, check=True).stdout
    entries = [e.strip("\n").split("\x00", 1) for e in out.split("\x01") if e.strip()]
    return [(sha, trailers(message)) for sha, message in entries]


@dataclass(frozen=True)
class Outcome:
    notified: int
    commits: int  # our commits for this round
    live: bool

    @property
    def lost(self) -> int:
        return 0 if self.notified and self.live else 1

    @property
    def duplicated(self) -> int:
        """Extra effects of one round: more than one commit, or more than one notification."""
        return max(0, self.commits - 1) + max(0, self.notified - 1)


def observe(d: Deployer, brief: dict[str, Any]) -> Outcome:
    """What the world holds for this round: notifications, our commits in its repository, the page."""
    notes = notifications(d, brief)
    bare = repository(d, brief["task"])
    commits = [sha for sha, t in git_log(bare) if t.get("Deployer-Nonce") == brief["nonce"]] if bare.exists() else []
    live = False
    if notes:
        page = requests.get(notes[-1]["pages_url"], timeout=10)
        shown = subprocess.run(["git", "--git-dir", str(bare), "show", f"{notes[-1]['commit_sha']}:index.html"],
                               capture_output=True, check=True).stdout
        live = page.status_code == 200 and page.content == shown
    return Outcome(len(notes), len(commits), live)


def assert_delivered(d: Deployer, brief: dict[str, Any], run: ActionRun, ledger: Ledger, scenario: str) -> Outcome:
    """Notified once, page live, nothing lost: the run succeeded, one commit, one notification of that commit."""
    seen = observe(d, brief)
    outcome = "notified once, page live, nothing lost" if (run.returncode, seen) == (0, Outcome(1, 1, True)) else (
        f"exit {run.returncode}, notified {seen.notified}, commits {seen.commits}, live {seen.live}")
    ledger(scenario, outcome, accepted=1, notified=seen.notified, lost=seen.lost, duplicated=seen.duplicated)
    assert run.returncode == 0, run.stdout + run.stderr
    assert seen == Outcome(notified=1, commits=1, live=True), seen
    note = notifications(d, brief)[0]
    assert note["commit_sha"] == run.outputs["commit-sha"] and note["pages_url"] == run.outputs["pages-url"]
    return seen


