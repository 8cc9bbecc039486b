"""Waiting before a retry, for every client in this project: how long a server asks us to wait (Retry-After), how
long GitHub asks when it rate-limits us (`rate_limit_wait`), and how long we back off when it does not say. Pure."""

from __future__ import annotations

import email.utils
import re
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime

# RFC 9110 section 10.2.3: Retry-After is delta-seconds (digits) or an HTTP-date. Servers also send fractions
# ("0.5") and, rarely, negatives; both are read, a negative as "now".
_SECONDS_RE = re.compile(r"-?\d+(?:\.\d+)?")
# A secondary limit without retry-after, the primary budget not spent: "wait for at least one minute".
SECONDARY_WAIT_S = 60.0


def parse_retry_after(value: str | None, now: float | datetime | None = None, *,
                      maximum: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After value, at least 0 and at most `maximum`; None when absent or unreadable.

    `now` (epoch seconds or an aware datetime; default: the clock) is what an HTTP-date is measured from."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if _SECONDS_RE.fullmatch(text):
        seconds = float(text)
    else:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:  # an HTTP-date is always GMT (RFC 9110 section 5.6.7)
            when = when.replace(tzinfo=UTC)
        if now is None:
            now = datetime.now(UTC)
        seconds = when.timestamp() - (now.timestamp() if isinstance(now, datetime) else now)
    seconds = max(0.0, seconds)
    return seconds if maximum is None else min(seconds, maximum)


def rate_limit_wait(headers: Mapping[str, str], now: float, hits: int = 1) -> float:
    """Seconds to wait after the `hits`-th rate-limited answer in a row (GitHub's 403 or 429), as GitHub's "Rate
    limits for the REST API" says: "If the retry-after response header is present, you should not retry your
    request until after that many seconds has elapsed. If the x-ratelimit-remaining header is 0, you should not
    retry your request until after the time specified by the x-ratelimit-reset header. Otherwise, wait for at least
    one minute before retrying", longer each time it repeats (here: doubling). The receiver's dispatcher and
    `deployer run`'s GitHub client both wait this; each caps it its own way."""
    lower = {k.lower(): v for k, v in headers.items()}
    after = parse_retry_after(lower.get("retry-after"), now)
    if after is not None:
        return after
    reset = lower.get("x-ratelimit-reset", "").strip()
    if lower.get("x-ratelimit-remaining", "").strip() == "0" and reset.isdigit():
        return max(0.0, int(reset) - now + 1)  # +1: the reset happens somewhere within that second
    return SECONDARY_WAIT_S * 2 ** max(0, hits - 1)


def backoff(first: float, cap: float, factor: float = 2.0) -> Iterator[float]:
    """first, first * factor, first * factor^2, ... seconds, each at most `cap`: the waits between polls or retries."""
    delay = first
    while True:
        yield min(delay, cap)
        delay = min(cap, delay * factor)
