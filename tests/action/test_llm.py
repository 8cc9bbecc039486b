"""The OpenRouter client against the sandbox's stand-in, over real sockets."""

from __future__ import annotations

import socket
import time
from datetime import UTC, datetime

import pytest

from action.llm import Completion, LLMError, OpenRouterClient, RetryPolicy, Usage, parse_retry_after
from tests.conftest import OpenRouter

MESSAGES = [{"role": "user", "content": [{"type": "text", "text": "<brief task=\"t\" round=\"1\">hi</brief>"}]}]


class Recorder:
    """Really sleeps (so Retry-After is honoured against the server) and records each wait."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        time.sleep(seconds)


def client(openrouter: OpenRouter, *models: str, attempts: int = 3, **kwargs: object) -> tuple[OpenRouterClient,
                                                                                              Recorder, list[str]]:
    sleep, log = Recorder(), []
    llm = OpenRouterClient(
        openrouter.key, models or ("sandbox/a",), base_url=openrouter.base_url,
        retry=RetryPolicy(attempts=attempts, backoff=0.05, max_wait=2.0, sleep=sleep), log=log.append,
        **kwargs,  # type: ignore[arg-type]
    )
    return llm, sleep, log


def test_success_returns_content_model_usage_and_sends_attribution(openrouter: OpenRouter) -> None:
    openrouter.script({"content": "<file path=\"index.html\">x</file>", "finish_reason": "stop",
                       "usage": {"prompt_tokens": 12, "completion_tokens": 5, "total_tokens": 17}})
    llm, sleep, _ = client(openrouter, "sandbox/a", referer="https://example.test/app", title="Deployer test")
    result = llm.complete(MESSAGES)
    assert result == Completion('<file path="index.html">x</file>', "sandbox/a", Usage(12, 5, 17), "stop", 1)
    assert sleep.waits == []
    [request] = openrouter.requests()
    headers = {k.lower(): v for k, v in request["headers"].items()}  # type: ignore[union-attr]
    assert headers["http-referer"] == "https://example.test/app" and headers["x-title"] == "Deployer test"
    assert request["body"]["model"] == "sandbox/a" and request["body"]["messages"] == MESSAGES  # type: ignore[index]
    assert openrouter.key not in repr(llm)


def test_429_then_success_honours_retry_after(openrouter: OpenRouter) -> None:
    openrouter.script({"status": 429, "headers": {"Retry-After": "1"}}, {"content": "ok", "finish_reason": "stop"})
    llm, sleep, log = client(openrouter)
    result = llm.complete(MESSAGES)
    assert (result.content, result.attempts) == ("ok", 2)
    assert sleep.waits == [1.0]
    assert len(openrouter.requests()) == 2
    assert any("HTTP 429" in line and "retrying in 1.0s" in line for line in log)


@pytest.mark.parametrize("status", [408, 500, 502, 503])
def test_transient_statuses_are_retried_with_backoff(openrouter: OpenRouter, status: int) -> None:
    openrouter.script({"status": status, "headers": {"Retry-After": ""}, "body": {"error": {"code": status,
                                                                                          "message": "busy"}}},
                      {"content": "ok"})
    llm, sleep, _ = client(openrouter)
    assert llm.complete(MESSAGES).content == "ok"
    assert sleep.waits == [0.05]


def test_waits_are_capped(openrouter: OpenRouter) -> None:
    openrouter.script({"status": 503, "headers": {"Retry-After": "3600"}}, {"content": "ok"})
    llm, sleep, _ = client(openrouter)
    llm.retry = RetryPolicy(attempts=3, backoff=0.05, max_wait=0.2, sleep=sleep)
    assert llm.complete(MESSAGES).content == "ok"
    assert sleep.waits == [0.2]


def test_200_carrying_an_error_falls_back_to_the_next_model(openrouter: OpenRouter) -> None:
    openrouter.script(
        {"model": "sandbox/a", "status": 200, "body": {"error": {"code": 502, "message": "Provider returned error"}}},
        {"model": "sandbox/b", "content": "from b"},
    )
    llm, sleep, log = client(openrouter, "sandbox/a", "sandbox/b")
    result = llm.complete(MESSAGES)
    assert (result.content, result.model, result.attempts) == ("from b", "sandbox/b", 2)
    assert sleep.waits == []
    assert [r["body"]["model"] for r in openrouter.requests()] == ["sandbox/a", "sandbox/b"]  # type: ignore[index]
    assert any("sandbox/a failed: HTTP 200 carrying an error: Provider returned error (code 502)" in x for x in log)


@pytest.mark.parametrize(
    ("script", "reason"),
    [
        ({"content": "partial", "error": {"code": 502, "message": "upstream died"}}, "finish_reason error"),
        ({"content": "<file path=", "finish_reason": "length"}, "cut off (finish_reason length)"),
        ({"content": "   "}, "empty content"),
        ({"status": 200, "body": {"id": "x", "choices": []}}, "without choices"),
        ({"status": 200, "body": "<html>gateway</html>"}, "not JSON"),
        ({"status": 400, "message": "bad request"}, "HTTP 400: bad request"),
        ({"status": 403, "message": "flagged"}, "HTTP 403: flagged"),
    ],
)
def test_failures_of_one_model_are_not_retried_and_fall_back(
    openrouter: OpenRouter, script: dict[str, object], reason: str,
) -> None:
    openrouter.script({"model": "sandbox/a", **script}, {"model": "sandbox/b", "content": "from b"})
    llm, sleep, log = client(openrouter, "sandbox/a", "sandbox/b")
    assert llm.complete(MESSAGES).model == "sandbox/b"
    assert sleep.waits == [] and len(openrouter.requests()) == 2
    assert any(reason in line for line in log), log


@pytest.mark.parametrize("status", [401, 402])
def test_key_and_credit_errors_stop_without_trying_other_models(openrouter: OpenRouter, status: int) -> None:
    openrouter.script({"status": status})
    llm, sleep, log = client(openrouter, "sandbox/a", "sandbox/b")
    with pytest.raises(LLMError) as caught:
        llm.complete(MESSAGES)
    assert [(f.model, f.status) for f in caught.value.failures] == [("sandbox/a", status)]
    assert sleep.waits == [] and len(openrouter.requests()) == 1
    assert all(openrouter.key not in line for line in [*log, str(caught.value)])


def test_every_model_failing_raises_one_error_naming_each(openrouter: OpenRouter) -> None:
    openrouter.script(
        {"model": "sandbox/a", "status": 503, "headers": {"Retry-After": "0"}},
        {"model": "sandbox/a", "status": 503, "headers": {"Retry-After": "0"}},
        {"model": "sandbox/b", "content": "", "finish_reason": "stop"},
        {"model": "sandbox/c", "status": 400, "message": "sandbox/c is not a valid model ID"},
    )
    llm, sleep, _ = client(openrouter, "sandbox/a", "sandbox/b", "sandbox/c", attempts=2)
    with pytest.raises(LLMError) as caught:
        llm.complete(MESSAGES)
    message = str(caught.value)
    assert message.startswith("all models failed: sandbox/a: HTTP 503")
    assert "(gave up after 2 attempts)" in message
    assert "sandbox/b: empty content" in message
    assert "sandbox/c: HTTP 400: sandbox/c is not a valid model ID" in message
    assert [f.model for f in caught.value.failures] == ["sandbox/a", "sandbox/b", "sandbox/c"]
    assert sleep.waits == [0.0]


def test_timeouts_are_retried(openrouter: OpenRouter) -> None:
    openrouter.script({"content": "slow", "delay": 1}, {"content": "fast"})
    llm, sleep, log = client(openrouter, timeout=(5.0, 0.3))
    assert llm.complete(MESSAGES).content == "fast"
    assert sleep.waits == [0.05] and any("timed out" in line for line in log)


def test_connection_errors_are_retried_then_reported() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    sleep = Recorder()
    llm = OpenRouterClient("k", ["m"], base_url=f"http://127.0.0.1:{port}/api/v1",
                           retry=RetryPolicy(attempts=2, backoff=0.01, sleep=sleep))
    with pytest.raises(LLMError, match=r"m: connection error \(ConnectionError\) \(gave up after 2 attempts\)"):
        llm.complete(MESSAGES)
    assert sleep.waits == [0.01]


def test_client_needs_a_model_and_a_key() -> None:
    with pytest.raises(ValueError, match="model"):
        OpenRouterClient("k", [" ", ""])
    with pytest.raises(ValueError, match="key"):
        OpenRouterClient("", ["m"])


def test_retry_after_forms() -> None:
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("1") == 1.0
    assert parse_retry_after("0.5") == 0.5
    assert parse_retry_after("-3") == 0.0
    assert parse_retry_after("Thu, 01 Jan 2026 12:00:30 GMT", now) == 30.0
    assert parse_retry_after("Thu, 01 Jan 2026 11:00:00 GMT", now) == 0.0
    assert parse_retry_after(None) is None and parse_retry_after("") is None and parse_retry_after("soon") is None


def test_a_bad_base_url_fails_once_for_all_models() -> None:
    llm = OpenRouterClient("k", ["m1", "m2"], base_url="http://127.0.0.1:notaport/api/v1",
                           retry=RetryPolicy(attempts=3, sleep=Recorder()))
    with pytest.raises(LLMError, match=r"^all models failed: m1: the request could not be sent \(InvalidURL") as caught:
        llm.complete(MESSAGES)
    assert [f.model for f in caught.value.failures] == ["m1"] and llm.requests_sent == 1
