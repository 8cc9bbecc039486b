"""What the built-in model says to one request: its answer in the server's style, continued after a prefill and
cut at the request's limit.

Pure. Styles: `clean` answers exactly as the action's prompt asks (blocks.py); `varied` (the default, as real
models) picks, from the seed and the request, a shape (shapes.py), and now and then copies a check's figure into
the page instead of computing it, gets one field of a round plan wrong (planning.MISTAKES), or runs long so that
`max_tokens` cuts the answer. The same seed and request
(model and messages, the prefill aside) always get the same answer, so a continuation request finds the rest of
the very answer it continues.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sandbox.openrouter import generator, planning, shapes
from sandbox.openrouter.dice import Dice
from sandbox.openrouter.models import Model
from sandbox.openrouter.validate import ChatRequest, count_tokens

STYLES = ("clean", "varied")
COPY_RATE = 0.3  # of first requests whose checks expect a figure in an element: the site copies it
MISTAKE_RATE = 0.25  # of planning requests: the plan has one field wrong
LONG_RATE = 0.25  # of file and edit answers to a request with max_tokens: the model runs past it
CONTINUE_TAIL = 200  # characters of a prefill that must match the answer when it is not a plain prefix


@dataclass(frozen=True)
class Style:
    name: str = "varied"
    seed: int = 0


@dataclass(frozen=True)
class Said:
    content: str  # this response's text: after the prefill, cut at the limit
    cut: bool  # cut at the limit (finish_reason "length")
    shape: str
    copied: tuple[str, ...] = ()
    ran_long: bool = False
    continued: bool = False  # the request's prefill was part of this answer, and this is the rest
    mistake: str | None = None  # the field a plan got wrong

    def log(self) -> dict[str, Any]:
        return {"shape": self.shape, "copied": list(self.copied), "ran_long": self.ran_long,
                "continued": self.continued, "cut": self.cut, "mistake": self.mistake}


def say(chat: ChatRequest, model: Model, style: Style, response_format: dict[str, Any] | None) -> Said:
    """`response_format` as the model honours it (None when it ignores the request's)."""
    dice = Dice(style.seed, model.id, chat.identity)
    varied = style.name == "varied"
    first = len(chat.user_texts) == 1  # a follow-up (a repair of any kind) always computes its figures
    last = chat.user_texts[-1] if chat.user_texts else None
    planning_request = last is not None and planning.is_planning_request(last)
    draft = generator.compose(
        "\n\n".join(chat.user_texts), response_format, last_request=last,
        copy=varied and first and dice.chance("copy", COPY_RATE),
        mistake=dice.pick("mistake-kind", planning.MISTAKES) if (
            varied and planning_request and dice.chance("mistake", MISTAKE_RATE)) else None,
    )
    written = shapes.write(draft, dice) if varied else shapes.Written(generator.render(draft), "clean")
    limit = chat.max_tokens or model.max_completion_tokens
    text = written.text
    ran_long = (varied and chat.max_tokens is not None and draft.kind in ("files", "edits")
                and dice.chance("long", LONG_RATE))
    if ran_long:
        text = shapes.run_long(text, limit)
    rest, continued = continuation(text, chat.prefill)
    content, cut = truncate(rest, limit)
    return Said(content, cut, written.shape, draft.copied, ran_long, continued, draft.mistake)


def continuation(answer: str, prefill: str | None) -> tuple[str, bool]:
    """What follows the prefill in the answer: after it when it is the answer's start, else after its last
    characters where they occur once; the whole answer when the prefill is no part of it (a fresh start)."""
    if not prefill:
        return answer, False
    if answer.startswith(prefill):
        return answer[len(prefill):], True
    tail = prefill[-CONTINUE_TAIL:]
    if answer.count(tail) == 1:
        return answer[answer.index(tail) + len(tail):], True
    return answer, False


def truncate(content: str, max_tokens: int | None) -> tuple[str, bool]:
    """Cut generated text at `max_tokens` (4 characters a token), as a model stops at its limit."""
    if max_tokens is None or count_tokens(content) <= max_tokens:
        return content, False
    return content[: max_tokens * 4], True
