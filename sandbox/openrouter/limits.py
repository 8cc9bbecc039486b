"""OpenRouter's free-model limits (`--free-limits 20/50`): per account, across every `:free` model.

Past a limit the attempt is a 429 with the body and headers clients have observed from OpenRouter.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field

from sandbox.openrouter.script import Fault

DAY = 86_400.0


@dataclass
class FreeLimits:
    per_minute: int
    per_day: int
    _minute: deque[float] = field(default_factory=deque)
    _day: deque[float] = field(default_factory=deque)

    @classmethod
    def parse(cls, text: str) -> FreeLimits:
        """`PER_MINUTE/PER_DAY`, e.g. `20/50` (OpenRouter's limits under 10 credits) or `20/1000`."""
        minute, sep, day = text.partition("/")
        try:
            limits = cls(int(minute), int(day))
        except ValueError:
            limits = None
        if not sep or limits is None or limits.per_minute < 1 or limits.per_day < 1:
            raise ValueError(f"--free-limits {text!r}: expected PER_MINUTE/PER_DAY, e.g. 20/50")
        return limits

    def check(self, now: float | None = None) -> Fault | None:
        """Count one free request; a Fault when it is over a limit (then it is not counted)."""
        now = time.time() if now is None else now
        for window, span in ((self._minute, 60.0), (self._day, DAY)):
            while window and window[0] <= now - span:
                window.popleft()
        if len(self._day) >= self.per_day:
            return self._fault("free-models-per-day", self.per_day, self._day[0] + DAY, now, (
                " Add 10 credits to unlock 1000 free model requests per day" if self.per_day < 1000 else ""))
        if len(self._minute) >= self.per_minute:
            return self._fault("free-models-per-min", self.per_minute, self._minute[0] + 60.0, now, "")
        self._minute.append(now)
        self._day.append(now)
        return None

    @staticmethod
    def _fault(name: str, limit: int, reset: float, now: float, hint: str) -> Fault:
        headers = {
            "X-RateLimit-Limit": str(limit),
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": str(int(reset * 1000)),
        }
        return Fault(
            status=429,
            headers={**headers, "Retry-After": str(max(1, int(reset - now + 0.999)))},
            message=f"Rate limit exceeded: {name}.{hint}",
            metadata={"headers": headers, "provider_name": None},
        )
