"""The JSON object a model's answer holds, wherever it put it. Pure.

Asked for one JSON object, models write it bare, in a ```json fence, or with prose before and after it (a preamble,
an example object quoted from the instructions, a closing remark), and structured output is not honoured by every
model. So the answer is read as text: reasoning is dropped first (`action/reasoning.py`), then the first JSON object
that has the expected key is the answer, wherever it starts; objects nested in one already read are not candidates.
Anything else is a `JSONAnswerError` that says what was wrong, never a guess. Used by the check translator
(`action/verify/translate.py`) and the round planner (`action/planner.py`).
"""

from __future__ import annotations

import json
import re
from typing import Any

from action.reasoning import strip_reasoning


class JSONAnswerError(ValueError):
    pass


def answer_object(answer: str, key: str, wanted: str) -> dict[str, Any]:
    """The first object in `answer` (reasoning dropped) that has `key`; `wanted` names it in errors (e.g.
    'an object with a "checks" list')."""
    text = strip_reasoning(answer)
    decoder = json.JSONDecoder()
    failed: json.JSONDecodeError | None = None  # the attempt that got furthest, as the likeliest object
    reach = biggest = 0
    after = 0  # inside an object already read: its inner objects are not candidates
    for start in (m.start() for m in re.finditer(r"\{", text)):
        if start < after:
            continue
        try:
            data, end = decoder.raw_decode(text, start)
        except json.JSONDecodeError as exc:
            if exc.pos - start > reach:
                failed, reach = exc, exc.pos - start
            continue
        if isinstance(data, dict) and key in data:
            return data
        after, biggest = end, max(biggest, end - start)
    preview = " ".join(text.split())[:120]
    if failed is not None and reach > biggest:
        raise JSONAnswerError(f"the answer is not JSON: its object does not parse ({failed.msg} at line "
                              f"{failed.lineno}, column {failed.colno})")
    if biggest:
        raise JSONAnswerError(f"the answer is not {wanted} (it begins: {preview!r})")
    raise JSONAnswerError(f"the answer is not JSON: it holds no {wanted} (it begins: {preview!r})")
