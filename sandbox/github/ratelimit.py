"""GitHub's rate limits: the primary hourly budget (headers on every answer) and the secondary limit on
content-creating requests ("no more than 80 content-generating requests per minute", REST docs, "Rate limits
for the REST API"), which answers 403 with a message saying so and a `retry-after`.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field

from sandbox.github.errors import SECONDARY_DOCS, SECONDARY_RATE_LIMIT, ApiError

CONTENT_METHODS = frozenset({"POST", "PATCH", "PUT", "DELETE"})
PRIMARY_DOCS = "https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api"


@dataclass
class Budget:
    limit: int
    reset: int
    used: int = 0
    content: deque[float] = field(default_factory=deque)


class RateLimits:
    def __init__(self, per_hour: int, content_per_minute: int, anonymous_per_hour: int = 60):
        self.per_hour = per_hour
        self.content_per_minute = content_per_minute
        self.anonymous_per_hour = anonymous_per_hour
        self.budgets: dict[str, Budget] = {}

    def budget(self, who: str | None) -> Budget:
        key = who or ""
        now = time.time()
        b = self.budgets.get(key)
        if b is None or now >= b.reset:
            limit = self.per_hour if who else self.anonymous_per_hour
            b = self.budgets[key] = Budget(limit, int(now) + 3600)
        return b

    def headers(self, who: str | None) -> dict[str, str]:
        b = self.budget(who)
        return {
            "x-ratelimit-limit": str(b.limit), "x-ratelimit-remaining": str(max(b.limit - b.used, 0)),
            "x-ratelimit-reset": str(b.reset), "x-ratelimit-used": str(b.used), "x-ratelimit-resource": "core",
        }

    def charge(self, who: str | None, user_id: int | None, method: str, request_id: str) -> None:
        """Count one request; raise the 403 GitHub sends when a limit is exhausted (the request is not counted)."""
        b = self.budget(who)
        if b.used >= b.limit:
            message = (f"API rate limit exceeded for user ID {user_id}. If you reach out to GitHub Support for help, "
                       f"please include the request ID {request_id}.")
            raise ApiError(403, message, documentation_url=PRIMARY_DOCS)
        if who and method in CONTENT_METHODS:
            now = time.monotonic()
            while b.content and now - b.content[0] >= 60:
                b.content.popleft()
            if len(b.content) >= self.content_per_minute:
                wait = max(1, int(60 - (now - b.content[0])) + 1)
                raise ApiError(403, SECONDARY_RATE_LIMIT.format(request_id=request_id),
                               documentation_url=SECONDARY_DOCS, headers={"retry-after": str(wait)})
            b.content.append(now)
        b.used += 1
