"""Requests fitted to each model and answers read in full (action/llm_request.py, action/llm_answer.py): pure."""

from __future__ import annotations

import copy

import pytest

from action.llm_answer import AnswerError, Usage, affordable_tokens, continued, read_answer, read_usage
from action.llm_request import chat_body, estimate_tokens, with_breakpoints
from deployer.models import Model

SYSTEM = {"role": "system", "content": "You write sites."}
SCHEMA = {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "object"}}}
SONNET = Model("anthropic/claude-sonnet-5", True, True, 1_000_000, 128_000,
               frozenset({"max_tokens", "temperature", "structured_outputs", "response_format"}), True, 0.000015, True)
FREE = Model("meta-llama/llama-3.3-70b-instruct:free", False, True, 65_536, 8192, frozenset({"max_tokens"}), False,
             0.0, False)
MINI = Model("openai/gpt-5.4-mini", False, True, 400_000, 128_000,
             frozenset({"max_tokens", "temperature", "structured_outputs"}), True, 0.0000045, True)


def user(*texts: str) -> dict[str, object]:
    return {"role": "user", "content": [{"type": "text", "text": t} for t in texts]}


def test_each_model_gets_the_parameters_it_lists_and_always_max_tokens() -> None:
    messages = [SYSTEM, user("brief")]
    sonnet = chat_body(SONNET, messages, max_tokens=900, temperature=0.2, response_format=SCHEMA)
    assert (sonnet["max_tokens"], sonnet["temperature"], sonnet["response_format"]) == (900, 0.2, SCHEMA)
    free = chat_body(FREE, messages, max_tokens=900, temperature=0.2, response_format=SCHEMA)
    assert free == {"model": FREE.id, "messages": messages, "max_tokens": 900}  # no temperature, no schema
    json_mode = {"type": "json_object"}
    assert "response_format" not in chat_body(MINI, messages, max_tokens=1, temperature=None,
                                              response_format=json_mode)  # MINI lists structured_outputs only


def test_breakpoints_mark_the_system_prompt_and_the_latest_user_messages_at_most_four() -> None:
    messages = [SYSTEM, user("a", "b"), {"role": "assistant", "content": "x"}, user("c"),
                {"role": "assistant", "content": "y"}, user("d"), {"role": "assistant", "content": "z"}, user("e")]
    before = copy.deepcopy(messages)
    marked = with_breakpoints(messages)
    assert messages == before  # the caller's list is not touched
    assert marked[0]["content"] == [{"type": "text", "text": "You write sites.",
                                     "cache_control": {"type": "ephemeral"}}]
    marks = [(i, p["text"]) for i, m in enumerate(marked) if isinstance(m["content"], list)
             for p in m["content"] if "cache_control" in p]
    assert marks == [(0, "You write sites."), (3, "c"), (5, "d"), (7, "e")]  # "a"/"b": the oldest user message
    assert not any("cache_control" in p for p in marked[1]["content"])
    mine = [SYSTEM, {"role": "user", "content": [
        {"type": "text", "text": "q", "cache_control": {"type": "ephemeral"}}]}]
    assert with_breakpoints(mine) == mine  # the caller's own breakpoints are kept as they are
    assert "cache_control" not in str(chat_body(MINI, messages, max_tokens=5, temperature=None))  # automatic


def test_a_prefill_is_the_answer_so_far_without_trailing_whitespace_and_joins_exactly() -> None:
    body = chat_body(SONNET, [user("brief")], max_tokens=5, temperature=None, prefill="<file path=\"a\">")
    assert body["messages"][-1] == {"role": "assistant", "content": "<file path=\"a\">"}
    assert continued("<file", ' path="a">') == '<file path="a">'
    cut = '<file path="index.html"><!doctype html><html><head><title>'
    fresh = '<file path="index.html">\n<!doctype html>\n<title>Sales</title>\n</file>'
    assert continued(cut, fresh) == fresh  # the model answered afresh: its answer, not the two glued
    assert continued(cut, 'Sales</title>') == cut + "Sales</title>"
    assert continued('<file path="index.html">', '<file path="style.css">') == (
        '<file path="index.html"><file path="style.css">')  # a shorter common opening is no restart


def test_prompt_size_is_estimated_high_and_images_by_count() -> None:
    image = {"type": "image_url", "image_url": {"url": "data:image/png;base64," + "A" * 100_000}}
    assert estimate_tokens([SYSTEM, {"role": "user", "content": [{"type": "text", "text": "x" * 30}, image]}]) == (
        6 + 10 + 1600)


def test_usage_is_read_in_full_and_summed() -> None:
    raw = {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120, "cost": 0.003,
           "prompt_tokens_details": {"cached_tokens": 80, "cache_write_tokens": 10},
           "completion_tokens_details": {"reasoning_tokens": 5}}
    usage = read_usage(raw)
    assert usage == Usage(100, 20, 120, 80, 10, 5, 0.003)
    assert usage + read_usage({"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}) == Usage(
        101, 21, 122, 80, 10, 5, 0.003)
    assert read_usage(None) == Usage() and (Usage() + Usage()).cost is None
    assert usage.describe() == ("100 prompt (80 cached, 10 written to the cache) + 20 completion (5 reasoning) = "
                                "120 tokens, $0.0030")


def test_answers_are_read_and_errors_inside_a_200_refused() -> None:
    body = {"model": "m", "choices": [{"finish_reason": "length", "message": {"content": "part"}}]}
    answer = read_answer(body, "asked")
    assert (answer.content, answer.model, answer.finish_reason) == ("part", "m", "length")
    for bad, said in [({"error": {"code": 502, "message": "down"}}, "carrying an error: down (code 502)"),
                      ({"choices": []}, "without choices"), ([], "not a JSON object"),
                      ({"choices": [{"finish_reason": "error", "error": {"message": "x"}}]}, "finish_reason error")]:
        with pytest.raises(AnswerError, match=said.replace("(", r"\(").replace(")", r"\)")):
            read_answer(bad, "m")


def test_the_affordable_figure_is_read_from_openrouters_402_only() -> None:
    assert affordable_tokens("You requested up to 128000 tokens, but can only afford 99833. To increase, ...") == 99833
    assert affordable_tokens("Insufficient credits. Add more using https://openrouter.ai/credits") is None
