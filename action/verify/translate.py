"""Plain-English page checks -> JavaScript, with one LLM request for all of them.

The request is recognisable by its `<translate-checks>` block (one JSON line per check: id, statement, the query the
page is opened with); the instructions are `prompts/translate.md`. The answer holds one JSON object
`{"checks": [{"id", "js" | null, "reason"?}]}`: bare, in a ```json fence, or with prose before and after it (models
add a preamble, and structured output is not honoured by every model), read by `action/json_answer.py`; anything
else leaves every check "not checkable" with the reason, never a crash and never a guess.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import replace

from action.json_answer import JSONAnswerError, answer_object
from action.llm import ChatClient, LLMError
from action.prompt import load
from action.verify.checks import Check

MAX_BRIEF_CHARS = 4000
# The answer's size: JSON around one expression (an async function at most) per check.
ANSWER_TOKENS_BASE = 1000
ANSWER_TOKENS_PER_CHECK = 400
_KEY = "checks"


class TranslationError(ValueError):
    pass


def translation_messages(checks: Sequence[Check], brief: str, files: Sequence[str]) -> list[dict[str, object]]:
    lines = [json.dumps({"id": c.index, "check": c.text, "query": c.query("{site}")}, ensure_ascii=False)
             for c in checks]
    body = "\n".join([
        "<translate-checks>", *lines, "</translate-checks>",
        "<site-brief>", brief[:MAX_BRIEF_CHARS], "</site-brief>",
        "<site-files>", *files, "</site-files>",
    ])
    return [{"role": "system", "content": load("translate.md")},
            {"role": "user", "content": [{"type": "text", "text": body}]}]


def parse_translation(answer: str, ids: Sequence[int]) -> dict[int, tuple[str | None, str]]:
    """id -> (JavaScript, "") or (None, the model's reason); raises TranslationError when the answer is malformed.

    Entries for unknown ids are ignored; ids the answer does not mention are missing from the result."""
    entries = _checks_list(answer)
    wanted = set(ids)
    found: dict[int, tuple[str | None, str]] = {}
    for entry in entries:
        if not isinstance(entry, dict):
            raise TranslationError("an entry of checks is not an object")
        ident, js = entry.get("id"), entry.get("js")
        if isinstance(ident, bool) or not isinstance(ident, int):
            raise TranslationError(f"an entry has id {ident!r}, not an integer")
        if js is not None and not isinstance(js, str):
            raise TranslationError(f"check {ident}: js is {type(js).__name__}, not a string or null")
        if ident in wanted and ident not in found:
            reason = str(entry.get("reason") or "the model found it cannot be checked on the page")
            found[ident] = (js, "") if js and js.strip() else (None, reason)
    return found


def translation_format() -> dict[str, object]:
    """The `response_format` of a translation request: a strict JSON schema of the answer ([SO]), which the client
    sends only to models that support structured outputs; the others still get the prompt's instructions."""
    return {"type": "json_schema", "json_schema": {"name": "check_translations", "strict": True,
                                                   "schema": json.loads(load("translate.schema.json"))}}


def _checks_list(answer: str) -> list[object]:
    """The "checks" list of the first JSON object in the answer that has one (`action/json_answer.py`)."""
    try:
        data = answer_object(answer, _KEY, 'an object with a "checks" list')
    except JSONAnswerError as exc:
        raise TranslationError(str(exc)) from None
    if not isinstance(data[_KEY], list):
        raise TranslationError(f'"checks" is {type(data[_KEY]).__name__}, not a list')
    return list(data[_KEY])


def translate(
    checks: Sequence[Check], llm: ChatClient, *, brief: str, files: Sequence[str],
    log: Callable[[str], None] = lambda _message: None,
) -> tuple[list[Check], dict[int, str]]:
    """The checks with `js` set where the model could translate them, and why the others are not checkable."""
    if not checks:
        return [], {}
    try:
        completion = llm.complete(translation_messages(checks, brief, files), response_format=translation_format(),
                                  max_tokens=ANSWER_TOKENS_BASE + ANSWER_TOKENS_PER_CHECK * len(checks))
        found = parse_translation(completion.content, [c.index for c in checks])
    except (LLMError, TranslationError) as exc:
        log(f"checks: translation failed: {exc}")
        return list(checks), {c.index: f"could not be translated: {exc}" for c in checks}
    reasons: dict[int, str] = {}
    translated: list[Check] = []
    for check in checks:
        js, reason = found.get(check.index, (None, "the translation left it out"))
        if js is None:
            reasons[check.index] = reason
        translated.append(replace(check, js=js))
    return translated, reasons
