"""`concurrency:`: a second run of the same group waits; a third replaces the pending one; cancel-in-progress."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from runner_support import machine_env, manual, options

from sandbox.runner import ConcurrencyRegistry, RunHandle, RunResult, run_workflow

GROUP = "queue-octo/site"


class Queue:
    """Starts runs of queue.yml in threads; each run waits for its release file."""

    def __init__(self, repo: Path, tmp_path: Path):
        self.repo = repo
        self.order = tmp_path / "order.txt"
        self.release_dir = tmp_path / "release"
        self.release_dir.mkdir()
        self.registry = ConcurrencyRegistry()
        self.results: dict[str, RunResult] = {}
        self.threads: list[threading.Thread] = []

    def start(self, name: str, cancel: bool = False) -> RunHandle:
        handle = RunHandle()
        payload = manual(self.repo, ".github/workflows/queue.yml", {"name": name, "cancel": cancel})
        opts = options(concurrency=self.registry, handle=handle,
                       env=machine_env(ORDER_FILE=str(self.order), RELEASE_DIR=str(self.release_dir)))

        def target() -> None:
            self.results[name] = run_workflow(self.repo, ".github/workflows/queue.yml", "workflow_dispatch",
                                              payload, options=opts)

        thread = threading.Thread(target=target, name=f"run-{name}")
        thread.start()
        self.threads.append(thread)
        return handle

    def lines(self) -> list[str]:
        return self.order.read_text().splitlines() if self.order.exists() else []

    def release(self, name: str) -> None:
        (self.release_dir / name).touch()

    def join(self) -> None:
        for thread in self.threads:
            thread.join(60)
            assert not thread.is_alive()


def until(condition: Callable[[], bool]) -> None:
    """Wait for a state the runs reach on their own (bounded, so a bug fails instead of hanging)."""
    deadline = time.monotonic() + 30
    while not condition():
        assert time.monotonic() < deadline, "state not reached"
        time.sleep(0.02)


def test_second_run_of_a_group_waits_for_the_first(repo: Path, tmp_path: Path) -> None:
    q = Queue(repo, tmp_path)
    a = q.start("a")
    until(lambda: "start a" in q.lines())
    b = q.start("b")
    until(lambda: q.registry.snapshot().get(GROUP) == (a.run_id, b.run_id))
    assert "start b" not in q.lines()  # pending, not running
    q.release("b")
    q.release("a")
    q.join()
    assert q.lines() == ["start a", "end a", "start b", "end b"]
    assert q.results["a"].conclusion == q.results["b"].conclusion == "success"
    assert q.registry.snapshot() == {}


def test_a_newer_pending_run_replaces_the_older_one(repo: Path, tmp_path: Path) -> None:
    q = Queue(repo, tmp_path)
    a = q.start("a")
    until(lambda: "start a" in q.lines())
    b = q.start("b")
    until(lambda: q.registry.snapshot().get(GROUP) == (a.run_id, b.run_id))
    c = q.start("c")
    until(lambda: q.registry.snapshot().get(GROUP) == (a.run_id, c.run_id))
    for name in "abc":
        q.release(name)
    q.join()
    assert b.cancelled
    assert q.results["b"].conclusion == "cancelled" and q.results["b"].jobs == {}
    assert q.lines() == ["start a", "end a", "start c", "end c"]


def test_cancel_in_progress_cancels_the_running_run(repo: Path, tmp_path: Path) -> None:
    q = Queue(repo, tmp_path)
    q.start("a")
    until(lambda: "start a" in q.lines())
    q.start("d", cancel=True)
    until(lambda: "start d" in q.lines())
    q.release("d")
    q.join()
    assert q.results["a"].conclusion == "cancelled"
    assert q.results["a"].steps[0].outcome == "cancelled"
    assert q.results["d"].conclusion == "success"
    assert q.lines() == ["start a", "start d", "end d"]


def test_run_timeout_kills_the_running_step(repo: Path, tmp_path: Path) -> None:
    release = tmp_path / "never"
    release.mkdir()
    payload = manual(repo, ".github/workflows/queue.yml", {"name": "stuck"})
    opts = options(timeout=1.0, env=machine_env(ORDER_FILE=str(tmp_path / "order"), RELEASE_DIR=str(release)))
    result = run_workflow(repo, ".github/workflows/queue.yml", "workflow_dispatch", payload, options=opts)

    assert result.conclusion == "cancelled"
    assert result.steps[0].outcome == "cancelled"
    assert "The run exceeded the local runner's time limit." in [a.message for a in result.annotations]


def test_a_job_in_its_workflows_own_group_is_cancelled_not_deadlocked(repo: Path) -> None:
    result = run_workflow(repo, ".github/workflows/deadlock.yml", "workflow_dispatch",
                          manual(repo, ".github/workflows/deadlock.yml"), options=options())

    assert result.conclusion == "cancelled"
    assert result.jobs["inner"].steps == []
    assert any("deadlock for concurrency group 'SHARED-group'" in a.message for a in result.annotations)


def test_registry_refuses_a_run_waiting_for_itself() -> None:
    registry = ConcurrencyRegistry()
    handle = RunHandle()
    with registry.hold("g", handle) as acquired:
        assert acquired
        with pytest.raises(ValueError, match="already holds concurrency group 'G'"):
            registry.acquire("G", handle)
    assert registry.snapshot() == {}
