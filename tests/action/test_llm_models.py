"""The client against the stand-in as OpenRouter and real models behave (its defaults: the varied style, $1.50 of
credit), over real sockets: models that exist, max_tokens and the credit check, continued answers, the prompt
cache and structured outputs."""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from action.llm import LLMError, ModelFailure, OpenRouterClient, RetryPolicy
from action.prompt import build_messages
from action.verify.checks import plan_checks
from action.verify.translate import translate
from deployer.models import DEFAULT_MAX_TOKENS, NOT_LISTED
from sandbox.openrouter import generator
from sandbox.openrouter.billing import DEFAULT_CREDITS
from tests.conftest import OpenRouter, Services
from tests.sandbox_parts import reference
from tests.sandbox_parts.test_generator import load_brief, user_text

SONNET, MINI, FREE = "anthropic/claude-sonnet-5", "openai/gpt-5.4-mini", "meta-llama/llama-3.3-70b-instruct:free"
RETIRED = "anthropic/claude-sonnet-4"


@pytest.fixture(scope="module")
def stand_in(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpenRouter]:
    services = Services(tmp_path_factory.mktemp("openrouter-logs"))
    svc = services.start("openrouter", "sandbox", "openrouter", "--port", "0")  # as OpenRouter: no options
    yield OpenRouter(svc, svc.url)
    assert services.stop_all() == {"openrouter": 0}


@pytest.fixture
def openrouter(stand_in: OpenRouter) -> OpenRouter:
    """The module's stand-in with an empty log, the varied style (seed 0) and a new account of the default credit."""
    sandbox(stand_in, "DELETE", "requests")
    sandbox(stand_in, "POST", "style", {"style": "varied", "seed": 0})
    sandbox(stand_in, "POST", "credits", {"credits": DEFAULT_CREDITS})
    return stand_in


def sandbox(o: OpenRouter, method: str, route: str, body: dict[str, Any] | None = None) -> None:
    requests.request(method, f"{o.url}/_sandbox/{route}", json=body, timeout=10).raise_for_status()


def client(o: OpenRouter, *models: str, log: list[str] | None = None, **kwargs: Any) -> OpenRouterClient:
    return OpenRouterClient(o.key, models, base_url=o.base_url, log=(log if log is not None else []).append,
                            retry=RetryPolicy(attempts=2, backoff=0.01, max_wait=0.1), **kwargs)


def brief_messages(name: str = "sum-of-sales.r1.json") -> list[dict[str, Any]]:
    return build_messages(load_brief(name))


def bodies(o: OpenRouter) -> list[dict[str, Any]]:
    return [r["body"] for r in o.requests()]  # type: ignore[misc]


def test_a_retired_model_is_skipped_and_the_next_listed_one_runs(openrouter: OpenRouter) -> None:
    log: list[str] = []
    result = client(openrouter, RETIRED, MINI, log=log).complete(brief_messages())
    assert result.model == MINI and result.skipped == (ModelFailure(RETIRED, NOT_LISTED),)
    assert result.strong is False  # a fallback outside the strong families: whole files, not edit blocks
    # The retired id costs no request (the stand-in may cut MINI's answer: its continuation is MINI's too).
    assert {b["model"] for b in bodies(openrouter)} == {MINI}
    assert f"models: model {MINI} runs first; skipped {RETIRED}: {NOT_LISTED}" in log


@pytest.mark.parametrize(("model", "status", "said"), [
    (RETIRED, 404, f"No endpoints found for {RETIRED}."),  # retired: OpenRouter's 404
    ("acme/fake-1.0", 400, "acme/fake-1.0 is not a valid model ID"),  # never existed: its 400
])
def test_when_no_configured_model_is_listed_each_is_tried_and_404_or_400_falls_back(
    openrouter: OpenRouter, model: str, status: int, said: str,
) -> None:
    log: list[str] = []
    result = client(openrouter, model, "sandbox/fallback", log=log).complete(brief_messages())
    assert result.model == "sandbox/fallback"
    [failure] = result.skipped
    assert (failure.model, failure.status) == (model, status) and said in failure.reason
    assert [(r["body"]["model"], r["status"]) for r in openrouter.requests()] == [  # type: ignore[index]
        (model, status), *[("sandbox/fallback", 200)] * (1 + result.continuations)]
    assert any("none of the configured models is in OpenRouter's model list" in line for line in log)


def test_every_request_carries_max_tokens_so_the_default_balance_pays(openrouter: OpenRouter) -> None:
    messages = brief_messages()
    without = requests.post(f"{openrouter.base_url}/chat/completions", json={"model": SONNET, "messages": messages},
                            headers={"Authorization": f"Bearer {openrouter.key}"}, timeout=30)
    assert without.status_code == 402 and "fewer max_tokens" in without.json()["error"]["message"]  # the trap
    result = client(openrouter, SONNET).complete(messages)
    assert result.model == SONNET and result.max_tokens == DEFAULT_MAX_TOKENS
    assert all(b["max_tokens"] <= 128_000 for b in bodies(openrouter)[1:])  # Sonnet 5's output limit
    assert [r["status"] for r in openrouter.requests()[1:]] == [200] * (1 + result.continuations)


def test_a_low_balance_402_lowers_max_tokens_to_what_it_affords_and_succeeds(openrouter: OpenRouter) -> None:
    sandbox(openrouter, "POST", "style", {"style": "clean", "seed": 0})
    sandbox(openrouter, "POST", "credits", {"credits": 0.12})
    log: list[str] = []
    result = client(openrouter, SONNET, MINI, log=log).complete(brief_messages())
    sent = openrouter.requests()
    (first, first_status), (affords, status) = [(r["body"]["max_tokens"], r["status"]) for r in sent]  # type: ignore[index]
    assert (first, first_status, status) == (DEFAULT_MAX_TOKENS, 402, 200) and 1024 <= affords < DEFAULT_MAX_TOKENS
    assert any(f"affords {affords} tokens: max_tokens {DEFAULT_MAX_TOKENS} -> {affords}" in line for line in log)
    assert (result.model, result.max_tokens, result.attempts) == (SONNET, affords, 2)
    assert math.isclose(result.usage.cost or 0, 0.12 - key_left(openrouter), abs_tol=1e-6)  # the bill, in full


def key_left(o: OpenRouter) -> float:
    data = requests.get(f"{o.base_url}/key", headers={"Authorization": f"Bearer {o.key}"}, timeout=10).json()
    return float(data["data"]["limit_remaining"])


def test_an_answer_cut_at_max_tokens_is_continued_into_the_exact_full_answer(openrouter: OpenRouter) -> None:
    sandbox(openrouter, "POST", "style", {"style": "clean", "seed": 0})
    sandbox(openrouter, "POST", "credits", {"credits": 1000})
    messages = brief_messages()
    full = client(openrouter, SONNET).complete(messages, max_tokens=30_000)
    cut = client(openrouter, SONNET).complete(messages, max_tokens=1100)
    assert full.continuations == 0 and cut.continuations == math.ceil(len(full.content) / 4400) - 1 > 0
    assert cut.content == full.content and cut.model == SONNET
    assert cut.usage.completion_tokens == full.usage.completion_tokens  # summed over the parts
    assert cut.usage.cached_tokens > 0  # each continuation reads the prompt the first request cached


@pytest.mark.parametrize("seed", range(4))
def test_answers_written_as_real_models_write_them_are_continued_into_the_intended_files(
    openrouter: OpenRouter, seed: int,
) -> None:
    sandbox(openrouter, "POST", "style", {"style": "varied", "seed": seed})
    sandbox(openrouter, "POST", "credits", {"credits": 1000})
    messages = brief_messages()
    result = client(openrouter, SONNET).complete(messages, max_tokens=1100)
    first = openrouter.requests()[0]["answer"]
    assert result.continuations > 0 and first["cut"]
    intended = generator.compose(user_text(messages), copy=bool(first["copied"])).files  # type: ignore[index]
    assert reference.files(result.content) == intended


def test_a_repeated_prefix_is_read_from_the_prompt_cache_and_usage_says_so(openrouter: OpenRouter) -> None:
    sandbox(openrouter, "POST", "style", {"style": "clean", "seed": 0})  # one request per answer
    sandbox(openrouter, "POST", "credits", {"credits": 1000})
    messages = brief_messages()
    messages[-1]["content"][0]["text"] += f"\n<!-- {uuid.uuid4()} -->"  # a prompt no earlier test sent
    llm = client(openrouter, SONNET)
    first, second = llm.complete(messages), llm.complete(messages)
    assert first.usage.cache_write_tokens > 0  # the new prompt is written (the system prompt may be read already)
    assert second.usage.cached_tokens == second.usage.prompt_tokens and second.usage.cache_write_tokens == 0
    assert second.usage.cost is not None and first.usage.cost is not None and second.usage.cost < first.usage.cost
    assert llm.spent.cost == pytest.approx(first.usage.cost + second.usage.cost)
    body = bodies(openrouter)[0]
    system, user = body["messages"][0], body["messages"][1]
    assert system["content"][-1]["cache_control"] == {"type": "ephemeral"}  # Anthropic: explicit breakpoints
    assert [p.get("cache_control") for p in user["content"] if p["type"] == "text"][-1] == {"type": "ephemeral"}
    assert messages[0]["content"] == system["content"][0]["text"]  # the caller's messages are left as they were

    mini = client(openrouter, MINI)
    mini.complete(messages)
    again = mini.complete(messages)
    assert again.usage.cached_tokens > 0  # OpenAI caches the prefix by itself
    assert "cache_control" not in str(bodies(openrouter)[-1]["messages"])


def test_the_check_translator_asks_for_structured_output_only_where_the_model_supports_it(
    openrouter: OpenRouter,
) -> None:
    checks = plan_checks(["Page displays captcha URL passed at ?url=...", "Page looks professional"],
                         attachments=["sample.png"]).checks
    translated, reasons = translate(checks, client(openrouter, SONNET), brief="A captcha solver.",
                                    files=["sample.png"])
    body = bodies(openrouter)[-1]
    assert body["response_format"]["type"] == "json_schema"
    assert body["response_format"]["json_schema"]["name"] == "check_translations"
    assert body["max_tokens"] == 1000 + 400 * len(checks)  # sized to the answer, not the model's limit
    assert translated[0].js and 1 in reasons  # a bare JSON answer, read as such

    translate(checks, client(openrouter, FREE), brief="A captcha solver.", files=["sample.png"])
    assert "response_format" not in bodies(openrouter)[-1]  # the free endpoint lists no structured outputs


def test_a_model_that_takes_no_images_is_skipped_for_a_prompt_with_images(openrouter: OpenRouter) -> None:
    messages = brief_messages("captcha-solver.r1.json")
    assert any(p["type"] == "image_url" for p in messages[-1]["content"])
    log: list[str] = []
    result = client(openrouter, FREE, MINI, log=log).complete(messages)
    assert result.model == MINI and [f.model for f in result.skipped] == [FREE]
    assert "takes no images" in result.skipped[0].reason
    assert [b["model"] for b in bodies(openrouter)] == [MINI] * (1 + result.continuations)
    with pytest.raises(LLMError, match="takes no images"):
        client(openrouter, FREE).complete(messages)
