"""Waiting before a retry, for every client in this project: how long a server asks us to wait (Retry-After), and
how long we back off when it does not say. Pure."""

from __future__ import annotations

import email.utils
import re
from collections.abc import Iterator
from datetime import UTC, datetime

# RFC 9110 section 10.2.3: Retry-After is delta-seconds (digits) or an HTTP-date. Servers also send fractions
# ("0.5") and, rarely, negatives; both are read, a negative as "now".
_SECONDS_RE = re.compile(r"-?\d+(?:\.\d+)?")


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


def backoff(first: float, cap: float, factor: float = 2.0) -> Iterator[float]:
    """first, first * factor, first * factor^2, ... seconds, each at most `cap`: the waits between polls or retries."""
    delay = first
    while True:
        yield min(delay, cap)
        delay = min(cap, delay * factor)
