"""OpenRouter chat completions with retries and client-side model fallback.

Failure handling, per model, in the order of `models`:
- 408, 429, 5xx, timeouts and connection errors are transient: retried (bounded attempts) after `Retry-After` when
  the server sends it, else after an exponential backoff; every wait is capped.
- 400, 403, 404, 413, 422 (bad request, moderation, unknown model, ...) fail that model at once; the next model is
  tried, since another model may accept the same request.
- 401 and 402 (the key, the credits), and a request that cannot be sent at all (a bad base URL), stop everything:
  no other model can succeed with the same key and URL.
- An HTTP 200 can still be a failure: a top-level `error`, no `choices`, `finish_reason` `error` or `length`
  (a truncated site is useless), or empty content. That model has failed; the next one is tried.
Fallback is done here rather than with OpenRouter's `models` parameter, so each model's failure is reported.
The API key only ever goes into the Authorization header; messages about failures quote the server, never the key.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import requests
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt

from deployer.retry import parse_retry_after

DEFAULT_BASE_URL = "https://openrouter.ai/api/v1"
DEFAULT_REFERER = "https://github.com/llm-pages-deployer/llm-pages-deployer"
DEFAULT_TITLE = "llm-pages-deployer"
TRANSIENT_STATUSES = frozenset({408, 429}) | frozenset(range(500, 600))
FATAL_STATUSES = frozenset({401, 402})


@dataclass(frozen=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0


@dataclass(frozen=True)
class Completion:
    content: str
    model: str
    usage: Usage
    finish_reason: str
    attempts: int = 1  # HTTP requests made for this answer


@dataclass(frozen=True)
class ModelFailure:
    model: str
    reason: str
    status: int | None = None

    def __str__(self) -> str:
        return f"{self.model}: {self.reason}"


class LLMError(RuntimeError):
    """Every model failed; `failures` names each model and why."""

    def __init__(self, failures: Sequence[ModelFailure]):
        self.failures = list(failures)
        super().__init__("all models failed: " + "; ".join(str(f) for f in self.failures))


class _Transient(Exception):
    def __init__(self, reason: str, status: int | None = None, retry_after: float | None = None):
        super().__init__(reason)
        self.status = status
        self.retry_after = retry_after


class _Failed(Exception):
    def __init__(self, reason: str, status: int | None = None, fatal: bool = False):
        super().__init__(reason)
        self.status = status
        self.fatal = fatal


@dataclass(frozen=True)
class RetryPolicy:
    """How long to keep trying one model: `attempts` requests, waits of `backoff` * 2^n or Retry-After, each
    at most `max_wait` seconds. `sleep` is injectable so tests observe the waits."""

    attempts: int = 4
    backoff: float = 2.0
    max_wait: float = 60.0
    sleep: Callable[[float], None] = time.sleep

    def wait(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, _Transient) and error.retry_after is not None:
            return min(error.retry_after, self.max_wait)
        return min(self.backoff * 2 ** (state.attempt_number - 1), self.max_wait)


@dataclass
class OpenRouterClient:
    api_key: str = field(repr=False)
    models: Sequence[str]
    base_url: str = DEFAULT_BASE_URL
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    timeout: tuple[float, float] = (10.0, 300.0)
    referer: str = DEFAULT_REFERER
    title: str = DEFAULT_TITLE
    max_tokens: int | None = None
    temperature: float | None = None
    log: Callable[[str], None] = lambda _message: None
    session: requests.Session = field(default_factory=requests.Session, repr=False)
    requests_sent: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        self.models = [m.strip() for m in self.models if m and m.strip()]
        if not self.models:
            raise ValueError("at least one model is required")
        if not self.api_key:
            raise ValueError("an OpenRouter API key is required")

    def complete(self, messages: list[dict[str, Any]]) -> Completion:
        """The first model's successful answer, trying each model in order; LLMError when all fail.

        `Completion.attempts` counts every HTTP request made for this answer, retries and failed models included.
        """
        failures: list[ModelFailure] = []
        start = self.requests_sent
        for model in self.models:
            try:
                result = self._complete_with(model, messages)
                return replace(result, attempts=self.requests_sent - start)
            except _Failed as exc:
                failures.append(ModelFailure(model, str(exc), exc.status))
                self.log(f"model {model} failed: {exc}")
                if exc.fatal:
                    break
        raise LLMError(failures)

    def _complete_with(self, model: str, messages: list[dict[str, Any]]) -> Completion:
        retrying = Retrying(
            stop=stop_after_attempt(self.retry.attempts),
            wait=self.retry.wait,
            retry=retry_if_exception_type(_Transient),
            sleep=self.retry.sleep,
            before_sleep=lambda s: self.log(
                f"model {model}: {s.outcome.exception() if s.outcome else ''}; "
                f"retrying in {s.next_action.sleep if s.next_action else 0:.1f}s"
            ),
            reraise=True,
        )
        try:
            return retrying(self._request, model, messages)
        except _Transient as exc:
            raise _Failed(f"{exc} (gave up after {self.retry.attempts} attempts)", exc.status) from None

    def _request(self, model: str, messages: list[dict[str, Any]]) -> Completion:
        body: dict[str, Any] = {"model": model, "messages": messages}
        if self.max_tokens is not None:
            body["max_tokens"] = self.max_tokens
        if self.temperature is not None:
            body["temperature"] = self.temperature
        headers = {
            "Authorization": f"Bearer {self.api_key}", "HTTP-Referer": self.referer, "X-Title": self.title,
        }
        url = f"{self.base_url.rstrip('/')}/chat/completions"
        self.requests_sent += 1
        try:
            response = self.session.post(url, json=body, headers=headers, timeout=self.timeout)
        except requests.Timeout:
            raise _Transient("the request timed out") from None
        except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as exc:
            raise _Transient(f"connection error ({type(exc).__name__})") from None
        except requests.RequestException as exc:  # a bad base URL and the like: the same for every model
            raise _Failed(f"the request could not be sent ({type(exc).__name__}: {exc})", fatal=True) from None
        if response.status_code != 200:
            reason = f"HTTP {response.status_code}: {_error_message(response)}"
            if response.status_code in TRANSIENT_STATUSES:
                raise _Transient(reason, response.status_code, parse_retry_after(response.headers.get("Retry-After")))
            raise _Failed(reason, response.status_code, fatal=response.status_code in FATAL_STATUSES)
        try:
            data = response.json()
        except ValueError:
            raise _Failed("HTTP 200 with a body that is not JSON", 200) from None
        return parse_completion(data, model)


def parse_completion(data: object, requested_model: str) -> Completion:
    """A Completion from a 200 body, or _Failed when the body carries an error or no usable content."""
    if not isinstance(data, dict):
        raise _Failed("HTTP 200 with a body that is not a JSON object", 200)
    if "error" in data:
        raise _Failed(f"HTTP 200 carrying an error: {_describe_error(data['error'])}", 200)
    choices = data.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise _Failed("HTTP 200 without choices", 200)
    choice = choices[0]
    finish = str(choice.get("finish_reason") or "")
    if finish == "error" or "error" in choice:
        raise _Failed(f"finish_reason {finish or 'null'} with error: {_describe_error(choice.get('error'))}", 200)
    if finish == "length":
        raise _Failed("the answer was cut off (finish_reason length)", 200)
    message = choice.get("message")
    content = message.get("content") if isinstance(message, dict) else None
    if not isinstance(content, str) or not content.strip():
        raise _Failed("empty content", 200)
    raw_usage = data.get("usage") if isinstance(data.get("usage"), dict) else {}
    usage = Usage(*(int(raw_usage.get(k) or 0) for k in ("prompt_tokens", "completion_tokens", "total_tokens")))
    return Completion(content, str(data.get("model") or requested_model), usage, finish or "stop")


def _error_message(response: requests.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        return " ".join(response.text.split())[:200] or response.reason or "no body"
    if isinstance(data, dict) and "error" in data:
        return _describe_error(data["error"])
    return json.dumps(data)[:200]


def _describe_error(error: object) -> str:
    if isinstance(error, dict):
        message = str(error.get("message") or "no message")
        code = error.get("code")
        metadata = error.get("metadata")
        kind = metadata.get("error_type") if isinstance(metadata, dict) else None
        return message + (f" (code {code})" if code is not None else "") + (f" [{kind}]" if kind else "")
    return str(error)[:200] if error is not None else "no details"
