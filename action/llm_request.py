"""Building one OpenRouter chat completions request for one model: its parameters, cache breakpoints and prefill.

Pure: the caller's messages are never changed; each request gets a copy fitted to the model it goes to.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence
from typing import Any

from deployer.models import Model

Message = dict[str, Any]
CACHE_BREAKPOINTS = 4  # Anthropic's limit: "There is a limit of four explicit breakpoints" (prompt-caching.mdx)
CHARS_PER_TOKEN = 3  # estimating on the high side: code and non-English text take more tokens than 4 characters
# Anthropic counts an image as width x height / 750 tokens, about 1,600 for the largest it keeps unresized
# (docs.anthropic.com, Vision: "Calculate image costs").
IMAGE_TOKENS = 1600


def chat_body(
    model: Model, messages: Sequence[Message], *, max_tokens: int, temperature: float | None,
    response_format: dict[str, Any] | None = None, prefill: str = "",
) -> dict[str, Any]:
    """The JSON body for `model`.

    - `max_tokens` always: without it OpenRouter reserves credit for the model's whole output limit and answers 402
      on a modest balance (can1357/oh-my-pi#9569).
    - `temperature` unless the model's `supported_parameters` leave it out.
    - `response_format` only where the model lists it ([SO]: "Model doesn't support structured outputs: The request
      will fail with an error"; a json_schema needs `structured_outputs`, models page filter of that name).
    - `cache_control` breakpoints for models that cache only up to them (deployer.models.EXPLICIT_CACHE_PREFIXES).
    - `prefill`: the answer so far as a trailing assistant message, which the model continues ([API]); without
      trailing whitespace, which Anthropic refuses ("final assistant content cannot end with trailing whitespace",
      anthropics/claude-code#18731, vercel/ai#2124).
    """
    sent = with_breakpoints(messages) if model.explicit_cache else [copy.deepcopy(m) for m in messages]
    if prefill:
        sent.append({"role": "assistant", "content": prefill})
    body: dict[str, Any] = {"model": model.id, "messages": sent, "max_tokens": max_tokens}
    if temperature is not None and model.sends("temperature"):
        body["temperature"] = temperature
    if response_format is not None and model.supports(format_parameter(response_format)):
        body["response_format"] = response_format
    return body


def format_parameter(response_format: dict[str, Any]) -> str:
    """The `supported_parameters` entry a response_format needs."""
    return "structured_outputs" if response_format.get("type") == "json_schema" else "response_format"


def with_breakpoints(messages: Sequence[Message]) -> list[Message]:
    """A copy with `cache_control` on the last text part of the system message and of the latest user messages.

    The system prompt is the same for every request of a run; a user message ends a prefix that a repair or a
    continuation sends again. At most CACHE_BREAKPOINTS; messages that already carry one are the caller's choice
    and are left alone."""
    sent = [copy.deepcopy(m) for m in messages]
    if any(_has_cache_control(m) for m in sent):
        return sent
    system = [i for i, m in enumerate(sent) if m.get("role") == "system"][:1]
    users = [i for i, m in enumerate(sent) if m.get("role") == "user"]
    for i in system + users[-(CACHE_BREAKPOINTS - len(system)):]:
        _mark_last_text(sent[i])
    return sent


def estimate_tokens(messages: Sequence[Message]) -> int:
    """The prompt's size in tokens, on the high side (images by their count, never by their base64 length)."""
    chars, images = 0, 0
    for message in messages:
        content = message.get("content")
        if isinstance(content, str):
            chars += len(content)
            continue
        for part in content if isinstance(content, list) else []:
            if isinstance(part, dict) and part.get("type") == "image_url":
                images += 1
            elif isinstance(part, dict) and isinstance(part.get("text"), str):
                chars += len(part["text"])
    return math.ceil(chars / CHARS_PER_TOKEN) + IMAGE_TOKENS * images


def has_images(messages: Sequence[Message]) -> bool:
    return any(isinstance(m.get("content"), list) and any(
        isinstance(p, dict) and p.get("type") == "image_url" for p in m["content"]) for m in messages)


def _has_cache_control(message: Message) -> bool:
    content = message.get("content")
    return "cache_control" in message or (isinstance(content, list) and any(
        isinstance(p, dict) and "cache_control" in p for p in content))


def _mark_last_text(message: Message) -> None:
    content = message.get("content")
    if isinstance(content, str):
        if content:
            message["content"] = [{"type": "text", "text": content, "cache_control": {"type": "ephemeral"}}]
        return
    texts = [p for p in content if isinstance(p, dict) and p.get("type") == "text"] if isinstance(
        content, list) else []
    if texts:
        texts[-1]["cache_control"] = {"type": "ephemeral"}
