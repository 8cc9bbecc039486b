"""Which models a run uses (deployer/models.py), and that every place naming the defaults follows the one place."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from deployer.cli import RUN_ENV
from deployer.models import (
    DEFAULT_FALLBACKS,
    DEFAULT_MODEL,
    NOT_LISTED,
    Model,
    configured,
    describe,
    is_strong,
    parse_listing,
    plan,
)

ROOT = Path(__file__).resolve().parent.parent


def entry(model_id: str, *, output: int = 64_000, context: int = 200_000, params: tuple[str, ...] = (
        "max_tokens", "temperature", "response_format", "structured_outputs"), images: bool = True,
          cache: bool = True) -> dict[str, object]:
    """An entry in the shape of OpenRouter's GET /models ([SPEC] getModels)."""
    pricing = {"prompt": "0.000003", "completion": "0.000015"} | ({"input_cache_read": "0.0000003"} if cache else {})
    return {"id": model_id, "context_length": context, "pricing": pricing, "supported_parameters": list(params),
            "architecture": {"input_modalities": ["text", "image"] if images else ["text"]},
            "top_provider": {"context_length": context, "max_completion_tokens": output, "is_moderated": False}}


def listing(*entries: dict[str, object]) -> dict[str, object]:
    return parse_listing({"data": list(entries), "total_count": len(entries), "links": {"next": None}})


def test_configured_models_keep_order_drop_repeats_and_know_the_defaults() -> None:
    assert configured("", None) == (DEFAULT_MODEL, *DEFAULT_FALLBACKS)
    assert configured(" x/a ", "x/b, x/a ,,x/c") == ("x/a", "x/b", "x/c")
    assert configured("x/a", "") == ("x/a",)  # an empty fallback list means none


def test_the_first_listed_model_runs_and_the_unlisted_ones_are_skipped_with_why() -> None:
    chosen = plan(["old/retired", "anthropic/claude-sonnet-5", "nobody/typo", "openai/gpt-5.4-mini"],
                  listing(entry("anthropic/claude-sonnet-5"), entry("openai/gpt-5.4-mini")))
    assert [m.id for m in chosen.models] == ["anthropic/claude-sonnet-5", "openai/gpt-5.4-mini"]
    assert chosen.skipped == (("old/retired", NOT_LISTED), ("nobody/typo", NOT_LISTED))
    assert chosen.describe() == (f"model anthropic/claude-sonnet-5 runs first, then openai/gpt-5.4-mini; skipped "
                                 f"old/retired: {NOT_LISTED}; skipped nobody/typo: {NOT_LISTED}")
    # The operator's first choice was retired: the listed model that runs is a fallback, judged as one.
    assert [m.strong for m in chosen.models] == [True, False]


def test_without_a_readable_list_or_a_listed_model_every_configured_model_is_tried() -> None:
    assert [m.id for m in plan(["a/x", "b/y"], None).models] == ["a/x", "b/y"]
    assert "could not be read" in plan(["a/x"], None).describe()
    unlisted = plan(["a/x", "b/y"], listing(entry("c/z")))
    assert [m.id for m in unlisted.models] == ["a/x", "b/y"] and not unlisted.skipped
    assert "none of the configured models is in OpenRouter's model list" in unlisted.describe()
    with pytest.raises(ValueError, match="at least one model"):
        plan([], None)
    with pytest.raises(ValueError, match='"data" list'):
        parse_listing({"models": []})


@pytest.mark.parametrize(("model_id", "strong"), [
    ("anthropic/claude-sonnet-4.6", True), ("anthropic/claude-opus-4.8", True), ("openai/gpt-4o", True),
    ("openai/gpt-5.5", True), ("google/gemini-3-pro", True),
    ("openai/gpt-5.4-mini", False), ("openai/gpt-4o-mini", False), ("google/gemini-3.5-flash", False),
    ("anthropic/claude-haiku-4.5", False), ("anthropic/claude-sonnet-5:free", False),
    ("meta-llama/llama-3.3-70b-instruct", False), ("sandbox/fallback", False),
])
def test_a_fallback_gets_edit_blocks_only_when_it_is_a_full_size_model_of_a_strong_family(
    model_id: str, strong: bool,
) -> None:
    assert is_strong(model_id, first=False) is strong
    assert is_strong(model_id, first=True) is True  # the operator's chosen coder is trusted


def test_what_the_list_says_of_a_model_steers_its_requests() -> None:
    sonnet = describe("anthropic/claude-sonnet-5", entry("anthropic/claude-sonnet-5", output=128_000,
                                                         context=1_000_000), first=True)
    assert sonnet == Model("anthropic/claude-sonnet-5", True, True, 1_000_000, 128_000, frozenset(
        {"max_tokens", "temperature", "response_format", "structured_outputs"}), True, 0.000015, True)
    assert sonnet.budget(16_000, 5_000) == 16_000 and sonnet.budget(500_000, 5_000) == 128_000
    assert sonnet.budget(16_000, 990_000) == 10_000  # [PAR]: the context length minus the prompt length
    assert sonnet.supports("structured_outputs") and sonnet.explicit_cache
    assert sonnet.affordable(0.15) == 10_000
    free = describe("meta-llama/llama-3.3-70b-instruct:free", entry(
        "x", params=("max_tokens",), images=False, cache=False), first=False)
    assert not free.supports("response_format") and not free.sends("temperature") and free.images is False
    unlisted = describe("google/gemini-9", None, first=False)
    assert unlisted.sends("temperature") and not unlisted.supports("structured_outputs")  # only what the list says
    assert unlisted.explicit_cache and unlisted.budget(16_000, 10) == 16_000 and unlisted.affordable(1.0) is None
    assert not describe("google/gemini-9:free", entry("g", cache=False), first=False).explicit_cache


def test_every_place_that_names_the_default_models_follows_deployer_models() -> None:
    inputs = yaml.safe_load((ROOT / "action.yml").read_text())["inputs"]
    assert inputs["model"]["default"] == DEFAULT_MODEL
    assert inputs["fallback-models"]["default"] == ",".join(DEFAULT_FALLBACKS)  # README's table is generated
    assert DEFAULT_MODEL in RUN_ENV and ",".join(DEFAULT_FALLBACKS) in RUN_ENV
    named = re.findall(r"^\s*(?:model|fallback-models):\s*(\S+)", (ROOT / "examples/consumer-workflow.yml").read_text(),
                       re.M)
    assert named and all(m in (DEFAULT_MODEL, *DEFAULT_FALLBACKS) for m in named)
