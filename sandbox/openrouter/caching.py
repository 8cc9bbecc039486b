"""Prompt caching as OpenRouter reports it: a repeated prefix of the prompt is read from the cache.

([prompt-caching] guides/best-practices/prompt-caching.mdx, OpenRouterTeam/docs.) A model with explicit caching
(Anthropic, Gemini) caches only up to `cache_control` breakpoints; one with automatic caching (OpenAI) caches the
prompt's prefix at message boundaries. Prefixes under the model's minimum are never cached; an entry lives five
minutes (the default TTL) from its last use. `usage.prompt_tokens_details` then says `cached_tokens` (read) and
`cache_write_tokens` (written).
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field

from sandbox.openrouter.models import Model
from sandbox.openrouter.validate import ChatRequest, Prefix

TTL = 300.0


@dataclass(frozen=True)
class CacheUse:
    cached: int = 0  # prompt tokens read from the cache
    written: int = 0  # prompt tokens written to it


@dataclass
class PromptCache:
    _expiry: dict[str, float] = field(default_factory=dict)

    def use(self, model: Model, chat: ChatRequest, now: float | None = None) -> CacheUse:
        """Look the request's cacheable prefixes up, then remember them for the next request."""
        if model.cache is None:
            return CacheUse()
        now = time.time() if now is None else now
        prefixes = chat.breakpoints if model.cache.explicit else chat.message_ends
        sized = [(chat.prefix_tokens(p), self._key(model, chat, p)) for p in prefixes]
        sized = sorted((tokens, key) for tokens, key in sized if tokens >= model.cache.min_tokens)
        cached = max((tokens for tokens, key in sized if self._expiry.get(key, 0.0) > now), default=0)
        longest = sized[-1][0] if sized else 0
        for _, key in sized:
            self._expiry[key] = now + TTL
        written = longest - cached if model.cache.explicit and longest > cached else 0  # automatic: no writes
        return CacheUse(cached=cached, written=written)

    @staticmethod
    def _key(model: Model, chat: ChatRequest, prefix: Prefix) -> str:
        text = f"{model.id}\0{prefix.digest}\0{chat.prompt_text[:prefix.end]}"
        return hashlib.sha256(text.encode()).hexdigest()
