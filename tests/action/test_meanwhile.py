"""A step run in a thread: its lines wait for the join, its value or error comes back from it."""

from __future__ import annotations

import threading

import pytest

from action.meanwhile import HeldLog, Meanwhile


def test_lines_wait_for_the_join_and_pass_straight_through_after_it() -> None:
    proceed = threading.Event()
    held: list[HeldLog] = []

    def step(log: HeldLog) -> int:
        held.append(log)
        log("checks: one")
        proceed.wait(30)
        log("checks: two")
        return 3

    job = Meanwhile("checks", step)
    shown: list[str] = []
    proceed.set()
    assert job.join(shown.append) == 3
    assert shown == ["checks: one", "checks: two"]
    assert job.ended is not None and job.seconds == job.ended - job.began
    held[0]("verify: later")  # a verifier keeps the log it was given
    assert shown[-1] == "verify: later"


def test_nothing_is_shown_before_the_join() -> None:
    logged = threading.Event()

    def step(log: HeldLog) -> None:
        log("checks: early")
        logged.set()

    job = Meanwhile("checks", step)
    assert logged.wait(30)
    shown: list[str] = []
    job.log("checks: still held")
    assert shown == []
    job.join(shown.append)
    assert shown == ["checks: early", "checks: still held"]


def test_the_join_raises_the_step_error_after_its_lines() -> None:
    def step(log: HeldLog) -> None:
        log("checks: translating")
        raise RuntimeError("the browser would not start")

    shown: list[str] = []
    with pytest.raises(RuntimeError, match="the browser would not start"):
        Meanwhile("checks", step).join(shown.append)
    assert shown == ["checks: translating"]
