"""Build OpenRouter's success bodies: a `chat.completion`, or the `chat.completion.chunk` events of a stream.

Pure, so the shapes are checked in unit tests without a server.
"""

from __future__ import annotations

import secrets
import string
import time
from dataclasses import dataclass, field
from typing import Any

from sandbox.openrouter.models import Model
from sandbox.openrouter.validate import count_tokens

PROVIDER = "Sandbox"
CHUNK_CHARS = 200  # streamed content arrives in pieces of at most this many characters
KEEPALIVE = b": OPENROUTER PROCESSING\n\n"
DONE = b"data: [DONE]\n\n"


def generation_id(now: float | None = None) -> str:
    """`gen-<epoch>-<20 letters>`, the form of OpenRouter's generation ids."""
    alphabet = string.ascii_letters + string.digits
    return f"gen-{int(now or time.time())}-" + "".join(secrets.choice(alphabet) for _ in range(20))


@dataclass
class Answer:
    model: Model
    content: str
    prompt_tokens: int
    finish_reason: str = "stop"
    native_finish_reason: str | None = None
    error: dict[str, Any] | None = None
    usage_override: dict[str, Any] | None = None
    cached_tokens: int = 0  # prompt tokens read from the prompt cache
    cache_write_tokens: int = 0
    id: str = field(default_factory=generation_id)
    created: int = field(default_factory=lambda: int(time.time()))

    def usage(self) -> dict[str, Any]:
        completion = count_tokens(self.content)
        usage: dict[str, Any] = {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": completion,
            "total_tokens": self.prompt_tokens + completion,
            "cost": self.model.cost(self.prompt_tokens, completion, cached=self.cached_tokens,
                                    written=self.cache_write_tokens),
            "is_byok": False,
            "prompt_tokens_details": {"cached_tokens": self.cached_tokens,
                                      "cache_write_tokens": self.cache_write_tokens, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0, "image_tokens": 0},
        }
        if self.usage_override:
            usage.update(self.usage_override)
        return usage

    def _head(self, obj: str) -> dict[str, Any]:
        return {
            "id": self.id, "provider": PROVIDER, "model": self.model.id, "object": obj, "created": self.created,
        }

    def body(self) -> dict[str, Any]:
        choice: dict[str, Any] = {
            "logprobs": None,
            "finish_reason": self.finish_reason,
            "native_finish_reason": self.native_finish_reason or self.finish_reason,
            "index": 0,
            "message": {"role": "assistant", "content": self.content, "refusal": None, "reasoning": None},
        }
        if self.error is not None:
            choice["error"] = self.error
        return {**self._head("chat.completion"), "choices": [choice], "system_fingerprint": None, "usage": self.usage()}

    def chunks(self) -> list[dict[str, Any]]:
        """Every event of the stream in order, without the `[DONE]` line; an `error` ends it instead of usage."""
        pieces = [self.content[i:i + CHUNK_CHARS] for i in range(0, len(self.content), CHUNK_CHARS)] or [""]
        events: list[dict[str, Any]] = []
        for n, piece in enumerate(pieces):
            delta: dict[str, Any] = {"role": "assistant", "content": piece} if n == 0 else {"content": piece}
            last = n == len(pieces) - 1 and self.error is None
            events.append({
                **self._head("chat.completion.chunk"),
                "choices": [{
                    "index": 0, "delta": delta, "logprobs": None,
                    "finish_reason": self.finish_reason if last else None,
                    "native_finish_reason": (self.native_finish_reason or self.finish_reason) if last else None,
                }],
                "system_fingerprint": None,
            })
        if self.error is not None:
            events.append({
                **self._head("chat.completion.chunk"),
                "error": self.error,
                "choices": [{
                    "index": 0, "delta": {"content": ""}, "finish_reason": "error", "native_finish_reason": "error",
                }],
            })
            return events
        events.append({**self._head("chat.completion.chunk"), "choices": [], "usage": self.usage()})
        return events

