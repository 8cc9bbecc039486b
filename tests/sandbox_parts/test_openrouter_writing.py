"""How the stand-in writes, through a real socket: answers cut at max_tokens and continued after a prefill into the
exact full answer; the varied style's every shape for some seed, each recoverable by a careful reader; the same
seed and request answered the same; the style switched at run time; a copied constant, then its repair."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from action.prompt import build_messages, repair_messages
from sandbox.openrouter import generator, shapes
from tests.conftest import OpenRouter
from tests.sandbox_parts import reference
from tests.sandbox_parts.test_generator import load_brief, user_text

BUILTIN, SONNET = "sandbox/builtin", "anthropic/claude-sonnet-5"
SEEDS = range(60)


def set_style(o: OpenRouter, style: str = "varied", seed: int = 0) -> None:
    r = requests.post(f"{o.url}/_sandbox/style", json={"style": style, "seed": seed}, timeout=10)
    assert r.json() == {"style": style, "seed": seed}


def complete(o: OpenRouter, messages: list[dict[str, Any]], model: str = BUILTIN, **extra: Any) -> dict[str, Any]:
    r = requests.post(f"{o.base_url}/chat/completions", json={"model": model, "messages": messages, **extra},
                      headers={"Authorization": f"Bearer {o.key}"}, timeout=30)
    assert r.status_code == 200, r.text
    return r.json()


def content(body: dict[str, Any]) -> str:
    return body["choices"][0]["message"]["content"]


def last_answer_log(o: OpenRouter) -> dict[str, Any]:
    return o.requests()[-1]["answer"]


def r1_messages() -> list[dict[str, Any]]:
    return build_messages(load_brief("sum-of-sales.r1.json"))


def continue_until_done(o: OpenRouter, messages: list[dict[str, Any]], max_tokens: int,
                        model: str = BUILTIN) -> tuple[str, list[dict[str, Any]]]:
    """Ask, then ask again with everything so far as an assistant prefill, until the answer stops."""
    text, bodies = "", []
    for _ in range(50):
        prefill = [{"role": "assistant", "content": text}] if text else []
        body = complete(o, [*messages, *prefill], model, max_tokens=max_tokens)
        bodies.append(body)
        text += content(body)
        if body["choices"][0]["finish_reason"] == "stop":
            return text, bodies
    raise AssertionError("the answer never finished")


def test_an_answer_cut_at_max_tokens_continues_into_the_exact_full_answer(openrouter: OpenRouter) -> None:
    set_style(openrouter, "clean")
    full = content(complete(openrouter, r1_messages(), SONNET, max_tokens=30_000))
    text, bodies = continue_until_done(openrouter, r1_messages(), 700, SONNET)
    assert text == full and len(bodies) == -(-len(full) // 2800)
    cut = bodies[0]["choices"][0]
    assert (cut["finish_reason"], cut["native_finish_reason"]) == ("length", "max_tokens")  # Anthropic's own word
    assert len(cut["message"]["content"]) == 2800 and bodies[0]["usage"]["completion_tokens"] == 700
    done = bodies[-1]["choices"][0]
    assert (done["finish_reason"], done["native_finish_reason"]) == ("stop", "end_turn")
    assert all(e["answer"]["continued"] for e in openrouter.requests()[2:])
    assert bodies[1]["usage"]["prompt_tokens"] > bodies[0]["usage"]["prompt_tokens"]  # the prefill is prompt


def test_a_prefill_from_elsewhere_gets_a_fresh_answer(openrouter: OpenRouter) -> None:
    set_style(openrouter, "clean")
    full = content(complete(openrouter, r1_messages()))
    fresh = complete(openrouter, [*r1_messages(), {"role": "assistant", "content": "Something else entirely."}])
    assert content(fresh) == full and last_answer_log(openrouter)["continued"] is False


def test_clean_style_is_the_prompts_format_exactly(openrouter: OpenRouter) -> None:
    set_style(openrouter, "clean")
    messages = r1_messages()
    assert content(complete(openrouter, messages)) == generator.answer(user_text(messages), last_request=user_text(
        messages))
    assert last_answer_log(openrouter)["shape"] == "clean"


def seen_shapes(o: OpenRouter, messages: list[dict[str, Any]]) -> dict[str, tuple[str, dict[str, Any]]]:
    """The first answer of each shape over the seeds, with its log entry."""
    seen: dict[str, tuple[str, dict[str, Any]]] = {}
    for seed in SEEDS:
        set_style(o, "varied", seed)
        text = content(complete(o, messages))
        log = last_answer_log(o)
        seen.setdefault(log["shape"], (text, log))
    return seen


def test_every_file_shape_over_http_carries_the_intended_files(openrouter: OpenRouter) -> None:
    messages = r1_messages()
    text = user_text(messages)
    seen = seen_shapes(openrouter, messages)
    assert set(seen) == set(shapes.FILE_SHAPES)
    for shape, (answer, log) in seen.items():
        intended = generator.compose(text, copy=bool(log["copied"])).files
        assert reference.files(answer) == intended, shape


def test_every_edit_shape_over_http_applies_to_the_intended_files(openrouter: OpenRouter) -> None:
    r1 = load_brief("sum-of-sales.r1.json")
    published = generator.compose(user_text(r1_messages())).files
    del published["style.css"]  # so that one change is a new file
    messages = build_messages(load_brief("sum-of-sales.r2.json"), published, r1.checks, edits=True)
    text = user_text(messages)
    seen = seen_shapes(openrouter, messages)
    assert set(seen) == set(shapes.EDIT_SHAPES)
    for shape, (answer, log) in seen.items():
        intended = generator.compose(text, last_request=text, copy=bool(log["copied"])).files
        assert reference.apply(published, answer) == intended, shape


def test_the_same_request_and_seed_get_the_same_answer(openrouter: OpenRouter) -> None:
    set_style(openrouter, "varied", 3)
    first = content(complete(openrouter, r1_messages()))
    assert content(complete(openrouter, r1_messages())) == first
    answers = set()
    for seed in range(4, 10):
        set_style(openrouter, "varied", seed)
        answers.add(content(complete(openrouter, r1_messages())))
    assert len(answers) > 1
    assert requests.get(f"{openrouter.url}/_sandbox/style", timeout=10).json() == {"style": "varied", "seed": 9}
    for bad in ({"style": "wild"}, {"seed": "1"}, []):
        r = requests.post(f"{openrouter.url}/_sandbox/style", json=bad, timeout=10)
        assert r.status_code == 400 and "style" in r.json()["error"]


def first_seed(o: OpenRouter, messages: list[dict[str, Any]], wanted: Any, **extra: Any) -> dict[str, Any]:
    """The answer under the first seed whose answer log is `wanted` (the style stays on that seed)."""
    for seed in SEEDS:
        set_style(o, "varied", seed)
        body = complete(o, messages, **extra)
        if wanted(last_answer_log(o)):
            return body
    raise AssertionError("no seed gave it")


def test_a_copied_constant_and_the_repair_that_computes_it(openrouter: OpenRouter) -> None:
    messages = r1_messages()
    body = first_seed(openrouter, messages, lambda log: log["copied"] == ["total-sales"])
    site = reference.files(content(body))
    assert '"csv": null' in site["script.js"] and '<span id="total-sales">5109.25</span>' in site["index.html"]
    problem = ("#total-sales did not change when the site was served other data: it must be computed from "
               "data.csv by the page's script, not typed in")
    repair = repair_messages(load_brief("sum-of-sales.r1.json"), content(body), [problem])
    fixed = reference.files(content(complete(openrouter, repair)))
    assert last_answer_log(openrouter)["copied"] == []
    assert '"csv": "data.csv"' in fixed["script.js"] and '"totals": [\n    "total-sales"\n  ]' in fixed["script.js"]


@pytest.mark.parametrize("model", [BUILTIN, SONNET])
def test_a_model_running_long_is_cut_and_its_continuation_completes_it(openrouter: OpenRouter, model: str) -> None:
    messages = r1_messages()
    body = first_seed(openrouter, messages, lambda log: log["ran_long"] and not log["copied"], model=model,
                            max_tokens=4000)
    assert body["choices"][0]["finish_reason"] == "length"  # 4,000 tokens would hold the files, not the musing
    text, bodies = continue_until_done(openrouter, messages, 4000, model)
    assert len(bodies) >= 2 and reference.files(text) == generator.compose(user_text(messages)).files
