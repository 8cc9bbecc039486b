"""How the dispatcher reacts to GitHub's answers and paces itself: pure functions of status, headers and time.

- 2xx: dispatched.
- 429, or 403 that says it is a (secondary) rate limit: the token is throttled, so the whole queue waits
  (Retry-After, else until x-ratelimit-reset when x-ratelimit-remaining is 0, else a minute, as GitHub's docs
  ask: `deployer/retry.py:rate_limit_wait`, shared with `deployer run`), capped at MAX_WAIT_S. These waits do not
  count towards giving up: they say nothing about the brief.
- 5xx and network errors: transient; back off 1, 2, 4, ... MAX_BACKOFF_S (or Retry-After, capped) and give up on the
  brief after MAX_TRANSIENT_ATTEMPTS of them in a row, so one poisoned brief cannot hold the queue forever.
- Anything else (401 bad token, 404 unknown repo, 422 bad payload, a 403 that is not a rate limit): retrying cannot
  help; the brief is marked failed with GitHub's reason, visible in GET /briefs/{id}.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from deployer.retry import parse_retry_after, rate_limit_wait

MAX_WAIT_S = 900.0
MAX_BACKOFF_S = 60.0
MAX_TRANSIENT_ATTEMPTS = 20
LOW_REMAINING = 20  # below this many requests left in the window, spread them until the reset


@dataclass(frozen=True)
class Outcome:
    kind: str  # "dispatched", "retry" or "failed"
    wait_s: float = 0.0
    reason: str | None = None
    counts_towards_giving_up: bool = False


def _header(headers: Mapping[str, str], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return None


def retry_after_s(headers: Mapping[str, str], now: float) -> float | None:
    """Retry-After as seconds (delta or HTTP date), None when absent or unreadable."""
    return parse_retry_after(_header(headers, "retry-after"), now)


def _int_header(headers: Mapping[str, str], name: str) -> int | None:
    value = _header(headers, name)
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def reset_in_s(headers: Mapping[str, str], now: float) -> float | None:
    reset = _int_header(headers, "x-ratelimit-reset")
    return None if reset is None else max(0.0, reset - now)


def _is_rate_limit_403(headers: Mapping[str, str], message: str) -> bool:
    return (
        _header(headers, "retry-after") is not None
        or _int_header(headers, "x-ratelimit-remaining") == 0
        or "rate limit" in message.lower()
    )


def backoff_s(transient_attempts: int) -> float:
    return min(MAX_BACKOFF_S, 2.0 ** max(0, transient_attempts - 1))


def classify(status: int | None, headers: Mapping[str, str], message: str, *, transient_attempts: int,
             now: float) -> Outcome:
    """Decide what one dispatch answer means. `status` None is a network error or timeout (`message` says which).

    `transient_attempts` counts this brief's transient failures in a row, including this one.
    """
    if status is not None and 200 <= status < 300:
        return Outcome("dispatched")
    reason = f"GitHub answered {status}: {message}" if status is not None else f"cannot reach GitHub: {message}"
    if status == 429 or (status == 403 and _is_rate_limit_403(headers, message)):
        # A secondary limit's x-ratelimit-reset is the primary budget's, up to an hour off: it is the wait only when
        # that budget is spent (waiting for it on a secondary limit stalled a 100-brief run for 15 min).
        return Outcome("retry", min(MAX_WAIT_S, rate_limit_wait(headers, now)), reason)
    if status is None or status >= 500:
        if transient_attempts >= MAX_TRANSIENT_ATTEMPTS:
            return Outcome("failed", 0.0, f"gave up after {transient_attempts} transient failures; last: {reason}")
        wait = retry_after_s(headers, now)
        return Outcome("retry", min(MAX_WAIT_S, wait if wait is not None else backoff_s(transient_attempts)), reason,
                       counts_towards_giving_up=True)
    return Outcome("failed", 0.0, reason)


def pace_s(per_minute: float, headers: Mapping[str, str], now: float) -> float:
    """Seconds to leave between this dispatch and the next.

    DISPATCH_PER_MINUTE sets the floor; when GitHub says few requests are left in its window, the rest are spread
    evenly until x-ratelimit-reset, so a burst never runs into the limit.
    """
    gap = 60.0 / per_minute
    remaining = _int_header(headers, "x-ratelimit-remaining")
    reset = reset_in_s(headers, now)
    if remaining is not None and reset is not None and remaining < LOW_REMAINING:
        gap = max(gap, reset / max(remaining, 1) if remaining > 0 else reset)
    return min(MAX_WAIT_S, gap)
