"""The PyGithub client every GitHub call of `deployer run` goes through, paced and retried as GitHub asks.

GitHub's "Best practices for using the REST API": "If you are making a large number of POST, PATCH, PUT, or DELETE
requests for a single user or client ID, wait at least one second between each request" (PyGithub's
`seconds_between_writes`). A rate-limited answer (403 or 429) is waited out as GitHub's "Rate limits for the REST
API" says (`deployer/retry.py:rate_limit_wait`, shared with the receiver). Those waits are taken here, never past
the run's deadline: a wait that would end after it raises `PastDeadline` at once, so the stage fails with a named
cause while there is still time to report it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from github import Auth, Github, GithubRetry
from urllib3.response import BaseHTTPResponse

from deployer.retry import SECONDARY_WAIT_S, parse_retry_after, rate_limit_wait

# Seconds between two mutating requests of one run ("at least one second", GitHub's best practices).
WRITE_GAP_S = 1.0
# Longer waits than this are never taken, deadline or not (a primary budget resets within the hour).
MAX_WAIT_S = 900.0


class PastDeadline(RuntimeError):
    """GitHub asked us to wait longer than the run's deadline allows."""


class DeadlineRetry(GithubRetry):
    """GithubRetry (5xx, timeouts, and 403s whose message is a rate limit), plus 429s, with GitHub's documented
    waits, at least WRITE_GAP_S between attempts, and never a wait that ends past `deadline` (epoch seconds)."""

    def __init__(self, *, deadline: float | None = None, clock: Callable[[], float] = time.time,
                 wait: float | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.deadline = deadline
        self.clock = clock
        self.wait = wait  # the wait this retry owes a rate limit, set by increment

    def new(self, **kw: Any) -> DeadlineRetry:
        kw.setdefault("wait", None)
        return super().new(deadline=self.deadline, clock=self.clock, **kw)  # type: ignore[return-value]

    def increment(self, method: str | None = None, url: str | None = None,  # type: ignore[override]
                  response: BaseHTTPResponse | None = None, error: Exception | None = None,
                  _pool: Any = None, _stacktrace: Any = None) -> DeadlineRetry:
        retry = super().increment(method, url, response, error, _pool, _stacktrace)
        assert isinstance(retry, DeadlineRetry)
        if response is not None and response.status in (403, 429):  # a 403 gets here only as a rate limit
            hits = sum(1 for h in retry.history if h.status in (403, 429))
            retry.wait = rate_limit_wait(dict(response.headers), self.clock(), hits)
        return retry

    def sleep(self, response: BaseHTTPResponse | None = None) -> None:
        wait = self.wait
        if wait is None:
            after = parse_retry_after(response.headers.get("Retry-After"), self.clock()) if response else None
            wait = after if after is not None else self.get_backoff_time()
        wait = max(wait, WRITE_GAP_S)
        if wait > MAX_WAIT_S or (self.deadline is not None and self.clock() + wait > self.deadline):
            answer = f"HTTP {response.status}" if response is not None else "an error"
            raise PastDeadline(f"GitHub answered {answer}; waiting {wait:.0f} s before retrying, as it asks, would "
                               "pass the run's deadline")
        time.sleep(wait)


def open_github(token: str, api_url: str, *, timeout: int = 30, deadline: float | None = None,
                retries: int = 10) -> Github:
    """A client that paces its writes a second apart and retries 5xx, timeouts, 429 and rate-limit 403s for every
    method (PyGithub's default leaves out PATCH, our ref update), waiting as GitHub's answers ask."""
    retry = DeadlineRetry(
        deadline=deadline, total=retries, backoff_factor=1.0, backoff_max=30, secondary_rate_wait=SECONDARY_WAIT_S,
        max_rate_limit_wait=MAX_WAIT_S,
        allowed_methods=frozenset({"GET", "POST", "PATCH", "PUT", "DELETE", "HEAD"}),
        status_forcelist=[*range(500, 600), 429],  # GithubRetry adds 403 (rate limits, judged by their message)
    )
    return Github(
        auth=Auth.Token(token), base_url=api_url.rstrip("/"), timeout=timeout, retry=retry,
        seconds_between_requests=None, seconds_between_writes=WRITE_GAP_S, user_agent="llm-pages-deployer",
    )
