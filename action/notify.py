"""Notification: POST the deployment to `evaluation_url`, retrying until it is delivered or the deadline passes.

Any non-2xx answer or network error is retried: an evaluator that is briefly down must still hear from us, and
the deadline (not a retry count) is what graders enforce.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests

from deployer.retry import backoff

FIELDS = ("email", "task", "round", "nonce", "repo_url", "commit_sha", "pages_url")


class NotifyError(RuntimeError):
    """The evaluator was not reached before the deadline; the message says how it last answered.

    `attempts` and `last` ("HTTP 503", "ConnectionError": never the URL, which may carry a token) are what a
    public record of the failure may say."""

    def __init__(self, message: str, *, attempts: int = 0, last: str = ""):
        super().__init__(message)
        self.attempts = attempts
        self.last = last


@dataclass(frozen=True)
class Delivery:
    attempts: int
    status: int


def payload(**values: Any) -> dict[str, Any]:
    """Exactly the evaluator's fields: nothing else (and so never a secret) leaves in the notification."""
    missing = [f for f in FIELDS if values.get(f) in (None, "")]
    if missing:
        raise ValueError(f"notification is missing {', '.join(missing)}")
    return {f: values[f] for f in FIELDS}


def notify(
    url: str,
    body: dict[str, Any],
    *,
    deadline: float,
    session: requests.Session | None = None,
    first_delay: float = 1.0,
    cap: float = 60.0,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
    on_attempt: Callable[[int, str], None] | None = None,
) -> Delivery:
    """Deliver `body`; `deadline` is a `clock()` timestamp. Raise NotifyError naming the last failure."""
    http = session or requests.Session()
    delays = backoff(first_delay, cap)  # 1, 2, 4, 8, ... s, as DESIGN.md says
    attempt = 0
    while True:
        attempt += 1
        remaining = deadline - clock()
        try:
            response = http.post(url, json=body, timeout=max(1.0, min(30.0, remaining)))
            outcome = last = f"HTTP {response.status_code}"
            if 200 <= response.status_code < 300:
                if on_attempt:
                    on_attempt(attempt, outcome)
                return Delivery(attempt, response.status_code)
        except requests.RequestException as exc:
            outcome, last = f"{type(exc).__name__}: {exc}", type(exc).__name__
        if on_attempt:
            on_attempt(attempt, outcome)
        wait = next(delays)
        if clock() + wait > deadline:
            raise NotifyError(f"evaluation_url not reached before the deadline after {attempt} attempts "
                              f"(last: {outcome})", attempts=attempt, last=last)
        sleep(wait)
