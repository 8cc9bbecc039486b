"""Chat messages for a brief: the prompt texts are data files in `action/prompts/`, this module only fills them in.

The contract with the OpenRouter stand-in (and any reader of the prompt): the last user message's last content part
is text containing `<brief task="T" round="N">text</brief>`, then `<checks>` with one check per line (strings
verbatim; objects, and strings containing a line break, as compact JSON), then one `<attachment>` element per
attachment: text inline (bounded; a cut file ends in a `[truncated: ...]` note and a summary of the whole file,
action/excerpt.py), everything else self-closing. Each image (png, jpeg, webp, gif) comes first, before that text
part, as a text part naming it (`prompts/image-label.txt`) then an `image_url` part with a `data:` URI: vision
models read images best before the text that refers to them. From round 2, `<earlier-checks>` (before the brief,
same format) holds the checks of earlier rounds, and the files already published follow as `<file path="...">`
blocks (user messages hold no other `<file` text), and the text attachments of earlier rounds (already in the
repository) inline as `<attachment ... round="N">`, read-only context so the model knows the data its code reads.
A repair request is the last user message too, so it repeats the brief and checks (attachments by name only), and
says what went wrong in words for each kind of problem (`problem_sections`).

Edit rounds (`edits=True`, from round 2 when a site is published): the system prompt's answer format is
`prompts/edit.md` (search/replace blocks, see `action/edits.py`) instead of `prompts/files.md`, and the last user
message of every request that wants edit blocks contains the words `SEARCH/REPLACE`; a request for whole files
(the fallback) does not.

The brief's secret is never read here: nothing secret can reach a prompt.
"""

from __future__ import annotations

import base64
import json
import mimetypes
from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from html import escape
from importlib import resources
from string import Template
from typing import Any

from action.excerpt import excerpt
from action.validate import Problem, ProblemKind
from deployer.brief import Attachment, Brief, DataURIError

MAX_ATTACHMENT_CHARS = 20_000
MAX_TEXT_ATTACHMENTS_CHARS = 60_000
MAX_IMAGE_BYTES = 4 * 1024 * 1024
IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/webp", "image/gif"})
_TEXT_TYPES = frozenset({
    "application/json", "application/xml", "application/javascript", "application/x-javascript",
    "application/ecmascript", "application/csv", "application/yaml", "application/x-yaml", "application/toml",
    "application/x-ndjson", "application/sql", "image/svg+xml",
})

Message = dict[str, Any]


@cache
def load(name: str) -> str:
    """A prompt file from `action/prompts/`, read through importlib.resources so it works from a wheel."""
    return resources.files("action").joinpath("prompts", name).read_text(encoding="utf-8")


def system_prompt(*, edits: bool = False) -> str:
    """The system message; its answer format is whole files, or (edit rounds) search/replace blocks."""
    answer_format = load("edit.md" if edits else "files.md").rstrip("\n")
    return Template(load("system.md")).substitute(answer_format=answer_format)


def build_messages(
    brief: Brief, existing: Mapping[str, str] | None = None, earlier_checks: Sequence[object] = (),
    *, earlier_attachments: Sequence[tuple[str, int, bytes]] = (), edits: bool = False, plan: str = "",
) -> list[Message]:
    """System prompt, then one user message with the brief, its checks, its attachments, the round's plan section
    (`plan`, from `action/plan_text.py`) and, from round 2, the checks of earlier rounds (which must keep passing),
    the files already published (generated files only) and the text attachments of earlier rounds (name, round,
    bytes), so the model edits rather than starts over."""
    text, images = _attachments(brief.attachments)
    text += _earlier_attachments(earlier_attachments, MAX_TEXT_ATTACHMENTS_CHARS - sum(len(t) for t in text))
    earlier = (
        ["<earlier-checks>", *(format_check(c) for c in earlier_checks), "</earlier-checks>"] if earlier_checks else []
    )
    published = [f'<file path="{escape(p)}">\n{c}\n</file>' for p, c in sorted((existing or {}).items())]
    if published:
        published.insert(0, load("existing.md").rstrip("\n"))
    closing = (
        "Answer with SEARCH/REPLACE edit blocks (and whole file blocks for new files only), as described in the "
        "system message." if edits else "Answer with file blocks only, as described in the system message."
    )
    body = "\n".join([
        "Build the site for this brief." if not published else "Update the site for this brief.", "",
        *earlier, brief_block(brief), checks_block(brief.checks), *text, *([plan] if plan else []), *published, "",
        closing,
    ])
    return [
        {"role": "system", "content": system_prompt(edits=edits)},
        {"role": "user", "content": [*images, {"type": "text", "text": body}]},  # images first, each labelled
    ]


def follow_up(first: list[Message], previous_answer: str, text: str) -> list[Message]:
    """A later request in the same conversation: the first request, the model's answer, and what to do now."""
    return [*first, {"role": "assistant", "content": previous_answer}, {"role": "user", "content": [
        {"type": "text", "text": text}]}]


def brief_reminder(brief: Brief) -> str:
    """The brief, its checks and the attachment names, repeated at the end of a follow-up request."""
    names = [_attachment_tag(a.name, _media_type(a)) for a in brief.attachments]
    return "\n".join([brief_block(brief), checks_block(brief.checks), *names])


def repair_messages(
    brief: Brief,
    previous_answer: str,
    problems: Sequence[Problem | str],
    existing: Mapping[str, str] | None = None,
    earlier_checks: Sequence[object] = (),
    plan: str = "",
) -> list[Message]:
    """The first request, the answer that failed, and a request to fix the listed problems (a plain string is a
    problem that kept the answer from being published)."""
    sections = problem_sections(problems)
    body = "\n".join([Template(load("repair.md")).substitute(sections=sections).rstrip("\n"), "",
                      brief_reminder(brief)])
    return follow_up(build_messages(brief, existing, earlier_checks, plan=plan), previous_answer, body)


def problem_sections(problems: Sequence[Problem | str]) -> str:
    """Each kind of problem under its own words (`prompts/problems-<kind>.md`), then its `<problems>` list: a failing
    check is not an answer that could not be used, nor a typed-in figure an invalid file."""
    sections = []
    for kind in ProblemKind:
        listed = [str(p) for p in problems if (p.kind if isinstance(p, Problem) else ProblemKind.INVALID) is kind]
        if listed:
            items = "\n".join(f"- {line}" for line in listed)
            sections.append(f"{load(f'problems-{kind.value}.md').rstrip()}\n\n<problems>\n{items}\n</problems>")
    return "\n\n".join(sections)


def brief_block(brief: Brief) -> str:
    return f'<brief task="{escape(brief.task)}" round="{brief.round}">\n{brief.brief}\n</brief>'


def format_check(check: object) -> str:
    """A check on one line: a string as is, an object (or a multi-line string) as compact JSON."""
    if isinstance(check, str) and "\n" not in check and "\r" not in check:
        return check
    return json.dumps(check, separators=(",", ":"), ensure_ascii=False)


def checks_block(checks: Sequence[object]) -> str:
    return "\n".join(["<checks>", *(format_check(c) for c in checks), "</checks>"])


def is_text(media_type: str, data: bytes) -> bool:
    if media_type.startswith("text/") or media_type in _TEXT_TYPES or media_type.endswith(("+json", "+xml")):
        return True
    if media_type != "application/octet-stream" or b"\x00" in data:
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _media_type(attachment: Attachment) -> str:
    try:
        return attachment.decode().media_type
    except DataURIError:
        return "application/octet-stream"


def _attachment_tag(name: str, media_type: str, body: str | None = None, extra: str = "") -> str:
    attrs = f'name="{escape(name)}" media-type="{escape(media_type)}"{extra}'
    return f"<attachment {attrs}/>" if body is None else f"<attachment {attrs}>\n{body}\n</attachment>"


def _attachments(attachments: Sequence[Attachment]) -> tuple[list[str], list[Message]]:
    """Text lines for the prompt, and for each image a text part naming it then its image part, within the size
    budgets."""
    lines: list[str] = []
    images: list[Message] = []
    budget = MAX_TEXT_ATTACHMENTS_CHARS
    for attachment in attachments:
        try:
            decoded = attachment.decode()
        except DataURIError:
            continue  # parse_brief rejects such attachments; nothing to show.
        media_type, data = decoded.media_type, decoded.data
        if media_type in IMAGE_TYPES:
            lines.append(_attachment_tag(attachment.name, media_type))
            if len(data) <= MAX_IMAGE_BYTES:
                url = f"data:{media_type};base64,{base64.b64encode(data).decode('ascii')}"
                label = Template(load("image-label.txt")).substitute(name=attachment.name, media_type=media_type)
                images += [{"type": "text", "text": label.strip()}, {"type": "image_url", "image_url": {"url": url}}]
            else:
                lines.append(f"({attachment.name} is {len(data)} bytes, too large to show; it is still committed.)")
        elif is_text(media_type, data):
            line, budget = _text_attachment(attachment.name, media_type, data, budget)
            lines.append(line)
        else:
            lines.append(_attachment_tag(attachment.name, media_type))
    return lines, images


def _earlier_attachments(items: Iterable[tuple[str, int, bytes]], budget: int) -> list[str]:
    """Earlier rounds' attachments as read-only context: text inline within what is left of the budget, others
    (images included: they were seen in their own round) by name only."""
    lines = []
    for name, round_number, data in items:
        media_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
        extra = f' round="{round_number}"'
        if is_text(media_type, data) and budget > 0:
            line, budget = _text_attachment(name, media_type, data, budget, extra)
        else:
            line = _attachment_tag(name, media_type, extra=extra)
        lines.append(line)
    return lines


def _text_attachment(name: str, media_type: str, data: bytes, budget: int, extra: str = "") -> tuple[str, int]:
    """The attachment inline, or cut to the per-file limit and the remaining budget with a summary of the whole
    file (action/excerpt.py); and the budget left."""
    text = data.decode("utf-8-sig", errors="replace")
    shown = min(len(text), MAX_ATTACHMENT_CHARS, budget)
    return _attachment_tag(name, media_type, excerpt(name, text, shown, load), extra), budget - shown
