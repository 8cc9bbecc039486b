"""Plain-English checks become JavaScript through one LLM request, whose JSON is found wherever the model put it and
then read strictly."""

from __future__ import annotations

import json

import pytest

from action.llm import OpenRouterClient, RetryPolicy
from action.verify.checks import plan_checks
from action.verify.translate import TranslationError, parse_translation, translate
from tests.conftest import OpenRouter

CHECKS = plan_checks(["Page displays captcha URL passed at ?url=...", "Page looks professional"],
                     attachments=["sample.png"]).checks


def test_parse_reads_the_json_object_and_the_models_reasons() -> None:
    answer = json.dumps({"checks": [{"id": 0, "js": "location.search.length > 0"},
                                    {"id": 1, "js": None, "reason": "a matter of taste"},
                                    {"id": 7, "js": "ignored: not asked"}]})
    assert parse_translation(answer, [0, 1]) == {0: ("location.search.length > 0", ""), 1: (None, "a matter of taste")}
    assert parse_translation(f"```json\n{answer}\n```", [0]) == {0: ("location.search.length > 0", "")}


ANSWER = {"checks": [{"id": 0, "js": "location.search.length > 0"}, {"id": 1, "js": None, "reason": "taste"}]}
PRETTY = json.dumps(ANSWER, indent=2)
TRANSLATED = {0: ("location.search.length > 0", ""), 1: (None, "taste")}


@pytest.mark.parametrize("answer", [
    f"Here are the checks translated to JavaScript:\n\n{PRETTY}\n\nEach expression is true when its check holds.",
    f"Here are the checks as JavaScript expressions:\n\n```json\n{PRETTY}\n```\n",
    f"Sure.\n```\n{PRETTY}\n```\nThe page is opened at {{site}} for each check.",
    f"Each entry looks like {{\"id\": 0, \"js\": \"...\"}}, {{site}} is the base URL. Result: {json.dumps(ANSWER)}",
    f"<think>\nA first try: {{\"checks\": [{{\"id\": 0, \"js\": \"false\"}}]}}\n</think>\n{json.dumps(ANSWER)}",
])
def test_parse_takes_the_first_object_with_checks_from_prose_fences_and_reasoning(answer: str) -> None:
    # the example object without "checks", the {site} placeholder and the draft inside <think> are all skipped
    assert parse_translation(answer, [0, 1]) == TRANSLATED


@pytest.mark.parametrize(("answer", "message"), [
    ("Sure! Here are the checks.", "not JSON: it holds no"),
    ('Here they are: {"checks": [{"id": 0, "js": "document.title"}, {"id": 1, "js": nul', "its object does not parse"),
    ('[{"id": 0, "js": "1"}]', '"checks" list'),
    ('{"result": {"id": 0, "js": "1"}}', '"checks" list'),
    ('{"checks": {"0": "document.title"}}', '"checks" is dict, not a list'),
    ('{"checks": [{"id": "0", "js": "1"}]}', "not an integer"),
    ('{"checks": [{"id": 0, "js": 1}]}', "not a string or null"),
    ('{"checks": ["document.title"]}', "not an object"),
])
def test_parse_rejects_anything_else_saying_what_was_wrong(answer: str, message: str) -> None:
    with pytest.raises(TranslationError, match=message):
        parse_translation(answer, [0])


def model(openrouter: OpenRouter) -> OpenRouterClient:
    return OpenRouterClient(openrouter.key, ["sandbox/a"], base_url=openrouter.base_url,
                            retry=RetryPolicy(attempts=1, backoff=0.01, max_wait=0.1))


def test_one_request_translates_every_page_check(openrouter: OpenRouter) -> None:
    js = "document.body.innerText.includes(new URLSearchParams(location.search).get('url'))"
    openrouter.script({"content": json.dumps({"checks": [{"id": 0, "js": js}, {"id": 1, "js": None}]})})
    checks, reasons = translate(CHECKS, model(openrouter), brief="A captcha solver.", files=["sample.png"])
    assert [c.js for c in checks] == [js, None]
    assert reasons == {1: "the model found it cannot be checked on the page"}
    [request] = openrouter.requests()
    text = request["body"]["messages"][-1]["content"][0]["text"]
    assert text.startswith("<translate-checks>\n")
    lines = text.split("<translate-checks>\n")[1].split("\n</translate-checks>")[0].splitlines()
    assert [json.loads(line) for line in lines] == [
        {"id": 0, "check": "Page displays captcha URL passed at ?url=...", "query": "?url={site}sample.png"},
        {"id": 1, "check": "Page looks professional", "query": ""},
    ]
    assert "<brief" not in text  # not a generation request


def test_a_preamble_around_the_json_translates_every_check(openrouter: OpenRouter) -> None:
    js = "document.body.innerText.length > 0"
    body = json.dumps({"checks": [{"id": 0, "js": js}, {"id": 1, "js": None, "reason": "taste"}]}, indent=2)
    openrouter.script({"content": f"Here are the checks translated to JavaScript:\n\n{body}\n\nEach is true when "
                                  "its check holds."})
    checks, reasons = translate(CHECKS, model(openrouter), brief="A captcha solver.", files=["sample.png"])
    assert [c.js for c in checks] == [js, None] and reasons == {1: "taste"}


def test_a_malformed_answer_or_no_answer_leaves_checks_not_checkable(openrouter: OpenRouter) -> None:
    openrouter.script({"content": "I think the page is fine."})
    checks, reasons = translate(CHECKS, model(openrouter), brief="b", files=[])
    assert [c.js for c in checks] == [None, None]
    assert all(r.startswith("could not be translated: the answer is not JSON") for r in reasons.values())
    openrouter.script({"status": 401, "body": None})
    checks, reasons = translate(CHECKS, model(openrouter), brief="b", files=[])
    assert [c.js for c in checks] == [None, None] and "HTTP 401" in reasons[0]
