"""The OpenRouter client against the sandbox's stand-in, over real sockets."""

from __future__ import annotations

import socket
import time
from datetime import UTC, datetime

import pytest

from action.llm import Completion, LLMError, OpenRouterClient, RetryPolicy, Usage, parse_retry_after
from deployer.models import DEFAULT_MAX_TOKENS, DEFAULT_TEMPERATURE
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
                       "usage": {"prompt_tokens": 12, "completion_tokens": 5, "total_tokens": 17, "cost": 0.0021,
                                 "prompt_tokens_details": {"cached_tokens": 8, "cache_write_tokens": 2},
                                 "completion_tokens_details": {"reasoning_tokens": 3}}})
    llm, sleep, _ = client(openrouter, "sandbox/a", referer="https://example.test/app", title="Deployer test")
    result = llm.complete(MESSAGES)
    usage = Usage(12, 5, 17, cached_tokens=8, cache_write_tokens=2, reasoning_tokens=3, cost=0.0021)
    assert result == Completion('<file path="index.html">x</file>', "sandbox/a", usage, "stop", 1,
                                max_tokens=DEFAULT_MAX_TOKENS)
    assert llm.spent == usage and sleep.waits == []
    [request] = openrouter.requests()
    headers = {k.lower(): v for k, v in request["headers"].items()}  # type: ignore[union-attr]
    assert headers["http-referer"] == "https://example.test/app" and headers["x-title"] == "Deployer test"
    body = request["body"]
    assert body == {"model": "sandbox/a", "messages": MESSAGES,  # type: ignore[comparison-overlap]
                    "max_tokens": DEFAULT_MAX_TOKENS, "temperature": DEFAULT_TEMPERATURE}
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


@pytest.mark.parametrize("status", [401, 402])  # a 402 without "can only afford": the account has no credit
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


def test_an_answer_cut_at_max_tokens_is_continued_and_joined_exactly(openrouter: OpenRouter) -> None:
    parts = ['<file path="index.html">\n<h1>Sum', " of sales</h1>\n   ", "\n</file>\n"]
    openrouter.script(
        {"content": parts[0], "finish_reason": "length", "usage": {"prompt_tokens": 10, "completion_tokens": 4,
                                                                   "total_tokens": 14, "cost": 0.5}},
        {"content": parts[1], "finish_reason": "length", "usage": {"prompt_tokens": 14, "completion_tokens": 4,
                                                                   "total_tokens": 18, "cost": 0.25}},
        {"content": "   " + parts[2], "finish_reason": "stop", "usage": {"prompt_tokens": 18, "completion_tokens": 2,
                                                                          "total_tokens": 20, "cost": 0.25}},
    )
    llm, _, log = client(openrouter, "sandbox/a", "sandbox/b")
    result = llm.complete(MESSAGES, max_tokens=2000)
    # The prefill goes without its trailing whitespace (Anthropic refuses it), so the model writes that again.
    assert result.content == parts[0] + parts[1].rstrip() + "   " + parts[2]
    assert (result.model, result.continuations, result.attempts, result.max_tokens) == ("sandbox/a", 2, 3, 2000)
    assert result.usage == Usage(42, 10, 52, cost=1.0)
    bodies = [r["body"] for r in openrouter.requests()]
    assert [b["model"] for b in bodies] == ["sandbox/a"] * 3  # type: ignore[index]
    assert bodies[0]["messages"] == MESSAGES  # type: ignore[index]
    assert [b["messages"][-1] for b in bodies[1:]] == [  # type: ignore[index]
        {"role": "assistant", "content": parts[0]},
        {"role": "assistant", "content": parts[0] + parts[1].rstrip()},
    ]
    assert sum("continuing" in line for line in log) == 2


def test_an_answer_still_cut_after_every_continuation_falls_back(openrouter: OpenRouter) -> None:
    openrouter.script(*[{"model": "sandbox/a", "content": f"part {n} ", "finish_reason": "length"} for n in range(3)],
                      {"model": "sandbox/b", "content": "whole"})
    llm, _, log = client(openrouter, "sandbox/a", "sandbox/b", continuations=2)
    result = llm.complete(MESSAGES)
    assert (result.content, result.model, result.attempts) == ("whole", "sandbox/b", 4)
    assert [(f.model, f.status) for f in result.skipped] == [("sandbox/a", 200)]
    assert "still cut off at max_tokens" in result.skipped[0].reason and "after 2 continuation(s)" in str(
        result.skipped[0])
    assert any("sandbox/b answered after: sandbox/a: the answer was still cut off" in line for line in log)


def test_a_model_that_starts_again_instead_of_continuing_is_not_doubled(openrouter: OpenRouter) -> None:
    start = "<file path=\"index.html\">\n" + "<p>row</p>\n" * 30
    openrouter.script({"content": start, "finish_reason": "length"},
                      {"content": start.replace("row", "line") + "</file>\n", "finish_reason": "stop"})
    llm, _, _ = client(openrouter)
    assert llm.complete(MESSAGES).content == start.replace("row", "line") + "</file>\n"


def test_a_402_that_names_what_the_balance_affords_lowers_max_tokens(openrouter: OpenRouter) -> None:
    message = ("This request requires more credits, or fewer max_tokens. You requested up to 16000 tokens, but can "
               "only afford 3000. To increase, visit https://openrouter.ai/settings/credits and add more credits")
    openrouter.script({"status": 402, "message": message}, {"content": "ok"})
    llm, sleep, log = client(openrouter, "sandbox/a", "sandbox/b")
    result = llm.complete(MESSAGES)
    assert (result.content, result.model, result.max_tokens, result.attempts) == ("ok", "sandbox/a", 3000, 2)
    assert [r["body"]["max_tokens"] for r in openrouter.requests()] == [DEFAULT_MAX_TOKENS, 3000]  # type: ignore[index]
    assert sleep.waits == [] and any("max_tokens 16000 -> 3000" in line for line in log)


def test_a_402_affording_too_little_moves_on_to_the_next_model(openrouter: OpenRouter) -> None:
    message = ("This request requires more credits, or fewer max_tokens. You requested up to 16000 tokens, but can "
               "only afford 200.")
    openrouter.script({"model": "sandbox/a", "status": 402, "message": message},
                      {"model": "sandbox/b", "content": "cheaper"})
    llm, _, _ = client(openrouter, "sandbox/a", "sandbox/b")
    result = llm.complete(MESSAGES)
    assert (result.content, result.model) == ("cheaper", "sandbox/b")
    assert result.skipped[0].status == 402 and "can only afford 200" in result.skipped[0].reason


def test_messages_may_be_built_for_the_model_they_go_to(openrouter: OpenRouter) -> None:
    openrouter.script({"model": "sandbox/a", "status": 503, "headers": {"Retry-After": "0"}},
                      {"model": "sandbox/b", "content": "whole files"})
    llm, _, _ = client(openrouter, "sandbox/a", "sandbox/b", attempts=1)
    seen: list[tuple[str, bool]] = []

    def build(model: object) -> list[dict[str, object]]:
        seen.append((model.id, model.strong))  # type: ignore[attr-defined]
        return [{"role": "user", "content": f"format for {model.id}"}]  # type: ignore[attr-defined]

    result = llm.complete(build)
    assert seen == [("sandbox/a", True), ("sandbox/b", False)]  # a fallback outside the strong families
    assert (result.model, result.strong) == ("sandbox/b", False)
    assert [r["body"]["messages"][0]["content"] for r in openrouter.requests()] == [  # type: ignore[index]
        "format for sandbox/a", "format for sandbox/b"]


def test_without_a_readable_model_list_the_configured_models_are_tried_as_they_are() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log: list[str] = []
    llm = OpenRouterClient("k", ["m1", "m2"], base_url=f"http://127.0.0.1:{port}/api/v1", log=log.append,
                           retry=RetryPolicy(attempts=1, sleep=Recorder()))
    with pytest.raises(LLMError) as caught:
        llm.complete(MESSAGES)
    assert [f.model for f in caught.value.failures] == ["m1", "m2"]  # both tried: nothing was skipped on a guess
    assert log[0] == "models: OpenRouter's model list could not be read: trying m1, m2 (ConnectionError)"
