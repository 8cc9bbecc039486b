"""The browser for verification tests: one per module. Missing in CI is a failure, elsewhere a skip that says why."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from action.verify.browser import Browser, Timeouts
from tests.verify.support import require_browser

FAST = Timeouts(load=15, settle=1, check=5)  # generous: no test here waits for a timeout


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with Browser(require_browser(), local_only=True, timeouts=FAST) as shared:
        yield shared
