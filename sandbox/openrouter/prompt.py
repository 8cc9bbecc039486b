"""Read the action's prompt the way a model would: the brief, its checks, attachments and existing files.

The prompt contract: `<brief task=".." round="N">text</brief>`, `<checks>` holding each check verbatim,
`<attachment name=".." media-type="..">text</attachment>` (or self-closing for images) and, from round 2,
`<file path="..">content</file>` for files already published. Missing parts are simply empty: any text is a
prompt, and all of it is the brief when there is no `<brief>` element.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field

BRIEF_RE = re.compile(r"<brief\b([^>]*)>(.*?)</brief>", re.S)
CHECKS_RE = re.compile(r"<checks\b[^>]*>(.*?)</checks>", re.S)
CHECK_RE = re.compile(r"<check\b[^>]*>(.*?)</check>", re.S)
ATTACHMENT_RE = re.compile(r"<attachment\b([^>]*?)(?:/>|>(.*?)</attachment>)", re.S)
FILE_RE = re.compile(r"<file\b([^>]*)>(.*?)</file>", re.S)
ATTR_RE = re.compile(r"([\w-]+)\s*=\s*(\"[^\"]*\"|'[^']*')")


@dataclass(frozen=True)
class Attachment:
    name: str
    media_type: str
    text: str | None  # None for binary attachments (images arrive as separate image parts)


@dataclass
class Prompt:
    brief: str
    task: str = ""
    round: int = 1
    checks: list[str] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)


def attrs(text: str) -> dict[str, str]:
    return {k.lower(): html.unescape(v[1:-1]) for k, v in ATTR_RE.findall(text)}


def parse_prompt(text: str) -> Prompt:
    brief = BRIEF_RE.search(text)
    if brief is None:
        prompt = Prompt(brief=text.strip())
    else:
        head = attrs(brief.group(1))
        rnd = head.get("round", "1")
        prompt = Prompt(brief=brief.group(2).strip(), task=head.get("task", ""),
                        round=int(rnd) if rnd.isdigit() else 1)
    checks = CHECKS_RE.search(text)
    if checks is not None:
        body = checks.group(1)
        items = CHECK_RE.findall(body) or [line for line in body.splitlines() if line.strip()]
        prompt.checks = [item.strip() for item in items if item.strip()]
    for match in ATTACHMENT_RE.finditer(text):
        head = attrs(match.group(1))
        if "name" in head:
            prompt.attachments.append(Attachment(head["name"], head.get("media-type", ""), match.group(2)))
    for match in FILE_RE.finditer(text):
        path = attrs(match.group(1)).get("path")
        if path:
            prompt.files[path] = match.group(2).strip("\n")
    return prompt
