"""The stand-in's models, routing and bill through a real socket: the catalogue in OpenRouter's shape, retired and
unknown slugs, the 402 of a reservation the balance cannot cover, structured outputs honoured, ignored or required,
and cached prompt tokens on a repeated prefix."""

from __future__ import annotations

import json
import math
import re
from typing import Any

import pytest
import requests

from tests.conftest import OpenRouter, Services
from tests.sandbox_parts.test_openrouter import chat

SONNET, MINI, GEMINI, FREE = ("anthropic/claude-sonnet-5", "openai/gpt-5.4-mini", "google/gemini-3.5-flash",
                              "meta-llama/llama-3.3-70b-instruct:free")
SITE_SCHEMA = {"type": "json_schema", "json_schema": {"name": "site", "strict": True, "schema": {
    "type": "object", "properties": {"files": {"type": "array"}}, "required": ["files"]}}}
BRIEF = '<brief task="t" round="1">Make an app titled "Hi"</brief>'


def ask(model: str, content: Any = BRIEF, **extra: Any) -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": content}], **extra}


def key_data(o: OpenRouter) -> dict[str, Any]:
    return requests.get(f"{o.base_url}/key", headers={"Authorization": f"Bearer {o.key}"}, timeout=10).json()["data"]


# The Model object as [SPEC] getModels requires it (OpenRouter's OpenAPI description, openrouter.ai/openapi.yaml).
MODEL_FIELDS = {"id": str, "canonical_slug": str, "name": str, "created": int, "pricing": dict,
                "context_length": int, "architecture": dict, "top_provider": dict, "per_request_limits": type(None),
                "supported_parameters": list, "default_parameters": dict, "supported_voices": type(None),
                "links": dict}


def test_models_listing_has_openrouters_shape_and_todays_models(openrouter: OpenRouter) -> None:
    listing = requests.get(f"{openrouter.base_url}/models", timeout=10).json()
    assert set(listing) == {"data", "total_count", "links"} and listing["links"] == {"next": None}
    assert listing["total_count"] == len(listing["data"])
    for model in listing["data"]:
        for name, kind in MODEL_FIELDS.items():
            assert isinstance(model[name], kind), (model["id"], name)
        assert all(isinstance(model["pricing"][k], str) for k in ("prompt", "completion"))
        assert {"input_modalities", "output_modalities", "modality", "tokenizer", "instruct_type"} <= set(
            model["architecture"])
        assert set(model["top_provider"]) == {"context_length", "max_completion_tokens", "is_moderated"}
        assert {"max_tokens", "temperature"} <= set(model["supported_parameters"])
    by_id = {m["id"]: m for m in listing["data"]}
    assert {SONNET, MINI, GEMINI} <= set(by_id)
    assert not {"anthropic/claude-sonnet-4", "anthropic/claude-3.7-sonnet"} & set(by_id)  # retired, not listed
    sonnet = by_id[SONNET]
    assert sonnet["top_provider"]["max_completion_tokens"] == 128_000
    assert {"response_format", "structured_outputs"} <= set(sonnet["supported_parameters"])
    assert (sonnet["pricing"]["prompt"], sonnet["pricing"]["completion"]) == ("0.000003", "0.000015")
    assert sonnet["pricing"]["input_cache_read"] == "0.0000003"  # a tenth: Anthropic's cache reads
    assert "image" in by_id[GEMINI]["architecture"]["input_modalities"]
    assert float(by_id[MINI]["pricing"]["completion"]) < float(sonnet["pricing"]["completion"])  # the cheaper one
    assert "structured_outputs" not in by_id[FREE]["supported_parameters"]


def test_a_retired_slug_is_404_and_an_unknown_one_400(openrouter: OpenRouter) -> None:
    retired = chat(openrouter, ask("anthropic/claude-sonnet-4"))
    assert retired.status_code == 404
    assert retired.json() == {"error": {"code": 404, "message": "No endpoints found for anthropic/claude-sonnet-4."}}
    assert chat(openrouter, ask("anthropic/claude-sonnet-4:free")).status_code == 404
    unknown = chat(openrouter, ask("anthropic/claude-sonnet-9"))
    assert unknown.status_code == 400 and unknown.json()["error"]["message"] == (
        "anthropic/claude-sonnet-9 is not a valid model ID")
    fallback = chat(openrouter, {**ask("anthropic/claude-sonnet-4"), "models": ["sandbox/builtin"]})
    assert fallback.status_code == 200 and fallback.json()["model"] == "sandbox/builtin"
    assert openrouter.requests()[-1]["attempts"] == [{"model": "anthropic/claude-sonnet-4", "status": 404},
                                                     {"model": "sandbox/builtin", "status": 200}]


def test_low_credit_402s_without_max_tokens_and_answers_with_a_sensible_one(openrouter: OpenRouter) -> None:
    before = key_data(openrouter)["limit_remaining"]
    refused = chat(openrouter, ask(SONNET))
    assert refused.status_code == 402
    error = refused.json()["error"]
    match = re.fullmatch(r"This request requires more credits, or fewer max_tokens\. You requested up to 128000 "
                         r"tokens, but can only afford (\d+)\. To increase, visit https://openrouter\.ai/settings/"
                         r"credits and add more credits", error["message"])
    assert match, error
    prompt_tokens = math.ceil(len(BRIEF) / 4)
    assert int(match.group(1)) == math.floor((before - prompt_tokens * 0.000003) / 0.000015)
    assert error["code"] == 402 and error["metadata"] == {"provider_name": None}
    assert key_data(openrouter)["limit_remaining"] == before  # a refused request costs nothing

    answered = chat(openrouter, ask(SONNET, max_tokens=8000))
    assert answered.status_code == 200, answered.text
    cost = answered.json()["usage"]["cost"]
    assert key_data(openrouter)["limit_remaining"] == pytest.approx(before - cost)
    credits = requests.get(f"{openrouter.base_url}/credits", headers={"Authorization": f"Bearer {openrouter.key}"},
                           timeout=10).json()["data"]
    assert credits["total_credits"] == 1.5 and credits["total_usage"] == pytest.approx(1.5 - before + cost)
    for bad in ({"credits": "1"}, {"credits": True}, [5]):
        r = requests.post(f"{openrouter.url}/_sandbox/credits", json=bad, timeout=10)
        assert r.status_code == 400 and "credits" in r.json()["error"]


def test_an_account_with_little_left_gets_the_tokens_it_can_afford(services: Services) -> None:
    svc = services.start("openrouter-poor", "sandbox", "openrouter", "--port", "0", "--credits", "0.01")
    o = OpenRouter(svc, svc.url)
    refused = chat(o, ask(MINI, max_tokens=4000)).json()["error"]["message"]
    afford = int(re.search(r"can only afford (\d+)", refused).group(1))  # type: ignore[union-attr]
    assert "requested up to 4000 tokens" in refused and 0 < afford < 4000
    assert chat(o, ask(MINI, max_tokens=afford)).status_code == 200  # fewer max_tokens, as the message says


def test_structured_output_honoured_ignored_or_required(openrouter: OpenRouter) -> None:
    honoured = chat(openrouter, ask(SONNET, max_tokens=8000, response_format=SITE_SCHEMA)).json()
    files = {f["path"]: f["content"] for f in json.loads(honoured["choices"][0]["message"]["content"])["files"]}
    assert "<title>Hi</title>" in files["index.html"]

    ignored = chat(openrouter, ask(FREE, response_format=SITE_SCHEMA)).json()["choices"][0]["message"]["content"]
    assert "index.html" in ignored and not ignored.lstrip().startswith("{")  # the model never saw the format

    required = chat(openrouter, ask(FREE, response_format=SITE_SCHEMA, provider={"require_parameters": True}))
    assert required.status_code == 404 and required.json()["error"]["message"].startswith(
        "No endpoints found that can handle the requested parameters.")
    assert chat(openrouter, ask(SONNET, max_tokens=8000, response_format=SITE_SCHEMA,
                                provider={"require_parameters": True})).status_code == 200


CHECKS_SCHEMA = {"type": "json_schema", "json_schema": {"name": "checks", "strict": True, "schema": {
    "type": "object", "properties": {"checks": {"type": "array"}}, "required": ["checks"]}}}
TRANSLATE = '<translate-checks>\n{"id": 0, "check": "The title is \\"Hi\\"", "query": ""}\n</translate-checks>'


def test_check_translation_is_bare_json_only_where_the_schema_is_honoured(openrouter: OpenRouter) -> None:
    expected = {"checks": [{"id": 0, "js": 'document.title === "Hi"'}]}
    honoured = content_of(chat(openrouter, ask(SONNET, TRANSLATE, max_tokens=2000, response_format=CHECKS_SCHEMA)))
    assert json.loads(honoured) == expected
    for seed in range(6):  # whatever the seed, a model that ignores the schema writes prose or a fence around it
        requests.post(f"{openrouter.url}/_sandbox/style", json={"style": "varied", "seed": seed}, timeout=10)
        ignored = content_of(chat(openrouter, ask(FREE, TRANSLATE, response_format=CHECKS_SCHEMA)))
        assert not ignored.startswith("{")
        assert json.loads(ignored[ignored.index("{"):ignored.rindex("}") + 1]) == expected


def content_of(response: requests.Response) -> str:
    assert response.status_code == 200, response.text
    return response.json()["choices"][0]["message"]["content"]


LONG = "You are building a small static site from a brief. " * 100
LONG_TOKENS = math.ceil(len(LONG) / 4)  # 1,275: over the 1,024 Sonnet and GPT need before they cache


def cached_request(model: str, tail: str, *, mark: bool = True) -> dict[str, Any]:
    system = [{"type": "text", "text": LONG, **({"cache_control": {"type": "ephemeral"}} if mark else {})}]
    return {"model": model, "max_tokens": 4000, "messages": [
        {"role": "system", "content": system}, {"role": "user", "content": tail}]}


def details(o: OpenRouter, body: dict[str, Any]) -> tuple[dict[str, int], float]:
    """The cache's part of usage, and what the prompt cost (on Sonnet 5's prices)."""
    usage = chat(o, body).json()["usage"]
    return usage["prompt_tokens_details"], usage["cost"] - usage["completion_tokens"] * 0.000015


def test_a_repeated_prefix_is_read_from_the_cache(openrouter: OpenRouter) -> None:
    first, first_cost = details(openrouter, cached_request(SONNET, "one"))
    assert first["cached_tokens"] == 0 and first["cache_write_tokens"] == LONG_TOKENS
    rest = math.ceil(len(LONG + "\none") / 4) - LONG_TOKENS  # the prompt after the breakpoint
    assert first_cost == pytest.approx((LONG_TOKENS * 1.25 + rest) * 0.000003)  # a write costs a quarter more
    second, second_cost = details(openrouter, cached_request(SONNET, "two"))
    assert second["cached_tokens"] == LONG_TOKENS and second["cache_write_tokens"] == 0
    assert second_cost == pytest.approx((LONG_TOKENS * 0.1 + rest) * 0.000003)  # a read costs a tenth
    unmarked, _ = details(openrouter, cached_request(SONNET, "two", mark=False))
    assert unmarked["cached_tokens"] == 0  # Anthropic caches only at cache_control breakpoints
    details(openrouter, cached_request(MINI, "one", mark=False))
    automatic, _ = details(openrouter, cached_request(MINI, "two", mark=False))
    assert automatic["cached_tokens"] == LONG_TOKENS  # OpenAI caches the prefix by itself (up to the system message)
    top = {**cached_request(SONNET, "three", mark=False), "cache_control": {"type": "ephemeral", "ttl": "1h"}}
    assert details(openrouter, top)[0]["cache_write_tokens"] == math.ceil(len(LONG + "\nthree") / 4)
    assert details(openrouter, top)[0]["cached_tokens"] == math.ceil(len(LONG + "\nthree") / 4)  # up to the end
    assert details(openrouter, cached_request(GEMINI, "one"))[0]["cache_write_tokens"] == 0  # under its 4,096
    assert details(openrouter, cached_request(FREE, "one"))[0]["cached_tokens"] == 0  # no caching there
    short = {"model": SONNET, "max_tokens": 100, "messages": [{"role": "user", "content": [
        {"type": "text", "text": "short", "cache_control": {"type": "ephemeral"}}]}]}
    details(openrouter, short)
    assert details(openrouter, short)[0]["cached_tokens"] == 0  # under the model's minimum
    bad = chat(openrouter, {**short, "cache_control": {"type": "forever"}})
    assert bad.status_code == 400 and "cache_control" in bad.json()["error"]["message"]
