"""OpenRouter's error bodies and headers, so a client's error handling meets the real shapes here first.

Body: `{"error": {"code", "message", "metadata"?}}` with HTTP status == code
(openrouter.ai/docs/api/reference/errors-and-debugging).
"""

from __future__ import annotations

import time
from typing import Any

# Default messages: the SPEC's examples where it has one, otherwise the errors page's wording.
MESSAGES: dict[int, str] = {
    400: "Bad Request",
    401: "Missing Authentication header",
    402: "Insufficient credits. Add more using https://openrouter.ai/credits",
    403: "Your chosen model requires moderation and your input was flagged",
    404: "Not Found",
    408: "Your request timed out",
    413: "Request payload too large",
    422: "Unprocessable Entity",
    429: "Rate limit exceeded",
    500: "Internal Server Error",
    502: "Provider returned error",
    503: "There is no available model provider that meets your routing requirements",
    524: "Request timed out. Please try again later.",
    529: "Provider is overloaded",
}

# Provider errors name their kind in metadata.error_type ([ERR]); the sandbox names the obvious one.
ERROR_TYPES: dict[int, str] = {
    408: "timeout",
    429: "rate_limit_exceeded",
    502: "provider_unavailable",
    503: "provider_unavailable",
    524: "timeout",
    529: "provider_overloaded",
}

RETRY_AFTER_STATUSES = (429, 503)


class ApiError(Exception):
    """A request OpenRouter would refuse; carries the status, message and optional metadata."""

    def __init__(self, status: int, message: str | None = None, metadata: dict[str, Any] | None = None):
        self.status = status
        self.message = message or MESSAGES.get(status, "Error")
        self.metadata = metadata
        super().__init__(f"{status} {self.message}")

    def body(self) -> dict[str, Any]:
        return error_body(self.status, self.message, self.metadata)


def error_body(status: int, message: str | None = None, metadata: dict[str, Any] | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": status, "message": message or MESSAGES.get(status, "Error")}
    if metadata is None and status in ERROR_TYPES:
        metadata = {"error_type": ERROR_TYPES[status], "provider_name": "Sandbox"}
    if metadata is not None:
        error["metadata"] = metadata
    return {"error": error}


def default_headers(status: int, *, now: float | None = None) -> dict[str, str]:
    """Retry-After on 429/503; a platform 429 also carries X-RateLimit-* (Reset in epoch milliseconds)."""
    headers: dict[str, str] = {}
    if status in RETRY_AFTER_STATUSES:
        headers["Retry-After"] = "1"
    if status == 429:
        reset_ms = int(((now if now is not None else time.time()) + 1) * 1000)
        headers.update({"X-RateLimit-Limit": "20", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(reset_ms)})
    return headers
