"""Which OpenRouter models a run uses: the defaults (the one place they are written), what OpenRouter's model list
says about each, and the order a run tries them in.

Pure: the action's client and `deployer doctor` fetch `GET {base}/models` themselves and hand the body here.
Shapes follow OpenRouter's `getModels` (its OpenAPI description, openrouter.ai/openapi.yaml).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

# The strong default coder, a cheaper fallback, and a third family (Google; it reads images too) when both fail.
# Chosen from OpenRouter's list of December 2026 (sources in sandbox/openrouter/README.md, "Models").
DEFAULT_MODEL = "anthropic/claude-sonnet-5"
DEFAULT_FALLBACKS = ("openai/gpt-5.4-mini", "google/gemini-3.5-flash")
DEFAULT_TEMPERATURE = 0.2  # low: the answer is code that must parse and match the brief, not prose
DEFAULT_MAX_TOKENS = 16_000  # one answer's budget: a small site's files; a longer one is continued
MIN_ANSWER_TOKENS = 1024  # below this no site fits; a 402 that affords less moves on to the next model

NOT_LISTED = "not in OpenRouter's model list (retired, or a typo)"
# Parts of an id that mark a small variant of a family (gpt-5.4-mini, gemini-3.5-flash, claude-haiku, :free).
SMALL_PARTS = frozenset({"mini", "nano", "flash", "haiku", "lite", "free", "small"})
# Families whose full-size models edit reliably with SEARCH/REPLACE blocks. aider keeps an edit format per model
# (aider/resources/model-settings.yml): `diff` for gpt-4o, gpt-4.1, Claude Sonnet/Opus and Gemini Pro, while
# gpt-4o-mini and gemini-1.5-flash keep ModelSettings' default, `whole` (whole files), as does any model it does not
# know.
STRONG_FAMILIES = ("anthropic/claude-sonnet", "anthropic/claude-opus", "openai/gpt-4o", "openai/gpt-4.1",
                   "openai/gpt-5", "google/gemini")
# OpenRouter's prompt caching needs `cache_control` breakpoints for these; others cache by themselves or not at
# all (OpenRouterTeam/docs guides/best-practices/prompt-caching.mdx: Anthropic "require[s] you to enable it on a
# per-message basis"; "Gemini caching in OpenRouter requires you to insert `cache_control` breakpoints explicitly").
EXPLICIT_CACHE_PREFIXES = ("anthropic/", "google/gemini")


def configured(model: str, fallbacks: str | None) -> tuple[str, ...]:
    """The models a run may use, in order, from the `model` and `fallback-models` settings (comma-separated).

    An empty `model` means the default; `fallbacks` None means the default fallbacks, and "" none at all."""
    first = model.strip() or DEFAULT_MODEL
    rest = DEFAULT_FALLBACKS if fallbacks is None else tuple(m.strip() for m in fallbacks.split(",") if m.strip())
    return tuple(dict.fromkeys((first, *rest)))


def is_strong(model_id: str, *, first: bool) -> bool:
    """Whether the model is trusted with edit blocks rather than whole files.

    The model named first is the operator's chosen coder; a fallback only when it is a full-size model of a family
    known to edit well (STRONG_FAMILIES)."""
    if first:
        return True
    parts = set(re.split(r"[-/:._]", model_id.lower()))
    return model_id.lower().startswith(STRONG_FAMILIES) and not parts & SMALL_PARTS


@dataclass(frozen=True)
class Model:
    """One configured model and what OpenRouter's list says of it (None: not listed, or the list was unreadable)."""

    id: str
    strong: bool
    listed: bool = False
    context_length: int | None = None
    max_completion_tokens: int | None = None
    parameters: frozenset[str] | None = None  # supported_parameters
    images: bool | None = None  # "image" in architecture.input_modalities
    completion_price: float | None = None  # USD per token
    cache_pricing: bool | None = None  # pricing lists input_cache_read

    def supports(self, parameter: str) -> bool:
        """Only what the list says: a parameter of an unlisted model counts as unsupported."""
        return self.parameters is not None and parameter in self.parameters

    def sends(self, parameter: str) -> bool:
        """Whether to send a parameter OpenRouter ignores where unsupported ([API]): unless the list says no."""
        return self.parameters is None or parameter in self.parameters

    @property
    def explicit_cache(self) -> bool:
        """Whether prompts are cached only up to `cache_control` breakpoints (and the model caches at all)."""
        return self.id.startswith(EXPLICIT_CACHE_PREFIXES) and self.cache_pricing is not False

    def budget(self, wanted: int, prompt_tokens: int) -> int:
        """`max_tokens` for one request: `wanted`, never above the model's output limit nor the room its context
        leaves after the prompt ([PAR]: "The maximum value is the context length minus the prompt length")."""
        limits = [wanted]
        if self.max_completion_tokens:
            limits.append(self.max_completion_tokens)
        if self.context_length:
            limits.append(self.context_length - prompt_tokens)
        return min(limits)

    def affordable(self, credit: float) -> int | None:
        """How many answer tokens `credit` USD pays for on this model (None when its price is unknown or zero)."""
        if not self.completion_price:
            return None
        return max(0, math.floor(round(credit / self.completion_price, 6)))  # 0.06 / 0.000015 is 3999.999...


def parse_listing(body: object) -> dict[str, Mapping[str, Any]]:
    """id -> entry of a `GET /models` body; ValueError when it is not that shape."""
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, list):
        raise ValueError('the model list is not an object with a "data" list')
    return {str(m["id"]): m for m in data if isinstance(m, dict) and isinstance(m.get("id"), str)}


def describe(model_id: str, entry: Mapping[str, Any] | None, *, first: bool) -> Model:
    strong = is_strong(model_id, first=first)
    if entry is None:
        return Model(model_id, strong)
    top = entry.get("top_provider") if isinstance(entry.get("top_provider"), dict) else {}
    arch = entry.get("architecture") if isinstance(entry.get("architecture"), dict) else {}
    pricing = entry.get("pricing") if isinstance(entry.get("pricing"), dict) else {}
    params = entry.get("supported_parameters")
    modalities = arch.get("input_modalities")
    return Model(
        model_id, strong, listed=True,
        context_length=_positive(top.get("context_length")) or _positive(entry.get("context_length")),
        max_completion_tokens=_positive(top.get("max_completion_tokens")),
        parameters=frozenset(str(p) for p in params) if isinstance(params, list) else None,
        images=("image" in modalities) if isinstance(modalities, list) else None,
        completion_price=_price(pricing.get("completion")),
        cache_pricing="input_cache_read" in pricing,
    )


@dataclass(frozen=True)
class Plan:
    """The models a run tries, in order, and the configured ones it leaves out with why."""

    models: tuple[Model, ...]
    skipped: tuple[tuple[str, str], ...] = ()
    listing_read: bool = True

    def describe(self) -> str:
        if not self.listing_read:
            head = "OpenRouter's model list could not be read: trying " + ", ".join(m.id for m in self.models)
        elif not any(m.listed for m in self.models):
            head = ("none of the configured models is in OpenRouter's model list: trying "
                    + ", ".join(m.id for m in self.models) + " as configured")
        else:
            head = f"model {self.models[0].id} runs first" + (
                f", then {', '.join(m.id for m in self.models[1:])}" if len(self.models) > 1 else "")
        return head + "".join(f"; skipped {model}: {why}" for model, why in self.skipped)


def plan(configured_ids: Sequence[str], listing: Mapping[str, Mapping[str, Any]] | None) -> Plan:
    """The configured models that OpenRouter lists, in the configured order; the others are skipped.

    When the list is unreadable, or lists none of them, every configured model is tried: OpenRouter's own answer
    to each then says what is wrong, which is better than failing on our reading of a list."""
    ids = list(dict.fromkeys(configured_ids))
    if not ids:
        raise ValueError("at least one model is required")
    models = [describe(m, (listing or {}).get(m), first=i == 0) for i, m in enumerate(ids)]
    listed = [m for m in models if m.listed]
    if listing is None or not listed:
        return Plan(tuple(models), listing_read=listing is not None)
    return Plan(tuple(listed), tuple((m.id, NOT_LISTED) for m in models if not m.listed))


def _positive(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def _price(value: object) -> float | None:
    try:
        price = float(value)  # type: ignore[arg-type]  # OpenRouter sends prices as decimal strings
    except (TypeError, ValueError):
        return None
    return price if math.isfinite(price) and price >= 0 else None
