"""Helpers for tests that need the browser or the evaluator's grading."""

from __future__ import annotations

import os
import time
from typing import Any

import pytest

from action.verify.browser import find_browser
from tests.conftest import Evaluator


def require_browser() -> str:
    """The Chromium the tests drive; CI (CI=true) installs it, so there its absence fails the test."""
    path = find_browser()
    if path is None:
        reason = "no Chromium/Chrome found (apt-get install chromium, or set CHROME_BIN)"
        if os.environ.get("CI", "").lower() in ("true", "1"):
            pytest.fail(f"CI must provide a browser for the verification tests: {reason}")
        pytest.skip(reason)
    return path


def graded(evaluator: Evaluator, count: int, timeout: float = 60) -> list[dict[str, Any]]:
    """The notifications once `count` of them exist and none is still being graded."""
    end = time.monotonic() + timeout
    while True:
        notes = evaluator.notifications()
        if len(notes) >= count and all(n.get("checks", {}).get("state") != "running" for n in notes):
            return notes
        assert time.monotonic() < end, f"grading did not finish: {notes}"
        time.sleep(0.2)
