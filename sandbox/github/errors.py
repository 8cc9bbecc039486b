"""GitHub's error answers: one exception type that every handler raises, rendered the way api.github.com does.

GitHub's error bodies are `{"message", "documentation_url", "status"}` (plus `errors` for 422); `status` is the
HTTP status as a string, which the `basic-error` schema allows.
"""

from __future__ import annotations

from typing import Any

DOCS = "https://docs.github.com/rest"

REASONS = {
    400: "Bad Request",
    401: "Bad credentials",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    422: "Validation Failed",
    429: "Too Many Requests",
    500: "Server Error",
    502: "Server Error",
    503: "Service Unavailable",
}

SECONDARY_RATE_LIMIT = (
    "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. "
    "If you reach out to GitHub Support for help, please include the request ID {request_id}."
)
SECONDARY_DOCS = "https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api#about-secondary-rate-limits"


class ApiError(Exception):
    """An answer other than success; `errors` is GitHub's list of `{resource, field, code, message}`."""

    def __init__(
        self,
        status: int,
        message: str | None = None,
        *,
        errors: list[dict[str, Any]] | None = None,
        documentation_url: str | None = None,
        headers: dict[str, str] | None = None,
    ):
        super().__init__(message or REASONS.get(status, "Error"))
        self.status = status
        self.message = message or REASONS.get(status, "Error")
        self.errors = errors
        self.documentation_url = documentation_url
        self.headers = headers or {}

    def body(self, default_docs: str = DOCS) -> dict[str, Any]:
        out: dict[str, Any] = {"message": self.message}
        if self.errors is not None:
            out["errors"] = self.errors
        out["documentation_url"] = self.documentation_url or default_docs
        out["status"] = str(self.status)
        return out


def not_found() -> ApiError:
    return ApiError(404, "Not Found")


def empty_repository() -> ApiError:
    return ApiError(409, "Git Repository is empty.")


def invalid(resource: str, field: str, code: str = "invalid", message: str | None = None) -> ApiError:
    """422 Validation Failed with one entry in `errors`, the shape GitHub uses for field problems."""
    entry: dict[str, Any] = {"resource": resource, "field": field, "code": code}
    if message is not None:
        entry["message"] = message
    return ApiError(422, "Validation Failed", errors=[entry])


def unprocessable(message: str) -> ApiError:
    """422 whose message says it all (GitHub's Git Data API answers like this, without `errors`)."""
    return ApiError(422, message)


def default_error_body(status: int, request_id: str) -> dict[str, Any]:
    """The body GitHub sends for `status` when nothing more specific is known (used by injected faults)."""
    if status in (403, 429):
        return {"message": SECONDARY_RATE_LIMIT.format(request_id=request_id), "documentation_url": SECONDARY_DOCS,
                "status": str(status)}
    return ApiError(status).body()
