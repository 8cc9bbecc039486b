"""Reading OpenRouter's chat completion answers: content, finish reason, usage, and the figures inside errors.

Pure: decoded JSON in, plain data out. Shapes: OpenRouter's API reference (openrouter.ai/docs/api-reference/overview),
its errors page and its usage accounting (sandbox/openrouter/README.md, Sources).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, fields

# The 402 of a reservation the balance cannot cover: "... You requested up to N tokens, but can only afford M. ..."
# (can1357/oh-my-pi#9569, Gitlawb/openclaude#1125, QwenLM/qwen-code#73).
AFFORD_RE = re.compile(r"can only afford (\d+)")
# A part that opens as the answer opened (this many characters: `<file path="index.html">` is 24) began it again.
RESTART_CHARS = 24


@dataclass(frozen=True)
class Usage:
    """Tokens and cost of one answer (summed over its continuations), as OpenRouter reports them ([API], [USE])."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    cached_tokens: int = 0  # prompt tokens read from the prompt cache
    cache_write_tokens: int = 0  # prompt tokens written to it
    reasoning_tokens: int = 0
    cost: float | None = None  # USD ("Cost in credits"), when OpenRouter sent it

    def __add__(self, other: Usage) -> Usage:
        counts = {f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self) if f.name != "cost"}
        costs = [c for c in (self.cost, other.cost) if c is not None]
        return Usage(**counts, cost=round(sum(costs), 10) if costs else None)

    def describe(self) -> str:
        """One line for a log or a job summary."""
        cache = f" ({self.cached_tokens} cached, {self.cache_write_tokens} written to the cache)" if (
            self.cached_tokens or self.cache_write_tokens) else ""
        reasoning = f" ({self.reasoning_tokens} reasoning)" if self.reasoning_tokens else ""
        cost = f", ${self.cost:.4f}" if self.cost is not None else ""
        return (f"{self.prompt_tokens} prompt{cache} + {self.completion_tokens} completion{reasoning} = "
                f"{self.total_tokens} tokens{cost}")


@dataclass(frozen=True)
class ModelFailure:
    model: str
    reason: str
    status: int | None = None

    def __str__(self) -> str:
        return f"{self.model}: {self.reason}"


@dataclass(frozen=True)
class Completion:
    content: str
    model: str
    usage: Usage
    finish_reason: str
    attempts: int = 1  # HTTP requests made for this answer
    continuations: int = 0  # requests that continued an answer cut at max_tokens
    skipped: tuple[ModelFailure, ...] = ()  # configured models passed over before `model`, each with why
    strong: bool = True  # `model` is trusted with edit blocks; False: ask it for whole files
    max_tokens: int | None = None  # the budget of the request that finished the answer


@dataclass(frozen=True)
class Answer:
    """One response's part of an answer."""

    content: str
    model: str
    finish_reason: str
    usage: Usage


class AnswerError(Exception):
    """A 200 that is no usable answer: an error inside it, no choices, a body that is not a completion."""


def read_usage(raw: object) -> Usage:
    if not isinstance(raw, dict):
        return Usage()
    prompt = raw.get("prompt_tokens_details") if isinstance(raw.get("prompt_tokens_details"), dict) else {}
    completion = raw.get("completion_tokens_details") if isinstance(raw.get("completion_tokens_details"),
                                                                     dict) else {}
    cost = raw.get("cost")
    return Usage(
        _count(raw.get("prompt_tokens")), _count(raw.get("completion_tokens")), _count(raw.get("total_tokens")),
        cached_tokens=_count(prompt.get("cached_tokens")), cache_write_tokens=_count(prompt.get("cache_write_tokens")),
        reasoning_tokens=_count(completion.get("reasoning_tokens")),
        cost=float(cost) if isinstance(cost, (int, float)) and not isinstance(cost, bool) else None,
    )


def read_answer(data: object, requested_model: str) -> Answer:
    """The part of an answer a 200 body carries; AnswerError when the body carries an error or no choice.

    A cut answer (`finish_reason` length) and empty content are returned: the caller continues or refuses them."""
    if not isinstance(data, dict):
        raise AnswerError("HTTP 200 with a body that is not a JSON object")
    if "error" in data:  # [ERR]: errors after the status was sent arrive in a 200
        raise AnswerError(f"HTTP 200 carrying an error: {describe_error(data['error'])}")
    choices = data.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise AnswerError("HTTP 200 without choices")
    choice = choices[0]
    finish = str(choice.get("finish_reason") or "")
    if finish == "error" or "error" in choice:
        raise AnswerError(f"finish_reason {finish or 'null'} with error: {describe_error(choice.get('error'))}")
    message = choice.get("message")
    content = message.get("content") if isinstance(message, dict) else None
    return Answer(content if isinstance(content, str) else "", str(data.get("model") or requested_model),
                  finish or "stop", read_usage(data.get("usage")))


def affordable_tokens(message: str) -> int | None:
    """M from a 402 "... can only afford M ..."; None for any other 402 (e.g. a negative balance)."""
    found = AFFORD_RE.search(message)
    return int(found.group(1)) if found else None


def continued(prefill: str, part: str) -> str:
    """The answer so far (`prefill`, as sent) joined with the part that continues it.

    A model that does not take the prefill as its own answer's start answers afresh, from its own first words (the
    stand-in's "fresh start", sandbox/openrouter/README.md): a part that opens as the answer so far opened is that
    new answer, which replaces the old one rather than being glued to its end."""
    if part.startswith(prefill[:RESTART_CHARS]):
        return part
    return prefill + part


def error_message(text: str, data: object) -> str:
    """A readable reason from an error response's body (JSON `{"error": ...}` or anything else)."""
    if data is None:
        return " ".join(text.split())[:200] or "no body"
    if isinstance(data, dict) and "error" in data:
        return describe_error(data["error"])
    return json.dumps(data)[:200]


def describe_error(error: object) -> str:
    if isinstance(error, dict):
        message = str(error.get("message") or "no message")
        code = error.get("code")
        metadata = error.get("metadata")
        kind = metadata.get("error_type") if isinstance(metadata, dict) else None
        return message + (f" (code {code})" if code is not None else "") + (f" [{kind}]" if kind else "")
    return str(error)[:200] if error is not None else "no details"


def _count(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0
