"""The account's credit balance, and OpenRouter's check that a request can be paid for before it is answered.

OpenRouter reserves the prompt plus the whole possible answer: `max_tokens`, or without it the model's
`top_provider.max_completion_tokens`, at the model's prices. When the balance cannot cover that it answers 402
"This request requires more credits, or fewer max_tokens. You requested up to N tokens, but can only afford M. ..."
(reported by many clients, e.g. can1357/oh-my-pi#9569: the same account and model succeeds with maxTokens 1024 and
fails without it; Gitlawb/openclaude#1125 for the body, with `metadata.provider_name: null`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sandbox.openrouter.errors import ApiError
from sandbox.openrouter.models import Model

DEFAULT_CREDITS = 1.5  # USD: a run with sensible max_tokens, not one reservation of Sonnet 5's 128k ($1.92)
# The tail of the message depends on the account: an account that bought credits is told to add more
# (QwenLM/qwen-code#73), one that never paid to upgrade (Taewan-P/gpt_mobile#284).
ADD_MORE = "To increase, visit https://openrouter.ai/settings/credits and add more credits"
UPGRADE = "To increase, visit https://openrouter.ai/settings/credits and upgrade to a paid account"


@dataclass
class Account:
    credits: float = DEFAULT_CREDITS  # USD bought
    usage: float = 0.0  # USD spent so far

    @property
    def remaining(self) -> float:
        return self.credits - self.usage

    def charge(self, cost: float) -> None:
        self.usage += cost


def check_affordable(account: Account, model: Model, prompt_tokens: int, max_tokens: int | None) -> None:
    """Raise the 402 OpenRouter answers when the balance cannot reserve this request; return when it can."""
    requested = max_tokens if max_tokens is not None else model.max_completion_tokens
    tail = ADD_MORE if account.credits > 0 else UPGRADE
    if model.free:
        if account.remaining < 0:  # "a negative credit balance ... 402 errors, including for free models" [LIM]
            raise ApiError(402, "Insufficient credits. Add more using https://openrouter.ai/credits",
                           {"provider_name": None})
        return
    left = account.remaining - model.cost(prompt_tokens, 0)
    if left >= requested * model.completion_price:
        return
    afford = max(0, math.floor(left / model.completion_price)) if model.completion_price else 0
    raise ApiError(402, f"This request requires more credits, or fewer max_tokens. You requested up to {requested} "
                        f"tokens, but can only afford {afford}. {tail}", {"provider_name": None})
