"""Plain-English page checks -> JavaScript, with one LLM request for all of them.

The request is recognisable by its `<translate-checks>` block (one JSON line per check: id, statement, the query the
page is opened with); the instructions are `prompts/translate.md`. The answer must be one JSON object
`{"checks": [{"id", "js" | null, "reason"?}]}` (a single fenced block around it is tolerated): anything else leaves
every check "not checkable" with the reason, never a crash and never a guess.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import replace

from action.llm import ChatClient, LLMError
from action.prompt import load
from action.verify.checks import Check

FENCE_RE = re.compile(r"^```[\w-]*\n(.*)\n```$", re.S)
MAX_BRIEF_CHARS = 4000
# The answer's size: JSON around one expression (an async function at most) per check.
ANSWER_TOKENS_BASE = 1000
ANSWER_TOKENS_PER_CHECK = 400


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
    text = answer.strip()
    fenced = FENCE_RE.match(text)
    if fenced:
        text = fenced.group(1).strip()
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise TranslationError(f"the answer is not JSON ({exc.msg} at line {exc.lineno})") from None
    entries = data.get("checks") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise TranslationError('the answer is not an object with a "checks" list')
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
