"""The stand-in's model catalogue, in the shape of OpenRouter's `GET /api/v1/models`, as OpenRouter lists it in
December 2026; and the slugs it no longer serves.

This is the one place the stand-in's models are defined (sandbox/openrouter/README.md lists them with sources).
Any id under `sandbox/` is valid too (so tests can name models freely, e.g. to fail one and fall back to another),
and so are `:free` variants of listed models.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

DEFAULT_MODEL = "openai/gpt-4o-mini"  # the account's default model, used when a request names none
SANDBOX_PREFIX = "sandbox/"
CREATED = 1_735_689_600  # a fixed date: the catalogue does not change between runs

# What `supported_parameters` lists: everything the action may send, or only the basics (many free endpoints).
FULL_PARAMETERS = ("max_tokens", "temperature", "top_p", "stop", "seed", "response_format", "structured_outputs",
                   "tools", "tool_choice")
BASIC_PARAMETERS = ("max_tokens", "temperature", "top_p", "stop")


@dataclass(frozen=True)
class Cache:
    """How a model caches prompts ([prompt-caching] guides/best-practices/prompt-caching.mdx, OpenRouterTeam/docs).

    `explicit`: only up to `cache_control` breakpoints (Anthropic, Gemini); otherwise automatic on the prompt's
    prefix (OpenAI). Prompts shorter than `min_tokens` are not cached. Reads and writes cost these multiples of the
    prompt price."""

    explicit: bool
    min_tokens: int
    read: float
    write: float


@dataclass(frozen=True)
class Finish:
    """The provider's own words for "done" and "hit max_tokens", passed on as `native_finish_reason` ([API])."""

    stop: str
    length: str


OPENAI_FINISH = Finish("stop", "length")
ANTHROPIC_FINISH = Finish("end_turn", "max_tokens")  # Messages API stop_reason (docs.anthropic.com, Messages)
GOOGLE_FINISH = Finish("STOP", "MAX_TOKENS")  # Gemini API Candidate.finishReason (ai.google.dev, API reference)

# [prompt-caching]: Anthropic writes 1.25x (5-minute TTL), reads 0.1x, 1,024 tokens minimum on Sonnet models;
# OpenAI automatic, 1,024 tokens minimum, no write cost; Gemini needs breakpoints, reads 0.25x on 2.5 Flash.
ANTHROPIC_CACHE = Cache(explicit=True, min_tokens=1024, read=0.1, write=1.25)


@dataclass(frozen=True)
class Model:
    id: str
    name: str
    context_length: int
    max_completion_tokens: int  # what a request without max_tokens reserves credit for
    prompt_price: float  # USD per token
    completion_price: float
    vision: bool = True
    parameters: tuple[str, ...] = FULL_PARAMETERS
    cache: Cache | None = None
    finish: Finish = OPENAI_FINISH

    @property
    def free(self) -> bool:
        return self.id.endswith(":free")

    def supports(self, parameter: str) -> bool:
        return parameter in self.parameters

    def cost(self, prompt_tokens: int, completion_tokens: int, *, cached: int = 0, written: int = 0) -> float:
        """USD for one generation: cached prompt tokens at the cache's read price, written ones at its write price."""
        if self.free:
            return 0.0
        read, write = (self.cache.read, self.cache.write) if self.cache else (1.0, 1.0)
        plain = prompt_tokens - cached - written
        prompt = (plain + cached * read + written * write) * self.prompt_price
        return round(prompt + completion_tokens * self.completion_price, 10)

    def as_dict(self) -> dict[str, Any]:
        inputs = ["text", "image"] if self.vision else ["text"]
        pricing = {
            "prompt": _price(self.prompt_price, self.free), "completion": _price(self.completion_price, self.free),
            "request": "0", "image": "0",
        }
        if self.cache is not None:
            pricing["input_cache_read"] = _price(self.prompt_price * self.cache.read, self.free)
            pricing["input_cache_write"] = _price(self.prompt_price * self.cache.write, self.free)
        return {
            "id": self.id,
            "canonical_slug": self.id.removesuffix(":free"),
            "hugging_face_id": None,
            "name": self.name,
            "created": CREATED,
            "description": f"{self.name} as played by the llm-pages-deployer sandbox.",
            "context_length": self.context_length,
            "architecture": {
                "modality": "+".join(inputs) + "->text",
                "input_modalities": inputs,
                "output_modalities": ["text"],
                "tokenizer": "Other",
                "instruct_type": None,
            },
            "pricing": pricing,
            "top_provider": {
                "context_length": self.context_length,
                "max_completion_tokens": self.max_completion_tokens,
                "is_moderated": False,
            },
            "per_request_limits": None,
            "supported_parameters": list(self.parameters),
            "default_parameters": {"temperature": None, "top_p": None, "frequency_penalty": None},
            "supported_voices": None,
            "links": {"details": f"/api/v1/models/{self.id}/endpoints"},
        }


def _price(value: float, free: bool) -> str:
    return "0" if free else f"{value:.12f}".rstrip("0").rstrip(".")


# Sources for each entry: sandbox/openrouter/README.md, "Models".
CATALOGUE: tuple[Model, ...] = (
    # The strong default coder: Claude Sonnet 5 (released 2026-06-30, simonw/llm-anthropic#75), listed as
    # anthropic/claude-sonnet-5 (Cline SDK v0.0.67 made it its OpenRouter default; "Confirmed against
    # GET /api/v1/models" in a public client); 1M context, 128k output, $3/$15 from 2026-09-01
    # (khalilgharbaoui/opencode-claude-code-plugin#19).
    Model("anthropic/claude-sonnet-5", "Anthropic: Claude Sonnet 5", 1_000_000, 128_000, 0.000003, 0.000015,
          cache=ANTHROPIC_CACHE, finish=ANTHROPIC_FINISH),
    # Anthropic's named replacement for the retired Sonnet 4 (2026-06-15); 64k output (dimagi/open-chat-studio#2859).
    Model("anthropic/claude-sonnet-4.6", "Anthropic: Claude Sonnet 4.6", 1_000_000, 64_000, 0.000003, 0.000015,
          cache=ANTHROPIC_CACHE, finish=ANTHROPIC_FINISH),
    # The cheaper fallback: GPT-5.4 mini, $0.75/$4.50 (Vilin97/lean-pool#12), 400k context (n0an/VivaDicta#148),
    # 128k output; GPT-5 family cached input is a tenth of the price (niieani/gpt-tokenizer#87).
    Model("openai/gpt-5.4-mini", "OpenAI: GPT-5.4 Mini", 400_000, 128_000, 0.00000075, 0.0000045,
          cache=Cache(explicit=False, min_tokens=1024, read=0.1, write=1.0)),
    # The vision model: Gemini 3.5 Flash (GA 2026-05-19), $1.50/$9.00, cache reads $0.15, 1M context, 65,536 output
    # (pydantic/genai-prices#379, langgenius/dify-official-plugins#3167).
    Model("google/gemini-3.5-flash", "Google: Gemini 3.5 Flash", 1_048_576, 65_536, 0.0000015, 0.000009,
          cache=Cache(explicit=True, min_tokens=4096, read=0.1, write=1.0), finish=GOOGLE_FINISH),
    # Older models still served (not in OpenAI's 2026 shutdown waves, dimagi/open-chat-studio#3208).
    Model("openai/gpt-4o-mini", "OpenAI: GPT-4o-mini", 128_000, 16_384, 0.00000015, 0.0000006,
          cache=Cache(explicit=False, min_tokens=1024, read=0.5, write=1.0)),
    Model("openai/gpt-4o", "OpenAI: GPT-4o", 128_000, 16_384, 0.0000025, 0.00001,
          cache=Cache(explicit=False, min_tokens=1024, read=0.5, write=1.0)),
    Model("openai/gpt-4.1-mini", "OpenAI: GPT-4.1 Mini", 1_047_576, 32_768, 0.0000004, 0.0000016,
          cache=Cache(explicit=False, min_tokens=1024, read=0.25, write=1.0)),
    Model("google/gemini-2.5-flash", "Google: Gemini 2.5 Flash", 1_048_576, 65_535, 0.0000003, 0.0000025,
          cache=Cache(explicit=True, min_tokens=1024, read=0.25, write=1.0), finish=GOOGLE_FINISH),
    # A free endpoint without structured outputs, images or caching.
    Model("meta-llama/llama-3.3-70b-instruct:free", "Meta: Llama 3.3 70B Instruct (free)", 65_536, 8_192, 0, 0,
          vision=False, parameters=BASIC_PARAMETERS),
    Model("sandbox/builtin", "Sandbox: built-in app generator", 1_000_000, 16_384, 0.000001, 0.000002,
          cache=ANTHROPIC_CACHE),
)

# Slugs OpenRouter once listed and no longer serves: a request naming one is a 404 "No endpoints found for <id>."
# (Alishahryar1/free-claude-code#144, s-morgan-jeffries/apple-mail-fast-mcp#358, BerriAI/litellm#27149), not the
# 400 "<id> is not a valid model ID" of an id that never existed ([ERR] model_not_found). Value: when and why.
RETIRED: dict[str, str] = {
    "anthropic/claude-sonnet-4": "2026-06-15, retired by Anthropic (release notes; vicharanashala/vibe#1259)",
    "anthropic/claude-opus-4": "2026-06-15, retired by Anthropic with Claude Sonnet 4",
    "anthropic/claude-3.7-sonnet": "2026-05, no endpoints on OpenRouter (BerriAI/litellm#27149)",
    "mistralai/mistral-large-2411": "2026-06, no endpoints on OpenRouter (apple-mail-fast-mcp#358)",
    "google/gemma-2-9b-it:free": "2026, delisted from OpenRouter (Narcooo/inkos#300)",
}


class Catalogue:
    def __init__(self, extra_ids: list[str] | None = None):
        self.models: dict[str, Model] = {m.id: m for m in CATALOGUE}
        for model_id in extra_ids or []:
            self.models.setdefault(model_id, _sandbox_model(model_id))

    def get(self, model_id: str) -> Model | None:
        """The model for a valid id (listed, a `:free` variant of a listed one, or any `sandbox/...`), else None."""
        if model_id in self.models:
            return self.models[model_id]
        base = model_id.removesuffix(":free")
        if base != model_id and base in self.models:
            m = self.models[base]
            return replace(m, id=model_id, name=f"{m.name} (free)", prompt_price=0, completion_price=0, cache=None)
        if model_id.startswith(SANDBOX_PREFIX) and len(model_id) > len(SANDBOX_PREFIX):
            return _sandbox_model(model_id)
        return None

    @staticmethod
    def retired(model_id: str) -> bool:
        return model_id in RETIRED or model_id.removesuffix(":free") in RETIRED

    def listing(self) -> dict[str, Any]:
        data = [m.as_dict() for m in self.models.values()]
        return {"data": data, "total_count": len(data), "links": {"next": None}}


def _sandbox_model(model_id: str) -> Model:
    return Model(model_id, f"Sandbox: {model_id}", 1_000_000, 16_384, 0.000001, 0.000002, cache=ANTHROPIC_CACHE)
