"""The browser for verification tests: one per module. Missing in CI is a failure, elsewhere a skip that says why."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from action.verify.browser import Browser, Timeouts, find_browser

FAST = Timeouts(load=5, settle=1, check=2)


def require_browser() -> str:
    """The Chromium the tests drive; CI (CI=true) installs it, so there its absence fails the test."""
    path = find_browser()
    if path is None:
        reason = "no Chromium/Chrome found (apt-get install chromium, or set CHROME_BIN)"
        if os.environ.get("CI", "").lower() in ("true", "1"):
            pytest.fail(f"CI must provide a browser for the verification tests: {reason}")
        pytest.skip(reason)
    return path


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with Browser(require_browser(), local_only=True, timeouts=FAST) as shared:
        yield shared
