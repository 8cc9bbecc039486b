"""Pure parts of the OpenRouter stand-in: script entries, the queue, free-model limits, response shapes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sandbox.openrouter import routing
from sandbox.openrouter.billing import Account, check_affordable
from sandbox.openrouter.caching import CacheUse, PromptCache
from sandbox.openrouter.completion import Answer
from sandbox.openrouter.dice import Dice
from sandbox.openrouter.errors import default_headers, error_body
from sandbox.openrouter.limits import FreeLimits
from sandbox.openrouter.models import Catalogue, Model
from sandbox.openrouter.script import Fault, ScriptError, ScriptQueue, Success, load_dir, parse_response
from sandbox.openrouter.validate import ApiError, Retired, parse_chat_request
from sandbox.openrouter.writer import continuation, truncate


def test_entries_parse_into_successes_and_faults() -> None:
    assert parse_response({"content": "x"}) == Success(content="x")
    assert parse_response({"error": {"code": 502, "message": "m"}}).finish_reason == "error"
    fault = parse_response({"status": 429, "headers": {"Retry-After": 2}, "model": "sandbox/a", "delay": 0.5})
    assert fault == Fault(429, {"Retry-After": "2"}, model="sandbox/a", delay=0.5)
    for bad, needle in [
        ([], "must be an object"), ({"status": "429"}, "status"), ({"finish_reason": "done"}, "finish_reason"),
        ({"error": {"message": "no code"}}, "error"), ({"status": 500, "body": 5}, "body"),
        ({"status": 500, "headers": ["x"]}, "headers"), ({"model": 3}, "model"), ({"usage": 1}, "usage"),
    ]:
        with pytest.raises(ScriptError, match=needle):
            parse_response(bad)


def test_queue_serves_in_order_and_pinned_entries_wait() -> None:
    a, b, anyone = Success("a", model="m/a"), Success("b", model="m/b"), Success("any")
    queue = ScriptQueue([b, a, anyone])
    assert queue.take("m/a") is a
    assert queue.take("m/c") is anyone
    assert queue.take("m/c") is None and len(queue) == 1
    assert queue.take("m/b") is b and len(queue) == 0


def test_script_dir_refuses_what_it_cannot_read(tmp_path: Path) -> None:
    with pytest.raises(ScriptError, match="not a directory"):
        load_dir(tmp_path / "missing")
    (tmp_path / "01.json").write_text(json.dumps({"status": 99}))
    with pytest.raises(ScriptError, match=r"01\.json\[0\]\.status"):
        load_dir(tmp_path)
    (tmp_path / "01.json").write_text(json.dumps([{"content": "a"}, {"status": 503}]))
    (tmp_path / ".hidden").write_text("ignored")
    assert load_dir(tmp_path) == [Success("a"), Fault(503)]


def test_free_limits_per_minute_then_per_day() -> None:
    limits = FreeLimits.parse("2/3")
    assert limits.check(now=0) is None and limits.check(now=1) is None
    over = limits.check(now=2)
    assert over is not None and over.status == 429 and "free-models-per-min" in (over.message or "")
    assert over.headers is not None and over.headers["Retry-After"] == "58"
    assert limits.check(now=61) is None  # the minute window moved on
    day = limits.check(now=62)
    assert day is not None and "free-models-per-day" in (day.message or "") and "Add 10 credits" in (day.message or "")
    assert limits.check(now=86_401) is None  # the first request left the day window
    for text in ("20", "a/b", "0/5", "5/0"):
        with pytest.raises(ValueError, match="PER_MINUTE/PER_DAY"):
            FreeLimits.parse(text)


def test_error_bodies_and_headers() -> None:
    assert error_body(401, "Missing Authentication header") == {
        "error": {"code": 401, "message": "Missing Authentication header"}}
    assert error_body(502)["error"]["metadata"]["error_type"] == "provider_unavailable"
    headers = default_headers(429, now=100.0)
    assert headers == {"Retry-After": "1", "X-RateLimit-Limit": "20", "X-RateLimit-Remaining": "0",
                       "X-RateLimit-Reset": "101000"}
    assert default_headers(503) == {"Retry-After": "1"} and default_headers(502) == {}


def test_answer_body_and_chunks() -> None:
    model = Catalogue().get("openai/gpt-4o-mini")
    assert model is not None
    answer = Answer(model, "a" * 401, prompt_tokens=10)
    usage = answer.body()["usage"]
    assert (usage["completion_tokens"], usage["total_tokens"]) == (101, 111) and usage["cost"] > 0
    chunks = answer.chunks()
    assert [len(c["choices"][0]["delta"]["content"]) for c in chunks[:-1]] == [200, 200, 1]
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert [c["choices"][0]["finish_reason"] for c in chunks[:-1]] == [None, None, "stop"]
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"] == usage
    assert len({c["id"] for c in chunks}) == 1 and answer.id.startswith("gen-")
    assert Answer(model, "", 1).chunks()[0]["choices"][0]["delta"]["content"] == ""


def test_truncate_counts_four_characters_a_token() -> None:
    assert truncate("abcdefgh", 2) == ("abcdefgh", False)
    assert truncate("abcdefghi", 2) == ("abcdefgh", True)
    assert truncate("abc", None) == ("abc", False)


def test_catalogue_ids() -> None:
    catalogue = Catalogue(["acme/custom-1"])
    assert catalogue.get("acme/custom-1") is not None
    assert catalogue.get("sandbox/anything") is not None and catalogue.get("sandbox/") is None
    free = catalogue.get("openai/gpt-4o-mini:free")
    assert free is not None and free.free and free.cost(1000, 1000) == 0
    assert catalogue.get("openai/gpt-5-imaginary") is None
    assert "acme/custom-1" in {m["id"] for m in catalogue.listing()["data"]}


def test_request_defaults_and_fallback_order() -> None:
    catalogue = Catalogue()
    msgs = [{"role": "system", "content": [{"type": "text", "text": "sys"}]}, {"role": "user", "content": "hi"},
            {"role": "assistant", "content": None, "tool_calls": [{"id": "1"}]},
            {"role": "tool", "tool_call_id": "1", "content": "result"}, {"role": "user", "content": "again"}]
    req = parse_chat_request({"messages": msgs}, catalogue)
    assert [m.id for m in req.models] == ["openai/gpt-4o-mini"]  # the account's default
    assert req.user_texts == ["hi", "again"]
    req = parse_chat_request({"model": "sandbox/a", "models": ["sandbox/b", "sandbox/a"], "messages": msgs}, catalogue)
    assert [m.id for m in req.models] == ["sandbox/a", "sandbox/b"]
    for body, needle in [
        ([], "JSON object"), ({"messages": [{"role": "tool", "content": "x"}]}, "tool_call_id"),
        ({"messages": [{"role": "system", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}]},
         "only allowed in user messages"),
        ({"messages": [{"role": "user", "content": 5}]}, "string or an array"),
        ({"models": "sandbox/a", "messages": msgs}, "models must be an array"),
        ({"stream": "yes", "messages": msgs}, "stream"), ({"provider": [], "messages": msgs}, "provider"),
    ]:
        with pytest.raises(ApiError, match=needle) as caught:
            parse_chat_request(body, catalogue)
        assert caught.value.status == 400


def test_a_reservation_is_max_tokens_or_the_models_whole_output() -> None:
    sonnet, free = Catalogue().get("anthropic/claude-sonnet-5"), Catalogue().get("openai/gpt-4o-mini:free")
    assert sonnet is not None and free is not None
    check_affordable(Account(1.5), sonnet, 1000, 8000)  # $0.003 + 8,000 x $0.000015: affordable
    with pytest.raises(ApiError) as refused:
        check_affordable(Account(1.5), sonnet, 1000, None)  # 128,000 x $0.000015 = $1.92
    assert refused.value.status == 402 and refused.value.metadata == {"provider_name": None}
    assert "You requested up to 128000 tokens, but can only afford 99800." in refused.value.message
    assert refused.value.message.endswith("add more credits")
    with pytest.raises(ApiError, match="upgrade to a paid account"):
        check_affordable(Account(0), sonnet, 10, 10)  # an account that never bought credits
    check_affordable(Account(0), free, 10, None)  # free models cost nothing...
    spent = Account(1.0)
    spent.charge(1.5)
    with pytest.raises(ApiError, match="Insufficient credits"):
        check_affordable(spent, free, 10, None)  # ...unless the balance is negative [LIM]


def test_routing_refuses_retired_slugs_and_unsupported_required_parameters() -> None:
    catalogue = Catalogue()
    body = {"model": "anthropic/claude-sonnet-4", "models": ["meta-llama/llama-3.3-70b-instruct:free"],
            "messages": [{"role": "user", "content": "x"}], "response_format": {"type": "json_object"},
            "provider": {"require_parameters": True}, "temperature": 0.2}
    req = parse_chat_request(body, catalogue)
    retired, free = req.models
    assert retired == Retired("anthropic/claude-sonnet-4") and req.parameters == {"response_format", "temperature"}
    with pytest.raises(ApiError, match=r"^404 No endpoints found for anthropic/claude-sonnet-4\.$"):
        routing.admit(retired, req, Account())
    with pytest.raises(ApiError, match="No endpoints found that can handle the requested parameters"):
        routing.admit(free, req, Account())
    assert isinstance(free, Model) and routing.honoured_format(free, req) is None  # ignored when not required
    sonnet = catalogue.get("anthropic/claude-sonnet-5")
    assert sonnet is not None and routing.honoured_format(sonnet, req) == {"type": "json_object"}


def test_prefill_identity_and_cache_breakpoints() -> None:
    catalogue = Catalogue()
    marked = {"type": "text", "text": "stable", "cache_control": {"type": "ephemeral"}}
    messages = [{"role": "system", "content": [marked, {"type": "text", "text": "more"}]},
                {"role": "user", "content": "question"}]
    plain = parse_chat_request({"messages": messages}, catalogue)
    assert plain.prompt_text == "stable\nmore\nquestion" and plain.prefill is None
    assert [b.end for b in plain.breakpoints] == [len("stable")]
    assert [e.end for e in plain.message_ends] == [len("stable\nmore"), len("stable\nmore\nquestion")]
    prefilled = parse_chat_request({"messages": [*messages, {"role": "assistant", "content": "<file"}]}, catalogue)
    assert prefilled.prefill == "<file" and prefilled.identity == plain.identity  # the answer depends on the rest
    assert prefilled.prompt_tokens > plain.prompt_tokens and prefilled.user_texts == plain.user_texts
    top = parse_chat_request({"messages": messages, "cache_control": {"type": "ephemeral"}}, catalogue)
    assert top.breakpoints[-1].end == len(top.prompt_text)
    for bad in ({"type": "persistent"}, {"type": "ephemeral", "ttl": "1d"}, "yes"):
        with pytest.raises(ApiError, match="cache_control"):
            parse_chat_request({"messages": messages, "cache_control": bad}, catalogue)


def test_cached_prefixes_expire() -> None:
    catalogue = Catalogue()
    sonnet = catalogue.get("anthropic/claude-sonnet-5")
    assert sonnet is not None
    text = [{"type": "text", "text": "x" * 5000, "cache_control": {"type": "ephemeral"}}]
    req = parse_chat_request({"messages": [{"role": "user", "content": text}]}, catalogue)
    cache = PromptCache()
    assert cache.use(sonnet, req, now=0) == CacheUse(cached=0, written=1250)
    assert cache.use(sonnet, req, now=299) == CacheUse(cached=1250, written=0)  # each use renews the entry
    assert cache.use(sonnet, req, now=299 + 301) == CacheUse(cached=0, written=1250)


def test_continuation_finds_the_rest_of_the_answer() -> None:
    answer = "<file path=\"a\">" + "".join(f"line {n}\n" for n in range(100)) + "</file>\n"
    assert continuation(answer, None) == (answer, False)
    assert continuation(answer, answer[:50]) == (answer[50:], True)
    retyped = "Sure, here it is: " + answer[:500]  # the client kept its own copy, with words of its own
    assert continuation(answer, retyped) == (answer[500:], True)
    assert continuation(answer, "unrelated text") == (answer, False)


def test_dice_are_deterministic_and_named() -> None:
    a, b = Dice(1, "m", "r"), Dice(1, "m", "r")
    assert [a.number(n) for n in "xyz"] == [b.number(n) for n in "xyz"]
    assert a.number("x") != Dice(2, "m", "r").number("x") and a.number("x") != a.number("y")
    picks = {Dice(s, "m").pick("shape", ("p", "q", "r")) for s in range(50)}
    assert picks == {"p", "q", "r"}
    assert sum(Dice(s, "m").chance("copy", 0.3) for s in range(1000)) in range(250, 350)
