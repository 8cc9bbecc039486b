"""GitHub's rate limits: the primary hourly budget (headers on every answer) and the secondary limits on
content-creating requests ("no more than 80 content-generating requests per minute and no more than 500
content-generating requests per hour", REST docs, "Rate limits for the REST API").

A breach of a secondary limit answers 403 "...temporarily blocked from content creation..." and, as reported,
without `retry-after` (gofri/go-github-ratelimit#38); the docs then say to wait until `x-ratelimit-reset` or at
least a minute. GitHub also asks for "at least one second between each request" when mutating ("Best practices
for using the REST API"): that is guidance, not a limit, so closer requests are answered and listed (`pacing`).
"""

from __future__ import annotations

import bisect
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from sandbox.github.errors import SECONDARY_DOCS, SECONDARY_RATE_LIMIT, ApiError
from sandbox.github.settings import Settings

CONTENT_METHODS = frozenset({"POST", "PATCH", "PUT", "DELETE"})
PRIMARY_DOCS = "https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api"
CONTENT_CREATION = ("You have exceeded a secondary rate limit and have been temporarily blocked from content "
                    "creation. Please retry your request again later.")
HOUR = 3600.0


@dataclass
class Budget:
    limit: int
    reset: int
    used: int = 0
    content: deque[float] = field(default_factory=deque)  # monotonic times of content-creating requests, last hour


def blocked(times: deque[float], now: float, settings: Settings) -> float | None:
    """Seconds until the next content-creating request is allowed, or None when it is allowed now."""
    while times and now - times[0] >= HOUR:
        times.popleft()
    waits = []
    recent = len(times) - bisect.bisect_right(times, now - 60)
    if settings.content_per_minute and recent >= settings.content_per_minute:
        waits.append(60 - (now - times[len(times) - recent]))
    if settings.content_per_hour and len(times) >= settings.content_per_hour:
        waits.append(HOUR - (now - times[len(times) - settings.content_per_hour]))
    return max(waits) if waits else None


class RateLimits:
    def __init__(self, per_hour: int, anonymous_per_hour: int = 60):
        self.per_hour = per_hour
        self.anonymous_per_hour = anonymous_per_hour
        self.budgets: dict[str, Budget] = {}
        self.last_mutation: dict[str, float] = {}
        # Mutating requests closer than `mutation_interval` (/_sandbox/pacing), bounded for long sessions.
        self.pacing: deque[dict[str, Any]] = deque(maxlen=10_000)

    def budget(self, who: str | None) -> Budget:
        key = who or ""
        now = time.time()
        b = self.budgets.get(key)
        if b is None or now >= b.reset:
            limit = self.per_hour if who else self.anonymous_per_hour
            b = self.budgets[key] = Budget(limit, int(now) + 3600, content=b.content if b else deque())
        return b

    def headers(self, who: str | None) -> dict[str, str]:
        b = self.budget(who)
        return {
            "x-ratelimit-limit": str(b.limit), "x-ratelimit-remaining": str(max(b.limit - b.used, 0)),
            "x-ratelimit-reset": str(b.reset), "x-ratelimit-used": str(b.used), "x-ratelimit-resource": "core",
        }

    def charge(self, who: str | None, user_id: int | None, method: str, path: str, request_id: str,
               settings: Settings) -> None:
        """Count one request; raise the 403 GitHub sends when a limit is exhausted (the request is not counted)."""
        b = self.budget(who)
        if b.used >= b.limit:
            message = (f"API rate limit exceeded for user ID {user_id}. If you reach out to GitHub Support for help, "
                       f"please include the request ID {request_id}.")
            raise ApiError(403, message, documentation_url=PRIMARY_DOCS)
        if who and method in CONTENT_METHODS:
            now = time.monotonic()
            wait = blocked(b.content, now, settings)
            if wait is not None:
                headers = {} if settings.secondary_without_retry_after else {"retry-after": str(max(1, int(wait) + 1))}
                message = CONTENT_CREATION if settings.secondary_without_retry_after else \
                    SECONDARY_RATE_LIMIT.format(request_id=request_id)
                raise ApiError(403, message, documentation_url=SECONDARY_DOCS, headers=headers)
            self._pace(who, method, path, now, settings)
            b.content.append(now)
        b.used += 1

    def _pace(self, who: str, method: str, path: str, now: float, settings: Settings) -> None:
        last = self.last_mutation.get(who)
        self.last_mutation[who] = now
        if settings.mutation_interval and last is not None and now - last < settings.mutation_interval:
            self.pacing.append({"user": who, "method": method, "path": path, "gap_s": round(now - last, 3),
                                "at": time.time()})
