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
repository) inline as `<attachment ... round="N">`, read-only context so the model knows the data its code reads
(a small one whole, a larger one as its shape, `action/excerpt.shape`: the published code reads the whole file).
A repair request is the last user message too, so it repeats the brief and checks (attachments by name only), and
says what went wrong in words for each kind of problem (`problem_sections`).

Edit rounds (`edits=True`, from round 2 when a site is published): the system prompt's answer format is
`prompts/edit.md` (search/replace blocks, see `action/edits.py`) instead of `prompts/files.md`, and the last user
message of every request that wants edit blocks contains the words `SEARCH/REPLACE`; a request for whole files
(the fallback, or a later round asked of a weaker model: `prompts/rewrite.md`) does not. An edit round may send
only the files the change needs (`shown`, see `action/outline.py`) whole: the others follow as
`<outline path=".." lines="N">` blocks of lines copied exactly, `...` standing for the lines left out.

The system prompt is assembled from small prompt files, each only when the round needs it (`system_sections`,
pure): the core (`prompts/system.md`), what attachments are (when the brief has any), the answer format, how the
site is checked (`prompts/checked.md`), the guidance for writing whole files (`prompts/whole-site.md`: not for edit
blocks), then the build-step and workflow sections when the brief or the published site needs them (`Sections`).
An edit request says nothing twice: its answer format says what `prompts/existing.md` tells a whole-files request,
and it opens directly with the checks and the brief.
The stable part comes first, so that prompt caching pays off: the system prompt, then the checks, the brief and
its attachments, and only then the published files, which repairs send again as they are now.

The brief's secret is never read here: nothing secret can reach a prompt.
"""

from __future__ import annotations

import base64
import json
import mimetypes
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from html import escape
from importlib import resources
from string import Template
from typing import Any

from action.brief_patterns import wants_workflow
from action.excerpt import excerpt, shape
from action.outline import outline
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


@dataclass(frozen=True)
class Sections:
    """The optional sections of the system prompt a round needs: each costs tokens on every request."""

    build_step: bool = False  # prompts/build-step.md: how to declare a build.py
    workflows: bool = False  # prompts/workflows.md: how to write a GitHub Actions workflow

    @classmethod
    def of(cls, brief: Brief, files: Iterable[str] = (), *, workflows: bool) -> Sections:
        """The sections for `brief` on a site holding `files`; `workflows`: the round may write workflows."""
        return cls(build_step=needs_build_step(brief, files), workflows=workflows)


EVERY_SECTION = Sections(build_step=True, workflows=True)
DATA_TYPES = frozenset({"text/csv", "application/json", "text/tab-separated-values"})
# What makes a brief need a build step: data it names at an address (not a `?url=https://.../x.png` example), a
# spreadsheet or an API, or a conversion.
_BUILD_WORDS_RE = re.compile(r"https?://[\w-]+\.[\w.-]+|\b(?:api|apis|endpoint|spreadsheet|excel|xlsx?|convert\w*|"
                             r"build(?:\.py|[ -]step|[ -]script))\b", re.I)


def needs_build_step(brief: Brief, files: Iterable[str] = ()) -> bool:
    """The brief may need a build step: it names data to fetch or convert, comes with data whose figures a build
    step may write into the static HTML (system.md), or with an attachment a page cannot read (neither text nor
    image), or the site already has a `build.py`. A wrong yes costs tokens only."""
    if "build.py" in files:
        return True
    texts = [brief.brief, *(c for c in brief.checks if isinstance(c, str))]
    if any(_BUILD_WORDS_RE.search(text) for text in texts):
        return True
    for attachment in brief.attachments:
        try:
            decoded = attachment.decode()
        except DataURIError:
            continue
        if decoded.media_type in DATA_TYPES or (decoded.media_type not in IMAGE_TYPES
                                                and not is_text(decoded.media_type, decoded.data)):
            return True
    return False


def system_sections(answer_format: str, sections: Sections = EVERY_SECTION, *, attachments: bool = True) -> list[str]:
    """The prompt files of a system message, stable part first: the core, what attachments are when the brief has
    any (an earlier round's say so themselves, `prompts/shape.md`), the answer format (`files`, `edit` or
    `rewrite`), how the site is checked, the guidance for writing whole files (not for edit blocks, which change a
    few lines of files that already follow it), then the optional sections. Each is paid on every request of the
    round, so a round gets only those it needs."""
    wanted = [("system.md", True), ("attachments.md", attachments), (f"{answer_format}.md", True),
              ("checked.md", True), ("whole-site.md", answer_format != "edit"),
              ("build-step.md", sections.build_step), ("workflows.md", sections.workflows)]
    return [name for name, needed in wanted if needed]


def system_prompt(answer_format: str = "files", sections: Sections = EVERY_SECTION, *, attachments: bool = True) -> str:
    """The system message assembled from `system_sections`."""
    names = system_sections(answer_format, sections, attachments=attachments)
    texts = [load(name).strip("\n") for name in names]
    # A section that opens with a heading stands apart; one that goes on with bullets continues the list before it.
    return "".join(("\n\n" if text.startswith("#") else "\n") + text for text in texts).lstrip("\n") + "\n"


def build_messages(
    brief: Brief, existing: Mapping[str, str] | None = None, earlier_checks: Sequence[object] = (),
    *, earlier_attachments: Sequence[tuple[str, int, bytes]] = (), edits: bool = False,
    shown: Collection[str] | None = None, sections: Sections | None = None, plan: str = "",
) -> list[Message]:
    """System prompt, then one user message with the brief, its checks, its attachments, the round's plan section
    (`plan`, from `action/plan_text.py`) and, from round 2, the checks of earlier rounds (which must keep passing),
    the files already published (generated files only) and the text attachments of earlier rounds (name, round,
    bytes), so the model edits rather than starts over.

    `shown`: the published files sent whole in an edit round (default: all); the others go as outlines.
    `sections`: the system prompt's optional sections (default: what the brief and the published files need)."""
    existing = existing or {}
    text, images = _attachments(brief.attachments)
    text += _earlier_attachments(earlier_attachments, MAX_TEXT_ATTACHMENTS_CHARS - sum(len(t) for t in text))
    earlier = (
        ["<earlier-checks>", *(format_check(c) for c in earlier_checks), "</earlier-checks>"] if earlier_checks else []
    )
    whole = set(existing) if shown is None or not edits else set(shown)
    published = [f'<file path="{escape(p)}">\n{c}\n</file>' if p in whole else _outline_block(p, c)
                 for p, c in sorted(existing.items())]
    if published and not edits:  # edit.md says it already
        published.insert(0, load("existing.md").rstrip("\n"))
    closing = "Answer with SEARCH/REPLACE blocks only." if edits else \
        "Answer with file blocks only, as described in the system message."
    body = "\n".join([
        *([] if edits else ["Update the site for this brief." if published else "Build the site for this brief.", ""]),
        *earlier, brief_block(brief), checks_block(brief.checks), *text, *([plan] if plan else []), *published, "",
        closing,
    ])
    needed = sections or Sections.of(brief, existing, workflows=wants_workflow(brief))
    answer_format = "edit" if edits else ("rewrite" if existing else "files")
    return [
        {"role": "system", "content": system_prompt(answer_format, needed, attachments=bool(brief.attachments))},
        {"role": "user", "content": [*images, {"type": "text", "text": body}]},  # images first, each labelled
    ]


def _outline_block(path: str, content: str) -> str:
    lines = content.count("\n") + (0 if content.endswith("\n") or not content else 1)
    return f'<outline path="{escape(path)}" lines="{lines}">\n{outline(path, content)}\n</outline>'


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
    *, sections: Sections | None = None, plan: str = "",
) -> list[Message]:
    """The first request, the answer that failed, and a request to fix the listed problems (a plain string is a
    problem that kept the answer from being published)."""
    said = problem_sections(problems)
    body = "\n".join([Template(load("repair.md")).substitute(sections=said).rstrip("\n"), "",
                      brief_reminder(brief)])
    return follow_up(build_messages(brief, existing, earlier_checks, sections=sections, plan=plan), previous_answer,
                     body)


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
            body = shape(name, data.decode("utf-8-sig", errors="replace"), load)
            line = _attachment_tag(name, media_type, body, extra)
            budget -= len(body)
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
